"""The organisation's seal kept inside the vault: a PKCS#12 certificate and key imported once, used by every export.

``evidence-vault seal import FILE.p12`` (or the export wizard) reads the PKCS#12 file with its passphrase
(:func:`app.export.org_seal.load_pkcs12`: RSA key, matching certificate, valid now) and stores the private key
(PKCS#8 PEM) and the certificate followed by its issuing chain (PEM) as the row ``organisation_seal`` of the
vault's ``keys`` table, beside the vault's own keys: inside the SQLCipher file, never as a loose file.  The table
exists in every vault, so an existing vault needs no migration.  Importing and removing are custody events
(``seal_imported`` / ``seal_removed``) naming the certificate's SHA-256 fingerprint, subject, issuer and validity,
never the key.  Exports use the stored seal unless one is given for the export
(:func:`app.export.org_seal.chosen_seal`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3

from app.errors import InvalidInput, NotFound
from app.vault.custody import append_event
from app.vault.events import utc_now
from app.vault.vault_parts import VaultParts

if TYPE_CHECKING:
    from app.export.org_seal import OrganisationSeal

ORG_SEAL_KEY_NAME = "organisation_seal"
ORG_SEAL_ALGORITHM = "RSA"


@dataclass(frozen=True)
class OrgSealInfo:
    """What may be shown of the stored organisation seal (never the key)."""

    subject: str
    issuer: str
    not_before: str  # RFC 3339 UTC
    not_after: str
    fingerprint: str  # SHA-256 of the certificate's DER encoding, lowercase hex
    imported_at: str
    chain_length: int  # issuing certificates stored with it


def _info(certs_pem: bytes, imported_at: str) -> OrgSealInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from app.export.org_seal import cert_fingerprint

    certs = x509.load_pem_x509_certificates(certs_pem)
    cert = certs[0]
    return OrgSealInfo(subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                       not_before=f"{cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}",
                       not_after=f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}",
                       fingerprint=cert_fingerprint(cert.public_bytes(serialization.Encoding.PEM)),
                       imported_at=imported_at, chain_length=len(certs) - 1)


def _event_details(info: OrgSealInfo) -> dict[str, Any]:
    return {"certificate_sha256": info.fingerprint, "subject": info.subject, "issuer": info.issuer,
            "not_before": info.not_before, "not_after": info.not_after}


class OrgSealMixin(VaultParts):
    """The organisation-seal calls of :class:`app.vault.vault.Vault`."""

    @staticmethod
    def _org_seal_row(conn: sqlcipher3.Connection) -> tuple[Any, ...] | None:
        row = conn.execute("SELECT private_key, certificate_pem, created_at FROM keys WHERE name = ?",
                           (ORG_SEAL_KEY_NAME,)).fetchone()
        return tuple(row) if row is not None else None

    def import_org_seal(self, path: str | os.PathLike[str], passphrase: str | None) -> OrgSealInfo:
        """Store the organisation's seal from a PKCS#12 file (replacing one stored before); records ``seal_imported``.

        A wrong passphrase, a file that is not PKCS#12, a non-RSA key or a certificate that is expired or not yet
        valid raise InvalidInput in plain words, and nothing is stored."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        from app.export.org_seal import load_pkcs12_file

        seal = load_pkcs12_file(Path(path), passphrase)
        certs_pem = seal.cert_pem + b"".join(seal.chain_pem)
        public_pem = load_pem_private_key(seal.key_pem, None).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        now = utc_now()
        info = _info(certs_pem, now)
        with self._tx() as conn:
            old = self._org_seal_row(conn)
            conn.execute("DELETE FROM keys WHERE name = ?", (ORG_SEAL_KEY_NAME,))
            conn.execute(
                "INSERT INTO keys(name, algorithm, private_key, public_pem, certificate_pem, key_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ORG_SEAL_KEY_NAME, ORG_SEAL_ALGORITHM, seal.key_pem, public_pem, certs_pem, info.fingerprint, now))
            details = _event_details(info)
            details["replaced_certificate_sha256"] = _info(bytes(old[1]), str(old[2])).fingerprint if old else None
            append_event(conn, actor=self.actor, action="seal_imported", details=details)
        return info

    def org_seal_info(self) -> OrgSealInfo | None:
        """The stored organisation seal's certificate (subject, issuer, validity, fingerprint), or None."""
        with self._read() as conn:
            row = self._org_seal_row(conn)
        return _info(bytes(row[1]), str(row[2])) if row is not None else None

    def remove_org_seal(self) -> OrgSealInfo:
        """Delete the stored organisation seal (exports go back to the vault's self-signed seal); records
        ``seal_removed``.  Raises NotFound when none is stored."""
        with self._tx() as conn:
            row = self._org_seal_row(conn)
            if row is None:
                raise NotFound("This vault keeps no organisation seal, so there is nothing to remove.")
            info = _info(bytes(row[1]), str(row[2]))
            conn.execute("DELETE FROM keys WHERE name = ?", (ORG_SEAL_KEY_NAME,))
            append_event(conn, actor=self.actor, action="seal_removed", details=_event_details(info))
        return info

    def org_seal(self) -> OrganisationSeal | None:
        """The stored seal with its key, for sealing an export (not part of the service API: the UI never holds
        the key)."""
        from app.export.org_seal import from_pem

        with self._read() as conn:
            row = self._org_seal_row(conn)
        if row is None:
            return None
        try:
            return from_pem(bytes(row[0]), bytes(row[1]), stored=True)
        except ValueError as exc:
            raise InvalidInput("The organisation seal kept in this vault cannot be read. Remove it and import the "
                               "PKCS#12 file again.", debug_detail=repr(exc)) from exc
