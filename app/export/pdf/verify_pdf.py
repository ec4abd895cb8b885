"""Check a sealed dossier PDF with nothing but the PDF (``evidence-vault verify-pdf FILE``).

1. the seal (PAdES) against the seal certificate attached inside the PDF, or one given by the auditor;
2. the signed checkpoint against the vault's public key carried in the PDF (or a key ID given by the
   auditor, which is what proves *whose* vault it was);
3. every custody event's RFC 9162 inclusion proof against the checkpoint's root;
4. the SHA-256 of every original file attached inside the PDF (court exports) against its exhibit's;
5. the proofs attachment against the pages: every hash and root it states is printed in the PDF's text.

Every step that fails is a problem in the report; nothing raises for an invalid dossier (the caller
decides), but an unreadable file raises :class:`~app.errors.InvalidInput`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import EvidenceVaultError, InvalidInput
from app.export.pdf.pdfa import TEXT_ATTACHMENT_NAME
from app.export.pdf.proofs import CERT_ATTACHMENT_NAME, PROOFS_ATTACHMENT_NAME, PROOFS_FORMAT
from app.export.pdf.seal import SealInvalid, validate_sealed_pdf
from app.vault import keys
from app.vault.canonical import load_json_bounded
from app.vault.checkpoint import verify_checkpoint
from app.vault.merkle import verify_inclusion

_READ_CHUNK = 1024 * 1024


@dataclass
class PdfReport:
    problems: list[str] = field(default_factory=list)
    seal_signer: str = ""
    seal_signed_at: str | None = None
    seal_certificate_sha256: str = ""  # fingerprint of the certificate the seal was checked against
    seal_certificate_source: str = ""  # "attached inside the PDF" or the auditor's file
    key_id: str = ""
    key_checked: bool = False  # the auditor gave the key ID and it matched
    tree_size: int = 0
    root: str = ""
    exhibits: int = 0
    proofs_checked: int = 0
    originals_checked: int = 0
    audience: str = ""
    level: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **{k: v for k, v in self.__dict__.items()}}


def _attachments(path: Path) -> dict[str, bytes]:
    try:
        with pikepdf.open(path) as pdf:
            return {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise InvalidInput("This file could not be read as a PDF. Check that it is the dossier you received.",
                           debug_detail=repr(exc)) from exc


def _fingerprint(cert_pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex()


def _check_seal(path: Path, cert_pem: bytes | None, report: PdfReport) -> None:
    if cert_pem is None:
        report.problems.append("The PDF carries no seal certificate. It was not made by Evidence Vault, or "
                               "it was changed; give the certificate with --seal-cert.")
        return
    try:
        report.seal_certificate_sha256 = _fingerprint(cert_pem)
    except ValueError:
        report.problems.append("The seal certificate could not be read.")
        return
    try:
        with open(path, "rb") as handle:
            seal = validate_sealed_pdf(handle, cert_pem=cert_pem, strict=False)
    except SealInvalid as exc:
        report.problems.append(f"Seal: {exc.user_message()}")
        return
    except EvidenceVaultError as exc:
        report.problems.append(f"Seal: {exc.user_message()}")
        return
    report.seal_signer, report.seal_signed_at = seal.signer, seal.signed_at
    if not seal.ok:
        what = ("the file was changed after it was sealed" if seal.modified_after_signing or not seal.intact
                else "it was not sealed with this certificate" if not seal.trusted
                else "the signature does not check out")
        report.problems.append(f"Seal: {what}. Do not rely on this PDF; ask the sender for the original file.")


def _check_proofs(data: dict[str, Any], page_text: str, report: PdfReport, expect_key_id: str | None) -> None:
    report.audience, report.level = str(data.get("audience", "")), str(data.get("level", ""))
    try:
        public = serialization.load_pem_public_key(str(data["public_key_pem"]).encode("ascii"))
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        report.key_id = keys.key_id(public)
        checkpoint = verify_checkpoint(str(data["checkpoint"]), public)
    except (KeyError, ValueError, TypeError) as exc:
        report.problems.append(f"The vault's public key in the PDF could not be read ({exc}).")
        return
    except EvidenceVaultError as exc:
        report.problems.append(f"Checkpoint: {exc.user_message()}")
        return
    if expect_key_id is not None:
        report.key_checked = report.key_id == expect_key_id
        if not report.key_checked:
            report.problems.append(f"The dossier was made by vault key {report.key_id}, not by the key "
                                   f"{expect_key_id} you expected.")
    report.tree_size, report.root = checkpoint.tree_size, checkpoint.root.hex()
    if data.get("tree_size") != checkpoint.tree_size or data.get("merkle_root") != report.root:
        report.problems.append("The tree size or root stated in the PDF differs from its signed checkpoint.")
    if report.root not in page_text:
        report.problems.append("The checkpoint's root is not in the text of this PDF's pages.")
    for exhibit in data.get("exhibits", []):
        report.exhibits += 1
        number = exhibit.get("number", "?")
        for value in (exhibit.get("sha256"), exhibit.get("derivative_sha256"), exhibit.get("original_commitment")):
            if value and str(value).split(":")[-1] not in page_text:
                report.problems.append(f"Exhibit {number}: the hash {value} is not in the text of its pages.")
        for row in exhibit.get("proofs", []):
            try:
                verify_inclusion(leaf_hash=bytes.fromhex(row["leaf_hash"]), index=int(row["leaf_index"]),
                                 tree_size=checkpoint.tree_size, proof=[bytes.fromhex(h) for h in row["proof"]],
                                 root=checkpoint.root)
                report.proofs_checked += 1
            except (KeyError, ValueError, TypeError):
                report.problems.append(f"Exhibit {number}: a custody proof could not be read.")
            except EvidenceVaultError:
                report.problems.append(f"Exhibit {number}: custody event {row.get('leaf_index')} is not in the "
                                       "signed custody log (its inclusion proof fails).")
            if row.get("leaf_hash") and row["leaf_hash"] not in page_text:
                report.problems.append(f"Exhibit {number}: custody event {row.get('leaf_index')} is not in the "
                                       "text of its pages.")


def _check_originals(data: dict[str, Any], files: dict[str, bytes], report: PdfReport) -> None:
    for exhibit in data.get("exhibits", []):
        name = exhibit.get("attachment")
        if not name:
            continue
        if name not in files:
            report.problems.append(f"Exhibit {exhibit.get('number')}: its original file {name} is missing.")
            continue
        digest = hashlib.sha256()
        stream = io.BytesIO(files[name])
        while chunk := stream.read(_READ_CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != exhibit.get("sha256"):
            report.problems.append(f"Exhibit {exhibit.get('number')}: the attached original {name} does not "
                                   "match its SHA-256.")
        else:
            report.originals_checked += 1


def verify_pdf(path: Path, *, seal_cert_pem: bytes | None = None, expect_key_id: str | None = None) -> PdfReport:
    """Check the sealed dossier at ``path`` (see the module docstring).  ``seal_cert_pem``: the seal
    certificate the auditor received separately (else the one attached inside the PDF is used, which
    proves the file is unchanged but not who sealed it: compare its fingerprint)."""
    files = _attachments(path)
    report = PdfReport()
    attached_cert = files.get(CERT_ATTACHMENT_NAME)
    if seal_cert_pem is not None:
        report.seal_certificate_source = "given by you"
        if attached_cert is not None and attached_cert.strip() != seal_cert_pem.strip():
            report.problems.append("The seal certificate inside the PDF is not the one you gave.")
    else:
        report.seal_certificate_source = "attached inside the PDF"
    _check_seal(path, seal_cert_pem if seal_cert_pem is not None else attached_cert, report)
    raw = files.get(PROOFS_ATTACHMENT_NAME)
    if raw is None:
        report.problems.append("The PDF carries no custody proofs (dossier-proofs.json): it was made by an "
                               "older version, or changed. Check it with its bundle instead.")
        return report
    try:
        data = load_json_bounded(raw.decode("utf-8"))  # deep nesting: a ValueError, not a RecursionError
        if not isinstance(data, dict) or data.get("format") != PROOFS_FORMAT:
            raise ValueError("unknown format")
    except (UnicodeDecodeError, ValueError) as exc:
        report.problems.append(f"The custody proofs inside the PDF could not be read ({exc}).")
        return report
    page_text = files.get(TEXT_ATTACHMENT_NAME, b"").decode("utf-8", errors="replace")
    _check_proofs(data, page_text, report, expect_key_id)
    _check_originals(data, files, report)
    return report
