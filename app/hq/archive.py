"""``hq import``: a transfer package into headquarters' archive, all or nothing.

Order: open the package with HQ's key (another HQ's package is refused there), refuse a package id
seen before, run the auditor's full verification (app.transfer.verify), then stage the originals
(content-addressed, encrypted, streamed, one short transaction each; app.hq.staging), then ONE
PostgreSQL transaction: witness the field checkpoint (fork and staleness checks, cosignature), refer
to the staged originals, the field custody log, the records, a ``package_imported`` event and a new
checkpoint in HQ's own log, and the signed receipt.  No item, event or receipt is visible before that
COMMIT.  A kill -9 or a lost connection leaves only whole staged originals, which nothing shows; importing
again skips them (neither decrypted nor stored again) and continues with the rest.  The receipt file is
written after COMMIT; it is also kept in the database (``hq receipt``).
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg

from app.errors import DiskFull
from app.hq import hq_log, staging
from app.hq.headquarters import Headquarters, HqError, HqUnavailable, require_writable
from app.hq.storage_crypto import seal_record
from app.hq.witness_store import ForkFound, Offered, record_fork, witness
from app.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from app.transfer.errors import TransferError
from app.transfer.manifest import TransferManifest, event_from_record
from app.transfer.package import TransferPackage, open_transfer
from app.transfer.receipt import make_receipt
from app.transfer.verify import verify_package
from app.vault.events import Event, utc_now

RECEIPT_SUFFIX = ".receipt"


@dataclass(frozen=True)
class ImportResult:
    package_id: str
    origin: str
    items: int
    new_originals: int
    duplicate_originals: int
    bytes_stored: int
    cosigned_checkpoint: str
    first_sight: bool
    receipt: bytes
    receipt_path: Path | None
    hq_checkpoint: str
    resumed_originals: int = 0  # staged by an earlier, interrupted run: neither read nor stored again


def nfc(*parts: object) -> str:
    return unicodedata.normalize("NFC", "\n".join(str(p) for p in parts if p))


def _refuse_replay(conn: psycopg.Connection, package_id: str) -> None:
    row = conn.execute("SELECT received_at FROM packages WHERE package_id = %s", (package_id,)).fetchone()
    if row is not None:
        raise TransferError(
            f"This package was already imported on {row[0]} (package {package_id}). It was not imported again "
            "and nothing changed. If its receipt was lost, write it again with 'evidence-vault hq receipt "
            f"{package_id} --out FILE'; if the field team meant to send new evidence, ask for a new transfer.",
        )


def _search_text(item: dict[str, Any], notes: Iterable[dict[str, Any]], segments: Iterable[dict[str, Any]]) -> str:
    tags = item.get("tags") or []
    return nfc(
        item.get("title"), item.get("description"), " ".join(str(t) for t in tags), item.get("place"),
        item.get("source"), item.get("original_name"), *(n.get("text") for n in notes),
        *(s.get("text") for s in segments),
    )


def _store_records(hq: Headquarters, vault_id: int, manifest: TransferManifest, now: str) -> int:
    conn, keys = hq.conn, hq.keys
    case = manifest.case
    conn.execute(
        "INSERT INTO cases(field_vault_id, field_case_id, record) VALUES (%s, %s, %s) "
        "ON CONFLICT (field_vault_id, field_case_id) DO UPDATE SET record = EXCLUDED.record",
        (vault_id, int(case["id"]), seal_record(keys, "cases", f"{vault_id}:{case['id']}", case)),
    )
    for person in manifest.persons:
        ident = f"{vault_id}:{person['id']}"
        conn.execute(
            "INSERT INTO persons(field_vault_id, field_person_id, protected, record) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (field_vault_id, field_person_id) DO UPDATE SET protected = EXCLUDED.protected, "
            "record = EXCLUDED.record",
            (vault_id, int(person["id"]), bool(person.get("protected")), seal_record(keys, "persons", ident, person)),
        )
    for consent in manifest.consents:
        ident = f"{vault_id}:{consent['id']}"
        conn.execute(
            "INSERT INTO consents(field_vault_id, field_consent_id, field_person_id, record) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (field_vault_id, field_consent_id) DO UPDATE SET record = EXCLUDED.record",
            (vault_id, int(consent["id"]), consent.get("person_id"), seal_record(keys, "consents", ident, consent)),
        )
    for derivation in manifest.derivations:
        ident = f"{vault_id}:{derivation['item_id']}"
        conn.execute(
            "INSERT INTO derivations(field_vault_id, field_item_id, record) VALUES (%s, %s, %s) "
            "ON CONFLICT (field_vault_id, field_item_id) DO UPDATE SET record = EXCLUDED.record",
            (vault_id, int(derivation["item_id"]), seal_record(keys, "derivations", ident, derivation)),
        )
    # Grouped once by item id (only numbers can equal one): scanning every note, transcript and link
    # for each item is quadratic in a large package.
    notes_of: dict[Any, list[dict[str, Any]]] = {}
    transcript_of: dict[Any, dict[str, Any]] = {}
    links_of: dict[Any, list[dict[str, Any]]] = {}
    for entries, add in ((manifest.notes, notes_of), (manifest.links, links_of)):
        for entry in entries:
            if isinstance(entry.get("item_id"), int | float):
                add.setdefault(entry["item_id"], []).append(entry)
    for entry in manifest.transcripts:
        if isinstance(entry.get("item_id"), int | float):
            transcript_of.setdefault(entry["item_id"], entry)  # the first one
    for item in manifest.items:
        item_id = int(item["id"])
        notes = notes_of.get(item_id, [])
        transcript: list[dict[str, Any]] = transcript_of[item_id]["segments"] if item_id in transcript_of else []
        record = {
            "item": item, "notes": notes, "transcript": transcript,
            "person_ids": [link["person_id"] for link in links_of.get(item_id, [])],
        }
        conn.execute(
            "INSERT INTO items(field_vault_id, field_item_id, field_case_id, package_id, sha256, kind, size, "
            "search_text, record, imported_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (field_vault_id, field_item_id) DO UPDATE SET field_case_id = EXCLUDED.field_case_id, "
            "package_id = EXCLUDED.package_id, search_text = EXCLUDED.search_text, record = EXCLUDED.record, "
            "imported_at = EXCLUDED.imported_at",
            (vault_id, item_id, item.get("case_id"), manifest.package_id, item["sha256"], item["kind"],
             int(item["size"]), _search_text(item, notes, transcript),
             seal_record(keys, "items", f"{vault_id}:{item_id}", record), now),
        )
    return len(manifest.items)


def _store_field_log(conn: psycopg.Connection, vault_id: int, events: list[Event]) -> None:
    # Earlier packages left the log's prefix; the witness check proved it equal, so only new rows go in.
    row = conn.execute("SELECT count(*) FROM field_events WHERE field_vault_id = %s", (vault_id,)).fetchone()
    already = int(row[0]) if row else 0
    with conn.cursor() as cursor, cursor.copy(
        "COPY field_events (field_vault_id, seq, canonical) FROM STDIN"
    ) as copy:
        for event in events[already:]:
            copy.write_row((vault_id, event.seq, event.canonical_bytes()))


def _write_receipt(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _verify(package: TransferPackage, staged: set[str], progress: ProgressCallback | None,
            cancel: CancelToken | None) -> None:
    """The auditor's full verification; originals staged by an earlier run were hashed then (staging)."""
    problems = verify_package(cast(TransferPackage, staging.SkipStaged(package, staged)),
                              progress=progress or no_progress, cancel=cancel or NEVER_CANCELLED)
    if problems:
        more = f" ({len(problems) - 1} more problems were found.)" if len(problems) > 1 else ""
        raise TransferError(
            f"This package failed verification, so nothing was stored: {problems[0]}{more} Ask the field "
            "team to send it again.",
            debug_detail="\n".join(problems),
        )


