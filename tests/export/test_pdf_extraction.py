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


def test_pypdf_finds_every_phrase_in_every_script(dossier_like):
    """pypdf (7.1) ignores /ActualText and reads glyphs through ToUnicode, in visual order, so
    Khmer, Burmese and Thai glyphs alone read wrongly; it finds them in the invisible copy of each
    text object's logical text (text render mode 3) that :mod:`actualtext` writes."""
    pdf, by_script = dossier_like
    rates = hit_rates(extract_pypdf(pdf), by_script)
    print(_report("pypdf", rates))
    assert rates == {lang: (PER_SCRIPT, PER_SCRIPT) for lang in SCRIPTS}, _report("pypdf", rates)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdftotext_reads_each_phrase_once(dossier_like):
    """The invisible copy sits in an empty ActualText span, so ActualText-aware readers skip it."""
    pdf, by_script = dossier_like
    haystack = _normalise(extract_pdftotext(pdf))
    twice = [t for texts in by_script.values() for t in texts if haystack.count(_normalise(t)) != 1]
    assert not twice, twice


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
    monkeypatch.setattr(textobject.PDFTextObject, "getCode", actualtext._original_get_code)
    plain = build_pdf(by_script)
    assert b"ActualText" not in plain
    copy = re.compile(rb" /Span <</ActualText <FEFF>>> BDC 3 Tr .*? \d Tr EMC(?= ET)", re.S)
    span = re.compile(rb"/Span <</ActualText <[0-9A-F]*>>> BDC | EMC")
    # the invisible copies put characters into the font subsets first, so glyph codes (string
    # operands) may differ; every operator and number must not (the glyphs: pixel test below)
    strings = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)
    with_spans = _page_contents(pdf)
    assert len(with_spans) == len(_page_contents(plain))
    assert ([strings.sub(b"()", span.sub(b"", copy.sub(b"", c))) for c in with_spans]
            == [strings.sub(b"()", c) for c in _page_contents(plain)])
    assert all(b"ActualText" in c for c in with_spans)
    assert any(copy.search(c) for c in with_spans)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_spans_and_invisible_copies_render_pixel_identical(dossier_like, monkeypatch, tmp_path):
    pdf, by_script = dossier_like
    monkeypatch.setattr(textobject.PDFTextObject, "_formatText", actualtext._original_format)
    monkeypatch.setattr(textobject.PDFTextObject, "getCode", actualtext._original_get_code)
    plain = build_pdf(by_script)
    pages = []
    for name, data in (("plain", plain), ("tagged", pdf)):
        (tmp_path / f"{name}.pdf").write_bytes(data)
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / f"{name}.pdf"),
                        str(tmp_path / name)], check=True, timeout=120)
        pages.append([p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.png"))])
    assert pages[0] and pages[0] == pages[1]


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
