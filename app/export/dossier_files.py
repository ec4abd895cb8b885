"""The files an export writes: the sealed PDF (render -> PDF/A-3 -> seal) and the bundle's inputs.

Intermediate PDFs go to hidden temporary files beside the output (the caller owns and removes
them): a 200-exhibit dossier is far too big to hold three copies of in memory.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from app.errors import IntegrityError
from app.export.bundle import BundleFile
from app.export.dossier_builder import ExhibitPlan, TextGuard
from app.export.dossier_model import Attachment, Dossier
from app.export.ern import member_suffix
from app.export.key_material import without_key_material
from app.export.legacy_text import legacy_readings
from app.export.pdf.pdfa import PdfaMetadata, make_pdfa
from app.export.pdf.proofs import CERT_ATTACHMENT_NAME, PROOFS_ATTACHMENT_NAME, proofs_json
from app.export.pdf.render import RenderResult, render_dossier
from app.export.pdf.seal import seal_pdf
from app.export.safe_zip import unsafe_name_reason
from app.export.selection import media_class
from app.progress import CancelToken, ProgressCallback
from app.redact.names import NameRedactor

PDF_NAME = "dossier.pdf"
MANIFEST_NAME = "dossier-manifest.json"
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class NameLeak(IntegrityError):
    """A protected name survived redaction.  The exporter adds what, if anything, was kept in the vault."""

    def __init__(self, people: Sequence[int], where: str, kept: str = "") -> None:
        self.people = list(people)
        self.where = where
        super().__init__(
            f"A protected person's name (person {', '.join(map(str, people))}) was still found in the {where} "
            f"after redaction. No export file was written.{(' ' + kept) if kept else ''} Report this problem; "
            "do not share the export.")


def protected_people_in(text: str, redactor: NameRedactor) -> set[int]:
    """The protected people named in ``text``, also where the name hides in escaped or undecodable
    bytes of a legacy encoding (GBK, Big5, cp874, ...: see app.export.legacy_text).  Matching is the
    redactor's own (``find``), so its rules for short aliases and scripts apply here too."""
    people = {m.person_id for m in redactor.find(text)}
    for reading in legacy_readings(text):
        people.update(m.person_id for m in redactor.find(reading))
    return people


def check_no_protected_names(text: str, redactor: NameRedactor, where: str) -> None:
    """Last line of defence at the redacted level: refuse to write if a protected name survived."""
    people = protected_people_in(text, redactor)
    if people:
        raise NameLeak(sorted(people), where)


def write_sealed_pdf(dossier: Dossier, dst: Path, temp: Callable[[str], Path], *, vault: Any, guard: TextGuard,
                     redactor: NameRedactor, originals: Sequence[Attachment],
                     render_progress: ProgressCallback | None, cancel: CancelToken | None,
                     org_seal: Any | None = None, timestamper: Any | None = None) -> RenderResult:
    raw = temp("render")
    with open(raw, "wb") as handle:
        rendered = render_dossier(dossier, handle, progress=render_progress, cancel=cancel)
    metadata = PdfaMetadata(title=f"Evidence dossier: {dossier.case_title}", author=dossier.organisation,
                            subject=f"Prepared for {dossier.audience}; level {dossier.level}; "
                                    f"ERN {dossier.ern_prefix}-000001 to {dossier.ern_prefix}-{rendered.pages:06d}",
                            keywords=f"manifest sha256 {dossier.manifest_sha256}")
    if guard.redacting:
        # The appendix's key material is random base64 that holds a short alias by chance (key_material.py).
        check_no_protected_names(without_key_material(rendered.text, dossier), redactor, "dossier text")
        check_no_protected_names(f"{metadata.title}\n{metadata.author}\n{metadata.subject}", redactor,
                                 "document metadata")
    if cancel is not None:
        cancel.check()
    pdfa = temp("pdfa")
    # An organisation's imported seal (app.export.org_seal) replaces the vault's self-signed one.
    seal = org_seal if org_seal is not None else vault.seal_identity
    # A lone PDF must be checkable: the seal certificate and the proofs travel inside it, under the seal.
    supplements = [(CERT_ATTACHMENT_NAME, seal.cert_pem, "application/x-pem-file",
                    "The certificate of this PDF's seal (check the seal with it)"),
                   (PROOFS_ATTACHMENT_NAME, proofs_json(dossier), "application/json",
                    "The signed checkpoint, exhibit hashes and inclusion proofs (evidence-vault verify-pdf)")]
    with open(raw, "rb") as src, open(pdfa, "wb") as out:
        make_pdfa(src, out, metadata=metadata, full_text=rendered.text, originals=list(originals),
                  supplements=supplements)
    raw.unlink()
    if cancel is not None:
        cancel.check()
    with open(pdfa, "rb") as src, open(dst, "wb") as out:
        seal_pdf(src, out, key_pem=seal.key_pem, cert_pem=seal.cert_pem,
                 reason=f"Sealed evidence dossier ({dossier.audience}, {dossier.level}), manifest "
                        f"{dossier.manifest_sha256[:16]}",
                 location="Evidence Vault", name=dossier.organisation,
                 chain_pem=getattr(seal, "chain_pem", ()), timestamper=timestamper)
    pdfa.unlink()
    return rendered


