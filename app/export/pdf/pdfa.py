"""Turn the rendered PDF into PDF/A-3b with pikepdf.

What PDF/A-3b asks of us, and where it comes from:
- every font embedded — the renderer only uses embedded TrueType fonts (app.export.pdf.fonts);
- XMP metadata with pdfaid:part=3, pdfaid:conformance=B, in step with the document info;
- an OutputIntent with an ICC profile for the DeviceRGB colours and images (sRGB, from Pillow);
- embedded files only as "associated files": a /AF array on the catalog, each file
  specification with /AFRelationship, each embedded file with /Subtype (MIME) and /Params;
- no encryption; a file identifier (/ID) in the trailer.

The metadata strings come from the caller.  For redacted exports they must already be redacted:
nothing here looks at them.  No PDF/A validator (veraPDF) is available here; tests check the
requirements above one by one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import ImageCms
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR

from app.errors import EvidenceVaultError, InvalidInput
from app.export.dossier_model import Attachment

TEXT_ATTACHMENT_NAME = "dossier-text.txt"
# pikepdf needs attached files as bytes in memory: originals above this are refused, so a 4 GB
# video never lands in RAM.  Court exports that need larger originals ship them in the bundle.
MAX_ATTACHMENT_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


class AttachmentTooLarge(EvidenceVaultError):
    default_message = (
        "An original exhibit is too large to be carried inside the PDF. Export it in the sealed "
        "bundle instead, or leave the originals out of the PDF."
    )


@dataclass(frozen=True)
class PdfaMetadata:
    title: str
    author: str  # the organisation
    subject: str = ""
    keywords: str = ""
    language: str = "en"


def srgb_icc_profile() -> bytes:
    """An sRGB ICC profile made by Pillow's LittleCMS (no profile file needs to be shipped)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _pdf_date(moment: datetime) -> str:
    return moment.strftime("D:%Y%m%d%H%M%SZ")


def _read_capped(att: Attachment, remaining: int) -> bytes:
    if att.size > min(MAX_ATTACHMENT_BYTES, remaining):
        raise AttachmentTooLarge(debug_detail=f"{att.name}: {att.size} bytes")
    chunks: list[bytes] = []
    total = 0
    with att.open() as fh:
        while chunk := fh.read(_READ_CHUNK):
            total += len(chunk)
            if total > att.size or total > remaining:
                raise AttachmentTooLarge(debug_detail=f"{att.name}: more bytes than its declared size")
            chunks.append(chunk)
    return b"".join(chunks)


def _attach(pdf: pikepdf.Pdf, *, name: str, data: bytes, mime: str, description: str,
            relationship: Name, when: str) -> pikepdf.Object:
    spec = pikepdf.AttachedFileSpec(pdf, data, description=description, filename=name, mime_type=mime,
                                    creation_date=when, mod_date=when, relationship=relationship)
    pdf.attachments[name] = spec
    spec_obj = spec.obj
    # PDF/A-3 wants the checksum and size in /Params; pikepdf sets Size and dates, add CheckSum
    stream = spec_obj.EF.F
    params = stream.get("/Params", Dictionary())
    params.Size = len(data)
    params.ModDate = String(when)
    params.CheckSum = String(hashlib.md5(data, usedforsecurity=False).digest())
    stream.Params = params
    return spec_obj


def make_pdfa(src: BinaryIO, dst: BinaryIO, *, metadata: PdfaMetadata, full_text: str,
              originals: Sequence[Attachment] = (), max_total_attachments: int = MAX_ATTACHMENT_BYTES,
              supplements: Sequence[tuple[str, bytes, str, str]] = ()) -> None:
    """Read the PDF from ``src`` and write a PDF/A-3b version to ``dst``.

    ``full_text`` is embedded as dossier-text.txt (UTF-8, relationship Supplement);
    ``originals`` (court exports under seal) are embedded as associated files (relationship
    Source), each read whole into memory, at most ``max_total_attachments`` bytes in all;
    ``supplements`` are small files (name, data, MIME type, description) embedded with relationship
    Supplement (the seal certificate and the proofs, :mod:`app.export.pdf.proofs`).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    when = _pdf_date(now)
    try:
        pdf = pikepdf.open(src)
    except pikepdf.PdfError as exc:
        raise InvalidInput("The rendered dossier could not be read back. Export again.",
                           debug_detail=repr(exc)) from exc
    with pdf:
        if pdf.is_encrypted:
            raise InvalidInput("An encrypted PDF cannot become PDF/A.")
        # Start the document info afresh: only what we set below goes into the file.
        pdf.trailer.Info = pdf.make_indirect(Dictionary())
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            for key in list(meta.keys()):
                del meta[key]
            meta["pdfaid:part"] = "3"
            meta["pdfaid:conformance"] = "B"
            meta["dc:title"] = metadata.title
            meta["dc:creator"] = [metadata.author] if metadata.author else []
            if metadata.subject:
                meta["dc:description"] = metadata.subject
            if metadata.keywords:
                meta["pdf:Keywords"] = metadata.keywords
            meta["dc:language"] = [metadata.language]
            # pyHanko's seal forces XMP pdf:Producer to its own name and appends it to the info
            # /Producer unless already there; PDF/A needs both equal, so use its name from the start.
            meta["pdf:Producer"] = PYHANKO_VENDOR
            meta["xmp:CreatorTool"] = "Evidence Vault"
            iso = now.isoformat().replace("+00:00", "Z")
            meta["xmp:CreateDate"] = iso
            meta["xmp:ModifyDate"] = iso
            meta["xmp:MetadataDate"] = iso
        info = pdf.trailer.Info
        info.CreationDate = String(when)
        info.ModDate = String(when)

        icc = pdf.make_stream(srgb_icc_profile())
        icc.N = 3
        pdf.Root.OutputIntents = Array([Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=String("sRGB"),
            RegistryName=String("http://www.color.org"), Info=String("sRGB IEC61966-2.1"),
            DestOutputProfile=icc)])

        associated = [_attach(pdf, name=TEXT_ATTACHMENT_NAME, data=full_text.encode("utf-8"),
                              mime="text/plain", relationship=Name.Supplement, when=when,
                              description="The full text of this dossier (UTF-8), for search and checking")]
        for name, data, mime, description in supplements:
            associated.append(_attach(pdf, name=name, data=data, mime=mime, when=when,
                                      relationship=Name.Supplement, description=description))
        remaining = max_total_attachments
        for att in originals:
            data = _read_capped(att, remaining)
            remaining -= len(data)
            associated.append(_attach(pdf, name=att.name, data=data, mime=att.mime, when=when,
                                      relationship=Name.Source,
                                      description="Original exhibit file (court, under seal)"))
        pdf.Root.AF = Array(associated)
        if "/PageMode" not in pdf.Root:
            pdf.Root.PageMode = Name.UseOutlines
        pdf.save(dst, fix_metadata_version=False, static_id=False, min_version="1.7",
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
