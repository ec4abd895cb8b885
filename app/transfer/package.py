"""Transfer packages: a field vault's evidence, records and custody, encrypted to headquarters.

The payload (docs/FORMAT.md, "Transfer packages") is every distinct original, back to back, then the manifest,
its Ed25519 signature and a 16-byte trailer, inside the chunked AEAD of app.transfer.container.

Writing order matters for custody: the originals are streamed first (a cancel or failure there leaves
nothing, not even an event); then the ``transferred`` event is recorded and the checkpoint signed, so
the checkpoint in the package covers the transfer itself; then the manifest is written and the file
renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from app.durable import sync_folder
from app.errors import DiskFull, IntegrityError, InvalidInput
from app.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from app.transfer import actions, container
from app.transfer.errors import ForkError, TransferError
from app.transfer.gather import Records, consistency_entries, gather
from app.transfer.identity import HqIdentity, HqPublicIdentity
from app.transfer.manifest import (
    MAX_MANIFEST,
    SIGNATURE_SIZE,
    TRAILER_MAGIC,
    TRAILER_SIZE,
    TransferManifest,
    event_record,
    signed_message,
)
from app.vault.events import utc_now
from app.vault.models import Item
from app.vault.vault import Vault

__all__ = ["ForkError", "TransferError", "TransferManifest", "TransferPackage", "TransferSummary", "open_transfer",
           "write_transfer"]
_READ = 1 << 20


@dataclass(frozen=True)
class TransferSummary:
    path: Path
    package_id: str
    recipient_key_id: str
    item_ids: list[int]
    originals: int
    original_bytes: int
    file_size: int
    checkpoint: str


def _open_exclusive(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "wb")


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems (FAT on USB sticks) cannot sync a folder
        sync_folder(folder)


def _check_out(out: Path) -> None:
    if os.path.lexists(out):
        raise InvalidInput(f"{out} already exists. Choose another name, or move the old file away first.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist. Create it first, or choose another place.")


def write_transfer(vault: Vault, *, case_id: int, item_ids: Sequence[int] | None, recipient: HqPublicIdentity,
                   out_path: Path, progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                   chunk_size: int = container.DEFAULT_CHUNK) -> TransferSummary:
    """Write a transfer package of ``case_id`` (all its items, or ``item_ids``) encrypted to ``recipient``.

    Raises InvalidInput / NotFound (bad arguments; nothing recorded), IntegrityError (an original does
    not match its record), DiskFull, Cancelled.  No partial file is ever left under ``out_path``."""
    progress = progress or no_progress
    cancel = cancel or NEVER_CANCELLED
    out = Path(out_path)
    if not isinstance(recipient, HqPublicIdentity):
        raise InvalidInput("The recipient must be a headquarters public key (hq-public.pem).")
    _check_out(out)
    records = gather(vault, case_id, item_ids)
    originals = records.unique_originals()
    _check_manifest_fits(vault, records, originals, recipient)
    total = sum(i.size for i in originals)
    package_id = secrets.token_bytes(16)
    recipient_id = recipient.key_id()
    temp = out.parent / f".{out.name}.{secrets.token_hex(6)}.partial"
    handle: BinaryIO | None = None
    try:
        handle = _open_exclusive(temp)
        writer = container.EncryptingWriter(handle, recipient.encryption_key, recipient_id, package_id=package_id,
                                            chunk_size=chunk_size)
        entries = []
        done = 0
        progress(0, total, "Encrypting the originals")
        for item in originals:
            offset = writer.written
            digest = hashlib.sha256()
            with vault.open_original(item.id) as stream:
                while chunk := stream.read(_READ):
                    cancel.check()
                    digest.update(chunk)
                    writer.write(chunk)
                    done += len(chunk)
                    progress(done, total, f"Encrypting item {item.id}")
            size = writer.written - offset
            if digest.hexdigest() != item.sha256 or size != item.size:
                raise IntegrityError(f"The stored original of item {item.id} does not match its recorded SHA-256 "
                                     "hash. Nothing was transferred; run a vault check.")
            entries.append({"sha256": item.sha256, "size": size, "item_id": item.id, "offset": offset,
                            "name_hint": item.original_name})
        cancel.check()
        progress(total, total, "Recording the transfer in the custody log")
        # The point of no return: from here on the log says the package was made.
        item_list = [i.id for i in records.items]
        vault.record_event(actions.TRANSFERRED, details={
            "package_id": package_id.hex(), "recipient_key_id": recipient_id, "recipient_name": recipient.name,
            "case_id": case_id, "item_ids": item_list, "sha256s": [e["sha256"] for e in entries]})
        checkpoint = vault.checkpoint()
        events = vault.events()
        leaves = vault.leaf_hashes()
        covered = _tree_size(checkpoint)  # events past it: the checkpoint_made event just recorded
        earlier, consistency = consistency_entries(vault, checkpoint, leaves)
        manifest = TransferManifest(
            package_id=package_id.hex(), created_at=utc_now(), recipient_key_id=recipient_id,
            recipient_name=recipient.name, field_origin=vault.origin, field_key_id=vault.key_id,
            field_public_pem=vault.public_key_pem(), checkpoint=checkpoint, checkpoints=earlier,
            consistency=consistency, events=[event_record(e) for e in events[:covered]],
            case=records.case, items=[_item_dict(i) for i in records.items], persons=records.persons,
            consents=records.consents, derivations=records.derivations, links=records.links, notes=records.notes,
            transcripts=records.transcripts, originals=entries,
        ).to_json()
        if len(manifest) > MAX_MANIFEST:  # _check_manifest_fits estimated too low: never send what HQ refuses
            raise _manifest_too_large(len(manifest), recorded=True)
        signature = vault.signing_key.sign(signed_message(writer.header.pack(), manifest))
        writer.write(manifest)
        writer.write(signature)
        writer.write(struct.pack(">Q", len(manifest)) + TRAILER_MAGIC)
        writer.finish()
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        if os.path.lexists(out):
            raise InvalidInput(f"{out} appeared while the package was written. Choose another name.")
        os.replace(temp, out)
        _fsync_folder(out.parent)
    except OSError as exc:
        _discard(handle, temp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull("The disk is full, so the transfer package could not be written. Free some space "
                           "and try again.", debug_detail=str(exc)) from exc
        if exc.errno == errno.EFBIG:
            raise DiskFull("The package is too large for this drive's file system (FAT32 drives hold at most "
                           "4 GB per file). Use a drive formatted as exFAT or NTFS.", debug_detail=str(exc)) from exc
        raise TransferError(f"The transfer package could not be written to {out.parent}: {exc.strerror}. Check "
                            "the drive and try again.", debug_detail=str(exc)) from exc
    except BaseException:
        _discard(handle, temp)
        raise
    return TransferSummary(path=out, package_id=package_id.hex(), recipient_key_id=recipient_id,
                           item_ids=item_list, originals=len(entries), original_bytes=total,
                           file_size=out.stat().st_size, checkpoint=checkpoint)


def _check_manifest_fits(vault: Vault, records: Records, originals: Sequence[Item],
                         recipient: HqPublicIdentity) -> None:
    """Refuse, before anything is written or recorded, a package whose manifest would be larger than
    headquarters reads (MAX_MANIFEST).  The manifest is drafted from what is known now; what is added
    later is bounded: the ``transferred`` and ``checkpoint_made`` events (one SHA-256 and id per original),
    and per earlier checkpoint its text twice and a consistency proof (at most 64 hashes)."""
    events = vault.events()
    draft = TransferManifest(
        package_id="0" * 32, created_at=utc_now(), recipient_key_id=recipient.key_id(), recipient_name=recipient.name,
        field_origin=vault.origin, field_key_id=vault.key_id, field_public_pem=vault.public_key_pem(), checkpoint="",
        checkpoints=[], consistency=[], events=[event_record(e) for e in events], case=records.case,
        items=[_item_dict(i) for i in records.items], persons=records.persons, consents=records.consents,
        derivations=records.derivations, links=records.links, notes=records.notes, transcripts=records.transcripts,
        originals=[{"sha256": i.sha256, "size": i.size, "item_id": i.id, "offset": 0, "name_hint": i.original_name}
                   for i in originals],
    ).to_json()
    earlier = len(vault.checkpoints()) + sum(actions.is_action(e, actions.RECEIPT_IMPORTED) for e in events) + 1
    estimate = len(draft) + earlier * (8 << 10) + len(originals) * 200 + (64 << 10)
    if estimate > MAX_MANIFEST:
        raise _manifest_too_large(estimate, recorded=False)


def _manifest_too_large(size: int, *, recorded: bool) -> TransferError:
    outcome = ("No package was written, but the attempt is recorded in the custody log." if recorded
               else "Nothing was written or recorded.")
    return TransferError(
        f"This package's list of records and custody events would take about {max(size >> 20, 1)} MB, more than "
        f"the {MAX_MANIFEST >> 20} MB headquarters accepts. {outcome} Send the case in parts, choosing fewer "
        "items at a time.")


def _tree_size(checkpoint: str) -> int:
    from app.vault.checkpoint import parse_checkpoint

    return parse_checkpoint(checkpoint).tree_size


def _item_dict(item: object) -> dict[str, object]:
    from app.transfer.manifest import plain

    record = plain(item)
    assert isinstance(record, dict)
    return record


def _discard(handle: BinaryIO | None, temp: Path) -> None:
    if handle is not None:
        with contextlib.suppress(OSError, ValueError):
            handle.close()
    with contextlib.suppress(OSError):
        temp.unlink(missing_ok=True)


class TransferPackage:
    """An opened package: the manifest (signature already checked), originals streamed on demand."""

    def __init__(self, payload: container.Payload, manifest: TransferManifest, manifest_bytes: bytes) -> None:
        self._payload = payload
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.path = payload.path
        self._by_sha = {str(o["sha256"]): o for o in manifest.originals}

    def __enter__(self) -> TransferPackage:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._payload.close()

    @property
    def package_id(self) -> str:
        return self.manifest.package_id

    def open_original(self, sha256: str) -> BinaryIO:
        """The decrypted bytes of one original; reading past its end checks its SHA-256."""
        entry = self._by_sha.get(sha256)
        if entry is None:
            raise TransferError("This package holds no original with that SHA-256 hash.", debug_detail=sha256)
        return self._payload.open_range(int(entry["offset"]), int(entry["size"]), sha256=sha256)

    def verify(self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> list[str]:
        """Every problem found, as plain sentences; [] when the chain, the signature, the proofs and the
        hashes of all originals hold."""
        from app.transfer.verify import verify_package

        return verify_package(self, progress=progress or no_progress, cancel=cancel or NEVER_CANCELLED)


def open_transfer(path: Path, identity: HqIdentity) -> TransferPackage:
    """Open a package with headquarters' private key; checks the container's ends, the trailer, the
    manifest's form and its signature by the field key it names.  Raises TransferError."""
    path = Path(path)
    try:
        payload = container.Payload(path, identity.encryption_key, identity.key_id())
    except OSError as exc:
        raise TransferError(f"The package {path} cannot be read ({exc.strerror}). Check the drive.") from exc
    try:
        manifest, manifest_bytes = _read_manifest(payload)
        return TransferPackage(payload, manifest, manifest_bytes)
    except BaseException:
        payload.close()
        raise


