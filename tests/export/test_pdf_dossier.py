"""The dossier PDF end to end: render -> PDF/A-3b -> PAdES seal, then parsed back with pypdf and
pikepdf and checked for what courts and PDF/A need."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from app.errors import Cancelled
from app.export.dossier_model import (
    Attachment,
    ContactSheet,
    CustodyRow,
    Declaration,
    Dossier,
    Exhibit,
    ImageContent,
    ProofRow,
    TranscriptContent,
)
from app.export.pdf.inspect import extract_everything, find_strings
from app.export.pdf.pdfa import TEXT_ATTACHMENT_NAME, PdfaMetadata, make_pdfa
from app.export.pdf.render import render_dossier
from app.export.pdf.seal import seal_pdf, validate_sealed_pdf
from app.progress import CancelToken
from app.vault.keys import new_seal_identity
from tests.conftest import shared_data_path

ERN_PREFIX = "EV-CASE1"
VIETNAMESE = "Người làm chứng khai rằng họ bị giữ trên tàu cá suốt mười bốn tháng."
ENGLISH = "The witness said <she> & her brother were kept on the boat for fourteen months."
REAL_NAME = "Sok Chanthy"  # the protected person: must never appear in the redacted dossier
PSEUDONYM = "Witness K-7"
GPS_PHOTO_MARK = "Canon EOS Secret Serial 4471"


def _sentences() -> dict[str, list[str]]:
    path = shared_data_path("text", "names_multilingual.jsonl")
    by_lang: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_lang.setdefault(record["lang"], []).append(record["text"])
    return by_lang


def _jpeg(width: int, height: int, colour: tuple[int, int, int], *, gps: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 8, height // 8, width * 7 // 8, height * 7 // 8), outline=(0, 0, 0), width=12)
    draw.ellipse((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=(250, 250, 250))
    buf = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x0110] = GPS_PHOTO_MARK  # Model
        exif[0x0112] = 6  # orientation: rotate 90° on display
        exif.get_ifd(0x8825).update({1: "N", 2: (11.0, 33.0, 25.0), 3: "E", 4: (104.0, 55.0, 12.0)})
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def build_dossier() -> Dossier:
    s = _sentences()
    photo = _jpeg(1600, 1200, (180, 90, 40), gps=True)
    exhibits: list[Exhibit] = []
    for i, lang in enumerate(["km", "th", "my", "zh", "id", "en"]):
        exhibits.append(Exhibit(
            number=f"EX-{i + 1:03d}", title=s[lang][0][:60], kind="photo",
            description=s[lang][1] + (f" {VIETNAMESE}" if lang == "id" else ""),
            captured_at="2026-11-20T10:00:00.000000Z", source="Investigator phone",
            sha256_original=f"{i:02d}" * 32, sha256_derivative=f"a{i}" * 32,
            media_facts={"Dimensions": "1600 × 1200", "Camera": "(removed)"},
            persons=[PSEUDONYM, "Witness T-2"],
            custody=[CustodyRow("2026-11-20T10:00:00.000000Z", "investigator-1", "ingested",
                                s[lang][2 % len(s[lang])], f"{i:x}e" * 32),
                     CustodyRow("2026-11-21T09:30:00.000000Z", "legal-1", "redacted",
                                "faces blurred", f"{i:x}f" * 32)],
            proofs=[ProofRow(3 + i, f"{i:x}1" * 32, [f"{i:x}2" * 32, f"{i:x}3" * 32, f"{i:x}4" * 32])],
            content=ImageContent(lambda photo=photo: io.BytesIO(photo), caption=ENGLISH),
        ))
    frames = [_jpeg(640, 360, (30 * k, 120, 160)) for k in range(6)]
    exhibits.append(Exhibit(
        number="EX-007", title="Interview video, boat deck", kind="video", description=VIETNAMESE,
        captured_at="2026-11-19T08:00:00.000000Z", source="Body camera", sha256_original="77" * 32,
        content=ContactSheet([*frames[:3], *(lambda f=f: f for f in frames[3:])],
                             [0.0, 12.5, 31.0, 62.25, 95.5, 3600.0])))
    segments = [(k * 6.0, k * 6.0 + 5.5, f"{PSEUDONYM}" if k % 2 else "Interviewer", lang, s[lang][-1])
                for k, lang in enumerate(["km", "th", "my", "zh", "id", "en", "km", "my"])]
    segments.append((60.0, 64.0, "Interviewer", "vi", VIETNAMESE))
    exhibits.append(Exhibit(
        number="EX-008", title="Transcript of interview", kind="transcript", description=ENGLISH,
        captured_at="2026-11-19T08:00:00.000000Z", source="Interpreter", sha256_original="88" * 32,
        content=TranscriptContent(segments)))
    return Dossier(
        case_title="ករណីជួញដូរមនុស្ស / Forced labour on fishing vessels", organisation="Coastal Rights Project",
        produced_at="2026-11-25T15:00:00.000000Z", audience="court", level="redacted", ern_prefix=ERN_PREFIX,
        manifest_sha256="ab" * 32, merkle_root="cd" * 32, tree_size=42,
        checkpoint_text="evidence-vault/case-1\n42\nzc3N5c3Rlbg==\n2026-11-25T14:59:00.000000Z\n\n— key abc123 sig",
        declaration=Declaration("Investigator A. Lim", "Senior investigator", "Phnom Penh", "2026-11-25",
                                "I declare that the exhibits are true copies of what was collected."),
        exhibits=exhibits, public_key_pem="-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----")


@pytest.fixture(scope="module")
def seal_identity():
    return new_seal_identity("Coastal Rights Project seal")


@pytest.fixture(scope="module")
def produced(tmp_path_factory, seal_identity):
    """Render, convert and seal once for the whole module."""
    tmp = tmp_path_factory.mktemp("dossier")
    dossier = build_dossier()
    progress_calls: list[tuple[int, int, str]] = []
    raw = io.BytesIO()
    result = render_dossier(dossier, raw, progress=lambda d, t, m: progress_calls.append((d, t, m)))
    raw.seek(0)
    pdfa = io.BytesIO()
    original = Attachment("EX-001-original.jpg", "image/jpeg", 5, lambda: io.BytesIO(b"\xff\xd8abc"))
    make_pdfa(raw, pdfa, metadata=PdfaMetadata(title="Case 1 dossier (redacted)", author=dossier.organisation),
              full_text=result.text, originals=[original])
    pdfa.seek(0)
    sealed = tmp / "dossier.pdf"
    with sealed.open("wb") as out:
        seal_pdf(pdfa, out, key_pem=seal_identity.key_pem, cert_pem=seal_identity.cert_pem,
                 reason="Evidence dossier for court", location="Phnom Penh", name="Coastal Rights Project")
    return {"dossier": dossier, "result": result, "path": sealed, "progress": progress_calls, "tmp": tmp}


@pytest.fixture(scope="module")
def contents(produced):
    return extract_everything(produced["path"])


def test_every_page_has_its_ern_and_page_n_of_m(produced):
    reader = PdfReader(str(produced["path"]))
    total = len(reader.pages)
    assert total == produced["result"].pages >= 12
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"{ERN_PREFIX}-{n:06d}" in text, f"page {n} lacks its ERN"
        assert f"page {n} of {total}" in text
    # no ERN twice or out of sequence
    assert f"{ERN_PREFIX}-{total + 1:06d}" not in "".join(p.extract_text() for p in reader.pages)


def test_hashes_checkpoint_and_proofs_are_printed(produced, contents):
    text = "\n".join(contents.page_texts)
    flat = re.sub(r"\s", "", text)
    dossier = produced["dossier"]
    for value in [dossier.manifest_sha256, dossier.merkle_root, *(e.sha256_original for e in dossier.exhibits),
                  *(e.sha256_derivative for e in dossier.exhibits if e.sha256_derivative),
                  *(h for e in dossier.exhibits for p in e.proofs for h in (p.leaf_hash, *p.proof)),
                  *(c.event_hash for e in dossier.exhibits for c in e.custody)]:
        assert value in flat
    assert "evidence-vault/case-1" in text
    assert "Verification appendix" in text and "sha256sum" in text and "openssl" in text


def test_bookmarks_and_contents_point_at_the_right_pages(produced, contents):
    dossier = produced["dossier"]
    titles = contents.outlines
    assert titles[:3] == ["Cover", "Contents", "Exhibit index"]
    assert titles[-2:] == ["Certification", "Verification appendix"]
    assert [t.split("  ")[0] for t in titles[3:-2]] == [e.number for e in dossier.exhibits]
    reader = PdfReader(str(produced["path"]))
    outline = {item.title: reader.get_destination_page_number(item) for item in reader.outline}
    for number, title in enumerate(titles[3:-2]):
        page = outline[title]
        assert f"Exhibit {dossier.exhibits[number].number}" in reader.pages[page].extract_text()
    # the contents page lists each exhibit with its page and ERN
    contents_page = reader.pages[outline["Contents"]].extract_text()
    first_exhibit_page = outline[titles[3]] + 1
    assert f"{first_exhibit_page}  ({ERN_PREFIX}-{first_exhibit_page:06d})" in contents_page or \
        f"{first_exhibit_page} ({ERN_PREFIX}-{first_exhibit_page:06d})" in contents_page


def test_all_fonts_are_embedded_and_none_is_base14(produced):
    with pikepdf.open(produced["path"]) as pdf:
        fonts = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/Font"]
        assert len(fonts) >= 5  # Latin, Thai, Khmer, Burmese, Chinese at least
        base14 = {"Helvetica", "Times-Roman", "Courier", "Symbol", "ZapfDingbats"}
        for font in fonts:
            name = str(font.get("/BaseFont", ""))
            assert not any(name.lstrip("/").startswith(b) for b in base14), name
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font.DescendantFonts[0].FontDescriptor
            assert desc is not None, name
            assert "/FontFile2" in desc or "/FontFile3" in desc, f"{name} is not embedded"
        used = {str(f.BaseFont).split("+")[-1] for f in fonts}
        assert {"KhmerOS", "NotoSansThai-Regular", "NotoSansMyanmar-Regular", "WenQuanYiMicroHei-0"} <= used


def test_pdfa3b_structure(produced):
    with pikepdf.open(produced["path"]) as pdf:
        assert "/Encrypt" not in pdf.trailer
        assert len(pdf.trailer.ID) == 2
        assert pdf.pdf_version == "1.7"
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "Case 1 dossier (redacted)"
        intents = pdf.Root.OutputIntents
        assert intents[0].S == "/GTS_PDFA1"
        icc = intents[0].DestOutputProfile
        assert icc.N == 3 and icc.read_bytes()[36:40] == b"acsp"
        af = pdf.Root.AF
        relationships = {str(spec.F): str(spec.AFRelationship) for spec in af}
        assert relationships == {TEXT_ATTACHMENT_NAME: "/Supplement", "EX-001-original.jpg": "/Source"}
        text_spec = next(spec for spec in af if str(spec.F) == TEXT_ATTACHMENT_NAME)
        assert text_spec.EF.F.Subtype == "/text/plain"
        assert "/ModDate" in text_spec.EF.F.Params
        # document info and XMP agree after sealing (PDF/A 6.6.2.3)
        info = pdf.docinfo
        assert str(info.Producer) == meta["pdf:Producer"]
        assert str(info.Title) == meta["dc:title"] and str(info.Author) == meta["dc:creator"][0]
        assert str(info.ModDate)[2:14] == meta["xmp:ModifyDate"].replace("-", "").replace("T", "").replace(":", "")[:12]
        # pyHanko keeps the file below PDF 2.0 and leaves the PDF/A identification in place
        assert pdf.Root.AcroForm.Fields[0].FT == "/Sig"


def test_attachment_holds_the_full_text_exactly(produced, contents):
    text = contents.attachments[TEXT_ATTACHMENT_NAME].decode("utf-8")
    assert text == produced["result"].text
    dossier = produced["dossier"]
    for exhibit in dossier.exhibits:
        assert exhibit.title in text and exhibit.description in text
    sentences = _sentences()
    assert sentences["km"][0][:60] in text  # Khmer, exactly as written (no shaping artefacts)
    assert sentences["my"][1] in text
    assert VIETNAMESE in text and ENGLISH in text
    assert "[Exhibit EX-001 begins on page" in text
    assert contents.attachments["EX-001-original.jpg"] == b"\xff\xd8abc"


def test_untrusted_text_is_escaped_not_interpreted(contents):
    # "<she> & her" must come out literally, not as markup or an error
    assert any("<she> & her brother" in t for t in contents.page_texts)


def test_images_carry_no_metadata(contents):
    photos = [img for img in contents.images if img.page]
    assert len(photos) >= 6 + 6
    for img in photos:
        assert img.filter.endswith('"/DCTDecode" ])') or img.filter == "/DCTDecode"
        assert not img.exif and not img.has_gps and not img.metadata_segments, img
    # EXIF orientation 6 was applied: the 1600x1200 photo stands upright
    assert any(img.height > img.width for img in photos)


def test_redacted_dossier_has_no_protected_name_anywhere(contents):
    assert find_strings(contents, [REAL_NAME, GPS_PHOTO_MARK]) == []
    # the search itself works, in every script, also through shaped Khmer glyphs on the pages
    s = _sentences()
    hits = find_strings(contents, [PSEUDONYM, "ផៃ ស៊ីផាន", s["zh"][0][:4]])
    where = {(h.needle, h.where.split(" (")[0].split(" on page")[0]) for h in hits}
    assert (PSEUDONYM, "page 4 text") in where
    assert any(n == "ផៃ ស៊ីផាន" and w.endswith("via ToUnicode") for n, w in where)
    assert any(n == "ផៃ ស៊ីផាន" and w == "bookmark" for n, w in where)


def test_seal_validates(produced, seal_identity):
    with produced["path"].open("rb") as fh:
        report = validate_sealed_pdf(fh, cert_pem=seal_identity.cert_pem)
    assert report.ok and report.intact and report.trusted and not report.modified_after_signing
    assert "Coastal Rights Project seal" in report.signer


def test_progress_reports_every_exhibit(produced):
    calls = produced["progress"]
    assert [c[0] for c in calls] == list(range(1, len(produced["dossier"].exhibits) + 1))
    assert all(c[1] == len(produced["dossier"].exhibits) for c in calls)


def test_cancel_stops_rendering():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        render_dossier(build_dossier(), io.BytesIO(), cancel=token)


def test_cancel_during_layout():
    token = CancelToken()
    dossier = build_dossier()

    def progress(done: int, total: int, message: str) -> None:
        if done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        render_dossier(dossier, io.BytesIO(), progress=progress, cancel=token)


def test_original_level_without_content_renders(tmp_path):
    dossier = replace(build_dossier(), level="original", audience="un")
    for exhibit in dossier.exhibits:
        exhibit.content = None
    out = io.BytesIO()
    result = render_dossier(dossier, out)
    assert result.pages >= len(dossier.exhibits) + 5
    assert out.getvalue().startswith(b"%PDF")


def test_pages_render_to_pixels(produced):
    """pdftoppm draws the cover and a Khmer page without errors (visual checks are done by eye)."""
    import shutil
    import subprocess

    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftoppm) not installed")
    out = Path(produced["tmp"]) / "page"
    proc = subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "4", str(produced["path"]), str(out)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr.lower(), proc.stderr
    pngs = sorted(Path(produced["tmp"]).glob("page-*.png"))
    assert len(pngs) == 4
    for png in pngs:
        with Image.open(png) as img:
            assert img.convert("L").getextrema()[0] < 100  # something dark was drawn


def test_fields_and_transcripts_longer_than_a_page_split_across_pages():
    dossier = build_dossier()
    long_khmer = "ប្រសិនបើនិស្សិតយើងគ្រប់រូបប្រឹងរៀនថែទាំសុខភាព The witness said a great deal. " * 150
    dossier.exhibits[0].description = long_khmer
    transcript = dossier.exhibits[7].content
    assert isinstance(transcript, TranscriptContent)
    dossier.exhibits[7].content = TranscriptContent([*transcript.segments, (70.0, 90.0, "Witness", "en",
                                                                            "A very long answer. " * 900)])
    out = io.BytesIO()
    result = render_dossier(dossier, out)
    assert result.pages > 19 + 4
    assert long_khmer.strip() in result.text
