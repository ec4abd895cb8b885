"""Shared builders for the bundle tests: a real custody log, a real signed checkpoint, real files, the
export record that binds them (as the exporter writes it), a hand-made ZIP writer for hostile archives,
and helpers to tamper with and re-sign bundles."""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image
from reportlab.pdfgen import canvas

from app.export import bundle as layout
from app.export.bundle import BundleFile, BundleResult, export_binding, write_bundle
from app.vault import keys, merkle
from app.vault.canonical import canonical_json
from app.vault.checkpoint import sign_checkpoint
from app.vault.events import GENESIS_PREV_HASH, Event, utc_now

PHOTO_NAME = "exhibits/0003-photo.png"
DOSSIER_NAME = "dossier.pdf"


@functools.lru_cache(maxsize=1)
def seal_cert_pem() -> bytes:
    return keys.new_seal_identity("Test Human Rights Org").cert_pem  # RSA-3072: made once per run


@functools.lru_cache(maxsize=1)
def sample_pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 720, "Dossier 0001 - test")
    page.save()
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def sample_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Log:
    key: Ed25519PrivateKey
    events: list[Event] = field(default_factory=list)

    def add(self, action: str, item_id: int | None = None, sha: str | None = None,
            details: dict[str, object] | None = None) -> Event:
        prev = self.events[-1].chain_hash() if self.events else GENESIS_PREV_HASH
        event = Event(seq=len(self.events), time=utc_now(), actor="investigator-7", action=action,
                      item_id=item_id, item_sha256=sha,
                      details={"note": "ភាសាខ្មែរ test"} if details is None else details, prev_hash=prev)
        self.events.append(event)
        return event

    @property
    def leaves(self) -> list[bytes]:
        return [e.leaf_hash() for e in self.events]

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.events) if size is None else size
        return sign_checkpoint(origin=f"evidence-vault/{keys.key_id(self.key)}", tree_size=size,
                               root=merkle.root_hash(self.leaves[:size]), time=utc_now(), key=self.key)


def sha_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def standard_log(key: Ed25519PrivateKey | None = None) -> Log:
    """0 vault_created, 1 ingest pdf (item 1), 2 ingest photo (item 3), 3 viewed photo, 4 other item,
    5 redacted photo."""
    log = Log(key or keys.new_signing_key())
    log.add("vault_created")
    log.add("item_ingested", 1, sha_hex(sample_pdf()))
    log.add("item_ingested", 3, sha_hex(sample_png()))
    log.add("item_viewed", 3, sha_hex(sample_png()))
    log.add("item_ingested", 9, sha_hex(b"another item, not exported"))
    log.add("redacted", 3, sha_hex(sample_png()))
    return log


@dataclass
class Built:
    path: Path
    log: Log
    result: BundleResult

    @property
    def key(self) -> Ed25519PrivateKey:
        return self.log.key

    @property
    def key_id(self) -> str:
        return keys.key_id(self.log.key)


def bundle_files(pdf: bytes | None = None, png: bytes | None = None) -> list[BundleFile]:
    pdf = sample_pdf() if pdf is None else pdf
    png = sample_png() if png is None else png
    return [
        BundleFile(DOSSIER_NAME, lambda: io.BytesIO(pdf), 1, "dossier"),
        BundleFile(PHOTO_NAME, lambda: io.BytesIO(png), 3, "exhibit"),
    ]


@dataclass
class Export:
    """What write_bundle takes for one export, made as the exporter makes it (app/export/exporter.py)."""

    files: list[BundleFile]
    events: list[Event]
    checkpoint: str
    earlier: list[str]


def prepare_export(log: Log, files: list[BundleFile] | None = None, *, audience: str = "court",
                   level: str = "redacted") -> Export:
    """The dossier's checkpoint (the log so far) and manifest, then the ``exported`` event binding the
    bundle's files and events (docs/FORMAT.md "What the exported event binds"), then the bundle's own
    checkpoint, which covers that event.  Includes events 0 and those of items 1 and 3."""
    included = [e for e in log.events if e.seq == 0 or e.item_id in (1, 3)]
    dossier_checkpoint = log.checkpoint()
    manifest = canonical_json({
        "format": layout.DOSSIER_MANIFEST_FORMAT, "format_version": 1, "audience": audience, "level": level,
        "ern_prefix": "EV", "produced_at": utc_now(), "checkpoint": dossier_checkpoint,
        "exhibits": [{"number": f"EX-00{n}", "item_id": item, "custody_event_seqs":
                      [e.seq for e in included if e.item_id == item]} for n, item in ((1, 1), (2, 3))],
    })
    files = [*(bundle_files() if files is None else files),
             BundleFile(layout.DOSSIER_MANIFEST, lambda: io.BytesIO(manifest), None, "attachment")]
    dossier = next(f for f in files if f.role == "dossier")
    with dossier.open() as stream:
        pdf_sha = sha_hex(stream.read())
    details: dict[str, object] = {
        "audience": audience, "level": level, "format": "bundle-zip", "pdf_sha256": pdf_sha,
        "dossier_manifest_sha256": sha_hex(manifest), "bundle_manifest_sha256": None,
        "checkpoint_tree_size": len(log.events), "checkpoint_root": merkle.root_hash(log.leaves).hex(),
        "seal": {"kind": "self-signed", "certificate_sha256": seal_fingerprint(), "timestamp": False},
        **export_binding(files, included),
    }
    exported = log.add("exported", details=details)
    return Export(files, [*included, exported], log.checkpoint(), [dossier_checkpoint])


