"""PDF/A conversion details: metadata carries only what the caller gives; attachments are capped."""

from __future__ import annotations

import io

import pikepdf
import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from app.export.dossier_model import Attachment
from app.export.pdf.fonts import BASE_FONT, ensure_fonts
from app.export.pdf.pdfa import AttachmentTooLarge, PdfaMetadata, make_pdfa, srgb_icc_profile


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    ensure_fonts()
    out = io.BytesIO()
    # reportlab's own defaults ("anonymous", "untitled", its producer) must not survive
    SimpleDocTemplate(out, initialFontName=BASE_FONT, author="Real Name Leak", title="Real Title Leak").build(
        [Paragraph("x", ParagraphStyle("p", fontName=BASE_FONT))])
    return out.getvalue()


def _att(name: str, data: bytes, size: int | None = None) -> Attachment:
    return Attachment(name, "application/octet-stream", len(data) if size is None else size,
                      lambda: io.BytesIO(data))


def test_metadata_holds_only_the_given_strings(plain_pdf):
    out = io.BytesIO()
    make_pdfa(io.BytesIO(plain_pdf), out, metadata=PdfaMetadata(title="Case 7 (redacted)", author="Org"),
              full_text="t")
    data = out.getvalue()
    assert b"Real Name Leak" not in data and b"Real Title Leak" not in data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert set(pdf.docinfo.keys()) <= {"/Title", "/Author", "/Producer", "/Creator", "/CreationDate",
                                           "/ModDate"}
        assert str(pdf.docinfo.Title) == "Case 7 (redacted)"
        xmp = str(pdf.open_metadata())
        assert "Real Name" not in xmp and "reportlab" not in xmp.lower()


def test_srgb_profile_is_a_valid_icc_profile():
    icc = srgb_icc_profile()
    assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB "


def test_originals_are_embedded_as_source_files(plain_pdf):
    out = io.BytesIO()
    make_pdfa(io.BytesIO(plain_pdf), out, metadata=PdfaMetadata(title="t", author="a"), full_text="t",
              originals=[_att("a.bin", b"A" * 1000), _att("b.bin", b"B" * 10)])
    with pikepdf.open(io.BytesIO(out.getvalue())) as pdf:
        assert pdf.attachments["a.bin"].get_file().read_bytes() == b"A" * 1000
        assert {str(s.AFRelationship) for s in pdf.Root.AF} == {"/Supplement", "/Source"}


def test_attachments_above_the_cap_are_refused(plain_pdf):
    with pytest.raises(AttachmentTooLarge):
        make_pdfa(io.BytesIO(plain_pdf), io.BytesIO(), metadata=PdfaMetadata(title="t", author="a"),
                  full_text="t", originals=[_att("a.bin", b"A" * 600), _att("b.bin", b"B" * 600)],
                  max_total_attachments=1000)


def test_a_file_longer_than_declared_is_refused(plain_pdf):
    with pytest.raises(AttachmentTooLarge):
        make_pdfa(io.BytesIO(plain_pdf), io.BytesIO(), metadata=PdfaMetadata(title="t", author="a"),
                  full_text="t", originals=[_att("a.bin", b"A" * 5000, size=10)])
