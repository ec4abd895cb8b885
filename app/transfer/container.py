"""The encrypted container of a transfer package: X25519 + HKDF-SHA256 + ChaCha20-Poly1305 in chunks.

Layout (docs/FORMAT.md, "Transfer packages" / "Container") — a 68-byte header, then the payload in chunks::

    magic "EV-XFER" 0x01 (8) | recipient key id (8) | ephemeral X25519 public key (32) |
    package id (16) | chunk size, u32 big-endian (4)

    chunk i = ChaCha20-Poly1305(key, nonce = i as 11 bytes big-endian || last flag (0x00 / 0x01),
                                plaintext = chunk_size bytes (the last chunk: 1..chunk_size bytes),
                                aad = the 68 header bytes)

    key = HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = ephemeral public || recipient public,
                      info = "evidence-vault transfer v1 payload key", length 32)

The counter in the nonce catches reordering and dropped chunks; the last flag catches truncation at a
chunk boundary and data appended after the end; the header as associated data ties every chunk to this
package (its id, its recipient, its ephemeral key), so chunks cannot be swapped between packages.
Nothing here buffers more than one chunk: a 4 GB original streams through in constant memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.transfer.errors import TransferError
from app.user_files import open_regular_file

MAGIC = b"EV-XFER\x01"
HEADER_SIZE = 68
TAG_SIZE = 16
DEFAULT_CHUNK = 1 << 20
MIN_CHUNK, MAX_CHUNK = 1 << 12, 1 << 24
HKDF_INFO = b"evidence-vault transfer v1 payload key"
_HEADER = struct.Struct(">8s8s32s16sI")


@dataclass(frozen=True)
class Header:
    recipient_key_id: bytes  # 8 bytes: the 16-hex HqPublicIdentity.key_id()
    ephemeral_public: bytes  # 32 bytes
    package_id: bytes        # 16 bytes
    chunk_size: int

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, self.recipient_key_id, self.ephemeral_public, self.package_id, self.chunk_size)


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def payload_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public,
                info=HKDF_INFO).derive(shared)


def nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _exchange(private: X25519PrivateKey, public: X25519PublicKey) -> bytes:
    try:
        return private.exchange(public)
    except ValueError as exc:  # a low-order public key gives an all-zero secret
        raise TransferError("The package's encryption key is not valid; the package was made incorrectly or "
                            "altered.", debug_detail=str(exc)) from exc


class EncryptingWriter:
    """Encrypts a payload written in pieces into ``out`` (header first).  Call :meth:`finish` once."""

    def __init__(self, out: BinaryIO, recipient: X25519PublicKey, recipient_key_id: str, *,
                 package_id: bytes | None = None, chunk_size: int = DEFAULT_CHUNK) -> None:
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError("chunk size out of range")
        ephemeral = X25519PrivateKey.generate()
        eph_public = _raw(ephemeral.public_key())
        self.header = Header(bytes.fromhex(recipient_key_id), eph_public, package_id or secrets.token_bytes(16),
                             chunk_size)
        self._aad = self.header.pack()
        self._aead = ChaCha20Poly1305(payload_key(_exchange(ephemeral, recipient), eph_public, _raw(recipient)))
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        self.written = 0  # plaintext bytes accepted so far: the offset of the next write
        out.write(self._aad)

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.written += len(data)
        size = self.header.chunk_size
        # Keep at least one byte back: only finish() knows which chunk is the last.
        full = (len(self._buffer) - 1) // size
        if full:
            with memoryview(self._buffer) as view:
                for start in range(0, full * size, size):
                    self._emit(view[start:start + size], last=False)
            del self._buffer[:full * size]

    def _emit(self, plaintext: bytes | memoryview, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(nonce(self._index, last), plaintext, self._aad))
        self._index += 1

    def finish(self) -> None:
        if not self._buffer:
            raise ValueError("an empty payload cannot be sealed")
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()


def read_header(handle: BinaryIO) -> tuple[Header, bytes]:
    raw = handle.read(HEADER_SIZE)
    if len(raw) < len(MAGIC) or raw[:7] != MAGIC[:7]:
        raise TransferError("This file is not an Evidence Vault transfer package. Check that you chose the "
                            "right file.")
    if raw[7] != MAGIC[7]:
        raise TransferError(f"This transfer package has format version {raw[7]}, which this program does not "
                            "read. Update Evidence Vault and try again.")
    if len(raw) < HEADER_SIZE:
        raise TransferError("This transfer package is cut short: even its header is incomplete. Ask the "
                            "sender for a new copy.")
    _, key_id, eph, package_id, chunk_size = _HEADER.unpack(raw)
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise TransferError("This transfer package's header is damaged (impossible chunk size). Ask the sender "
                            "for a new copy.", debug_detail=str(chunk_size))
    return Header(key_id, eph, package_id, chunk_size), raw


class Payload:
    """Random access to the decrypted payload of a package file.  Each instance has its own handle."""

    def __init__(self, path: Path, private: X25519PrivateKey, recipient_key_id: str) -> None:
        self.path = path
        # Never blocks on a named pipe; a missing file, a folder, a device: a TransferError saying so.
        self._handle: BinaryIO = open_regular_file(path, what="transfer package", error=TransferError)
        self._lock = threading.Lock()  # several streams of one package share the handle and the cache
        try:
            self._setup(private, recipient_key_id)
        except BaseException:
            self._handle.close()
            raise

    def _setup(self, private: X25519PrivateKey, recipient_key_id: str) -> None:
        self.header, self._aad = read_header(self._handle)
        made_for = self.header.recipient_key_id.hex()
        if made_for != recipient_key_id:
            raise TransferError(f"This package was encrypted for a different headquarters key ({made_for}); this "
                                f"headquarters' key is {recipient_key_id}. Import it at the headquarters it was "
                                "made for, or ask the field team to send it again to this key.")
        recipient = private.public_key()
        self._aead = ChaCha20Poly1305(payload_key(
            _exchange(private, X25519PublicKey.from_public_bytes(self.header.ephemeral_public)),
            self.header.ephemeral_public, _raw(recipient)))
        body = os.fstat(self._handle.fileno()).st_size - HEADER_SIZE
        stride = self.header.chunk_size + TAG_SIZE
        full, rest = divmod(body, stride)
        if body <= 0 or 0 < rest <= TAG_SIZE:
            raise TransferError("This transfer package is cut short or has data added at its end (its length "
                                "is impossible). Ask the sender for a new copy.", debug_detail=f"{body} bytes")
        self.chunks = full + (1 if rest else 0)
        last_cipher = rest or stride
        self.size = (self.chunks - 1) * self.header.chunk_size + last_cipher - TAG_SIZE
        self._cached: tuple[int, bytes] | None = None
        self._chunk(self.chunks - 1)  # truncation and appended data show at once, before any work

    def package_id(self) -> str:
        return self.header.package_id.hex()

    @property
    def header_bytes(self) -> bytes:
        return self._aad

    def _chunk(self, index: int) -> bytes:
        with self._lock:
            return self._chunk_locked(index)

    def _chunk_locked(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        stride = self.header.chunk_size + TAG_SIZE
        self._handle.seek(HEADER_SIZE + index * stride)
        data = self._handle.read(stride)
        last = index == self.chunks - 1
        try:
            plain = self._aead.decrypt(nonce(index, last), data, self._aad)
        except InvalidTag:
            raise self._failure(index, data, last) from None
        self._cached = (index, plain)
        return plain

    def _failure(self, index: int, data: bytes, last: bool) -> TransferError:
        if last:
            try:
                self._aead.decrypt(nonce(index, False), data, self._aad)
            except InvalidTag:
                pass
            else:
                return TransferError("This transfer package was cut short: its last part is missing. Ask the "
                                     "sender for a new copy.")
            if self.chunks > 1 and index == self.chunks - 1 and not self._decrypts(0):
                return TransferError("This transfer package cannot be decrypted: its header was altered or the "
                                     "whole file is damaged. Ask the sender for a new copy.")
            return TransferError("The end of this transfer package failed its check: the file was cut short, has "
                                 "data added at its end, or was altered. Ask the sender for a new copy.")
        return TransferError(f"Part {index + 1} of {self.chunks} of this transfer package failed its check: the "
                             "file was altered or damaged. Ask the sender for a new copy.")

    def _decrypts(self, index: int) -> bool:
        stride = self.header.chunk_size + TAG_SIZE
        self._handle.seek(HEADER_SIZE + index * stride)
        try:
            self._aead.decrypt(nonce(index, index == self.chunks - 1), self._handle.read(stride), self._aad)
        except InvalidTag:
            return False
        return True

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end of the payload)."""
        out = bytearray()
        size = self.header.chunk_size
        while length > 0 and offset < self.size:
            index, within = divmod(offset, size)
            piece = self._chunk(index)[within:within + length]
            out += piece
            offset += len(piece)
            length -= len(piece)
        return bytes(out)

    def open_range(self, offset: int, length: int, *, sha256: str | None = None) -> BinaryIO:
        """A read-only stream of ``length`` bytes at ``offset``; with ``sha256`` its end checks the hash."""
        return io.BufferedReader(_RangeReader(self, offset, length, sha256), buffer_size=64 * 1024)

    def close(self) -> None:
        self._cached = None
        self._handle.close()


class _RangeReader(io.RawIOBase):
    def __init__(self, payload: Payload, offset: int, length: int, sha256: str | None) -> None:
        self._payload, self._start, self._length = payload, offset, length
        self._position = 0
        self._expected = sha256
        self._digest = hashlib.sha256() if sha256 else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._length - self._position)
        if want <= 0:
            return 0
        data = self._payload.read_at(self._start + self._position, want)
        if len(data) != want:
            raise TransferError("This transfer package ends in the middle of an original. Ask the sender for a "
                                "new copy.")
        buffer[:want] = data
        self._position += want
        if self._digest is not None:
            self._digest.update(data)
            if self._position == self._length and self._digest.hexdigest() != self._expected:
                raise TransferError("An original in this package does not match its recorded SHA-256 hash: it was "
                                    "changed before it was packed. Do not use it; ask the sender to check their "
                                    "vault.", debug_detail=self._expected or "")
        return want