def import_package(hq: Headquarters, path: Path, *, actor: str, receipt_out: Path | None = None,
                   progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> ImportResult:
    """Import one package (see the module docstring).  Raises TransferError (refused: another HQ's key,
    tampered, replayed, older than accepted), ForkError (refused and recorded), DiskFull, HqUnavailable."""
    require_writable(hq)
    path = Path(path)
    with open_transfer(path, hq.identity) as package, _database_errors(), staging.import_running(hq.conn):
        manifest = package.manifest
        _refuse_replay(hq.conn, manifest.package_id)
        hashes = [str(o["sha256"]) for o in manifest.originals]
        _verify(package, staging.staged_among(hq.conn, hashes), progress, cancel)
        events = [event_from_record(dict(record)) for record in manifest.events]
        offered = Offered(manifest.checkpoint, manifest.field_public_pem, leaf_hashes=[e.leaf_hash() for e in events])
        total = sum(int(o["size"]) for o in manifest.originals)
        now = utc_now()
        # Each original in its own transaction, invisible until the final one below refers to it.
        staged = staging.stage_originals(hq, package, now=now, progress=progress, cancel=cancel)
        try:
            with hq.conn.transaction():
                hq.conn.execute("SELECT pg_advisory_xact_lock(%s)", (hq_log.LOG_LOCK,))
                _refuse_replay(hq.conn, manifest.package_id)  # again, now that concurrent imports wait for us
                known = staging.referenced_among(hq.conn, hashes)
                witnessed = witness(hq.conn, hq.identity, offered, package_id=manifest.package_id, actor=actor)
                stored_bytes = staged.written + staging.ensure_in_transaction(hq, package, now=now)
                _store_field_log(hq.conn, witnessed.field_vault_id, events)
                count = _store_records(hq, witnessed.field_vault_id, manifest, now)
                item_hashes = manifest.item_hashes()
                event = hq_log.append(hq.conn, actor=actor, action="package_imported", details={
                    "package_id": manifest.package_id, "origin": witnessed.origin,
                    "tree_size": witnessed.checkpoint.tree_size, "root": witnessed.checkpoint.root.hex(),
                    "originals": sorted(set(item_hashes)), "items": count, "bytes_stored": stored_bytes,
                })
                receipt = make_receipt(
                    hq.identity, package_id=manifest.package_id, field_origin=witnessed.origin,
                    cosigned_checkpoint=witnessed.cosigned_text, item_hashes=item_hashes, received_at=event.time,
                )
                hq.conn.execute(
                    "INSERT INTO packages(package_id, field_vault_id, created_at, received_at, checkpoint, "
                    "cosigned_checkpoint, item_count, bytes, hq_event_seq, receipt) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (manifest.package_id, witnessed.field_vault_id, manifest.created_at, event.time,
                     manifest.checkpoint, witnessed.cosigned_text, count, total, event.seq, receipt),
                )
                checkpoint = hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
        except ForkFound as fork:
            staging.discard_staged(hq.conn, hashes)
            record_fork(hq.conn, fork.evidence, package_id=manifest.package_id, actor=actor)
            raise
        except TransferError:
            staging.discard_staged(hq.conn, hashes)  # refused (replayed, stale): its originals have no use here
            raise
    unique = len(set(hashes))
    target = receipt_out or path.with_name(path.name + RECEIPT_SUFFIX)
    try:
        _write_receipt(target, receipt)
        written_path: Path | None = target
    except OSError:
        written_path = None  # imported all the same; the caller says how to get the receipt again
    return ImportResult(
        package_id=manifest.package_id, origin=witnessed.origin, items=count, new_originals=unique - len(known),
        duplicate_originals=len(known), bytes_stored=stored_bytes, cosigned_checkpoint=witnessed.cosigned_text,
        first_sight=witnessed.first_sight, receipt=receipt, receipt_path=written_path, hq_checkpoint=checkpoint,
        resumed_originals=len(staged.resumed),
    )


