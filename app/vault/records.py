"""The descriptive records of a vault: cases, persons, consent, item fields, links, notes, transcripts.

A mixin of :class:`app.vault.vault.Vault`; every change appends its custody event in the same
transaction.  Event details carry ids, field names and choices, never free text: names, titles and
notes may identify a survivor, and an event can never be redacted once it is hash-chained.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlcipher3

from app.errors import InvalidInput, NotFound
from app.vault import record_digest, search
from app.vault.custody import append_event
from app.vault.events import utc_now
from app.vault.models import ITEM_KINDS, PERSON_ROLES, Case, Consent, Item, Note, Person, Segment
from app.vault.record_values import (
    capture_time,
    date_text,
    item_from_row,
    optional_text,
    person_from_row,
    segment_rows,
    strings,
    valid_scopes,
    valid_text,
)
from app.vault.vault_parts import VaultParts

ITEM_COLUMNS = (  # same order as the fields of models.Item (item_from_row relies on it)
    "id, case_id, kind, title, description, captured_at, place, source, tags, original_name, size, "
    "sha256, mime, metadata, derived_from, derivation, created_at"
)
EDITABLE_ITEM_FIELDS = frozenset(
    {"case_id", "kind", "title", "description", "captured_at", "place", "source", "tags", "metadata"}
)
EDITABLE_PERSON_FIELDS = frozenset({"name", "aliases", "pseudonym", "role", "protected"})
# What an investigator edits in the GUI / `item edit` (kind and metadata stay for the tools).
DESCRIPTIVE_ITEM_FIELDS = ("title", "description", "place", "source", "captured_at", "tags", "case_id")


class RecordsMixin(VaultParts):
    def _record_key(self, conn: sqlcipher3.Connection) -> bytes:  # provided by Vault
        raise NotImplementedError

    def _digest(self, conn: sqlcipher3.Connection, record: str, record_id: int) -> str:
        """record_digest of a record as it now stands in this transaction (see app.vault.record_digest)."""
        fields = record_digest.record_fields(conn, record, record_id)
        if fields is None:
            raise NotFound(f"The {record} number {record_id} does not exist.")
        return record_digest.digest(self._record_key(conn), fields)

    def _event(self, conn: sqlcipher3.Connection, action: str, *, item_id: int | None = None,
               details: dict[str, Any] | None = None) -> None:
        sha = None
        if item_id is not None:
            row = conn.execute("SELECT sha256 FROM items WHERE id = ?", (item_id,)).fetchone()
            sha = row[0] if row else None
        append_event(conn, actor=self.actor, action=action, item_id=item_id, item_sha256=sha,
                     details=details or {})

    # -- cases -------------------------------------------------------------------------------
    def add_case(self, title: str, description: str = "") -> int:
        title = valid_text(title, "A case title")
        with self._tx() as conn:
            case_id = int(conn.execute(
                "INSERT INTO cases(title, description, created_at) VALUES (?, ?, ?)",
                (title, description or "", utc_now()),
            ).lastrowid or 0)
            self._event(conn, "case_added",
                        details={"case_id": case_id, "record_digest": self._digest(conn, "case", case_id)})
        return case_id

    def list_cases(self) -> list[Case]:
        with self._read() as conn:
            rows = conn.execute("SELECT id, title, description, created_at FROM cases ORDER BY id").fetchall()
        return [Case(int(r[0]), r[1], r[2], r[3]) for r in rows]

    def get_case(self, case_id: int) -> Case:
        with self._read() as conn:
            r = conn.execute("SELECT id, title, description, created_at FROM cases WHERE id = ?",
                             (case_id,)).fetchone()
        if r is None:
            raise NotFound(f"There is no case number {case_id} in this vault.")
        return Case(int(r[0]), r[1], r[2], r[3])

    def update_case(self, case_id: int, *, title: str | None = None, description: str | None = None) -> None:
        self.get_case(case_id)
        changes = {k: v for k, v in (("title", title), ("description", description)) if v is not None}
        if "title" in changes:
            changes["title"] = valid_text(title, "A case title")
        if not changes:
            return
        with self._tx() as conn:
            for column, value in changes.items():
                conn.execute(f"UPDATE cases SET {column} = ? WHERE id = ?", (value, case_id))  # noqa: S608
            self._event(conn, "case_changed", details={"case_id": case_id, "fields": sorted(changes),
                                                       "record_digest": self._digest(conn, "case", case_id)})

    # -- persons -----------------------------------------------------------------------------
    def add_person(self, *, name: str, aliases: Iterable[str] = (), pseudonym: str | None = None,
                   role: str = "witness", protected: bool = False) -> int:
        name = valid_text(name, "A person's name")
        if role not in PERSON_ROLES:
            raise InvalidInput(f"A person's role must be one of: {', '.join(sorted(PERSON_ROLES))}.")
        alias_list = strings(aliases, "Aliases")
        with self._tx() as conn:
            person_id = int(conn.execute(
                "INSERT INTO persons(name, aliases, pseudonym, role, protected, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, json.dumps(alias_list, ensure_ascii=False), pseudonym, role, int(bool(protected)),
                 utc_now()),
            ).lastrowid or 0)
            self._event(conn, "person_added",
                        details={"person_id": person_id, "role": role, "protected": bool(protected),
                                 "record_digest": self._digest(conn, "person", person_id)})
        return person_id

    def list_persons(self) -> list[Person]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, name, aliases, pseudonym, role, protected, created_at FROM persons ORDER BY id"
            ).fetchall()
        return [person_from_row(r) for r in rows]

    def get_person(self, person_id: int) -> Person:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, name, aliases, pseudonym, role, protected, created_at FROM persons WHERE id = ?",
                (person_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"There is no person number {person_id} in this vault.")
        return person_from_row(row)

    def update_person(self, person_id: int, **fields: Any) -> None:
        unknown = set(fields) - EDITABLE_PERSON_FIELDS
        if unknown:
            raise InvalidInput(f"These person fields cannot be changed: {', '.join(sorted(unknown))}.")
        self.get_person(person_id)
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "name":
                values[key] = valid_text(value, "A person's name")
            elif key == "aliases":
                values[key] = json.dumps(strings(value, "Aliases"), ensure_ascii=False)
            elif key == "role":
                if value not in PERSON_ROLES:
                    raise InvalidInput(f"A person's role must be one of: {', '.join(sorted(PERSON_ROLES))}.")
                values[key] = value
            elif key == "protected":
                values[key] = int(bool(value))
            else:
                values[key] = value
        if not values:
            return
        with self._tx() as conn:
            for column, value in values.items():
                conn.execute(f"UPDATE persons SET {column} = ? WHERE id = ?", (value, person_id))  # noqa: S608
            details: dict[str, Any] = {"person_id": person_id, "fields": sorted(values)}
            for key in ("role", "protected"):
                if key in fields:
                    details[key] = bool(fields[key]) if key == "protected" else fields[key]
            details["record_digest"] = self._digest(conn, "person", person_id)
            self._event(conn, "person_changed", details=details)

    # -- consent -----------------------------------------------------------------------------
    def add_consent(self, person_id: int, *, scopes: Iterable[str] | str, date: str | None = None,
                    taken_by: str | None = None, record_item_id: int | None = None) -> int:
        self.get_person(person_id)
        scope_list = valid_scopes(scopes)
        when = date_text(date)
        with self._tx() as conn:
            if record_item_id is not None and not conn.execute(
                "SELECT 1 FROM items WHERE id = ?", (record_item_id,)
            ).fetchone():
                raise NotFound(f"There is no item number {record_item_id} to use as the consent record.")
            consent_id = int(conn.execute(
                "INSERT INTO consents(person_id, date, taken_by, scopes, record_item_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (person_id, when, taken_by, json.dumps(scope_list), record_item_id, utc_now()),
            ).lastrowid or 0)
            self._event(conn, "consent_added", item_id=record_item_id, details={
                "person_id": person_id, "consent_id": consent_id, "scopes": scope_list, "date": when,
                "record_item_id": record_item_id, "record_digest": self._digest(conn, "consent", consent_id)})
        return consent_id

    def withdraw_consent(self, person_id: int, *, date: str | None = None, reason: str = "") -> None:
        self.get_person(person_id)
        when = date_text(date)
        with self._tx() as conn:
            active = [int(r[0]) for r in conn.execute(
                "SELECT id FROM consents WHERE person_id = ? AND withdrawn_at IS NULL", (person_id,))]
            if active:
                conn.execute(
                    "UPDATE consents SET withdrawn_at = ?, reason = ? WHERE person_id = ? AND withdrawn_at IS NULL",
                    (when, reason or "", person_id),
                )
            else:  # record the refusal itself, so the person's wish is on file
                active = [int(conn.execute(
                    "INSERT INTO consents(person_id, date, scopes, withdrawn_at, reason, created_at) "
                    "VALUES (?, ?, '[]', ?, ?, ?)", (person_id, when, when, reason or "", utc_now()),
                ).lastrowid or 0)]
            self._event(conn, "consent_withdrawn", details={
                "person_id": person_id, "consent_ids": active, "date": when,
                "record_digests": {str(c): self._digest(conn, "consent", c) for c in active}})

    def consents(self, person_id: int) -> list[Consent]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, person_id, scopes, date, taken_by, record_item_id, withdrawn_at, reason, created_at "
                "FROM consents WHERE person_id = ? ORDER BY id", (person_id,)).fetchall()
        return [Consent(int(r[0]), int(r[1]), frozenset(json.loads(r[2])), r[3], r[4], r[5], r[6], r[7], r[8])
                for r in rows]

    def consent_scopes(self, person_id: int) -> frozenset[str]:
        """Scopes of the most recent consent record; empty when it was withdrawn or none exists."""
        records = self.consents(person_id)
        if not records or records[-1].withdrawn_at is not None:
            return frozenset()
        return records[-1].scopes

    # -- items -------------------------------------------------------------------------------
    def get_item(self, item_id: int) -> Item:
        with self._read() as conn:
            row = conn.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,)).fetchone()  # noqa: S608
        if row is None:
            raise NotFound(f"There is no item number {item_id} in this vault.")
        return item_from_row(row)

    def list_items(self, case_id: int | None = None) -> list[Item]:
        with self._read() as conn:
            if case_id is None:
                rows = conn.execute(f"SELECT {ITEM_COLUMNS} FROM items ORDER BY id").fetchall()  # noqa: S608
            else:
                rows = conn.execute(
                    f"SELECT {ITEM_COLUMNS} FROM items WHERE case_id = ? ORDER BY id", (case_id,)  # noqa: S608
                ).fetchall()
        return [item_from_row(r) for r in rows]

    def update_item(self, item_id: int, **fields: Any) -> None:
        hidden = fields.pop("_hidden", None)  # set_item_hidden: the new state, safe to record in clear
        unknown = set(fields) - EDITABLE_ITEM_FIELDS
        if unknown:
            raise InvalidInput(f"These item fields cannot be changed: {', '.join(sorted(unknown))}.")
        item = self.get_item(item_id)
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "kind" and value not in ITEM_KINDS:
                raise InvalidInput(f"Item kind must be one of: {', '.join(sorted(ITEM_KINDS))}.")
            if key == "title":
                value = valid_text(value, "An item title")
            if key == "tags":
                value = json.dumps(strings(value, "Tags"), ensure_ascii=False)
            elif key == "metadata":
                if not isinstance(value, dict):
                    raise InvalidInput("Item metadata must be a dictionary.")
                value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
            values[key] = value
        if not values:
            return
        with self._tx() as conn:
            if values.get("case_id") is not None and not conn.execute(
                "SELECT 1 FROM cases WHERE id = ?", (values["case_id"],)
            ).fetchone():
                raise NotFound(f"There is no case number {values['case_id']} in this vault.")
            for column, value in values.items():
                conn.execute(f"UPDATE items SET {column} = ? WHERE id = ?", (value, item_id))  # noqa: S608
            updated = conn.execute("SELECT title, description, tags FROM items WHERE id = ?", (item_id,)).fetchone()
            search.index_item_fields(conn, item_id, title=updated[0], description=updated[1],
                                     tags=json.loads(updated[2]))
            details: dict[str, Any] = {"fields": sorted(values)}
            if "case_id" in values:
                details["case_id"] = values["case_id"]
            if "kind" in values:
                details["kind"] = values["kind"]
            if hidden is not None:
                details["hidden"] = hidden
            details["record_digest"] = self._digest(conn, "item", item.id)
            self._event(conn, "item_changed", item_id=item.id, details=details)

    def edit_item(self, item_id: int, **fields: Any) -> list[str]:
        """Change what an investigator describes about an item (DESCRIPTIVE_ITEM_FIELDS); returns the
        names of the fields that really changed.  One ``item_changed`` event covers them: it names the
        fields and carries the keyed digest of the new record, never the text (see update_item).
        ``place``, ``source``, ``captured_at`` given as None or blank are cleared; ``tags`` is a list or
        comma-separated text; ``case_id`` None takes the item out of its case."""
        unknown = set(fields) - set(DESCRIPTIVE_ITEM_FIELDS)
        if unknown:
            raise InvalidInput(f"These item fields cannot be edited: {', '.join(sorted(unknown))}. "
                               f"Editable: {', '.join(DESCRIPTIVE_ITEM_FIELDS)}.")
        item = self.get_item(item_id)
        wanted: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "title":
                wanted[key] = valid_text(value, "An item title")
            elif key == "description":
                wanted[key] = optional_text(value, "A description") or ""
            elif key in ("place", "source"):
                wanted[key] = optional_text(value, f"The {key}")
            elif key == "captured_at":
                if value is not None and not isinstance(value, str):
                    raise InvalidInput("The capture time must be text like 2026-11-20 14:05.")
                wanted[key] = capture_time(value)
            elif key == "tags":
                wanted[key] = tuple(dict.fromkeys(strings(value.split(",") if isinstance(value, str) else value,
                                                           "Tags")))
            elif key == "case_id":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise InvalidInput("The case must be given by its number.")
                wanted[key] = value
        changed = {key: value for key, value in wanted.items() if getattr(item, key) != value}
        if changed:
            self.update_item(item_id, **changed)
        return sorted(changed)

    def set_item_hidden(self, item_id: int, hidden: bool = True) -> bool:
        """Hide (or show again) a mistaken import in the lists.  Nothing is erased: the original, its
        hash and its custody stay; the change is an ``item_changed`` event naming ``metadata`` with
        ``hidden`` in clear.  Returns False when the item already was in that state."""
        item = self.get_item(item_id)
        if bool(item.metadata.get("hidden")) == bool(hidden):
            return False
        metadata = dict(item.metadata)
        if hidden:
            metadata["hidden"] = True
        else:
            metadata.pop("hidden", None)
        self.update_item(item_id, metadata=metadata, _hidden=bool(hidden))
        return True

    # -- links -------------------------------------------------------------------------------
    def link(self, item_id: int, person_id: int) -> None:
        self.get_item(item_id)
        self.get_person(person_id)
        with self._tx() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO item_persons(item_id, person_id) VALUES (?, ?)", (item_id, person_id)
            ).rowcount
            if inserted:
                self._event(conn, "item_linked", item_id=item_id, details={"person_id": person_id})

    def persons_for_item(self, item_id: int) -> list[Person]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT p.id, p.name, p.aliases, p.pseudonym, p.role, p.protected, p.created_at FROM persons p "
                "JOIN item_persons l ON l.person_id = p.id WHERE l.item_id = ? ORDER BY p.id", (item_id,)
            ).fetchall()
        return [person_from_row(r) for r in rows]

    def persons_for_case(self, case_id: int) -> list[Person]:
        """Every person linked to at least one item of case ``case_id``, in one query (by id)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT p.id, p.name, p.aliases, p.pseudonym, p.role, p.protected, p.created_at FROM persons p "
                "WHERE p.id IN (SELECT l.person_id FROM item_persons l JOIN items i ON i.id = l.item_id "
                "WHERE i.case_id = ?) ORDER BY p.id", (case_id,)
            ).fetchall()
        return [person_from_row(r) for r in rows]

    def items_for_person(self, person_id: int) -> list[Item]:
        columns = ", ".join(f"i.{c.strip()}" for c in ITEM_COLUMNS.split(","))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM items i JOIN item_persons l ON l.item_id = i.id "  # noqa: S608
                "WHERE l.person_id = ? ORDER BY i.id", (person_id,)
            ).fetchall()
        return [item_from_row(r) for r in rows]

    # -- notes and transcripts ------------------------------------------------------------------
    def add_note(self, item_id: int, text: str) -> int:
        text = valid_text(text, "A note")
        self.get_item(item_id)
        with self._tx() as conn:
            note_id = int(conn.execute(
                "INSERT INTO notes(item_id, text, author, created_at) VALUES (?, ?, ?, ?)",
                (item_id, text, self.actor, utc_now()),
            ).lastrowid or 0)
            search.index_note(conn, item_id, note_id, text)
            self._event(conn, "note_added", item_id=item_id, details={
                "note_id": note_id, "record_digest": self._digest(conn, "note", note_id)})
        return note_id

    def notes(self, item_id: int) -> list[Note]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, item_id, text, author, created_at FROM notes WHERE item_id = ? ORDER BY id", (item_id,)
            ).fetchall()
        return [Note(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]

    def set_transcript(self, item_id: int, segments: Iterable[Any], *, language: str | None = None) -> None:
        """Replace the item's transcript.  ``segments``: Segment-like objects or dicts with start, end,
        text and optional speaker, language."""
        self.get_item(item_id)
        rows = list(segment_rows(segments, language))
        with self._tx() as conn:
            conn.execute("DELETE FROM transcript_segments WHERE item_id = ?", (item_id,))
            conn.executemany(
                "INSERT INTO transcript_segments(item_id, idx, start, end, speaker, language, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [(item_id, *row) for row in rows])
            search.index_transcript(conn, item_id, [(row[0], row[5]) for row in rows])
            self._event(conn, "transcript_set", item_id=item_id, details={
                "segments": len(rows), "language": language,
                "record_digest": self._digest(conn, "transcript", item_id)})

    def transcript(self, item_id: int) -> list[Segment]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT start, end, speaker, language, text FROM transcript_segments WHERE item_id = ? "
                "ORDER BY idx", (item_id,)).fetchall()
        return [Segment(float(r[0]), float(r[1]), r[2], r[3], r[4]) for r in rows]
