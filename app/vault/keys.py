"""Keys: the vault's Ed25519 signing key (checkpoints) and its RSA seal identity (PDF seals).

- The Ed25519 key signs checkpoints.  Its private half is stored inside the encrypted vault as the
  32-byte RFC 8032 seed (:func:`private_key_bytes` / :func:`load_private_key`); its public half is
  shared as a SubjectPublicKeyInfo PEM (:func:`public_key_pem`).
- :func:`key_id` is a short, human-comparable fingerprint: the first 16 lowercase hex digits
  (64 bits) of SHA-256 over the 32 raw public-key bytes.  It identifies a key in the UI and in reports;
  it is NOT the 4-byte signed-note key ID used inside checkpoints (see app.vault.checkpoint).
- The seal identity is an RSA-3072 key with a self-signed X.509 certificate for PAdES seals with
  pyHanko.  RSA, not ECDSA: pyHanko marks ECDSA-signed files PDF 2.0, which conflicts with PDF/A-3.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from app.errors import IntegrityError, InvalidInput

KEY_ID_HEX_DIGITS = 16
SEAL_RSA_BITS = 3072
SEAL_VALIDITY = timedelta(days=3653)  # ten years, leap days included


def new_signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key from the operating system's random source."""
    return Ed25519PrivateKey.generate()


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw public-key bytes (RFC 8032 encoding)."""
    return _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo, RFC 8410) for a private or public key."""
    return _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_pem(pem: bytes) -> Ed25519PublicKey:
    """Read a public key written by :func:`public_key_pem`; raises InvalidInput for anything else."""
    try:
        key = serialization.load_pem_public_key(bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(
            "This is not a valid public key file. Ask the vault owner for the key again.",
            debug_detail=str(exc),
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(
            "This public key is not an Evidence Vault (Ed25519) signing key.",
            debug_detail=type(key).__name__,
        )
    return key


def key_id(public_key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """First 16 lowercase hex digits of SHA-256(raw 32-byte public key)."""
    return hashlib.sha256(public_key_bytes(public_key)).hexdigest()[:KEY_ID_HEX_DIGITS]


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32-byte private seed, for storage inside the encrypted vault only."""
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """Inverse of :func:`private_key_bytes`; raises IntegrityError when the stored key is damaged."""
    if not isinstance(data, bytes | bytearray) or len(data) != 32:
        raise IntegrityError(
            "The vault's signing key is damaged. Restore the vault from a backup.",
            debug_detail=f"expected 32 bytes, got {len(data) if hasattr(data, '__len__') else type(data)}",
        )
    return Ed25519PrivateKey.from_private_bytes(bytes(data))


@dataclass(frozen=True)
class SealIdentity:
    """PEM bytes of the seal's RSA private key (PKCS#8, unencrypted: it lives inside the encrypted
    vault) and of its self-signed certificate."""

    key_pem: bytes
    cert_pem: bytes

    def __repr__(self) -> str:  # never print the private key
        return f"SealIdentity(cert_pem=<{len(self.cert_pem)} bytes>, key_pem=<hidden>)"


def new_seal_identity(common_name: str, *, organisation: str = "", now: datetime | None = None) -> SealIdentity:
    """A new RSA-3072 key and a self-signed certificate valid for ten years, for sealing PDFs.

    Key usage digitalSignature + nonRepudiation (critical), basicConstraints CA:FALSE (critical),
    subject key identifier; signature sha256WithRSAEncryption.  ``common_name`` becomes the
    subject and issuer CN (and O when ``organisation`` is given).
    """
    if not isinstance(common_name, str) or not common_name.strip():
        raise InvalidInput("The seal needs a name (for example the organisation's name).")
    if len(common_name) > 64 or len(organisation) > 64:  # X.520 upper bounds for CN and O
        raise InvalidInput("The seal's name is too long: use at most 64 characters.")
    key = rsa.generate_private_key(public_exponent=65537, key_size=SEAL_RSA_BITS)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip())]
    if organisation.strip():
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip()))
    name = x509.Name(attributes)
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(minutes=5)  # clock skew
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(secrets.randbits(159) | 1)  # positive, at most 20 octets (RFC 5280)
        .not_valid_before(start)
        .not_valid_after(start + SEAL_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # = nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SealIdentity(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )
