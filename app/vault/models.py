"""Plain records returned by the vault service.  Frozen: changing a record does not change the vault;
use the ``Vault`` methods for that."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.errors import IntegrityError

ITEM_KINDS: frozenset[str] = frozenset({"interview", "photo", "video", "audio", "document", "transcript"})
PERSON_ROLES: frozenset[str] = frozenset({"survivor", "witness", "interviewer", "perpetrator", "other"})
CONSENT_SCOPES: frozenset[str] = frozenset({"court", "un", "ngo", "media"})


@dataclass(frozen=True)
class Case:
    id: int
    title: str
    description: str
    created_at: str


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    aliases: tuple[str, ...]
    pseudonym: str | None
    role: str
    protected: bool
    created_at: str = ""


@dataclass(frozen=True)
class Consent:
    id: int
    person_id: int
    scopes: frozenset[str]
    date: str | None
    taken_by: str | None
    record_item_id: int | None
    withdrawn_at: str | None
    reason: str
    created_at: str


@dataclass(frozen=True)
class Item:
    id: int
    case_id: int | None
    kind: str
    title: str
    description: str
    captured_at: str | None
    place: str | None
    source: str | None
    tags: tuple[str, ...]
    original_name: str
    size: int
    sha256: str
    mime: str
    metadata: dict[str, Any]
    derived_from: int | None
    derivation: dict[str, Any] | None
    created_at: str

    @property
    def ingest_warnings(self) -> tuple[str, ...]:
        """Why the file was stored with a warning (damaged, truncated, misnamed...); empty when clean."""
        return tuple(self.metadata.get("ingest_warnings") or ())


@dataclass(frozen=True)
class Note:
    id: int
    item_id: int
    text: str
    author: str
    created_at: str


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    speaker: str | None
    language: str | None
    text: str


@dataclass(frozen=True)
class IngestResult:
    """``duplicate_of`` is set when identical bytes were already in the vault: the bytes are stored once
    and shared, ``item_id`` is the new item and ``duplicate_of`` the first item with those bytes.

    ``already_stored``: the file was already an item (same bytes, name, kind and case) and nothing
    was added; ``item_id`` and ``duplicate_of`` are that item, ``warnings`` the ones kept with it."""

    item_id: int
    sha256: str
    size: int
    duplicate_of: int | None = None
    warnings: tuple[str, ...] = ()
    already_stored: bool = False


@dataclass(frozen=True)
class SearchHit:
    """One place where the text was found.  ``field`` is title, description, tags, note or transcript;
    ``ref_id`` is the note id or transcript segment index; ``start`` the segment start in seconds."""

    item_id: int
    field: str
    snippet: str
    ref_id: int | None = None
    start: float | None = None


@dataclass(frozen=True)
class Problem:
    """One integrity problem: ``kind`` (machine-readable), ``location`` (e.g. "event 17", "item 4"),
    ``message`` (plain sentence)."""

    kind: str
    location: str
    message: str


@dataclass(frozen=True)
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    events_checked: int = 0
    items_checked: int = 0
    bytes_hashed: int = 0
    tree_size: int = 0
    root: str = ""
    checkpoints_checked: int = 0
    recorded: bool = False  # Vault.verify wrote a ``verified`` event (not read-only, not damaged, write ok)
    not_recorded: str = ""  # why not, when it tried: "disk_full" or "write_failed"
    # Doubtful but not proof of alteration (e.g. an event time earlier than the one before): ok stays True.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Computed from ``problems``, so a report can never say intact while listing a problem."""
        return not self.problems

    def raise_if_failed(self) -> None:
        """Raise IntegrityError carrying the first problem when the vault is not intact."""
        if self.problems:
            more = f" ({len(self.problems) - 1} more problems found.)" if len(self.problems) > 1 else ""
            raise IntegrityError(self.problems[0].message + more,
                                 debug_detail="; ".join(f"{p.kind} at {p.location}" for p in self.problems[:20]))

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None