@contextmanager
def _database_errors() -> Iterator[None]:
    """PostgreSQL's errors as plain sentences.  Originals staged in full before the error stay staged
    (invisible) and are not stored again when the package is imported again."""
    try:
        yield
    except psycopg.errors.DiskFull as exc:
        raise DiskFull(
            "Headquarters' database disk is full. Nothing of this package was imported; free space on the "
            "database server and import the package again (originals already stored in full are kept aside "
            "and not stored twice; 'hq gc' removes them if you give up on this package).",
            debug_detail=str(exc),
        ) from exc
    except psycopg.OperationalError as exc:
        raise HqUnavailable(
            "The connection to headquarters' database was lost during the import. Nothing of this package "
            "was imported; check the database ('scripts/hq.sh status DIR') and import the package again: it "
            "continues with the originals not yet stored.",
            debug_detail=str(exc),
        ) from exc
    except psycopg.Error as exc:
        raise HqError(
            "Headquarters' database refused the import, so nothing was imported. Try again; if it fails again, "
            "run with --debug and report the message.",
            debug_detail=str(exc),
        ) from exc


def stored_receipt(hq: Headquarters, package_id: str) -> bytes:
    row = hq.conn.execute("SELECT receipt FROM packages WHERE package_id = %s", (package_id,)).fetchone()
    if row is None:
        raise HqError(f"No package {package_id} was imported at this headquarters. Check the package id ('hq list "
                      "--packages').")
    return bytes(row[0])
