"""Full verification of a vault: every stored original re-hashed, the custody log replayed, every
checkpoint checked against the log.  Problems are collected (not raised) and name the first bad
event or item; :attr:`~app.vault.models.VerifyReport.ok` is computed: False when there is any.

What is checked, in order:

1. The custody log: seq numbers 0, 1, 2, ... without gaps; each stored record is canonical and
   re-encodes to the same bytes; each ``prev_hash`` is the chain hash of the event before; the stored
   ``chain_hash`` column matches; the query columns (action, item_id) match the record.  The
   ``vault_created`` event's public key must be the vault's current signing key, and the ``keys`` row's
   ``public_pem`` and ``key_id`` those of its private key.  Event times that go backwards, or precede
   ``vault_created``, are named in ``warnings`` (times are claims of the laptop's clock, not proof).
2. Originals: every blob is read back chunk by chunk (seq 0..n-1, expected sizes) and re-hashed; every
   item's SHA-256 and size must match its blob, and its ``item_ingested`` event; every item has an
   ingest event and every ingest event's item exists.
3. Records (only when 1 and 4 found the log intact): the log is replayed and compared with cases,
   persons, consents, items, links, notes and transcripts (app.vault.replay): consent scopes, protected
   flags and links in clear, everything else through each record's ``record_digest``.
4. Checkpoints: each stored checkpoint and the optional external one must carry a valid signature of
   this vault's key and be consistent with the current log (RFC 9162 consistency proof).  An external
   checkpoint is what catches an insider who rewrote the whole log and re-signed it.  Each
   ``checkpoint_made`` event must name the Merkle root of the events before it, and pair up with its
   stored row (docs/FORMAT.md, "Stored checkpoints").

Before these, every page of every table but ``chunks`` is read (SQLCipher checks each page's HMAC).  A
damaged page is named by what it holds ("the notes", "the custody log"), never in SQLite's words (those
go to the debug log), and everything else is still checked: see :class:`Reader` for why each part is
read through a fresh attachment of the file after a failure.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import EvidenceVaultError, IntegrityError, ProofError
from app.progress import CancelToken, ProgressCallback
from app.vault import custody, keys, merkle, replay
from app.vault.checkpoint import parse_checkpoint, verify_checkpoint
from app.vault.events import GENESIS_PREV_HASH, Event
from app.vault.models import Problem, VerifyReport
from app.vault.verify_reader import RESTORE, Reader, Unreadable, hash_blob, page_latched, quoted

MAX_PROBLEMS = 1000
# Records are compared only with an intact log: replaying a log with missing, edited or rewritten events
# would blame the records for the log's damage, which is already reported (and named) by then.
_LOG_PROBLEMS = ("event_", "checkpoint_", "key_replaced")
# What app.vault.replay reads: with a damaged page in one of them the comparison would blame the records
# for the damage (already named by the page check), so it is left out.  Damage elsewhere (the search
# index, an original) does not stop it.
_RECORD_TABLES = frozenset({"cases", "persons", "consents", "items", "item_persons", "notes",
                            "transcript_segments", "keys"})
_CHUNK_INDEX = "index of chunks"  # marks a damaged index of the originals' parts among the damaged tables
# What each table holds, in the words of the rest of the program.
_PARTS = {
    "events": "the custody log", "items": "the list of items", "blobs": "the list of stored originals",
    "chunks": "the stored originals", _CHUNK_INDEX: "the index of the stored originals", "cases": "the cases",
    "persons": "the persons", "consents": "the consent records", "item_persons": "the persons linked to items",
    "notes": "the notes", "transcript_segments": "the transcripts", "checkpoints": "the stored checkpoints",
    "keys": "the vault's keys", "settings": "the vault's settings", "schema_version": "the vault's format version",
}

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class _Problems(list[Problem]):
    def add(self, kind: str, location: str, message: str) -> None:
        if len(self) < MAX_PROBLEMS:
            self.append(Problem(kind, location, message))


def _part(table: str) -> str:
    if table.startswith("search_"):
        return "the search index"
    return _PARTS.get(table, f"the table {table}")


def _fetch(reader: Reader, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with reader.cursor(sql, params) as cursor:
        return list(cursor.fetchall())


def _read_part(reader: Reader, problems: _Problems, part: str, what: str, read: Callable[[], _T]) -> _T | None:
    """``read()``, or None and a problem saying what could not be checked when part of the file holding
    ``part`` cannot be read (what ``read`` found then is dropped: it read zeros for the damaged page); the
    next part is read afresh."""
    found = len(problems)
    try:
        result = read()
        if not reader.latched():
            return result
        detail = "a damaged page was read as zeros"
    except sqlcipher3.DatabaseError as exc:
        detail = str(exc)
    _log.debug("verify: reading %s failed: %s", part, detail)
    del problems[found:]
    problems.add("vault_file", "vault file", f"{what}: the part of the vault file holding {part} is damaged and "
                 f"cannot be read. {RESTORE}")
    reader.fresh()
    return None


def _compare_records(conn: sqlcipher3.Connection, parsed: list[Event], problems: _Problems) -> None:
    """The record comparison (app.vault.replay) reads through ``main``: the page check found no damage in
    the tables it reads, but should it meet some all the same, what it found is dropped and said so."""
    found = len(problems)
    try:
        replay.check_records(conn, parsed, problems.add)
        if not page_latched(conn, "main"):
            return
        _log.debug("verify: comparing the records read a damaged page as zeros")
    except sqlcipher3.DatabaseError as exc:
        _log.debug("verify: comparing the records failed: %s", exc)
    del problems[found:]
    problems.add("vault_file", "vault file", "The cases, persons, consent records, items, notes and transcripts "
                 "could not all be compared with the custody log: part of the vault file holding them is damaged "
                 f"and cannot be read. {RESTORE}")


@dataclasses.dataclass
class _Log:
    """What was read of the custody log; ``complete`` is False when a damaged page cut the reading short."""

    leaves: list[bytes] = dataclasses.field(default_factory=list)
    ingests: dict[int, Event] = dataclasses.field(default_factory=dict)
    parsed: list[Event] = dataclasses.field(default_factory=list)
    complete: bool = True


def verify_vault(conn: sqlcipher3.Connection, public_key: Ed25519PublicKey, *, checkpoint: str | None = None,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> VerifyReport:
    problems = _Problems()
    warnings = _Problems()
    leaves: list[bytes] = []
    items_checked = bytes_hashed = checked = 0
    root = merkle.root_hash(leaves)
    with Reader(conn) as reader:
        try:
            damaged = _check_file_pages(reader, problems)
            _read_part(reader, problems, _part("keys"), "The public key recorded in the vault could not be checked",
                       lambda: _check_key_row(reader, public_key, problems))
            log = _check_events(reader, public_key, problems)
            leaves, parsed = log.leaves, log.parsed
            _check_times(parsed, warnings)
            items_checked, bytes_hashed = _check_items(reader, log, damaged, problems, progress, cancel)
            tree = merkle.MerkleTree(leaves)
            root = merkle.root_hash(leaves)
            if log.complete:  # a log read only in part would make every checkpoint look rewritten
                rows = _read_part(reader, problems, _part("checkpoints"), "The stored checkpoints could not be checked",
                                  lambda: _fetch(reader, "SELECT id, tree_size, text, created_at FROM "  # noqa: S608
                                                 f"{reader.table('checkpoints')} ORDER BY id"))
                for number, (_id, _size, text, _created) in enumerate(rows or [], 1):
                    _check_checkpoint(text, f"stored checkpoint {number}", public_key, tree, root, len(leaves),
                                      problems)
                    checked += 1
                if rows is not None:  # unread rows would make every checkpoint_made event look deleted
                    _check_checkpoint_events(rows, parsed, tree, problems)
                if checkpoint is not None:
                    _check_checkpoint(checkpoint, "given checkpoint", public_key, tree, root, len(leaves), problems)
                    checked += 1
            if log.complete and not damaged & _RECORD_TABLES and not any(
                    p.kind.startswith(_LOG_PROBLEMS) for p in problems):
                _compare_records(conn, parsed, problems)
        except sqlcipher3.DatabaseError as exc:
            # Every part reads on its own and says what it could not read; this is a last resort.
            _log.debug("verify stopped: %s", exc)
            problems.add("vault_file", "vault file", "Verification could not go on: part of the vault file is "
                         f"damaged and cannot be read. {RESTORE}")
    return VerifyReport(problems=list(problems), events_checked=len(leaves),
                        items_checked=items_checked, bytes_hashed=bytes_hashed, tree_size=len(leaves),
                        root=root.hex(), checkpoints_checked=checked, warnings=list(warnings))


def pin_key(report: VerifyReport, *, expected_key_id: str, actual_key_id: str) -> VerifyReport:
    """``report`` with a ``key_replaced`` problem first when the vault's signing key is not the one the
    auditor expects (``verify --expect-key-id``): a replaced key means the vault was altered."""
    expected = expected_key_id.strip().lower()
    if expected == actual_key_id.lower():
        return report
    problem = Problem("key_replaced", "signing key",
                      f"The vault's signing key is {actual_key_id}, not the expected key {expected}: the key was "
                      "replaced, or this is another vault.")
    return dataclasses.replace(report, problems=[problem, *report.problems])


def _check_key_row(reader: Reader, public_key: Ed25519PublicKey, problems: _Problems) -> None:
    """The ``keys`` row's public columns must be those of the private key (they are what auditors are shown)."""
    rows = _fetch(reader, f"SELECT public_pem, key_id FROM {reader.table('keys')} "  # noqa: S608 - own names
                  "WHERE name = 'signing'")
    row = rows[0] if rows else None
    if row is None:
        problems.add("key_replaced", "signing key", "The vault's signing key row is missing.")
        return
    public_pem, stored_id = row
    if bytes(public_pem or b"") != keys.public_key_pem(public_key):
        problems.add("key_replaced", "signing key", "The public key stored in the vault is not the public half of "
                     "its signing key: the keys table was altered.")
    if stored_id != keys.key_id(public_key):
        problems.add("key_replaced", "signing key", f"The key id stored in the vault ({stored_id}) is not the id "
                     f"of its signing key ({keys.key_id(public_key)}): the keys table was altered.")


