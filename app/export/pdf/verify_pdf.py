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
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import pikepdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import EvidenceVaultError, InvalidInput
from app.export.pdf.pdfa import MAX_ATTACHMENT_BYTES, TEXT_ATTACHMENT_NAME
from app.export.pdf.proofs import CERT_ATTACHMENT_NAME, PROOFS_ATTACHMENT_NAME, PROOFS_FORMAT
from app.export.pdf.seal import SealInvalid, validate_sealed_pdf
from app.vault import keys
from app.vault.canonical import load_json_bounded
from app.vault.checkpoint import verify_checkpoint
from app.vault.merkle import verify_inclusion

_READ_CHUNK = 1024 * 1024
_MIB = 1024 * 1024
# The dossier's own attachments are read whole (they are parsed, or searched), but never past these sizes,
# far above what an export writes: a file of a few MB may inflate to gigabytes (a decompression bomb).
_WHOLE_LIMITS = {CERT_ATTACHMENT_NAME: 1 * _MIB, PROOFS_ATTACHMENT_NAME: 64 * _MIB,
                 TEXT_ATTACHMENT_NAME: 64 * _MIB}
_WHAT = {CERT_ATTACHMENT_NAME: "seal certificate", PROOFS_ATTACHMENT_NAME: "custody proofs",
         TEXT_ATTACHMENT_NAME: "text of the pages"}
# Every other attachment is an original (court exports at the original level): hashed while it is
# decoded, never held, and together no larger than an export attaches (app.export.pdf.pdfa).
_ORIGINALS_LIMIT = MAX_ATTACHMENT_BYTES
_DO_NOT_RELY = "Do not rely on this PDF; ask the sender for the original file."


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


class _AttachmentProblem(Exception):
    """An attachment that was not read (too large, encoded as no dossier is) or not as it states."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Attachments:
    """The files attached inside the PDF: the dossier's own (``whole``, read whole but bounded) and the
    originals (``digests``: SHA-256 computed while decoding).  ``problems`` name the attachments that were
    not read, or not what they state; an unread one of the dossier's own reads as empty."""

    names: set[str] = field(default_factory=set)
    whole: dict[str, bytes] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    @overload
    def get(self, name: str) -> bytes | None: ...

    @overload
    def get(self, name: str, default: bytes) -> bytes: ...

    def get(self, name: str, default: bytes | None = None) -> bytes | None:
        return self.whole.get(name, default)

    def sha256(self, name: str) -> str | None:
        if name in self.whole:
            return hashlib.sha256(self.whole[name]).hexdigest()
        return self.digests.get(name)


def _attachments(path: Path) -> _Attachments:
    found = _Attachments()
    budget = _ORIGINALS_LIMIT
    try:
        with pikepdf.open(path) as pdf:
            for name, spec in pdf.attachments.items():
                found.names.add(name)
                try:
                    budget -= _read_one(found, name, spec, budget)
                except _AttachmentProblem as problem:
                    found.problems.append(problem.message)
                    if name in _WHOLE_LIMITS:
                        found.whole[name] = b""
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise InvalidInput("This file could not be read as a PDF. Check that it is the dossier you received.",
                           debug_detail=repr(exc)) from exc
    return found


def _read_one(found: _Attachments, name: str, spec: Any, budget: int) -> int:
    """Read one attachment into ``found``; returns how much of the originals' ``budget`` it used."""
    try:
        stream = spec.get_file().obj
        limit = _WHOLE_LIMITS.get(name)
        if limit is not None:
            parts: list[bytes] = []
            _read_attachment(name, stream, limit, parts.append, too_large=(
                f"larger than the {_WHAT[name]} of any dossier ({limit // _MIB} MiB at most)"))
            found.whole[name] = b"".join(parts)
            return 0
        digest = hashlib.sha256()
        used = _read_attachment(name, stream, budget, digest.update, too_large=(
            f"too large: the originals attached to a dossier add up to {_ORIGINALS_LIMIT // _MIB} MiB at most"))
        found.digests[name] = digest.hexdigest()
        return used
    except (pikepdf.PdfError, KeyError, AttributeError, TypeError, ValueError) as exc:  # pikepdf's words stay out
        raise _AttachmentProblem(f"The file {name} attached inside the PDF cannot be read: the PDF was changed "
                                 f"or is damaged. {_DO_NOT_RELY}") from exc


