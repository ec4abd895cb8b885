"""Signing keys and the seal identity: serialisation round trips, key id, and a real pyHanko seal."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import IntegrityError, InvalidInput
from app.vault.keys import (
    SealIdentity,
    key_id,
    load_private_key,
    load_public_key_pem,
    new_seal_identity,
    new_signing_key,
    private_key_bytes,
    public_key_bytes,
    public_key_pem,
)


@pytest.fixture(scope="module")
def seal() -> SealIdentity:
    return new_seal_identity("Test Legal Team", organisation="Example NGO")


def test_private_key_round_trip_signs_identically() -> None:
    key = new_signing_key()
    raw = private_key_bytes(key)
    assert len(raw) == 32
    again = load_private_key(raw)
    assert public_key_bytes(again) == public_key_bytes(key)
    assert again.sign(b"message") == key.sign(b"message")  # Ed25519 is deterministic


def test_damaged_private_key_is_an_integrity_error() -> None:
    with pytest.raises(IntegrityError):
        load_private_key(b"\x00" * 31)


def test_public_key_pem_round_trip_and_key_id() -> None:
    key = new_signing_key()
    pem = public_key_pem(key)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert public_key_pem(key.public_key()) == pem
    loaded = load_public_key_pem(pem)
    assert isinstance(loaded, Ed25519PublicKey)
    assert key_id(loaded) == key_id(key) == hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]
    assert key_id(new_signing_key()) != key_id(key)


def test_load_public_key_rejects_garbage_and_other_key_types(seal: SealIdentity) -> None:
    with pytest.raises(InvalidInput):
        load_public_key_pem(b"not a key")
    rsa_public_pem = x509.load_pem_x509_certificate(seal.cert_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidInput, match="not an Evidence Vault"):
        load_public_key_pem(rsa_public_pem)


def test_seal_certificate_properties(seal: SealIdentity) -> None:
    cert = x509.load_pem_x509_certificate(seal.cert_pem)
    key = serialization.load_pem_private_key(seal.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "O=Example NGO,CN=Test Legal Team"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign and not usage.value.key_encipherment
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=3650) <= lifetime <= timedelta(days=3654)
    assert cert.not_valid_before_utc <= datetime.now(UTC)
    cert.verify_directly_issued_by(cert)  # self-signed signature is valid
    assert "hidden" in repr(seal) and "PRIVATE" not in repr(seal)


def test_seal_identity_rejects_bad_names() -> None:
    with pytest.raises(InvalidInput):
        new_seal_identity("  ")
    with pytest.raises(InvalidInput):
        new_seal_identity("x" * 65)


def _tiny_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Seal test")
    page.save()
    return buffer.getvalue()


def test_seal_identity_signs_and_validates_with_pyhanko(seal: SealIdentity) -> None:
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    (cert,) = load_certs_from_pemder_data(seal.cert_pem)
    signer = signers.SimpleSigner(
        signing_cert=cert, signing_key=load_private_key_from_pemder_data(seal.key_pem, passphrase=None),
        cert_registry=None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(_tiny_pdf()))
    out = signers.sign_pdf(
        writer,
        signers.PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer,
    )
    reader = PdfFileReader(out)
    assert reader.input_version < (2, 0)  # RSA keeps PDF 1.x (PDF/A-3 compatible)
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[cert]),
    )
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
