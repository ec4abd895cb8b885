"""Replaying the custody log against the record tables (part of ``verify``).

Consent and the "protected" flag decide what may leave the vault, so an insider who edits them with plain
SQL must not leave the vault looking intact.  The events carry, in clear, the state that is safe to show
(consent scopes, dates and withdrawal per consent record, a person's role and protected flag, item-person
links, an item's case, kind, mime type and derivation) and, for everything else, a ``record_digest`` (see
app.vault.record_digest).  Here the log is replayed in order and the result compared with the tables:
a difference, a record without its event, or an event whose record is gone is a Problem naming the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlcipher3

from app.vault import record_digest
from app.vault.events import Event

AddProblem = Callable[[str, str, str], None]

_WHAT = {
    "case": "its title or description",
    "person": "the name, aliases or pseudonym",
    "consent": "who took it or the reason given",
    "item": "its recorded fields (title, description, capture time, place, source, tags, file name or "
            "metadata such as GPS)",
    "note": "its text or author",
    "transcript": "its segments (times, speakers or text)",
}
_LABEL = {"case": "Case", "person": "Person", "consent": "Consent record", "item": "Item", "note": "Note",
          "transcript": "The transcript of item"}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _State:
    """What the log says the records are, event by event."""

    def __init__(self) -> None:
        self.cases: dict[int, dict[str, Any]] = {}
        self.persons: dict[int, dict[str, Any]] = {}
        self.consents: dict[int, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        self.transcripts: dict[int, dict[str, Any]] = {}
        self.links: dict[tuple[int, int], int] = {}

    def apply(self, event: Event) -> None:
        d, action, seq = event.details, event.action, event.seq
        handler = getattr(self, f"_on_{action}", None)
        if handler is not None:
            handler(event, d, seq)

    @staticmethod
    def _touch(table: dict[int, dict[str, Any]], key: int | None, seq: int, d: dict[str, Any],
               **values: Any) -> None:
        if key is None:
            return
        entry = table.setdefault(key, {"seq": seq})
        entry["seq"] = seq
        entry.update(values)
        entry["digest"] = d.get("record_digest")

    def _on_case_added(self, e: Event, d: dict[str, Any], seq: int) -> None:
        self._touch(self.cases, _int(d.get("case_id")), seq, d)

    _on_case_changed = _on_case_added

    def _on_person_added(self, e: Event, d: dict[str, Any], seq: int) -> None:
        values = {k: d[k] for k in ("role", "protected") if k in d}
        self._touch(self.persons, _int(d.get("person_id")), seq, d, **values)

    _on_person_changed = _on_person_added

    def _on_consent_added(self, e: Event, d: dict[str, Any], seq: int) -> None:
        scopes = d.get("scopes")
        self._touch(self.consents, _int(d.get("consent_id")), seq, d, person_id=d.get("person_id"),
                    scopes=sorted(scopes) if isinstance(scopes, list) else scopes, date=d.get("date"),
                    withdrawn_at=None, record_item_id=e.item_id)

    def _on_consent_withdrawn(self, e: Event, d: dict[str, Any], seq: int) -> None:
        given = d.get("record_digests")
        digests: dict[str, Any] = given if isinstance(given, dict) else {}
        for consent_id in d.get("consent_ids") or []:
            consent_id = _int(consent_id)
            if consent_id is None:
                continue
            if consent_id not in self.consents:  # a refusal: recorded as a new record with no scope
                self.consents[consent_id] = {"person_id": d.get("person_id"), "scopes": [],
                                             "date": d.get("date"), "record_item_id": None}
            entry = self.consents[consent_id]
            entry.update(seq=seq, withdrawn_at=d.get("date"), digest=digests.get(str(consent_id)))

    def _on_item_ingested(self, e: Event, d: dict[str, Any], seq: int) -> None:
        values: dict[str, Any] = {"case_id": d.get("case_id"), "kind": d.get("kind"), "mime": d.get("mime"),
                                  "derived_from": d.get("derived_from")}
        if "derivation" in d:
            values["derivation"] = d["derivation"]
        self._touch(self.items, e.item_id, seq, d, **values)

    def _on_item_changed(self, e: Event, d: dict[str, Any], seq: int) -> None:
        self._touch(self.items, e.item_id, seq, d, **{k: d[k] for k in ("case_id", "kind") if k in d})

    def _on_item_linked(self, e: Event, d: dict[str, Any], seq: int) -> None:
        person_id = _int(d.get("person_id"))
        if e.item_id is not None and person_id is not None:
            self.links[(e.item_id, person_id)] = seq

    def _on_note_added(self, e: Event, d: dict[str, Any], seq: int) -> None:
        self._touch(self.notes, _int(d.get("note_id")), seq, d)

    def _on_transcript_set(self, e: Event, d: dict[str, Any], seq: int) -> None:
        self._touch(self.transcripts, e.item_id, seq, d)


def check_records(conn: sqlcipher3.Connection, events: Iterable[Event], add: AddProblem) -> None:
    """Compare the replayed log with the tables; ``add(kind, location, message)`` for each difference."""
    state = _State()
    for event in events:
        state.apply(event)
    key = record_digest.load_record_key(conn)
    if key is None:
        add("record_key", "record key", "The vault's record key is missing or damaged, so names, descriptions, "
            "notes and transcripts cannot be checked against the custody log.")
    _check_cases(conn, state, key, add)
    _check_persons(conn, state, key, add)
    _check_consents(conn, state, key, add)
    _check_items(conn, state, key, add)
    _check_links(conn, state, add)
    _check_notes(conn, state, key, add)
    _check_transcripts(conn, state, key, add)


def _check_digest(conn: sqlcipher3.Connection, key: bytes | None, record: str, record_id: int,
                  entry: dict[str, Any], add: AddProblem) -> None:
    if key is None:
        return
    location = f"{record} {record_id}"
    recorded = entry.get("digest")
    if not isinstance(recorded, str):
        add("record_unprotected", location, f"{_LABEL[record]} {record_id}: the custody log (event "
            f"{entry['seq']}) holds no digest of {_WHAT[record]}, so they cannot be checked.")
        return
    if record_digest.record_digest(conn, key, record, record_id) != recorded:
        add("record_changed", location, f"{_LABEL[record]} {record_id}: {_WHAT[record]} "
            f"{'was' if record in ('consent', 'note') else 'were'} changed outside the application (they no "
            f"longer match event {entry['seq']}).")


def _existence(ids: Iterable[int], state: dict[int, dict[str, Any]], record: str, add: AddProblem,
               added_event: str) -> None:
    present = set(ids)
    for record_id in sorted(present - state.keys()):
        add("record_added", f"{record} {record_id}", f"{_LABEL[record]} {record_id} has no {added_event} event "
            "in the custody log: it was added outside the application.")
    for record_id in sorted(state.keys() - present):
        add("record_deleted", f"{record} {record_id}", f"{_LABEL[record]} {record_id} was recorded (event "
            f"{state[record_id]['seq']}) but is no longer in the vault: it was deleted.")


def _check_cases(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM cases ORDER BY id")]
    _existence(ids, state.cases, "case", add, "case_added")
    for case_id in ids:
        if case_id in state.cases:
            _check_digest(conn, key, "case", case_id, state.cases[case_id], add)


def _check_persons(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    rows = conn.execute("SELECT id, role, protected FROM persons ORDER BY id").fetchall()
    _existence([int(r[0]) for r in rows], state.persons, "person", add, "person_added")
    for person_id, role, protected in rows:
        entry = state.persons.get(person_id)
        if entry is None:
            continue
        where = f"person {person_id}"
        if "protected" in entry and bool(entry["protected"]) != (protected == 1):
            was = "protected" if entry["protected"] else "not protected"
            add("record_changed", where, f"Person {person_id} is recorded as {was} (event {entry['seq']}), but "
                f"the vault now says protected = {protected!r}: it was changed outside the application.")
        if "role" in entry and entry["role"] != role:
            add("record_changed", where, f"Person {person_id}'s role is {role!r} but the custody log records "
                f"{entry['role']!r}: it was changed outside the application.")
        _check_digest(conn, key, "person", person_id, entry, add)


def _check_consents(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    rows = conn.execute("SELECT id, person_id, scopes, date, withdrawn_at, record_item_id FROM consents "
                        "ORDER BY id").fetchall()
    _existence([int(r[0]) for r in rows], state.consents, "consent", add, "consent_added")
    for consent_id, person_id, scopes, date, withdrawn_at, record_item_id in rows:
        entry = state.consents.get(consent_id)
        if entry is None:
            continue
        try:
            stored_scopes: Any = sorted(json.loads(scopes))
        except (TypeError, ValueError):
            stored_scopes = scopes
        differences = [name for name, now, recorded in (
            ("person", person_id, entry.get("person_id")), ("scopes", stored_scopes, entry.get("scopes")),
            ("date", date, entry.get("date")), ("withdrawal", withdrawn_at, entry.get("withdrawn_at")),
            ("record item", record_item_id, entry.get("record_item_id"))) if now != recorded]
        if differences:
            add("record_changed", f"consent {consent_id}",
                f"Consent record {consent_id} (person {entry.get('person_id')}) was changed outside the "
                f"application: its {', '.join(differences)} no longer match event {entry['seq']}.")
        _check_digest(conn, key, "consent", consent_id, entry, add)


def _check_items(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    # Items without an ingest event, and ingested items that are gone, are reported by verify's item check.
    rows = conn.execute("SELECT id, case_id, kind, mime, derived_from, derivation FROM items ORDER BY id")
    for item_id, case_id, kind, mime, derived_from, derivation in rows.fetchall():
        entry = state.items.get(item_id)
        if entry is None:
            continue
        checks = [("case", case_id, entry.get("case_id")), ("kind", kind, entry.get("kind")),
                  ("type", mime, entry.get("mime")), ("source item", derived_from, entry.get("derived_from"))]
        if "derivation" in entry:
            try:
                stored = json.loads(derivation) if derivation is not None else {}
            except (TypeError, ValueError):
                stored = derivation
            checks.append(("derivation", stored, entry["derivation"]))
        differences = [name for name, now, recorded in checks if now != recorded]
        if differences:
            add("record_changed", f"item {item_id}",
                f"Item {item_id}: its {', '.join(differences)} no longer match the custody log (event "
                f"{entry['seq']}): changed outside the application.")
        _check_digest(conn, key, "item", item_id, entry, add)


def _check_links(conn: sqlcipher3.Connection, state: _State, add: AddProblem) -> None:
    stored = {(int(i), int(p)) for i, p in conn.execute("SELECT item_id, person_id FROM item_persons")}
    for item_id, person_id in sorted(stored - state.links.keys()):
        add("record_added", f"item {item_id}", f"Item {item_id} is linked to person {person_id} without an "
            "item_linked event: the link was added outside the application.")
    for item_id, person_id in sorted(state.links.keys() - stored):
        add("record_deleted", f"item {item_id}", f"The link between item {item_id} and person {person_id} "
            f"(event {state.links[(item_id, person_id)]}) was removed outside the application.")


def _check_notes(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM notes ORDER BY id")]
    _existence(ids, state.notes, "note", add, "note_added")
    for note_id in ids:
        if note_id in state.notes:
            _check_digest(conn, key, "note", note_id, state.notes[note_id], add)


def _check_transcripts(conn: sqlcipher3.Connection, state: _State, key: bytes | None, add: AddProblem) -> None:
    with_segments = {int(r[0]) for r in conn.execute("SELECT DISTINCT item_id FROM transcript_segments")}
    for item_id in sorted(with_segments - state.transcripts.keys()):
        add("record_added", f"transcript {item_id}", f"The transcript of item {item_id} has no transcript_set "
            "event: it was added outside the application.")
    for item_id in sorted(state.transcripts):
        _check_digest(conn, key, "transcript", item_id, state.transcripts[item_id], add)
