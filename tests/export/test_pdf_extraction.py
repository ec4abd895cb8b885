"""Text extraction from the dossier's pages: every script must come back from pypdf and pdftotext.

A dossier-like PDF is laid out through the same code path as the dossier's description fields
and transcript tables (``render._Writer``: ``markup`` + shaped Paragraphs in table cells), with
real sentences in Khmer, Burmese, Thai, Chinese, Indonesian and English from
../shared/data/text/names_multilingual.jsonl.  That file has no Vietnamese, so Vietnamese uses
sentences of the Universal Declaration of Human Rights (articles 1, 3 and 4).  A phrase counts as
found when it occurs in the extracted text after NFC normalisation and removal of all whitespace
(line breaks fall between words).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import unicodedata

import pikepdf
import pytest
from pypdf import PdfReader
from reportlab.pdfgen import textobject
from reportlab.platypus import SimpleDocTemplate

from app.export.pdf import actualtext
from app.export.pdf.flowables import LateState
from app.export.pdf.fonts import BASE_FONT, ensure_fonts
from app.export.pdf.render import _Writer
from tests.conftest import shared_data_path

PER_SCRIPT = 4
SCRIPTS = ("km", "my", "th", "vi", "zh", "id", "en")
VIETNAMESE = (
    "Tất cả mọi người sinh ra đều được tự do và bình đẳng về nhân phẩm và quyền.",
    "Mọi con người đều được tạo hóa ban cho lý trí và lương tâm.",
    "Mọi người đều có quyền sống, quyền tự do và an toàn cá nhân.",
    "Không ai bị bắt làm nô lệ hoặc bị cưỡng bức làm việc như nô lệ.",
)


def phrases() -> dict[str, list[str]]:
    path = shared_data_path("text", "names_multilingual.jsonl")
    out: dict[str, list[str]] = {lang: [] for lang in SCRIPTS}
    out["vi"] = list(VIETNAMESE)
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        lang = record["lang"]
        if lang in out and lang != "vi" and len(out[lang]) < PER_SCRIPT:
            out[lang].append(record["text"])
    return out


def build_pdf(by_script: dict[str, list[str]]) -> bytes:
    """Descriptions (label/value fields) and a transcript table, as on an exhibit page."""
    ensure_fonts()
    w = _Writer(LateState(ern_prefix="TEST", footer_left=""))
    for lang, texts in by_script.items():
        w.heading(f"Exhibit {lang}", w.h1)
        w.fields([("Description", texts[0]), ("Source", texts[1])])
        w.table(["Time", "Speaker (language)", "Words spoken"],
                [["0:00:01.0", f"Witness ({lang})", t] for t in texts[2:]],
                [80.0, 80.0, 355.0], style=w.body, body_columns=(2,))
    out = io.BytesIO()
    SimpleDocTemplate(out, initialFontName=BASE_FONT, invariant=1).build(w.story)
    return out.getvalue()


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def extract_pypdf(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def extract_pdftotext(pdf: bytes) -> str:
    # -raw: content-stream order, so table cells are not interleaved line by line
    done = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


def hit_rates(extracted: str, by_script: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    haystack = _normalise(extracted)
    return {lang: (sum(_normalise(t) in haystack for t in texts), len(texts))
            for lang, texts in by_script.items()}


@pytest.fixture(scope="module")
def dossier_like() -> tuple[bytes, dict[str, list[str]]]:
    by_script = phrases()
    return build_pdf(by_script), by_script


def _report(tool: str, rates: dict[str, tuple[int, int]]) -> str:
    return f"{tool}: " + ", ".join(f"{lang} {hit}/{n}" for lang, (hit, n) in rates.items())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdftotext_finds_every_phrase_in_every_script(dossier_like):
    pdf, by_script = dossier_like
    rates = hit_rates(extract_pdftotext(pdf), by_script)
    print(_report("pdftotext", rates))
    assert all(n == PER_SCRIPT for _, n in rates.values())
    assert rates == {lang: (PER_SCRIPT, PER_SCRIPT) for lang in SCRIPTS}, _report("pdftotext", rates)


def test_pypdf_finds_every_phrase_in_latin_and_chinese(dossier_like):
    """pypdf (7.1) reads glyphs through ToUnicode and ignores /ActualText, so Khmer, Burmese and
    Thai (reordered and unencoded glyphs) stay unreadable to it; the ActualText test below checks
    what pypdf-like readers would need.  The rates are printed for the record."""
    pdf, by_script = dossier_like
    rates = hit_rates(extract_pypdf(pdf), by_script)
    print(_report("pypdf", rates))
    for lang in ("vi", "zh", "id", "en"):
        assert rates[lang] == (PER_SCRIPT, PER_SCRIPT), _report("pypdf", rates)


def _actual_texts(pdf: bytes) -> list[str]:
    out = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for operands, op in pikepdf.parse_content_stream(page):
                if str(op) == "BDC" and isinstance(operands[1], pikepdf.Dictionary):
                    out.append(str(operands[1].get("/ActualText", "")))
    return out


def test_actualtext_spans_hold_the_real_text_of_shaped_runs(dossier_like):
    pdf, by_script = dossier_like
    spans = _actual_texts(pdf)
    source = _normalise("".join(t for texts in by_script.values() for t in texts))
    assert len(spans) >= 20
    for span in spans:
        assert not re.search("[\ue000-\uf8ff]", span), span  # private-use glyph codes never leak
        assert _normalise(span) in source, span
    joined = _normalise("".join(spans))
    # words whose glyphs have no code point of their own (subscripts, stacked marks)
    for word in ("ស៊ីផានអ្នកនាំពាក្យ", "ဒီနေ့ရာသီဥတု", "หลายครั้ง"):
        assert word in joined, word
    # only shaped runs carry a span: unshaped English does not need one
    assert not any("Witness" in s for s in spans)


def _page_contents(pdf: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [page.Contents.read_bytes() for page in doc.pages]


def test_actualtext_spans_leave_the_drawing_unchanged(dossier_like, monkeypatch):
    pdf, by_script = dossier_like
    monkeypatch.setattr(textobject.PDFTextObject, "_formatText", actualtext._original_format)
    plain = build_pdf(by_script)
    assert b"ActualText" not in plain
    span = re.compile(rb"/Span <</ActualText <[0-9A-F]*>>> BDC | EMC")
    with_spans = _page_contents(pdf)
    assert len(with_spans) == len(_page_contents(plain))
    assert [span.sub(b"", c) for c in with_spans] == _page_contents(plain)
    assert all(b"ActualText" in c for c in with_spans)


def test_tounicode_maps_private_glyphs_to_their_characters(dossier_like):
    """For readers that ignore ActualText: moved Thai marks, Burmese medials and Khmer subscripts
    read back as their characters, not as private-use codes."""
    pdf, _ = dossier_like
    sections = dict(part.split("\n", 1) for part in extract_pypdf(pdf).split("Exhibit ")[1:])
    private = re.compile("[\ue000-\uf8ff]")
    assert not private.search(sections["th"]) and not private.search(sections["my"])
    assert "\u17d2\u178f" in sections["km"] and "\u17d2\u179a" in sections["km"]  # subscript ta, ro
    # a Khmer contextual form whose characters are not sure keeps its private code
    assert 0 < len(private.findall(sections["km"])) < len(_normalise("".join(phrases()["km"])))
