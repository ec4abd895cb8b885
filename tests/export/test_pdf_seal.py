"""PAdES seal: valid when untouched; any change after sealing is reported."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from reportlab.platypus import Paragraph, SimpleDocTemplate

from app.errors import InvalidInput
from app.export.pdf.fonts import BASE_FONT, ensure_fonts
from app.export.pdf.pdfa import PdfaMetadata, make_pdfa
from app.export.pdf.seal import SealInvalid, seal_pdf, validate_sealed_pdf
from app.export.pdf.text import markup
from app.vault.keys import new_seal_identity


@pytest.fixture(scope="module")
def identity():
    return new_seal_identity("Test seal")


@pytest.fixture(scope="module")
def pdfa_bytes() -> bytes:
    ensure_fonts()
    from reportlab.lib.styles import ParagraphStyle

    raw = io.BytesIO()
    style = ParagraphStyle("b", fontName=BASE_FONT, fontSize=11, leading=15, shaping=1)
    doc = SimpleDocTemplate(raw, initialFontName=BASE_FONT)
    doc.build([Paragraph(markup("Sealed page — ទំព័រ ត្រូវបានបិទត្រា", width=400, size=11), style)])
    raw.seek(0)
    out = io.BytesIO()
    make_pdfa(raw, out, metadata=PdfaMetadata(title="t", author="a"), full_text="Sealed page")
    return out.getvalue()


@pytest.fixture(scope="module")
def sealed(pdfa_bytes, identity) -> bytes:
    out = io.BytesIO()
    seal_pdf(io.BytesIO(pdfa_bytes), out, key_pem=identity.key_pem, cert_pem=identity.cert_pem,
             reason="test", location="here", name="Test org")
    return out.getvalue()


def _byte_range(data: bytes) -> tuple[int, int, int, int]:
    start = data.rindex(b"/ByteRange")
    nums = data[start:start + 100].split(b"[", 1)[1].split(b"]", 1)[0].split()
    return tuple(int(n) for n in nums)  # type: ignore[return-value]


def test_seal_is_incremental_and_keeps_the_pdfa_bytes(pdfa_bytes, sealed):
    assert sealed.startswith(pdfa_bytes)
    assert sealed[:9] == b"%PDF-1.7\n"


def test_untouched_seal_validates(sealed, identity):
    report = validate_sealed_pdf(io.BytesIO(sealed), cert_pem=identity.cert_pem)
    assert report.ok and report.coverage == "ENTIRE_FILE"


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_flipped_byte_in_the_signed_range_is_reported(sealed, identity, where):
    a, b, c, d = _byte_range(sealed)
    # stay clear of the xref/structure so the file still parses: flip a byte inside page content
    positions = {"start": a + b // 3, "middle": a + b // 2, "end": c + d // 2}
    data = bytearray(sealed)
    pos = positions[where]
    data[pos] ^= 0x01
    with pytest.raises(SealInvalid) as err:
        validate_sealed_pdf(io.BytesIO(bytes(data)), cert_pem=identity.cert_pem)
    report = err.value.report
    assert report is not None and not report.ok
    assert report.intact is False  # the document digest no longer matches the signed one
    relaxed = validate_sealed_pdf(io.BytesIO(bytes(data)), cert_pem=identity.cert_pem, strict=False)
    assert not relaxed.ok


def test_flip_in_page_text_reports_not_intact(sealed, identity):
    marker = sealed.index(b"stream", 100)  # first stream data: a content or font stream
    data = bytearray(sealed)
    data[marker + 20] ^= 0xFF
    report = validate_sealed_pdf(io.BytesIO(bytes(data)), cert_pem=identity.cert_pem, strict=False)
    assert report.intact is False and not report.ok


def test_appended_update_is_modification_after_signing(sealed, identity):
    import pikepdf

    with pikepdf.open(io.BytesIO(sealed)) as pdf:
        pdf.Root.Extra = pikepdf.String("added later")
        out = io.BytesIO()
        pdf.save(out)
    report = validate_sealed_pdf(io.BytesIO(out.getvalue()), cert_pem=identity.cert_pem, strict=False)
    assert not report.ok
    # even just bytes appended at the end
    report = validate_sealed_pdf(io.BytesIO(sealed + b"\n% appended\n"), cert_pem=identity.cert_pem, strict=False)
    assert report.modified_after_signing and not report.ok


def test_other_certificate_is_not_trusted(sealed):
    stranger = new_seal_identity("Someone else")
    report = validate_sealed_pdf(io.BytesIO(sealed), cert_pem=stranger.cert_pem, strict=False)
    assert not report.trusted and not report.ok
    with pytest.raises(SealInvalid):
        validate_sealed_pdf(io.BytesIO(sealed), cert_pem=stranger.cert_pem)


def test_unsealed_pdf_raises(pdfa_bytes, identity):
    with pytest.raises(SealInvalid):
        validate_sealed_pdf(io.BytesIO(pdfa_bytes), cert_pem=identity.cert_pem, strict=False)


def test_ecdsa_key_is_refused(pdfa_bytes, identity):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with pytest.raises(InvalidInput):
        seal_pdf(io.BytesIO(pdfa_bytes), io.BytesIO(), key_pem=pem, cert_pem=identity.cert_pem,
                 reason="r", location="l", name="n")
