"""Encryption at rest for headquarters: originals per chunk, records per row, AES-256-GCM.

Both keys are derived with HKDF-SHA256 from HQ's private identity (its X25519 and Ed25519 private
keys), so the one passphrase-protected identity file unlocks everything and nothing secret is kept
in PostgreSQL.  Each chunk is bound to its original and position through the associated data
``"evidence-vault:hq-chunk:v1" 0x00 || sha256 hex || seq (8 bytes, big-endian) || final flag``,
so chunks cannot be swapped, reordered or cut off without the decryption failing; each record to
its table and key.  Nonces are 96 random bits per encryption (far below the 2^32 limit per key).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import IntegrityError

NONCE_SIZE = 12
_CHUNK_AAD = b"evidence-vault:hq-chunk:v1\x00"
_RECORD_AAD = b"evidence-vault:hq-record:v1\x00"


@dataclass(frozen=True)
class StorageKeys:
    blob: AESGCM
    record: AESGCM


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"evidence-vault:hq-storage:v1", info=label).derive(
        secret
    )


def derive_storage_keys(secret: bytes) -> StorageKeys:
    """Keys from HQ's secret key material (see :func:`app.hq.identity_store.storage_secret`)."""
    if len(secret) < 32:
        raise ValueError("storage secret too short")
    return StorageKeys(blob=AESGCM(_derive(secret, b"blob")), record=AESGCM(_derive(secret, b"record")))


def _chunk_aad(sha256: str, seq: int, final: bool) -> bytes:
    return _CHUNK_AAD + sha256.encode("ascii") + seq.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def seal_chunk(keys: StorageKeys, *, sha256: str, seq: int, final: bool, data: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(NONCE_SIZE)
    return nonce, keys.blob.encrypt(nonce, data, _chunk_aad(sha256, seq, final))


def open_chunk(keys: StorageKeys, *, sha256: str, seq: int, final: bool, nonce: bytes, data: bytes) -> bytes:
    try:
        return keys.blob.decrypt(bytes(nonce), bytes(data), _chunk_aad(sha256, seq, final))
    except InvalidTag as exc:
        raise IntegrityError(
            "Part of a stored original at headquarters is damaged or was altered. Run 'evidence-vault hq "
            "verify' and restore the archive from a backup or standby.",
            debug_detail=f"original {sha256} chunk {seq}",
        ) from exc


def seal_record(keys: StorageKeys, table: str, ident: str, value: Any) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    plain = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return nonce + keys.record.encrypt(nonce, plain, _RECORD_AAD + f"{table}:{ident}".encode())


def open_record(keys: StorageKeys, table: str, ident: str, sealed: bytes) -> Any:
    sealed = bytes(sealed)
    try:
        plain = keys.record.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _RECORD_AAD + f"{table}:{ident}".encode())
    except InvalidTag as exc:
        raise IntegrityError(
            "A record stored at headquarters is damaged or was altered, or it was written with another "
            "headquarters key. Run 'evidence-vault hq verify'.",
            debug_detail=f"{table} {ident}",
        ) from exc
    return json.loads(plain)
