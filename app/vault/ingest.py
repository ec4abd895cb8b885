"""Bringing a file or stream into the vault: one transaction per item.

Everything an item consists of (its chunks, its blob row, its item row, its search entries and its
``item_ingested`` event) is written in one SQLite transaction, so after a crash or kill -9 the item
is either complete or absent.  Identical bytes are stored once: a second item with the same SHA-256
shares the first one's blob, and ``IngestResult.duplicate_of`` / the event's ``duplicate_of`` name the
first item.

Importing a file that is already an item -- the same bytes, file name, kind and case, as an original
-- adds nothing at all (no item, no chunks, no event): an import interrupted and started again over
the same folder must not leave a second row per file.  ``IngestResult.already_stored`` says so and
``item_id`` is the existing item.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import sqlcipher3

from app.errors import EvidenceVaultError, InvalidInput, NotFound
from app.media.probe import MediaInfo, probe_file
from app.progress import CancelToken, ProgressCallback
from app.vault import blobs, record_digest, search
from app.vault.custody import append_event
from app.vault.models import ITEM_KINDS, IngestResult

_MIME_TYPES = mimetypes.MimeTypes()  # Python's built-in table only: the same answer on every machine
# Common field formats missing from Python's table.
_EXTRA_TYPES = {".m4a": "audio/mp4", ".amr": "audio/amr", ".flac": "audio/flac", ".ogg": "audio/ogg",
                ".aac": "audio/aac", ".mkv": "video/x-matroska", ".webm": "video/webm", ".3gp": "video/3gpp",
                ".heif": "image/heif", ".dng": "image/x-adobe-dng"}
_TRANSCRIPT_EXTENSIONS = {".srt", ".vtt", ".sbv", ".ass", ".ssa"}
MAX_NAME_CHARS = 255


def safe_name(raw: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> tuple[str, str | None]:
    """A printable, valid-UTF-8 file name, and the hex of the original bytes when they were not UTF-8.

    File names come from other people's devices: bytes that are not UTF-8 become ``\\xNN`` escapes
    (reversible, never a crash when stored or printed); control characters are escaped the same way.
    """
    name = os.fsdecode(os.path.basename(os.fspath(raw)))
    raw_bytes = name.encode("utf-8", "surrogateescape")
    try:
        raw_bytes.decode("utf-8")
        original_hex = None
    except UnicodeDecodeError:
        original_hex = raw_bytes.hex()
    text = raw_bytes.decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return (text[:MAX_NAME_CHARS] or "unnamed"), original_hex


def guess_type(name: str) -> tuple[str, str]:
    """(kind, mime) from the file name alone, for bytes made in memory (no file to probe)."""
    suffix = Path(name).suffix.lower()
    mime = _EXTRA_TYPES.get(suffix) or _MIME_TYPES.guess_type(name, strict=False)[0] or "application/octet-stream"
    if suffix in _TRANSCRIPT_EXTENSIONS:
        return "transcript", mime if mime != "application/octet-stream" else "text/plain"
    family = mime.split("/", 1)[0]
    kind = {"image": "photo", "video": "video", "audio": "audio"}.get(family, "document")
    return kind, mime


def probe(path: Path, name: str) -> MediaInfo:
    """What the file is (app.media.probe reads its content), with the item kind the vault stores."""
    info = probe_file(path)
    named_kind, named_mime = guess_type(name)
    kind = info.kind if info.kind in ITEM_KINDS else named_kind
    # subtitle files are text to the content sniffer; their name says they are a transcript
    if kind == "document" and named_kind == "transcript" and info.mime.startswith("text/"):
        kind = "transcript"
    return MediaInfo(kind, info.mime or named_mime, dict(info.metadata), list(info.warnings))


class FileChanged(EvidenceVaultError):
    """The file changed between the start and the end of its import: what was read matches no version."""

    default_message = ("This file changed while it was being read (it is still being written or copied?). "
                       "Nothing was stored from it. Wait until it is complete and import it again.")

    def about(self, name: str) -> str:
        """The message naming the file (the vault's messages name none: callers choose to show names)."""
        return (f"{name} changed while it was being read (it is still being written or copied?). Nothing was "
                "stored from it. Wait until it is complete and import it again.")


def _identity(info: os.stat_result) -> tuple[int, ...]:
    # A write changes size or mtime; a rewrite that restores the mtime still changes ctime; a file
    # replaced under the same name (an editor's save, a copy tool's rename) has another inode.
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class SteadyFile:
    """An open source file read for storing, refused (:class:`FileChanged`) if it changes meanwhile.

    The descriptor is ``fstat``-ed when opened (before the file is probed) and after every read; the
    bytes read must add up to the size seen at the start.  Reads never go more than one byte past that
    size, so a file still being written is not chased to its end.  At the end the name must still lead
    to the same file: the probe read it by name, and a copy tool may have replaced it meanwhile."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self._handle = handle
        self._path = path
        self.before = os.fstat(handle.fileno())
        self.size = self.before.st_size
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        room = self.size + 1 - self._read
        size = room if size < 0 else min(size, room)
        data = self._handle.read(size) if size > 0 else b""
        self._read += len(data)
        self._check()  # once per chunk: a change stops the import at once, not after gigabytes
        return data

    def _check(self) -> None:
        if self._read > self.size or _identity(os.fstat(self._handle.fileno())) != _identity(self.before):
            raise FileChanged(debug_detail=f"read {self._read} of {self.size} bytes")

    def finish(self) -> None:
        """Call after the last read, inside the item's transaction: raising there stores nothing."""
        self._check()
        if self._read != self.size:
            raise FileChanged(debug_detail=f"read {self._read} of {self.size} bytes")
        try:
            now = os.stat(self._path)
        except FileNotFoundError:
            return  # moved away after it was read whole: what was read is the complete file
        except OSError as exc:
            raise FileChanged(debug_detail=str(exc)) from exc
        if _identity(now) != _identity(self.before):
            raise FileChanged(debug_detail="the name now leads to another file")

    @property
    def stream(self) -> BinaryIO:
        return cast(BinaryIO, self)


@contextlib.contextmanager
def open_source(source: Path) -> Iterator[SteadyFile]:
    """Open a file named for import.  Messages name no file: callers show the name they chose (file names
    may name people).  Raises InvalidInput for a missing, unreadable, special or empty file."""
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):  # before open(): a FIFO would block
            raise InvalidInput("This is not an ordinary file (a folder or a device); it was not added.")
        handle = open(source, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:
        raise InvalidInput("This file does not exist (it may have been moved or deleted).") from exc
    except OSError as exc:
        raise InvalidInput(f"This file cannot be read ({exc.strerror}). Check the permissions.") from exc
    with handle:
        steady = SteadyFile(handle, source)
        if not stat.S_ISREG(steady.before.st_mode):
            raise InvalidInput("This is not an ordinary file (a folder or a device); it was not added.")
        if steady.size == 0:
            raise InvalidInput("This file is empty (0 bytes); there is nothing to store.")
        yield steady


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def store_item(
    conn: sqlcipher3.Connection,
    stream: BinaryIO,
    *,
    actor: str,
    now: str,
    name: str,
    kind: str,
    mime: str,
    title: str | None = None,
    case_id: int | None = None,
    metadata: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
    derived_from: int | None = None,
    derivation: dict[str, Any] | None = None,
    total: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    record_key: bytes,
) -> IngestResult:
    """Stream, hash and record one item.  Call inside a transaction (the caller commits).

    ``warnings`` (damaged or truncated file, name/content mismatch, ...) are kept with the item, in
    ``metadata["ingest_warnings"]``, and counted in the event (the texts may name the file)."""
    if kind not in ITEM_KINDS:
        raise InvalidInput(f"Unknown item kind {kind!r}. Use one of: {', '.join(sorted(ITEM_KINDS))}.")
    if case_id is not None and not conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone():
        raise NotFound(f"There is no case number {case_id} in this vault.")
    if derived_from is not None and not conn.execute(
        "SELECT 1 FROM items WHERE id = ?", (derived_from,)
    ).fetchone():
        raise NotFound(f"There is no item number {derived_from} to derive from.")
    conn.execute("SAVEPOINT blob_write")
    stored = blobs.store_stream(conn, stream, now=now, total=total, progress=progress, cancel=cancel,
                                label=name)
    existing_blob = blobs.find_blob(conn, stored.sha256)
    if existing_blob is not None:
        conn.execute("ROLLBACK TO blob_write")  # identical bytes are already stored: keep one copy
        blob_id = existing_blob
    else:
        blobs.seal_blob(conn, stored)
        blob_id = stored.blob_id
    conn.execute("RELEASE blob_write")
    if existing_blob is not None and derived_from is None and derivation is None:
        already = _already_stored(conn, sha256=stored.sha256, name=name, kind=kind, case_id=case_id)
        if already is not None:
            return already
    row = conn.execute("SELECT min(id) FROM items WHERE sha256 = ?", (stored.sha256,)).fetchone()
    duplicate_of = int(row[0]) if row and row[0] is not None else None
    all_warnings = [str(w) for w in warnings or []]
    metadata = dict(metadata or {})
    if all_warnings:
        metadata["ingest_warnings"] = all_warnings
    item_title = title if title is not None else Path(name).stem or name
    cursor = conn.execute(
        "INSERT INTO items(case_id, kind, title, description, captured_at, place, source, tags, "
        "original_name, size, sha256, mime, metadata, derived_from, derivation, blob_id, created_at) "
        "VALUES (?, ?, ?, '', ?, NULL, NULL, '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            case_id, kind, item_title,
            _captured_at(metadata), name, stored.size, stored.sha256, mime, _json(metadata),
            derived_from, None if derivation is None else _json(derivation), blob_id, now,
        ),
    )
    item_id = int(cursor.lastrowid or 0)
    search.index_item_fields(conn, item_id, title=item_title, description="", tags=())
    details: dict[str, Any] = {"kind": kind, "mime": mime, "size": stored.size, "case_id": case_id}
    if duplicate_of is not None:
        details["duplicate_of"] = duplicate_of
    if derived_from is not None:
        details["derived_from"] = derived_from
        details["derivation"] = derivation or {}
    if all_warnings:
        details["warnings"] = len(all_warnings)
    details["record_digest"] = record_digest.digest(
        record_key, record_digest.record_fields(conn, "item", item_id) or {})
    append_event(conn, actor=actor, action="item_ingested", item_id=item_id, item_sha256=stored.sha256,
                 details=details, time=now)
    return IngestResult(item_id=item_id, sha256=stored.sha256, size=stored.size, duplicate_of=duplicate_of,
                        warnings=tuple(all_warnings))


def _already_stored(conn: sqlcipher3.Connection, *, sha256: str, name: str, kind: str,
                    case_id: int | None) -> IngestResult | None:
    """The item this file already is (an original with the same bytes, name, kind and case), if any.

    A hidden item does not count: importing a file again after hiding a mistaken import is a new
    decision, recorded as a new item."""
    rows = conn.execute(
        "SELECT id, size, metadata FROM items WHERE sha256 = ? AND original_name = ? AND kind = ? "
        "AND case_id IS ? AND derived_from IS NULL ORDER BY id",
        (sha256, name, kind, case_id),
    ).fetchall()
    for item_id, size, metadata_json in rows:
        metadata = json.loads(metadata_json or "{}")
        if metadata.get("hidden"):
            continue
        warnings = tuple(str(w) for w in metadata.get("ingest_warnings") or ())
        return IngestResult(item_id=int(item_id), sha256=sha256, size=int(size), duplicate_of=int(item_id),
                            warnings=warnings, already_stored=True)
    return None


def _captured_at(metadata: dict[str, Any] | None) -> str | None:
    value = (metadata or {}).get("captured_at")
    return value if isinstance(value, str) and value else None
