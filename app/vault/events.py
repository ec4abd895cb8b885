"""One custody event: what happened to which item, when, by whom, chained to the event before it.

Each event has one canonical byte form (RFC 8785 JSON with ``"v": 1``).  Two hashes are taken of it:

- the **chain hash** ``SHA-256(b"evidence-vault:event-chain:v1" || 0x00 || canonical)``, which the next
  event stores as ``prev_hash`` (the first event stores :data:`GENESIS_PREV_HASH`);
- the **Merkle leaf hash** ``SHA-256(0x00 || canonical)`` (RFC 9162), which enters the Merkle tree at
  position ``seq``.

The chain prefix starts with ``e`` (0x65), never 0x00 or 0x01, so a chain hash can never equal a Merkle
leaf or node hash of the same bytes.  docs/FORMAT.md describes the layout for independent verifiers.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.errors import IntegrityError, InvalidInput
from app.vault import merkle
from app.vault.canonical import canonical_json, not_canonical, parse_json_strict

FORMAT_VERSION = 1
CHAIN_PREFIX = b"evidence-vault:event-chain:v1\x00"
GENESIS_PREV_HASH = "0" * 64

ACTIONS: frozenset[str] = frozenset(
    {
        "vault_created",
        "case_added",
        "case_changed",
        "person_added",
        "person_changed",
        "consent_added",
        "consent_withdrawn",
        "item_ingested",
        "item_changed",
        "item_viewed",
        "item_linked",
        "note_added",
        "transcript_set",
        "annotated",
        "redacted",
        "exported",
        "verified",
        "passphrase_changed",
        "checkpoint_made",
        "consent_override",
        "locked",
        "recovery_configured",
        "transferred",
        "receipt_imported",
        "seal_imported",
        "seal_removed",
    }
)

_HEX64 = re.compile(r"[0-9a-f]{64}")
# UTC, microseconds, "Z": the one time format of the project (ARCHITECTURE.md, Conventions).
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FIELDS = ("seq", "time", "actor", "action", "item_id", "item_sha256", "details", "prev_hash")


def _system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _system_clock


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock behind :func:`utc_now` (tests); ``None`` restores the system clock.

    The clock returns an aware datetime; it is converted to UTC.
    """
    global _clock
    _clock = clock or _system_clock


def format_time(moment: datetime) -> str:
    """``2026-11-25T14:56:22.123456Z`` for an aware datetime (converted to UTC)."""
    if moment.tzinfo is None:
        raise InvalidInput("A time without a time zone cannot be recorded.", debug_detail=repr(moment))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    """Now, as a UTC RFC 3339 string with microseconds and ``Z`` (from the injectable clock)."""
    return format_time(_clock())


