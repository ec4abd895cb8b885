"""Record digests: what the custody log keeps of fields it must not carry in clear.

Names, titles, notes, GPS and capture times may identify a survivor, and a hash-chained event can never
be redacted (and travels in export bundles).  So each event that creates or changes such a record carries
``record_digest`` = HMAC-SHA256(record key, RFC 8785 JSON of the record's protected fields) instead.  The
record key is 32 random bytes made with the vault and kept only inside the encrypted file (``keys`` row
``record``): an auditor with the passphrase can recompute every digest; a digest seen in a bundle reveals
nothing guessable.  docs/FORMAT.md ("Custody events", "Vault file (SQLCipher)") defines the construction.

The same functions compute the digest when a change is recorded and when ``verify`` checks the current
tables, so both read the stored column values (TEXT as a string, INTEGER as an integer, REAL as a number,
NULL as null), exactly as an outside verifier reading the file would.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import sqlcipher3

from app.errors import InvalidInput, NotAVault
from app.vault.canonical import canonical_json

RECORD_KEY_NAME = "record"
RECORD_KEY_ALGORITHM = "HMAC-SHA256"
RECORD_KEY_SIZE = 32

# record type -> (table, protected columns in the digest).  The id column is "id" except for transcripts.
PROTECTED_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case": ("cases", ("title", "description")),
    "person": ("persons", ("name", "aliases", "pseudonym")),
    "consent": ("consents", ("taken_by", "reason")),
    "item": ("items", ("title", "description", "captured_at", "place", "source", "tags", "original_name",
                       "metadata")),
    "note": ("notes", ("item_id", "text", "author")),
}
TRANSCRIPT_FIELDS = ("idx", "start", "end", "speaker", "language", "text")


def new_record_key() -> bytes:
    return secrets.token_bytes(RECORD_KEY_SIZE)


def store_record_key(conn: sqlcipher3.Connection, key: bytes, *, key_id: str, now: str) -> None:
    conn.execute(
        "INSERT INTO keys(name, algorithm, private_key, public_pem, certificate_pem, key_id, created_at) "
        "VALUES (?, ?, ?, ?, NULL, ?, ?)", (RECORD_KEY_NAME, RECORD_KEY_ALGORITHM, key, b"", key_id, now))


def load_record_key(conn: sqlcipher3.Connection) -> bytes | None:
    row = conn.execute("SELECT private_key FROM keys WHERE name = ?", (RECORD_KEY_NAME,)).fetchone()
    if row is None or not isinstance(row[0], bytes | memoryview) or len(bytes(row[0])) != RECORD_KEY_SIZE:
        return None
    return bytes(row[0])


def require_record_key(conn: sqlcipher3.Connection) -> bytes:
    key = load_record_key(conn)
    if key is None:
        raise NotAVault("The vault's record key is missing or damaged, so changes cannot be recorded. "
                        "Keep the vault unchanged and run verify.")
    return key


def digest(key: bytes, fields: dict[str, Any]) -> str:
    """HMAC-SHA256(key, RFC 8785 bytes of ``fields``), lowercase hex."""
    return hmac.new(key, canonical_json(fields), hashlib.sha256).hexdigest()


def _column_value(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):  # a BLOB where text belongs: has no JSON form, never matches
        raise InvalidInput("A record field holds binary data where text belongs.")
    return value


def record_fields(conn: sqlcipher3.Connection, record: str, record_id: int) -> dict[str, Any] | None:
    """The object that is digested for one record, or None when the record does not exist."""
    if record == "transcript":
        rows = conn.execute(
            "SELECT idx, start, end, speaker, language, text FROM transcript_segments WHERE item_id = ? "
            "ORDER BY idx", (record_id,)).fetchall()
        segments = [{name: _column_value(v) for name, v in zip(TRANSCRIPT_FIELDS, row, strict=True)}
                    for row in rows]
        return {"record": "transcript", "id": record_id, "segments": segments}
    table, columns = PROTECTED_FIELDS[record]
    row = conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = ?",  # noqa: S608 - fixed names
                       (record_id,)).fetchone()
    if row is None:
        return None
    fields: dict[str, Any] = {"record": record, "id": record_id}
    fields.update((name, _column_value(value)) for name, value in zip(columns, row, strict=True))
    return fields


def record_digest(conn: sqlcipher3.Connection, key: bytes, record: str, record_id: int) -> str | None:
    """The current digest of a record as stored; None when it does not exist or cannot be encoded
    (e.g. an insider stored bytes or a non-finite number where text belongs)."""
    try:
        fields = record_fields(conn, record, record_id)
        return None if fields is None else digest(key, fields)
    except InvalidInput:
        return None