def _check_times(events: list[Event], warnings: _Problems) -> None:
    """Event times are claims of the recording laptop's clock: one earlier than the event before it, or than
    the vault's creation, is doubtful (backdated, or the clock was set back) and is named as a warning.
    The fixed format (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) makes string order time order."""
    if not events or events[0].action != "vault_created":
        return
    created = events[0].time
    previous = events[0]
    for event in events[1:]:
        if event.time < created:
            warnings.add("event_time", f"event {event.seq}",
                         f"Event {event.seq} ({event.action}) is dated {event.time}, before the vault was created "
                         f"({created}): its time was backdated or the laptop's clock was wrong.")
        elif event.time < previous.time:
            warnings.add("event_time", f"event {event.seq}",
                         f"Event {event.seq} ({event.action}) is dated {event.time}, earlier than event "
                         f"{previous.seq} ({previous.action}, {previous.time}): its time was backdated or the "
                         "laptop's clock was set back.")
        previous = event


def _check_checkpoint_events(rows: list[tuple[Any, ...]], events: list[Event], tree: Any,
                             problems: _Problems) -> None:
    """Each ``checkpoint_made`` event must name the Merkle root of the events before it, and be paired with
    its stored ``checkpoints`` row: same tree size, ``created_at`` = the event's ``time``, and the row's
    checkpoint root = ``details.root`` (both are written in one transaction)."""
    made: dict[tuple[Any, Any], Event | None] = {}
    for event in events:
        if event.action != "checkpoint_made":
            continue
        size, recorded = event.details.get("tree_size"), event.details.get("root")
        where = f"event {event.seq}"
        if size != event.seq:
            problems.add("checkpoint_event", where, f"Event {event.seq} (checkpoint_made) says it covers {size!r} "
                         f"events, but a checkpoint covers exactly the {event.seq} events before it.")
        elif recorded != tree.root(size).hex():
            problems.add("checkpoint_event", where, f"Event {event.seq} (checkpoint_made) records a root that is "
                         f"not the Merkle root of the first {size} events: the log was rewritten.")
        else:
            made[(size, event.time)] = event
            continue
        made[(size, event.time)] = None  # already reported: its row is not asked for again
    # A row's root needs no comparison with details.root: both are checked against the log itself.
    for number, (_id, size, _text, created_at) in enumerate(rows, 1):
        # A row whose event would lie past the log's end: the removal is reported by its consistency check.
        if (size, created_at) not in made and isinstance(size, int) and size < tree.size:
            problems.add("checkpoint_unrecorded", f"stored checkpoint {number}",
                         f"Stored checkpoint {number} ({size} events, made {created_at}) has no checkpoint_made "
                         "event in the custody log: it was added or edited outside the application.")
        made.pop((size, created_at), None)
    deleted = [(key, event) for key, event in made.items() if event is not None]
    for (size, time), event in sorted(deleted, key=lambda kv: kv[1].seq):
        problems.add("checkpoint_deleted", f"event {event.seq}",
                     f"The checkpoint recorded by event {event.seq} ({size} events, made {time}) is no longer "
                     "stored in the vault: it was deleted.")


