"""Originals as chunks inside the encrypted database: streamed in, hashed in the same pass, read back
through a seekable file object that decrypts chunk by chunk.

Chunks are ``CHUNK_SIZE`` bytes (the last one shorter), rows ``chunks(blob_id, seq, data)`` with a
unique index on ``(blob_id, seq)``; ``blobs.sha256`` is the SHA-256 of the concatenated chunks.  While
one thread inserts a chunk (SQLCipher encrypts with the GIL released), a helper thread hashes the
previous one, so hashing costs almost no wall time.  Memory stays flat: at most ``_QUEUE_DEPTH``
chunks wait to be hashed, plus SQLite's bounded page cache.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import sqlcipher3

from app.errors import IntegrityError, InvalidInput
from app.progress import CancelToken, ProgressCallback
from app.vault.chunked_io import ChunkedReader, read_full

if TYPE_CHECKING:
    pass  # exists for type checkers only

CHUNK_SIZE = 1 << 20
_QUEUE_DEPTH = 8
_STOP = object()


@dataclass(frozen=True)
class StoredBlob:
    blob_id: int
    sha256: str
    size: int
    chunk_count: int


class _Hasher:
    """SHA-256 in a helper thread (hashlib releases the GIL for large buffers)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name="vault-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            if data is _STOP:
                return
            self._hash.update(data)  # type: ignore[arg-type]

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def hexdigest(self) -> str:
        self._queue.put(_STOP)
        self._thread.join()
        return self._hash.hexdigest()

    def abandon(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()




def store_stream(
    conn: sqlcipher3.Connection,
    stream: BinaryIO,
    *,
    now: str,
    total: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    label: str = "",
) -> StoredBlob:
    """Write ``stream`` as a new blob.  Call inside a transaction; the caller commits or rolls back.

    The new blob row has ``sha256`` set only at the end; the caller decides what to do with duplicates
    (see :func:`find_blob`).  Raises InvalidInput for an empty stream.
    """
    cursor = conn.execute(
        "INSERT INTO blobs(sha256, size, chunk_size, chunk_count, created_at) VALUES (NULL, 0, ?, 0, ?)",
        (CHUNK_SIZE, now),
    )
    blob_id = int(cursor.lastrowid or 0)
    hasher = _Hasher()
    size = 0
    seq = 0
    try:
        while True:
            if cancel is not None:
                cancel.check()
            data = read_full(stream, CHUNK_SIZE)
            if not data:
                break
            hasher.update(data)
            conn.execute("INSERT INTO chunks(blob_id, seq, data) VALUES (?, ?, ?)", (blob_id, seq, data))
            size += len(data)
            seq += 1
            if progress is not None:
                progress(size, max(total, size), label)
    except BaseException:
        hasher.abandon()
        raise
    digest = hasher.hexdigest()
    if size == 0:
        raise InvalidInput("This file is empty (0 bytes); there is nothing to store.")
    return StoredBlob(blob_id=blob_id, sha256=digest, size=size, chunk_count=seq)


def seal_blob(conn: sqlcipher3.Connection, blob: StoredBlob) -> None:
    conn.execute(
        "UPDATE blobs SET sha256 = ?, size = ?, chunk_count = ? WHERE id = ?",
        (blob.sha256, blob.size, blob.chunk_count, blob.blob_id),
    )


def find_blob(conn: sqlcipher3.Connection, sha256: str) -> int | None:
    row = conn.execute("SELECT id FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    return int(row[0]) if row else None


def iter_chunks(conn: sqlcipher3.Connection, blob_id: int) -> Iterator[tuple[int, bytes]]:
    """(seq, data) in order, one chunk in memory at a time."""
    cursor = conn.execute("SELECT seq, data FROM chunks WHERE blob_id = ? ORDER BY seq", (blob_id,))
    while True:
        row = cursor.fetchone()
        if row is None:
            return
        yield int(row[0]), row[1]


class BlobReader(ChunkedReader):
    """Read-only, seekable view of one stored blob; decrypts one chunk at a time on demand."""

    def __init__(self, connection: Callable[[], sqlcipher3.Connection], blob_id: int,
                 lock: threading.RLock | None = None) -> None:
        self._connection = connection
        self._lock = lock or threading.RLock()  # the vault's lock: one thread in SQLite at a time
        row = connection().execute(
            "SELECT size, chunk_size, chunk_count FROM blobs WHERE id = ?", (blob_id,)
        ).fetchone()
        if row is None:
            raise IntegrityError("The stored original is missing from the vault.", debug_detail=f"blob {blob_id}")
        self._blob_id = blob_id
        size, chunk_size, self._chunk_count = (int(v) for v in row)
        super().__init__(size, chunk_size)

    def _load_chunk(self, seq: int) -> bytes:
        with self._lock:
            row = self._connection().execute(
                "SELECT data FROM chunks WHERE blob_id = ? AND seq = ?", (self._blob_id, seq)
            ).fetchone()
        expected = min(self._chunk_size, self._size - seq * self._chunk_size)
        if row is None or len(row[0]) != expected:
            raise IntegrityError(
                "Part of a stored original is missing or damaged. Run a verification of the vault.",
                debug_detail=f"blob {self._blob_id} chunk {seq}",
            )
        data: bytes = row[0]
        return data