def is_valid_time(value: object) -> bool:
    """True for a real calendar time in the project format ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Event:
    """A custody event.  Validated on construction; ``details`` is deep-copied so it cannot change.

    - ``seq``: 0-based position in the log, equal to the event's Merkle leaf index.
    - ``time``: UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
    - ``actor``: who did it (non-empty text, e.g. the investigator's name or role).
    - ``action``: one of :data:`ACTIONS`.
    - ``item_id`` / ``item_sha256``: the item concerned (both or neither may be set; sha256 lowercase hex).
    - ``details``: a dict of canonical-JSON values (see :mod:`app.vault.canonical`).
    - ``prev_hash``: the previous event's :meth:`chain_hash`, or :data:`GENESIS_PREV_HASH` for seq 0.
    """

    seq: int
    time: str
    actor: str
    action: str
    item_id: int | None
    item_sha256: str | None
    details: dict[str, Any]
    prev_hash: str

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise InvalidInput("A custody event is not valid and was not recorded.", debug_detail=problem)
        # A private copy, so the caller's dict cannot change the event after the fact; the canonical
        # bytes are computed once (this also refuses values that cannot be hashed reproducibly) and
        # are what both hashes and storage use.  Do not mutate ``details`` in place.
        object.__setattr__(self, "details", copy.deepcopy(self.details))
        object.__setattr__(self, "_canonical", canonical_json(self.as_dict()))

    def _problem(self) -> str:
        if not _is_int(self.seq) or self.seq < 0:
            return f"seq must be an integer >= 0, got {self.seq!r}"
        if self.seq > 2**53 - 1:
            return "seq is too large"
        if not is_valid_time(self.time):
            return f"time must look like 2026-11-25T14:56:22.123456Z, got {self.time!r}"
        if not isinstance(self.actor, str) or not self.actor:
            return "actor must be non-empty text"
        if self.action not in ACTIONS:
            return f"unknown action {self.action!r}"
        if self.item_id is not None and (not _is_int(self.item_id) or self.item_id < 0):
            return f"item_id must be an integer >= 0 or None, got {self.item_id!r}"
        if self.item_sha256 is not None and (
            not isinstance(self.item_sha256, str) or not _HEX64.fullmatch(self.item_sha256)
        ):
            return "item_sha256 must be 64 lowercase hex digits or None"
        if not isinstance(self.details, dict):
            return f"details must be a dict, got {type(self.details).__name__}"
        if not isinstance(self.prev_hash, str) or not _HEX64.fullmatch(self.prev_hash):
            return "prev_hash must be 64 lowercase hex digits"
        return ""

    def __hash__(self) -> int:  # details is a dict, so the generated hash would fail
        return hash(self.canonical_bytes())

    def as_dict(self) -> dict[str, Any]:
        """The canonical JSON object as a dict (incl. ``"v": 1``)."""
        record: dict[str, Any] = {"v": FORMAT_VERSION}
        for name in _FIELDS:
            record[name] = getattr(self, name)
        return record

    def canonical_bytes(self) -> bytes:
        """RFC 8785 JSON of the event incl. ``"v": 1``: the bytes both hashes are taken over."""
        return self._canonical  # type: ignore[attr-defined, no-any-return]

    def chain_hash(self) -> str:
        """Lowercase hex SHA-256(b"evidence-vault:event-chain:v1\\x00" || canonical): next prev_hash."""
        return hashlib.sha256(CHAIN_PREFIX + self.canonical_bytes()).hexdigest()

    def leaf_hash(self) -> bytes:
        """Raw RFC 9162 leaf hash SHA-256(0x00 || canonical)."""
        return merkle.leaf_hash(self.canonical_bytes())

    @classmethod
    def from_canonical(cls, data: bytes) -> Event:
        """Parse stored canonical bytes strictly; raises IntegrityError on anything unexpected
        (not canonical, unknown version, missing or extra fields, invalid values)."""
        record = parse_json_strict(data)
        if not isinstance(record, dict):
            raise IntegrityError(
                "A stored custody event is damaged (not a JSON object).", debug_detail=repr(record)[:200]
            )
        version = record.get("v")
        if not _is_int(version) or version != FORMAT_VERSION:
            raise IntegrityError(
                "A stored custody event has an unknown format version; it was written by another "
                "program or altered.",
                debug_detail=f"v = {version!r}",
            )
        expected = {"v", *_FIELDS}
        missing, extra = expected - record.keys(), record.keys() - expected
        if missing or extra:
            raise IntegrityError(
                "A stored custody event has missing or unexpected fields; the vault may have been altered.",
                debug_detail=f"missing {sorted(missing)}, extra {sorted(extra)}",
            )
        try:
            event = cls(**{name: record[name] for name in _FIELDS})
        except InvalidInput as exc:
            raise IntegrityError(
                "A stored custody event contains invalid values; the vault may have been altered.",
                debug_detail=exc.debug_detail,
            ) from exc
        if event.canonical_bytes() != bytes(data):  # the stored bytes must be exactly the canonical form
            raise not_canonical(data, event.canonical_bytes())
        return event


def verify_chain(events: list[Event], *, start_prev_hash: str = GENESIS_PREV_HASH) -> None:
    """Check that ``events`` are consecutive (seq +1 each) and each ``prev_hash`` is the chain hash
    of the one before (the first against ``start_prev_hash``).  Raises IntegrityError."""
    expected_prev = start_prev_hash
    if events and start_prev_hash == GENESIS_PREV_HASH and events[0].seq != 0:
        raise IntegrityError("The custody log does not start at its first event; early events are missing.")
    for position, event in enumerate(events):
        if position and event.seq != events[position - 1].seq + 1:
            raise IntegrityError(
                f"The custody log has a gap or reordering at event {event.seq}; events were removed or "
                "reordered.",
            )
        if event.prev_hash != expected_prev:
            raise IntegrityError(
                f"The custody chain is broken at event {event.seq}: it does not follow from the event "
                "before it. Events were altered, removed or inserted.",
                debug_detail=f"prev_hash {event.prev_hash}, expected {expected_prev}",
            )
        expected_prev = event.chain_hash()