def _check_events(reader: Reader, public_key: Ed25519PublicKey, problems: _Problems) -> _Log:
    """Check the custody log as far as it can be read; a damaged page ends the reading (``complete``
    False) with a problem naming the last event read."""
    log = _Log()
    leaves, ingests, parsed = log.leaves, log.ingests, log.parsed
    expected_prev = GENESIS_PREV_HASH
    expected_seq = 0
    last_read = -1
    found = len(problems)
    try:
        with reader.cursor("SELECT seq, canonical, chain_hash, action, item_id FROM "  # noqa: S608 - own names
                           f"{reader.table('events')} ORDER BY seq") as cursor:
            for position, (seq, canonical, stored_chain, action, item_id) in enumerate(cursor):
                last_read = seq
                where = f"event {seq}"
                stored_as = custody.storage_problem(canonical)
                canonical = custody.record_bytes(canonical)
                leaves.append(merkle.leaf_hash(canonical))
                if seq != expected_seq:
                    missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq} to {seq - 1}"
                    problems.add("event_sequence", f"event {expected_seq}",
                                 f"Event {missing} is missing from the custody log: events were removed.")
                expected_seq = seq + 1
                if stored_as:
                    problems.add("event_damaged", where, f"Event {seq} is damaged or was edited: {stored_as}")
                    expected_prev = str(stored_chain)
                    continue
                try:
                    event = Event.from_canonical(canonical)
                except EvidenceVaultError as exc:
                    problems.add("event_damaged", where, f"Event {seq} is damaged or was edited: {exc.message}")
                    expected_prev = str(stored_chain)
                    continue
                if event.seq != seq:
                    problems.add("event_sequence", where,
                                 f"The record stored as event {seq} says it is event {event.seq}: events were "
                                 "swapped or moved.")
                if event.prev_hash != expected_prev:
                    problems.add("event_chain", where,
                                 f"Event {seq} does not follow from the event before it: an earlier event was "
                                 "edited, removed, swapped or inserted.")
                recomputed = event.chain_hash()
                if recomputed != stored_chain:
                    problems.add("event_hash", where, f"Event {seq} was edited after it was recorded.")
                if action != event.action or item_id != event.item_id:
                    problems.add("event_index", where, f"The index columns of event {seq} were edited.")
                if event.action == "item_ingested" and event.item_id is not None:
                    if event.item_id in ingests:
                        problems.add("event_duplicate", where,
                                     f"Item {event.item_id} is recorded as ingested twice.")
                    ingests[event.item_id] = event
                if position == 0:
                    _check_genesis(event, public_key, problems)
                parsed.append(event)
                expected_prev = recomputed
        if reader.latched():  # a damaged page was read as zeros: what was found in the log is unsure
            del problems[found:]
            _log.debug("verify: the custody log read a damaged page as zeros")
            problems.add("vault_file", "custody log", "The custody log cannot be read in full: the part of the "
                         "vault file holding it is damaged. Its events could not be checked, nor the checkpoints "
                         f"and records against the log. {RESTORE}")
            log.complete = False
            reader.fresh()
    except sqlcipher3.DatabaseError as exc:
        _log.debug("verify: reading the custody log failed after event %s: %s", last_read, exc)
        where = f"after event {last_read}" if last_read >= 0 else "from its start"
        problems.add("vault_file", "custody log", f"The custody log cannot be read {where}: the part of the "
                     "vault file holding it is damaged. The events after that point could not be checked, nor "
                     f"the checkpoints and records against the log. {RESTORE}")
        log.complete = False
        reader.fresh()
    return log