@functools.lru_cache(maxsize=1)
def seal_fingerprint() -> str:
    """SHA-256 of the seal certificate's DER bytes, as the exported event records it."""
    return sha_hex(x509.load_pem_x509_certificate(seal_cert_pem()).public_bytes(Encoding.DER))


def build_bundle(folder: Path, *, as_zip: bool, name: str | None = None, log: Log | None = None) -> Built:
    log = log or standard_log()
    made = prepare_export(log)
    out = folder / (name or ("bundle.zip" if as_zip else "bundle"))
    result = write_bundle(
        out=out, as_zip=as_zip, files=made.files, events=made.events, leaf_hashes=log.leaves,
        checkpoint_text=made.checkpoint, signing_key=log.key, seal_cert_pem=seal_cert_pem(),
        audience="court", level="redacted", earlier_checkpoints=made.earlier,
    )
    return Built(out, log, result)


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    position = len(data) // 2 if offset is None else offset
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def resign(folder: Path, key: Ed25519PrivateKey, *, set_key: bool = False) -> None:
    """Recompute SHA256SUMS and the manifest's hashes for a folder bundle and sign it with ``key``:
    what an insider with the key (or an attacker with their own key) could do."""
    manifest = __import__("json").loads((folder / layout.MANIFEST).read_bytes())
    if set_key:
        (folder / layout.PUBLIC_KEY).write_bytes(keys.public_key_pem(key))
        manifest["vault_key_id"] = keys.key_id(key)
    manifest["checkpoint"] = (folder / layout.CHECKPOINT).read_bytes().decode("utf-8", "replace")
    entries = manifest["files"]
    for entry in entries:
        if entry["path"] != layout.SUMS:
            data = (folder / entry["path"]).read_bytes()
            entry["sha256"], entry["size"] = sha_hex(data), len(data)
    sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries if e["path"] != layout.SUMS).encode()
    (folder / layout.SUMS).write_bytes(sums)
    for entry in entries:
        if entry["path"] == layout.SUMS:
            entry["sha256"], entry["size"] = sha_hex(sums), len(sums)
    data = canonical_json(manifest)
    (folder / layout.MANIFEST).write_bytes(data)
    (folder / layout.SIGNATURE).write_bytes(key.sign(data))


# --- A ZIP writer that does exactly what it is told (zipfile refuses or normalises hostile input). ---


@dataclass
class RawEntry:
    name: bytes
    data: bytes = b""  # stored as given (already compressed when method is 8)
    size: int | None = None  # uncompressed size to declare; default len(data) for stored
    crc: int | None = None
    method: int = 0
    flags: int = 0
    external_attr: int = 0o100644 << 16
    made_by: int = (3 << 8) | 20
    header_offset: int | None = None  # point the central entry elsewhere (overlap attacks)
    local: bool = True  # write a local header + data for this entry
    central_compress_size: int | None = None  # claim another compressed size in the central directory


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def raw_zip(entries: list[RawEntry], *, prefix: bytes = b"", count: int | None = None) -> bytes:
    body = bytearray(prefix)
    offsets = []
    for entry in entries:
        size = len(entry.data) if entry.size is None else entry.size
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        offsets.append(len(body))
        if entry.local:
            body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, entry.flags, entry.method, 0, 0x21,
                                crc, len(entry.data), size, len(entry.name), 0)
            body += entry.name + entry.data
    directory = bytearray()
    for entry, offset in zip(entries, offsets, strict=True):
        size = len(entry.data) if entry.size is None else entry.size
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        at = offset if entry.header_offset is None else entry.header_offset
        directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", entry.made_by, 20, entry.flags,
                                 entry.method, 0, 0x21, crc,
                                 len(entry.data) if entry.central_compress_size is None
                                 else entry.central_compress_size, size, len(entry.name), 0, 0,
                                 0, 0, entry.external_attr, at)
        directory += entry.name
    total = len(entries) if count is None else count
    zip64 = b""
    if total > 0xFFFF:  # ZIP64 end records carry the real count
        at = len(body) + len(directory)
        zip64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, total, total, len(directory),
                            len(body))
        zip64 += struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
    short = min(total, 0xFFFF)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, short, short, len(directory), len(body), 0)
    return bytes(body + directory + zip64 + eocd)


def zip_members(path: Path) -> list[RawEntry]:
    """The members of a bundle ZIP as RawEntries (re-compressed), to build hostile variants from."""
    members = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            members.append(RawEntry(info.filename.encode("utf-8"), data, flags=0x800))
    return members


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}
