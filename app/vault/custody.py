"""Appending to and reading the custody log (the ``events`` table).

Appends happen inside the caller's transaction, so an event exists exactly when its change does.
There is no function to edit or delete an event.
"""

from __future__ import annotations

from typing import Any

import sqlcipher3

from app.errors import IntegrityError
from app.vault import merkle
from app.vault.events import GENESIS_PREV_HASH, Event, utc_now


def append_event(
    conn: sqlcipher3.Connection,
    *,
    actor: str,
    action: str,
    item_id: int | None = None,
    item_sha256: str | None = None,
    details: dict[str, Any] | None = None,
    time: str | None = None,
    schema: str = "main",
) -> Event:
    """Build the next event (seq, prev_hash from the last stored row) and insert it.

    ``schema`` names an attached database (used when the passphrase change writes a new file)."""
    if schema not in ("main", "rekey"):
        raise ValueError(f"unknown database schema {schema!r}")
    last = conn.execute(
        f"SELECT seq, chain_hash FROM {schema}.events ORDER BY seq DESC LIMIT 1"  # noqa: S608 - fixed names
    ).fetchone()
    seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last else (0, GENESIS_PREV_HASH)
    event = Event(
        seq=seq,
        time=time or utc_now(),
        actor=actor,
        action=action,
        item_id=item_id,
        item_sha256=item_sha256,
        details=details or {},
        prev_hash=prev_hash,
    )
    conn.execute(
        f"INSERT INTO {schema}.events(seq, canonical, chain_hash, action, item_id) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?)",
        (event.seq, event.canonical_bytes(), event.chain_hash(), event.action, event.item_id),
    )
    return event


def record_bytes(value: Any) -> bytes:
    """The canonical bytes of a stored event row.  They belong in a BLOB; TEXT (as an insider's plain
    SQL may leave them) is taken as its UTF-8 bytes; anything else as no bytes (see storage_problem)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b""


def storage_problem(value: Any) -> str:
    """Why a stored ``events.canonical`` value cannot be an event record at all ("" when it can)."""
    if isinstance(value, bytes | bytearray | memoryview | str):
        return ""
    kind = "empty (NULL)" if value is None else f"a {type(value).__name__} value"
    return f"its stored record is {kind}, not the event's bytes."


def _parse_row(value: Any) -> Event:
    problem = storage_problem(value)
    if problem:
        raise IntegrityError(f"A custody event is damaged or was edited: {problem}")
    return Event.from_canonical(record_bytes(value))


def load_events(conn: sqlcipher3.Connection, *, item_id: int | None = None) -> list[Event]:
    """Parsed events in seq order (raises IntegrityError on a damaged record; verify() reports it)."""
    if item_id is None:
        rows = conn.execute("SELECT canonical FROM events ORDER BY seq").fetchall()
    else:
        rows = conn.execute(
            "SELECT canonical FROM events WHERE item_id = ? ORDER BY seq", (item_id,)
        ).fetchall()
    return [_parse_row(row[0]) for row in rows]


class LeafCache:
    """Merkle leaf hashes of the stored events, extended incrementally (the log only grows)."""

    def __init__(self) -> None:
        self._leaves: list[bytes] = []

    def leaves(self, conn: sqlcipher3.Connection) -> list[bytes]:
        rows = conn.execute(
            "SELECT canonical FROM events WHERE seq >= ? ORDER BY seq", (len(self._leaves),)
        ).fetchall()
        for row in rows:
            self._leaves.append(merkle.leaf_hash(record_bytes(row[0])))
        return list(self._leaves)

    def clear(self) -> None:
        self._leaves = []