def _check_genesis(event: Event, public_key: Ed25519PublicKey, problems: _Problems) -> None:
    if event.action != "vault_created":
        problems.add("event_sequence", f"event {event.seq}", "The log does not start with the vault's creation.")
        return
    recorded = event.details.get("public_key_pem")
    recorded_id = event.details.get("key_id")
    if (isinstance(recorded, str) and recorded.encode("ascii") != keys.public_key_pem(public_key)) or (
            isinstance(recorded_id, str) and recorded_id != keys.key_id(public_key)):
        problems.add("key_replaced", "signing key",
                     "The vault's signing key is not the one it was created with: it was replaced.")


def _check_items(reader: Reader, log: _Log, damaged: set[str], problems: _Problems,
                 progress: ProgressCallback | None, cancel: CancelToken | None) -> tuple[int, int]:
    ingests = dict(log.ingests)
    items = _read_part(reader, problems, "the lists of items and of stored originals",
                       "The stored originals could not be re-hashed", lambda: _fetch(
        reader, "SELECT i.id, i.sha256, i.size, i.blob_id, b.sha256, b.size, b.chunk_size, "  # noqa: S608 - own names
        f"b.chunk_count FROM {reader.table('items')} i LEFT JOIN {reader.table('blobs')} b "
        "ON b.id = i.blob_id ORDER BY i.id"))
    if items is None:
        return 0, 0
    blob_rows = {row[3]: row[4:] for row in items if row[4] is not None}
    total = sum(int(row[1]) for row in blob_rows.values())
    computed: dict[int, tuple[str, int] | str] = {}
    done = 0
    for blob_id, (_sha, size, chunk_size, chunk_count) in sorted(blob_rows.items()):
        result, done = hash_blob(reader, blob_id, int(size), int(chunk_size), int(chunk_count), done, total,
                                  progress, cancel, index_damaged=_CHUNK_INDEX in damaged)
        computed[blob_id] = result
    unreadable = sum(isinstance(result, Unreadable) for result in computed.values())
    if unreadable and _CHUNK_INDEX not in damaged:
        # Said of the file as the page check says it of other tables: Vault.verify then writes nothing to it.
        problems.add("vault_file", "vault file (chunks)", "The part of the vault file holding the stored "
                     f"originals is damaged (an encrypted page was altered or damaged), so {unreadable} of them "
                     f"cannot be read. {RESTORE}")
    for item_id, sha, size, blob_id, blob_sha, blob_size, _cs, _cc in items:
        where = f"item {item_id}"
        event = ingests.pop(item_id, None)
        if event is None:
            if log.complete:  # else its event may lie in the part of the log that cannot be read
                problems.add("item_unrecorded", where, f"Item {item_id} has no ingest event in the custody log.")
        elif event.item_sha256 != sha or event.details.get("size") != size:
            problems.add("item_mismatch", where,
                         f"Item {item_id} does not match what was recorded when it was ingested "
                         f"(event {event.seq}).")
        if blob_sha is None:
            problems.add("item_content", where, f"The stored original of item {item_id} is missing.")
            continue
        result = computed[blob_id]
        if isinstance(result, str):
            problems.add("item_content", where, f"The stored original of item {item_id} {result}")
        elif result != (sha, size) or blob_sha != sha or blob_size != size:
            problems.add("item_content", where,
                         f"The stored original of item {item_id} no longer matches its SHA-256: it was "
                         "altered.")
    for item_id, event in sorted(ingests.items()):
        problems.add("item_missing", f"item {item_id}",
                     f"Item {item_id} was ingested (event {event.seq}) but is no longer in the vault: it was "
                     "deleted.")
    return len(items), done


