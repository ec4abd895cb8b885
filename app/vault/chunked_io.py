"""Reading originals stored as numbered chunks: a seekable file object that loads one chunk at a time,
and a read that loops over short reads.  Shared by the vault (SQLCipher) and headquarters (PostgreSQL),
which differ only in how one chunk is fetched and decrypted."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer  # exists for type checkers only


def read_full(stream: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads (pipes return what is available)."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class ChunkedReader(io.RawIOBase):
    """Read-only, seekable view of ``size`` bytes stored as chunks of ``chunk_size`` (the last shorter).
    Subclasses implement :meth:`_load_chunk`; the last chunk loaded is kept for the next read."""

    def __init__(self, size: int, chunk_size: int) -> None:
        super().__init__()
        self._size, self._chunk_size = size, chunk_size
        self._pos = 0
        self._cached_seq = -1
        self._cached = b""

    def _load_chunk(self, seq: int) -> bytes:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._pos = target
        return target

    def _chunk(self, seq: int) -> bytes:
        if seq != self._cached_seq:
            self._cached = self._load_chunk(seq)
            self._cached_seq = seq
        return self._cached

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        written = 0
        while written < len(view) and self._pos < self._size:
            seq, offset = divmod(self._pos, self._chunk_size)
            chunk = self._chunk(seq)
            count = min(len(view) - written, len(chunk) - offset)
            view[written: written + count] = chunk[offset: offset + count]
            written += count
            self._pos += count
        return written

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while True:
            data = self.read(self._chunk_size)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def close(self) -> None:
        self._cached = b""
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