def _read_attachment(name: str, stream: pikepdf.Object, limit: int, sink: Callable[[bytes], None], *,
                     too_large: str) -> int:
    """Decode the attached file ``name`` chunk by chunk into ``sink`` and check it against the size and MD5
    checksum stated with it (/Params, written by every export).  A stated size above ``limit`` is not read
    at all, and nothing is read past the stated size.  Returns its size; raises _AttachmentProblem naming it."""
    params = stream.get("/Params")
    declared = params.get("/Size") if isinstance(params, pikepdf.Dictionary) else None
    if not isinstance(declared, int) or isinstance(declared, bool) or declared < 0:
        raise _AttachmentProblem(f"The file {name} attached inside the PDF does not state its size, as every "
                                 f"file attached to a dossier does: the PDF was changed. {_DO_NOT_RELY}")
    if declared > limit:
        raise _AttachmentProblem(f"The file {name} attached inside the PDF is {too_large}; it states "
                                 f"{declared} bytes and was not read. {_DO_NOT_RELY}")
    checksum = params.get("/CheckSum")
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in _decoded(name, stream):
        size += len(chunk)
        if size > declared:  # never read past what it states (at most ``limit``)
            raise _AttachmentProblem(f"The file {name} attached inside the PDF holds more than the {declared} "
                                     f"bytes it states: the PDF was changed. It was not read further. "
                                     f"{_DO_NOT_RELY}")
        md5.update(chunk)
        sink(chunk)
    if size != declared:
        raise _AttachmentProblem(f"The file {name} attached inside the PDF holds {size} bytes but states "
                                 f"{declared}: the PDF was changed. {_DO_NOT_RELY}")
    if isinstance(checksum, pikepdf.String) and bytes(checksum) != md5.digest():
        raise _AttachmentProblem(f"The file {name} attached inside the PDF does not match the checksum stated "
                                 f"with it: the PDF was changed. {_DO_NOT_RELY}")
    return size


def _decoded(name: str, stream: pikepdf.Object) -> Iterator[bytes]:
    """The content of an attached file, a chunk (of at most _READ_CHUNK bytes) at a time.  An export
    writes attachments Flate-compressed (or plain); only these are decoded here, by zlib with a bounded
    output, since pikepdf decodes a whole stream into memory."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [] if filters is None else [
        str(filters)]
    parms = stream.get("/DecodeParms")
    if names not in ([], ["/FlateDecode"]) or (parms is not None and not _no_predictor(parms)):
        raise _AttachmentProblem(f"The file {name} attached inside the PDF is encoded in a way no dossier is "
                                 f"({', '.join(names)}): the PDF was changed. {_DO_NOT_RELY}")
    raw = memoryview(stream.read_raw_bytes())  # compressed: no larger than the PDF file itself
    if not names:
        for start in range(0, len(raw), _READ_CHUNK):
            yield bytes(raw[start:start + _READ_CHUNK])
        return
    inflate = zlib.decompressobj()
    try:
        for start in range(0, len(raw), _READ_CHUNK):
            pending: bytes | memoryview = raw[start:start + _READ_CHUNK]
            while not inflate.eof:  # until this input is used up and nothing more comes out of it
                out = inflate.decompress(pending, _READ_CHUNK)
                if out:
                    yield out
                pending = inflate.unconsumed_tail
                if not pending and not out:
                    break
        if not inflate.eof:
            raise zlib.error("the compressed data ends early")
    except zlib.error as exc:
        raise _AttachmentProblem(f"The file {name} attached inside the PDF is damaged: it cannot be decoded. "
                                 f"{_DO_NOT_RELY}") from exc


def _no_predictor(parms: Any) -> bool:
    """Decode parameters that change nothing (no PNG/TIFF predictor), as pikepdf may write them."""
    items = list(parms) if isinstance(parms, pikepdf.Array) else [parms]
    return all(isinstance(item, pikepdf.Dictionary) and item.get("/Predictor", 1) == 1 for item in items)


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


def _check_originals(data: dict[str, Any], files: _Attachments, report: PdfReport) -> None:
    for exhibit in data.get("exhibits", []):
        name = exhibit.get("attachment")
        if not name:
            continue
        if name not in files:
            report.problems.append(f"Exhibit {exhibit.get('number')}: its original file {name} is missing.")
            continue
        digest = files.sha256(str(name))
        if digest is None:  # not read (too large, or not as it states): its own problem says so
            continue
        if digest != exhibit.get("sha256"):
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
    report.problems += files.problems
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