def _check_file_pages(reader: Reader, problems: _Problems) -> set[str]:
    """Read every page of every table but ``chunks`` (SQLCipher checks each page's HMAC as it reads it)
    and check their structure: damage in a page holding notes or the search index must not leave the
    vault looking intact.  ``chunks`` pages are all read, and checked, while the originals are re-hashed
    (reading them twice would halve the speed of verification); only its index is read here.  Each table
    is read afresh after a failure (see :class:`Reader`), so damage is named where it is and nowhere
    else.  Returns the damaged tables (``_CHUNK_INDEX`` for the index of ``chunks``)."""
    listed = f"SELECT type, name, tbl_name, coalesce(sql, '') FROM {reader.table('sqlite_master')}"  # noqa: S608
    schema = _fetch(reader, f"{listed} WHERE type IN ('table', 'index') ORDER BY name")
    checks = [(str(name), str(name)) for kind, name, _table, sql in schema
              if kind == "table" and name != "chunks" and not str(sql).startswith("CREATE VIRTUAL TABLE")]
    checks += [(_CHUNK_INDEX, str(name)) for kind, name, table, _sql in schema if kind == "index" and table == "chunks"]
    damaged: set[str] = set()
    for table, name in checks:
        # Counting an index's entries reads all its pages (it covers the query) and none of the originals'.
        sql = (f"PRAGMA {reader.schema}.quick_check({quoted(name)})" if table != _CHUNK_INDEX else
               f"SELECT CASE WHEN count(*) >= 0 THEN 'ok' END FROM {reader.table('chunks')} "  # noqa: S608
               f"INDEXED BY {quoted(name)}")
        try:
            result = [str(row[0]) for row in _fetch(reader, sql)]
            if result == ["ok"] and reader.latched():
                result = ["a damaged page was read as zeros"]
        except sqlcipher3.DatabaseError as exc:
            result = [str(exc)]
        if result == ["ok"]:
            continue
        # SQLite's own words ("Tree 14 page 14: btreeInitPage() returns error code 11") name b-tree pages,
        # which mean nothing to the reader of the report: they go to the debug log.
        _log.debug("verify: table %s is damaged: %s", table, "; ".join(result[:5]))
        part = _part(table)
        if not any(_part(other) == part for other in damaged):
            problems.add("vault_file", f"vault file ({table})", f"The part of the vault file holding {part} is "
                         f"damaged (an encrypted page was altered or damaged), so {part} cannot all be read. "
                         f"{RESTORE}")
        damaged.add(table)
        reader.fresh()  # the failure latched this reader: the next table is read afresh
    return damaged


