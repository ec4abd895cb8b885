"""Seal a PDF/A dossier with a PAdES signature, and check a sealed dossier.

- PAdES baseline B-B: CMS detached signature, subfilter ETSI.CAdES.detached, SHA-256; B-T when a
  timestamp authority is given (``timestamper``: an RFC 3161 signature timestamp on the seal).
- The seal is the vault's self-signed one (the offline default) or an organisation's certificate and
  key imported from PKCS#12 (:mod:`app.export.org_seal`), with its chain embedded.
- RSA key: with ECDSA pyHanko marks the file PDF 2.0, which PDF/A-3 forbids.
- Invisible signature field: pyHanko's default visible stamp uses a font it does not embed,
  which would break PDF/A.
- Incremental update: the PDF/A file is kept byte for byte and the signature appended, so the
  signature covers the whole PDF/A document.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.errors import InvalidInput, ProofError

SEAL_FIELD = "EvidenceVaultSeal"


class SealInvalid(ProofError):
    default_message = (
        "The seal of this PDF does not check out: the file was changed after it was sealed, or it was "
        "sealed by someone else. Do not rely on it; ask the sender for the original file."
    )

    def __init__(self, message: str | None = None, *, report: SealReport | None = None,
                 debug_detail: str = "") -> None:
        super().__init__(message, debug_detail=debug_detail)
        self.report = report


@dataclass(frozen=True)
class SealReport:
    intact: bool  # the signed bytes hash to the value in the signature
    valid: bool  # the signature over the signed attributes checks out (the document digest is `intact`)
    trusted: bool  # the signer is the given seal certificate
    signer: str  # the certificate's subject, human-readable
    signed_at: str | None  # the signing time claimed by the signer (not a trusted timestamp)
    modified_after_signing: bool  # anything at all was added or changed after the seal
    coverage: str  # pyHanko's coverage level, e.g. ENTIRE_FILE
    summary: str  # pyHanko's one-line verdict
    timestamped_at: str | None = None  # the time in a valid RFC 3161 signature timestamp (PAdES B-T)
    timestamp_authority: str = ""  # who signed that timestamp

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and not self.modified_after_signing


def seal_pdf(src: BinaryIO, dst: BinaryIO, *, key_pem: bytes, cert_pem: bytes, reason: str,
             location: str, name: str, chain_pem: Sequence[bytes] = (), timestamper: Any | None = None) -> None:
    """Append an invisible PAdES seal to the PDF read from ``src``; write the result to ``dst``.

    ``chain_pem``: the certificates that issued ``cert_pem`` (embedded for validators);
    ``timestamper``: a pyHanko TimeStamper of an RFC 3161 timestamp authority, for PAdES B-T."""
    try:
        key = load_private_key_from_pemder_data(key_pem, passphrase=None)
        cert = next(iter(load_certs_from_pemder_data(cert_pem)))
    except (ValueError, StopIteration) as exc:
        raise InvalidInput("The seal key or certificate could not be read. Check the vault's seal "
                           "identity.", debug_detail=repr(exc)) from exc
    if key.algorithm != "rsa":
        raise InvalidInput("The seal key must be an RSA key (other keys make the PDF fail PDF/A).")
    try:
        chain = [c for pem in chain_pem for c in load_certs_from_pemder_data(pem)]
    except ValueError as exc:
        raise InvalidInput("The seal's certificate chain could not be read.", debug_detail=repr(exc)) from exc
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                  cert_registry=SimpleCertificateStore.from_certs([cert, *chain]))
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD, reason=reason, location=location, name=name, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    try:
        writer = IncrementalPdfFileWriter(src, strict=False)
        signers.sign_pdf(writer, meta, signer=signer, output=dst, timestamper=timestamper,
                         new_field_spec=fields.SigFieldSpec(SEAL_FIELD, box=None))
    except (PdfReadError, SigningError) as exc:
        raise InvalidInput("The dossier could not be sealed: the PDF could not be read.",
                           debug_detail=repr(exc)) from exc


def _load_cert(cert_pem: bytes) -> Any:
    try:
        return next(iter(load_certs_from_pemder_data(cert_pem)))
    except (ValueError, StopIteration) as exc:
        raise InvalidInput("The seal certificate could not be read.", debug_detail=repr(exc)) from exc


def validate_sealed_pdf(src: BinaryIO, *, cert_pem: bytes, strict: bool = True,
                        trust_roots_pem: Sequence[bytes] = ()) -> SealReport:
    """Check the seal of a PDF against the seal certificate ``cert_pem`` (self-signed: trusted as is).

    With ``strict`` (the default) raises :class:`SealInvalid` unless the seal is intact, valid,
    made with that certificate and nothing was changed after it; with ``strict=False`` returns
    the report either way (for showing what is wrong).  A PDF without any seal always raises.
    """
    cert = _load_cert(cert_pem)
    data = src.read()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError) as exc:
        raise SealInvalid("This PDF is damaged: its seal cannot be checked.", debug_detail=repr(exc)) from exc
    if not signatures:
        raise SealInvalid("This PDF carries no seal.")
    sig = signatures[-1]
    roots = [cert, *(c for pem in trust_roots_pem for c in load_certs_from_pemder_data(pem))]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context)
    except (SignatureValidationError, ValueError, KeyError, PdfReadError) as exc:
        report = SealReport(False, False, False, "", None, True, "NONE", f"unreadable seal: {exc}")
        if strict:
            raise SealInvalid(report=report, debug_detail=repr(exc)) from exc
        return report
    coverage = status.coverage.name if status.coverage is not None else "NONE"
    modified = (
        len(signatures) != 1
        or coverage != "ENTIRE_FILE"
        or (status.modification_level is not None and status.modification_level.name != "NONE")
    )
    signer_cert = status.signing_cert
    stamp = getattr(status, "timestamp_validity", None)
    stamped = stamp is not None and bool(stamp.intact) and bool(stamp.valid)
    report = SealReport(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted) and signer_cert is not None and signer_cert.dump() == cert.dump(),
        signer=signer_cert.subject.human_friendly if signer_cert is not None else "",
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        modified_after_signing=modified,
        coverage=coverage,
        summary=status.summary(),
        timestamped_at=stamp.timestamp.isoformat() if stamped and stamp is not None else None,
        timestamp_authority=stamp.signing_cert.subject.human_friendly
        if stamped and stamp is not None and stamp.signing_cert is not None else "",
    )
    if strict and not report.ok:
        raise SealInvalid(report=report, debug_detail=report.summary)
    return report


__all__ = ["SEAL_FIELD", "SealInvalid", "SealReport", "seal_pdf",
           "validate_sealed_pdf"]
