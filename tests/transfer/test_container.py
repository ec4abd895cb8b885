"""The chunked ChaCha20-Poly1305 container: round trips and every way of cutting, splicing or extending it."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from app.transfer import container
from app.transfer.errors import TransferError
from app.transfer.identity import generate_hq_identity

CHUNK = container.MIN_CHUNK
STRIDE = CHUNK + container.TAG_SIZE


def _seal(path: Path, payload: bytes, *, key_id: str, recipient: X25519PrivateKey, chunk: int = CHUNK,
          package_id: bytes | None = None) -> None:
    with open(path, "wb") as out:
        writer = container.EncryptingWriter(out, recipient.public_key(), key_id, chunk_size=chunk,
                                            package_id=package_id)
        for start in range(0, len(payload), 1000):  # uneven pieces: chunking is the writer's job
            writer.write(payload[start:start + 1000])
        writer.finish()


@pytest.fixture
def hq():  # type: ignore[no-untyped-def]
    return generate_hq_identity("hq.example.org")


@pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_round_trip_at_every_boundary(tmp_path: Path, hq, size: int) -> None:  # type: ignore[no-untyped-def]
    payload = os.urandom(size)
    path = tmp_path / "p.bin"
    _seal(path, payload, key_id=hq.key_id(), recipient=hq.encryption_key)
    reader = container.Payload(path, hq.encryption_key, hq.key_id())
    try:
        assert reader.size == size
        assert reader.read_at(0, size + 10) == payload
        assert reader.read_at(size // 2, 5) == payload[size // 2:size // 2 + 5]
        with reader.open_range(0, size, sha256=hashlib.sha256(payload).hexdigest()) as stream:
            assert stream.read() == payload
    finally:
        reader.close()
    assert path.stat().st_size == container.HEADER_SIZE + size + container.TAG_SIZE * -(-size // CHUNK)


def test_ciphertext_hides_the_plaintext(tmp_path: Path, hq) -> None:  # type: ignore[no-untyped-def]
    payload = b"Nguyen Van An testified on 2026-11-20. " * 400
    path = tmp_path / "p.bin"
    _seal(path, payload, key_id=hq.key_id(), recipient=hq.encryption_key)
    assert b"Nguyen" not in path.read_bytes()


def test_nonce_and_key_derivation_are_as_documented(tmp_path: Path, hq) -> None:  # type: ignore[no-untyped-def]
    """An independent decryption from the documented layout, with only `cryptography` primitives."""
    payload = os.urandom(2 * CHUNK + 5)
    path = tmp_path / "p.bin"
    _seal(path, payload, key_id=hq.key_id(), recipient=hq.encryption_key)
    data = path.read_bytes()
    header = data[:68]
    assert header[:8] == b"EV-XFER\x01" and header[8:16].hex() == hq.key_id()
    assert int.from_bytes(header[64:68], "big") == CHUNK
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    eph = header[16:48]
    shared = hq.encryption_key.exchange(X25519PublicKey.from_public_bytes(eph))
    recipient_raw = hq.encryption_key.public_key().public_bytes_raw()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph + recipient_raw,
               info=b"evidence-vault transfer v1 payload key").derive(shared)
    aead = ChaCha20Poly1305(key)
    body = data[68:]
    chunks = [body[i:i + STRIDE] for i in range(0, len(body), STRIDE)]
    plain = b"".join(aead.decrypt(i.to_bytes(11, "big") + (b"\x01" if i == len(chunks) - 1 else b"\x00"), c, header)
                     for i, c in enumerate(chunks))
    assert plain == payload


def _open(path: Path, hq) -> container.Payload:  # type: ignore[no-untyped-def]
    return container.Payload(path, hq.encryption_key, hq.key_id())


def _read_all(path: Path, hq) -> bytes:  # type: ignore[no-untyped-def]
    reader = _open(path, hq)
    try:
        return reader.read_at(0, reader.size)
    finally:
        reader.close()


@pytest.fixture
def sealed(tmp_path: Path, hq):  # type: ignore[no-untyped-def]
    path = tmp_path / "p.bin"
    _seal(path, os.urandom(4 * CHUNK + 100), key_id=hq.key_id(), recipient=hq.encryption_key)
    return path


def test_truncation_at_a_chunk_boundary_is_named(sealed: Path, hq) -> None:  # type: ignore[no-untyped-def]
    data = sealed.read_bytes()
    sealed.write_bytes(data[:68 + 3 * STRIDE])
    with pytest.raises(TransferError, match="cut short"):
        _open(sealed, hq)


@pytest.mark.parametrize("cut", [1, 16, 17, 50, STRIDE])
def test_truncation_anywhere_is_refused(sealed: Path, hq, cut: int) -> None:  # type: ignore[no-untyped-def]
    data = sealed.read_bytes()
    sealed.write_bytes(data[:-cut])
    with pytest.raises(TransferError, match=r"cut short|end of this transfer package"):
        _read_all(sealed, hq)


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 16, os.urandom(STRIDE), os.urandom(3 * STRIDE + 7)])
def test_appended_data_is_refused(sealed: Path, hq, extra: bytes) -> None:  # type: ignore[no-untyped-def]
    with open(sealed, "ab") as out:
        out.write(extra)
    with pytest.raises(TransferError, match=r"added at its end|cut short|failed its check"):
        _read_all(sealed, hq)


def test_reordered_chunks_are_refused(sealed: Path, hq) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(sealed.read_bytes())
    one, two = slice(68, 68 + STRIDE), slice(68 + STRIDE, 68 + 2 * STRIDE)
    data[one], data[two] = data[two], data[one]
    sealed.write_bytes(bytes(data))
    with pytest.raises(TransferError, match="Part 1 of 5"):
        _read_all(sealed, hq)


def test_chunk_from_another_package_is_refused(tmp_path: Path, sealed: Path, hq) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.bin"
    _seal(other, os.urandom(4 * CHUNK + 100), key_id=hq.key_id(), recipient=hq.encryption_key)
    data = bytearray(sealed.read_bytes())
    data[68 + STRIDE:68 + 2 * STRIDE] = other.read_bytes()[68 + STRIDE:68 + 2 * STRIDE]
    sealed.write_bytes(bytes(data))
    with pytest.raises(TransferError, match="Part 2 of 5"):
        _read_all(sealed, hq)


@pytest.mark.parametrize("where", [20, 50, 60, 68, 68 + STRIDE + 3, -1])
def test_any_flipped_byte_is_refused(sealed: Path, hq, where: int) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(sealed.read_bytes())
    data[where] ^= 0x01
    sealed.write_bytes(bytes(data))
    with pytest.raises(TransferError):
        _read_all(sealed, hq)


def test_flipped_header_byte_says_the_header(sealed: Path, hq) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(sealed.read_bytes())
    data[50] ^= 0x80  # inside the package id: authenticated by every chunk
    sealed.write_bytes(bytes(data))
    with pytest.raises(TransferError, match="header was altered"):
        _open(sealed, hq)


def test_wrong_recipient_names_the_key_the_package_was_made_for(sealed: Path, hq) -> None:  # type: ignore[no-untyped-def]
    other = generate_hq_identity("other.example.org")
    with pytest.raises(TransferError) as caught:
        container.Payload(sealed, other.encryption_key, other.key_id())
    assert hq.key_id() in caught.value.user_message()
    assert "different headquarters key" in caught.value.user_message()


def test_not_a_package(tmp_path: Path, hq) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    with pytest.raises(TransferError, match="not an Evidence Vault transfer package"):
        _open(path, hq)
    path.write_bytes(b"EV-XFER\x07" + b"\x00" * 100)
    with pytest.raises(TransferError, match="format version 7"):
        _open(path, hq)


def test_original_hash_is_checked_at_its_end(tmp_path: Path, hq) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.bin"
    _seal(path, b"abc" * 5000, key_id=hq.key_id(), recipient=hq.encryption_key)
    reader = _open(path, hq)
    try:
        with reader.open_range(0, 15000, sha256="0" * 64) as stream, pytest.raises(TransferError, match="SHA-256"):
            stream.read()
    finally:
        reader.close()


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> int:
    """Resets this process's VmHWM to its current RSS (Linux clear_refs 5) and returns that RSS in bytes,
    so a peak reached by an earlier test cannot hide this one's growth."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


@pytest.mark.slow
def test_memory_stays_flat_for_a_large_payload(tmp_path: Path, hq) -> None:  # type: ignore[no-untyped-def]
    """300 MB through the writer and back through the reader: peak RSS grows by a few chunks, not the size."""
    size = 300 << 20
    path = tmp_path / "big.bin"
    before = _reset_peak_rss()
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        writer = container.EncryptingWriter(out, hq.encryption_key.public_key(), hq.key_id())
        for _ in range(size >> 20):
            writer.write(block)
            digest.update(block)
        writer.finish()
    reader = _open(path, hq)
    try:
        with reader.open_range(0, size, sha256=digest.hexdigest()) as stream:
            while stream.read(1 << 20):
                pass
    finally:
        reader.close()
    grown = _status_kib("VmHWM") * 1024 - before
    assert grown < 64 << 20, f"peak RSS grew by {grown >> 20} MiB for a {size >> 20} MiB payload"


def test_writer_refuses_an_empty_payload(hq) -> None:  # type: ignore[no-untyped-def]
    writer = container.EncryptingWriter(io.BytesIO(), hq.encryption_key.public_key(), hq.key_id())
    with pytest.raises(ValueError):
        writer.finish()