def _signature_problem(text: str, where: str, public_key: Ed25519PublicKey, exc: ProofError) -> str:
    """A checkpoint naming another key than the vault's is altered, never "could not run": the vault in
    hand cannot be shown to be the one that signed it, whether an insider rebuilt it under a new key (then
    nothing in it still names the old one) or the checkpoint came from another vault."""
    try:
        origin = parse_checkpoint(text).origin
    except ProofError:
        origin = ""
    ours = f"evidence-vault/{keys.key_id(public_key)}"
    if not origin.startswith("evidence-vault/") or origin == ours:
        return f"The {where} is not validly signed by this vault's key: {exc.message}"
    theirs = "".join(ch for ch in origin.removeprefix("evidence-vault/") if ch in "0123456789abcdef")[:16]
    mine = ours.removeprefix("evidence-vault/")
    if where != "given checkpoint":  # stored in this vault: only a replaced key explains it
        return (f"The {where} was signed by key {theirs}, but this vault now signs with key {mine}: the key "
                "was replaced.")
    return (f"The {where} was signed by key {theirs}, but this vault signs with key {mine}: either the vault "
            "was rebuilt under a new key (treat it as altered), or the checkpoint belongs to another vault "
            "(ask whoever gave it to you which vault printed it).")


def _check_checkpoint(text: str, where: str, public_key: Ed25519PublicKey, tree: Any, root: bytes,
                      size: int, problems: _Problems) -> None:
    try:
        parsed = verify_checkpoint(text, public_key)
    except ProofError as exc:
        problems.add("checkpoint_signature", where, _signature_problem(text, where, public_key, exc))
        return
    if parsed.tree_size > size:
        problems.add("checkpoint_inconsistent", where,
                     f"The {where} covers {parsed.tree_size} events but the log has only {size}: "
                     "events were removed.")
        return
    try:
        if parsed.tree_size == 0:
            if parsed.root != merkle.EMPTY_ROOT:
                raise ProofError("empty tree with a non-empty root")
        else:
            proof = tree.consistency_proof(parsed.tree_size)
            merkle.verify_consistency(old_size=parsed.tree_size, new_size=size, old_root=parsed.root,
                                      new_root=root, proof=proof)
    except (ProofError, IntegrityError):
        problems.add("checkpoint_inconsistent", where,
                     f"The log no longer contains the {parsed.tree_size} events the {where} vouches for: "
                     "the history was rewritten.")
