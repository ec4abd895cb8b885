"""An organisation's seal for dossiers, imported from PKCS#12 (.p12/.pfx), instead of the vault's self-signed one.

The self-signed seal the vault makes at creation stays the offline default: it proves that a dossier
is unchanged since sealing and which key sealed it, but nobody vouches for that key.  An organisation
that holds a certificate issued by a certificate authority (a qualified seal, or one a court's registry
recognises) either imports its PKCS#12 file once into the vault (``evidence-vault seal import``, kept
encrypted in the vault: :mod:`app.vault.org_seal_store`), which every export then uses, or gives the file
and passphrase for one export (the key is then used in memory for that export only, and wins over the
stored one).  The key must be RSA (other keys make pyHanko write PDF 2.0, which PDF/A-3 forbids), and the
certificate must be valid at the time of sealing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from app.errors import InvalidInput
from app.user_files import read_small_file

MAX_P12_BYTES = 1 << 20


@dataclass(frozen=True)
class OrganisationSeal:
    """The PEM key, certificate and issuing chain of an imported seal (the key is never printed)."""

    key_pem: bytes = field(repr=False)
    cert_pem: bytes
    chain_pem: tuple[bytes, ...]
    subject: str
    issuer: str
    stored: bool = False  # kept in the vault (seal import), not given for this export only

    @property
    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert_pem)

    @property
    def note(self) -> str:
        how = "kept in this vault" if self.stored else "imported for this export"
        return (f"organisation seal of {self.subject}, certificate issued by {self.issuer} ({how}; the "
                "certificate and its chain are inside the signature).")


def check_valid(cert_pem: bytes, now: datetime | None = None) -> None:
    """Refuse a seal certificate that has expired or is not valid yet (a seal made with it would not validate)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    moment = now or datetime.now(UTC)
    subject = cert.subject.rfc4514_string()
    if moment < cert.not_valid_before_utc:
        raise InvalidInput(f"The seal certificate of {subject} is not valid yet: it is valid from "
                           f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC. Use it from then on, or ask the "
                           "certificate authority for a current one.")
    if moment > cert.not_valid_after_utc:
        raise InvalidInput(f"The seal certificate of {subject} expired on {cert.not_valid_after_utc:%Y-%m-%d} "
                           "(UTC). Import a renewed certificate from the certificate authority, or remove the "
                           "organisation seal to seal with this vault's own seal.")


def from_pem(key_pem: bytes, certs_pem: bytes, *, stored: bool = False) -> OrganisationSeal:
    """A seal from its PKCS#8 key and its certificate followed by the issuing chain (PEM, as the vault keeps it)."""
    certs = x509.load_pem_x509_certificates(certs_pem)
    pems = [c.public_bytes(serialization.Encoding.PEM) for c in certs]
    return OrganisationSeal(key_pem=key_pem, cert_pem=pems[0], chain_pem=tuple(pems[1:]),
                            subject=certs[0].subject.rfc4514_string(), issuer=certs[0].issuer.rfc4514_string(),
                            stored=stored)


def chosen_seal(vault: Any, given: OrganisationSeal | None) -> OrganisationSeal | None:
    """The seal of an export: the one ``given`` for it, else the organisation seal kept in the vault, else None (the
    vault's self-signed seal).  Either must be valid now."""
    seal = given
    if seal is None:
        stored = getattr(vault, "org_seal", None)
        seal = stored() if callable(stored) else None
    if seal is not None:
        check_valid(seal.cert_pem)
    return seal


def cert_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (what `openssl x509 -fingerprint -sha256` shows)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_pkcs12(data: bytes, passphrase: str | None) -> OrganisationSeal:
    """Read an organisation seal from PKCS#12 bytes; plain-sentence errors for every way it can be wrong."""
    if len(data) > MAX_P12_BYTES:
        raise InvalidInput("This is not a seal file: it is far too large for a PKCS#12 certificate and key.")
    secret = passphrase.encode("utf-8") if passphrase else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        raise InvalidInput("The seal file could not be opened: the passphrase is wrong, or it is not a PKCS#12 "
                           "(.p12 or .pfx) file. Check both and try again.", debug_detail=repr(exc)) from exc
    if key is None or cert is None:
        raise InvalidInput("The seal file holds no private key and certificate. Export the seal again with its "
                           "private key included.")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput("The seal's key must be an RSA key: other keys make the dossier fail PDF/A. Ask for an "
                           "RSA seal certificate.")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise InvalidInput("The seal file's key does not belong to its certificate. Export the seal again.")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    chain = tuple(c.public_bytes(serialization.Encoding.PEM) for c in (extra or []))
    check_valid(cert.public_bytes(serialization.Encoding.PEM))
    return OrganisationSeal(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM),
                            chain_pem=chain, subject=cert.subject.rfc4514_string(),
                            issuer=cert.issuer.rfc4514_string())


def load_pkcs12_file(path: Path, passphrase: str | None) -> OrganisationSeal:
    # An ordinary file only (a named pipe would wait forever), at most MAX_P12_BYTES.
    return load_pkcs12(read_small_file(path, limit=MAX_P12_BYTES, what="seal file"), passphrase)
