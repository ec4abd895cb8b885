"""Originals at headquarters: content-addressed by SHA-256, encrypted per chunk, streamed both ways.

``store_original`` reads a stream one chunk at a time, hashes and encrypts each chunk and sends it
with ``COPY ... FROM STDIN (FORMAT BINARY)``; the ``blobs`` row is written last, in the caller's
transaction, and only when the bytes hash to the SHA-256 the package claims.  An original that is
already stored is not read or written again.  Memory stays at two chunks whatever the file size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO

import psycopg

from app.errors import IntegrityError
from app.hq.storage_crypto import StorageKeys, open_chunk, seal_chunk
from app.progress import CancelToken, ProgressCallback
from app.vault.chunked_io import ChunkedReader, read_full

CHUNK_SIZE = 1 << 20
_COPY_CHUNKS = "COPY blob_chunks (sha256, seq, nonce, data) FROM STDIN (FORMAT BINARY)"




def is_stored(conn: psycopg.Connection, sha256: str) -> bool:
    return conn.execute("SELECT 1 FROM blobs WHERE sha256 = %s", (sha256,)).fetchone() is not None


def store_original(
    conn: psycopg.Connection,
    keys: StorageKeys,
    stream: BinaryIO,
    *,
    sha256: str,
    now: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    done_before: int = 0,
    total: int = 0,
) -> int:
    """Store ``stream`` as the original ``sha256`` unless it is already there; returns the bytes
    written (0 for a duplicate).  Raises IntegrityError when the bytes do not hash to ``sha256``.
    Call inside a transaction: nothing is visible to others until the caller commits."""
    if is_stored(conn, sha256):
        return 0
    hasher = hashlib.sha256()
    size = 0
    seq = 0
    with conn.cursor() as cursor, cursor.copy(_COPY_CHUNKS) as copy:
        copy.set_types(["text", "int4", "bytea", "bytea"])
        current = read_full(stream, CHUNK_SIZE)
        while current:
            if cancel is not None:
                cancel.check()
            # Read ahead one chunk: the last chunk is sealed as final, so a cut-off original fails.
            following = read_full(stream, CHUNK_SIZE) if len(current) == CHUNK_SIZE else b""
            hasher.update(current)
            nonce, sealed = seal_chunk(keys, sha256=sha256, seq=seq, final=not following, data=current)
            copy.write_row((sha256, seq, nonce, sealed))
            size += len(current)
            seq += 1
            if progress is not None:
                progress(done_before + size, max(total, done_before + size), "storing originals")
            current = following
    if hasher.hexdigest() != sha256:
        raise IntegrityError(
            "An original in this package does not match its recorded fingerprint (SHA-256); the package "
            "was altered or damaged. Nothing was stored. Ask the field team to send it again.",
            debug_detail=f"claimed {sha256}, got {hasher.hexdigest()}",
        )
    conn.execute(
        "INSERT INTO blobs(sha256, size, chunk_size, chunk_count, stored_at) VALUES (%s, %s, %s, %s, %s)",
        (sha256, size, CHUNK_SIZE, seq, now),
    )
    return size


def iter_plain_chunks(conn: psycopg.Connection, keys: StorageKeys, sha256: str) -> Iterator[bytes]:
    """The decrypted chunks of one original in order; raises IntegrityError on any gap or damage.
    Uses a server-side cursor, so one chunk at a time crosses the wire."""
    row = conn.execute("SELECT chunk_count, size FROM blobs WHERE sha256 = %s", (sha256,)).fetchone()
    if row is None:
        raise IntegrityError(
            "A stored original is missing from headquarters' archive.", debug_detail=f"original {sha256}"
        )
    count, size = int(row[0]), int(row[1])
    expected = 0
    with conn.cursor(name=f"chunks_{sha256[:16]}") as cursor:
        cursor.itersize = 4
        cursor.execute("SELECT seq, nonce, data FROM blob_chunks WHERE sha256 = %s ORDER BY seq", (sha256,))
        for seq, nonce, data in cursor:
            if seq != expected:
                break
            yield open_chunk(keys, sha256=sha256, seq=seq, final=seq == count - 1, nonce=nonce, data=data)
            expected += 1
    if expected != count or (count == 0 and size):
        raise IntegrityError(
            "Part of a stored original at headquarters is missing. Run 'evidence-vault hq verify' and restore "
            "the archive from a backup or standby.",
            debug_detail=f"original {sha256}: {expected} of {count} chunks",
        )


def rehash(conn: psycopg.Connection, keys: StorageKeys, sha256: str) -> tuple[str, int]:
    """(sha256 of the decrypted bytes, size) of one stored original."""
    hasher = hashlib.sha256()
    size = 0
    for chunk in iter_plain_chunks(conn, keys, sha256):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


class OriginalReader(ChunkedReader):
    """A read-only, seekable file object over one stored original; decrypts a chunk at a time."""

    def __init__(self, conn: psycopg.Connection, keys: StorageKeys, sha256: str) -> None:
        row = conn.execute("SELECT size, chunk_size, chunk_count FROM blobs WHERE sha256 = %s", (sha256,)).fetchone()
        if row is None:
            raise IntegrityError(
                "A stored original is missing from headquarters' archive.", debug_detail=f"original {sha256}"
            )
        self._conn, self._keys, self._sha256 = conn, keys, sha256
        self._count = int(row[2])
        super().__init__(int(row[0]), int(row[1]))

    def _load_chunk(self, seq: int) -> bytes:
        row = self._conn.execute(
            "SELECT nonce, data FROM blob_chunks WHERE sha256 = %s AND seq = %s", (self._sha256, seq)
        ).fetchone()
        if row is None:
            raise IntegrityError(
                "Part of a stored original at headquarters is missing. Run 'evidence-vault hq verify'.",
                debug_detail=f"original {self._sha256} chunk {seq}",
            )
        return open_chunk(self._keys, sha256=self._sha256, seq=seq, final=seq == self._count - 1, nonce=row[0],
                          data=row[1])
