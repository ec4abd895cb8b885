"""An encrypted scratch file for bytes on their way into the vault.

Some producers (ffmpeg re-encoding a redacted video) must finish before their output can be
stored, and the output may be larger than memory.  The spool keeps it on disk *encrypted* with a
random key that lives only in this process's memory (AES-256-GCM, one nonce per 1 MiB chunk), in
a file that is unlinked as soon as it is opened: after a crash or kill -9 there is neither a
readable byte nor a name left behind.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import struct
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.errors import DiskFull, InvalidInput

CHUNK = 1024 * 1024
_TAG = 16


class EncryptedSpool(io.RawIOBase):
    """Write once (any sizes), then :meth:`reader` streams the plaintext back exactly once or more."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__()
        folder = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        fd, name = tempfile.mkstemp(prefix=".ev-spool-", dir=folder)
        os.unlink(name)  # anonymous from now on: only this descriptor reaches the ciphertext
        self._file = os.fdopen(fd, "w+b", buffering=0)
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._prefix = secrets.token_bytes(4)
        self._pending = bytearray()
        self._chunks = 0
        self._size = 0
        self._sealed = False

    def writable(self) -> bool:
        return not self._sealed

    def _nonce(self, index: int) -> bytes:
        return self._prefix + struct.pack(">Q", index)

    def _flush_chunk(self, data: bytes) -> None:
        sealed = self._aead.encrypt(self._nonce(self._chunks), data, None)
        try:
            self._file.write(sealed)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise DiskFull() from None
            raise
        self._chunks += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._sealed:
            raise InvalidInput("The spool is already closed for writing.")
        view = memoryview(data).cast("B")
        self._pending += view
        self._size += len(view)
        while len(self._pending) >= CHUNK:
            self._flush_chunk(bytes(self._pending[:CHUNK]))
            del self._pending[:CHUNK]
        return len(view)

    @property
    def size(self) -> int:
        return self._size

    def reader(self) -> io.BufferedReader:
        """Finish writing and return a reader over the plaintext (read from the encrypted file)."""
        if not self._sealed:
            if self._pending:
                self._flush_chunk(bytes(self._pending))
                self._pending.clear()
            self._sealed = True
        return io.BufferedReader(_SpoolReader(self), buffer_size=CHUNK)

    def _read_chunk(self, index: int) -> bytes:
        self._file.seek(index * (CHUNK + _TAG))
        sealed = self._file.read(CHUNK + _TAG)
        return self._aead.decrypt(self._nonce(index), sealed, None)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self._pending.clear()
        super().close()


class _SpoolReader(io.RawIOBase):
    def __init__(self, spool: EncryptedSpool) -> None:
        super().__init__()
        self._spool = spool
        self._index = 0
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer:
            if self._index >= self._spool._chunks:
                return 0
            self._buffer = self._spool._read_chunk(self._index)
            self._index += 1
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count