def _read_manifest(payload: container.Payload) -> tuple[TransferManifest, bytes]:
    from cryptography.exceptions import InvalidSignature

    from app.vault.keys import key_id, load_public_key_pem

    if payload.size < TRAILER_SIZE + SIGNATURE_SIZE:
        raise TransferError("This transfer package holds no manifest. Ask the sender for a new copy.")
    trailer = payload.read_at(payload.size - TRAILER_SIZE, TRAILER_SIZE)
    length = struct.unpack(">Q", trailer[:8])[0]
    if trailer[8:] != TRAILER_MAGIC or length > payload.size - TRAILER_SIZE - SIGNATURE_SIZE:
        raise TransferError("The end of this transfer package is malformed (no manifest trailer). Ask the sender "
                            "for a new copy.")
    if length > MAX_MANIFEST:  # before reading it: parsing costs several times its size in memory
        raise TransferError(f"This transfer package's manifest is {length >> 20} MB, more than the "
                            f"{MAX_MANIFEST >> 20} MB this program reads, so it was not opened. Ask the sender to "
                            "send the case in smaller parts.", debug_detail=f"{length} bytes")
    start = payload.size - TRAILER_SIZE - SIGNATURE_SIZE - length
    manifest_bytes = payload.read_at(start, length)
    signature = payload.read_at(start + length, SIGNATURE_SIZE)
    manifest = TransferManifest.from_json(manifest_bytes)
    try:
        public = load_public_key_pem(manifest.field_public_pem)
    except Exception as exc:
        raise TransferError("The field vault key in this package is damaged. Ask the sender for a new copy.",
                            debug_detail=str(exc)) from exc
    if key_id(public) != manifest.field_key_id or manifest.field_origin != f"evidence-vault/{manifest.field_key_id}":
        raise TransferError("The field vault key in this package does not match the vault it names. Do not "
                            "import it; ask the sender for a new copy.")
    try:
        public.verify(signature, signed_message(payload.header_bytes, manifest_bytes))
    except InvalidSignature:
        raise TransferError(f"This package's manifest is not signed by the field vault it names "
                            f"({manifest.field_key_id}): it was forged or altered. Do not import it.") from None
    made_for = payload.header.recipient_key_id.hex()
    if manifest.package_id != payload.package_id() or manifest.recipient_key_id != made_for:
        raise TransferError("This package's manifest names another package or headquarters than its header: it "
                            "was assembled from parts of different packages. Do not import it.")
    _check_layout(manifest, start)
    return manifest, manifest_bytes


def _check_layout(manifest: TransferManifest, manifest_start: int) -> None:
    position = 0
    for entry in manifest.originals:
        offset, size, sha = entry.get("offset"), entry.get("size"), entry.get("sha256")
        if (not isinstance(offset, int) or not isinstance(size, int) or offset != position or size <= 0
                or not isinstance(sha, str) or len(sha) != 64):
            raise TransferError("The manifest's list of originals is malformed (their places in the package do "
                                "not add up). Ask the sender for a new copy.")
        position += size
    if position != manifest_start:
        raise TransferError("The originals in this package do not fill it as the manifest says. Ask the sender "
                            "for a new copy.")