def safe_member_name(name: str, fallback: str) -> str:
    """A file name usable on every system inside a bundle, or ``fallback``."""
    cleaned = _UNSAFE_CHARS.sub("_", unicodedata.normalize("NFC", name)).strip(" .")
    if len(cleaned.encode("utf-8")) > 150:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem.encode("utf-8")[:140].decode("utf-8", "ignore") + dot + ext[:8]) if dot else \
            cleaned.encode("utf-8")[:150].decode("utf-8", "ignore")
    return cleaned if cleaned and unsafe_name_reason(cleaned) is None else fallback


def _original_opener(vault: Any, item_id: int) -> Callable[[], BinaryIO]:
    return lambda: cast(BinaryIO, vault.open_original(item_id))


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def _transcript_bytes(vault: Any, item_id: int, guard: TextGuard, number: str) -> bytes:
    lines = [f"Transcript of exhibit {number}", ""]
    segments = vault.transcript(item_id)
    for s, text in zip(segments, guard.segments([s.text for s in segments]), strict=True):
        speaker = guard(s.speaker or "Speaker")
        lines.append(f"[{s.start:.1f}-{s.end:.1f} s] {speaker} ({s.language or '?'}): {text}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def bundle_inputs(vault: Any, plans: Sequence[ExhibitPlan], guard: TextGuard, *, level: str, pdf_path: Path,
                  manifest: bytes, dossier: Dossier | None = None,
                  rendered: RenderResult | None = None) -> tuple[list[BundleFile], list[tuple[int, str]]]:
    """The caller's files of the bundle, and the exhibits whose file was withheld (with why).

    With the ``dossier`` (its exhibits carry their persistent ERNs) natives are named by ERN
    (``exhibits/EV-00012.jpg``, ``exhibits/EV-00012-Red.jpg``), a withheld file is replaced by a
    placeholder text saying what was withheld and why, and with ``rendered`` the load files
    (DAT, CSV, OPT: :mod:`app.export.load_files`) are added."""
    from app.export.dossier_court import load_file_members, placeholder_bytes, withheld_reasons

    files = [BundleFile(PDF_NAME, open=lambda: pdf_path.open("rb"), role="dossier"),
             BundleFile(MANIFEST_NAME, open=lambda: io.BytesIO(manifest), role="attachment")]
    withheld: list[tuple[int, str]] = []
    erns = [e.ern for e in dossier.exhibits] if dossier is not None else [""] * len(plans)
    reasons = withheld_reasons(plans, level)
    natives: dict[int, tuple[str, str]] = {}
    texts: dict[int, str] = {}
    for plan, ern in zip(plans, erns, strict=True):
        item = plan.item
        chosen = item if level == "original" else plan.derivative
        if chosen is None:
            cls = media_class(item)
            what = "recording (the voice)" if cls == "audio" else "file"
            withheld.append((item.id, f"the {what} cannot be redacted automatically, so only its redacted "
                                      "transcript and description are included"))
            if ern:
                data = placeholder_bytes(ern, reasons.get(item.id, withheld[-1][1]))
                files.append(BundleFile(f"exhibits/{ern}-WITHHELD.txt", open=_bytes_opener(data),
                                        role="attachment"))
        else:
            suffix = member_suffix(chosen)
            if ern:
                name = f"{ern}{suffix}"
            elif guard.redacting:
                # An original file name never leaves the vault at the redacted level: ERN and type only.
                name = f"{plan.number}{suffix}"
            else:
                name = safe_member_name(f"{plan.number}_{chosen.original_name}", f"{plan.number}{suffix}")
            files.append(BundleFile(f"exhibits/{name}", open=_original_opener(vault, chosen.id),
                                    item_id=chosen.id, role="exhibit"))
            natives[item.id] = (f"exhibits/{name}", chosen.sha256)
        if vault.transcript(item.id):
            data = _transcript_bytes(vault, item.id, guard, plan.number)
            if guard.redacting and guard.redactor is not None:
                check_no_protected_names(data.decode("utf-8"), guard.redactor, f"transcript of {plan.number}")
            files.append(BundleFile(f"transcripts/{plan.number}.txt", open=_bytes_opener(data),
                                    role="transcript"))
            texts[item.id] = f"transcripts/{plan.number}.txt"
    if dossier is not None and rendered is not None and rendered.exhibit_pages:
        custodian = dossier.declaration.organisation or dossier.organisation
        for name, opener in load_file_members(dossier, plans, rendered.exhibit_pages, rendered.pages, natives,
                                              texts, custodian=custodian):
            files.append(BundleFile(name, open=opener, role="attachment"))
    return files, withheld


def check_bundle_texts(files: Sequence[BundleFile], events: Sequence[Any],
                       view: Callable[[Any], dict[str, object] | None] | None, redactor: NameRedactor) -> None:
    """The bundle's last line of defence at the redacted level: its member names (which also fill
    manifest.json and SHA256SUMS) and its custody events, as written, hold no protected name."""
    from app.vault.canonical import canonical_json

    check_no_protected_names("\n".join(f.arcname for f in files), redactor, "bundle's file names")
    lines = []
    for event in events:
        shown = view(event) if view is not None else None
        lines.append((canonical_json(shown) if shown is not None else event.canonical_bytes()).decode("utf-8"))
    check_no_protected_names("\n".join(lines), redactor, "bundle's custody events")
