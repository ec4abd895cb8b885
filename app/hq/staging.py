"""Staged originals: how a killed ``hq import`` resumes without storing an original twice.

Each original of a package is stored in its own short transaction (content-addressed, encrypted, its
SHA-256 checked while it streams) before the import's final transaction.  Until that final transaction
commits, such a blob is *staged*: no item refers to it, so nothing shows it (``hq list``, ``search``,
``export`` go through items; ``hq verify`` re-hashes only referenced originals and counts the staged
ones apart).  Importing the same package again finds its staged originals and neither decrypts nor
stores them again.  Staged blobs of a package that is never imported again are removed by ``hq gc``.

Locks: every import holds the shared advisory lock ``STAGE_LOCK`` for its whole run (a session lock,
so a killed import releases it with its connection); ``hq gc`` takes it exclusively and refuses while
an import runs.  Two imports staging the same original wait for each other on a per-original lock.
If a staged blob disappeared all the same before the final transaction, that transaction stores it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import psycopg

from app.hq import blobstore, hq_log
from app.hq.headquarters import Headquarters, HqError, require_writable
from app.progress import CancelToken, ProgressCallback
from app.transfer.package import TransferPackage

STAGE_LOCK = 0x45564853  # "EVHS": shared by imports, exclusive for 'hq gc'
_BLOB_LOCK_SPACE = 0x4556  # first key of the per-original two-key advisory lock


@dataclass(frozen=True)
class StagedSummary:
    originals: int
    bytes: int


@dataclass
class StageResult:
    """What staging did in this run: ``resumed`` originals were found staged by an earlier, interrupted
    run and neither read nor written again; ``written`` bytes were stored now."""
    resumed: list[str]
    stored: list[str]
    written: int = 0


def _blob_key(sha256: str) -> int:
    return int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)


@contextmanager
def import_running(conn: psycopg.Connection) -> Iterator[None]:
    """Hold the shared staging lock for the length of one import."""
    conn.execute("SELECT pg_advisory_lock_shared(%s)", (STAGE_LOCK,))
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock_shared(%s)", (STAGE_LOCK,))


def staged_among(conn: psycopg.Connection, hashes: Iterable[str]) -> set[str]:
    """Those of ``hashes`` that are stored but belong to no imported item yet."""
    rows = conn.execute("SELECT b.sha256 FROM blobs b WHERE b.sha256 = ANY(%s) AND "
                        "NOT EXISTS (SELECT 1 FROM items i WHERE i.sha256 = b.sha256)",
                        (sorted(set(hashes)),)).fetchall()
    return {str(r[0]) for r in rows}


def referenced_among(conn: psycopg.Connection, hashes: Iterable[str]) -> set[str]:
    rows = conn.execute("SELECT DISTINCT sha256 FROM items WHERE sha256 = ANY(%s)", (sorted(set(hashes)),))
    return {str(r[0]) for r in rows.fetchall()}


class SkipStaged:
    """The package as the auditor's verification sees it, minus the originals already staged here:
    their bytes were hashed against the signed manifest's SHA-256 when they were staged, so they are
    not decrypted a second time."""

    def __init__(self, package: TransferPackage, staged: set[str]) -> None:
        self._package = package
        self._staged = staged
        self.manifest = package.manifest

    def open_original(self, sha256: str) -> BinaryIO:
        if sha256 in self._staged:
            return io.BytesIO(b"")
        return self._package.open_original(sha256)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._package, name)


def stage_originals(hq: Headquarters, package: TransferPackage, *, now: str, progress: ProgressCallback | None,
                    cancel: CancelToken | None) -> StageResult:
    """Store every original of ``package`` not yet at headquarters, one transaction each."""
    originals = package.manifest.originals
    hashes = [str(o["sha256"]) for o in originals]
    result = StageResult(resumed=sorted(staged_among(hq.conn, hashes)), stored=[])
    already = referenced_among(hq.conn, hashes) | set(result.resumed)
    total = sum(int(o["size"]) for o in originals)
    done = 0
    for original in originals:
        sha256 = str(original["sha256"])
        if sha256 in already:
            if progress is not None and sha256 in result.resumed:
                progress(done + int(original["size"]), total, "already stored")
        else:
            with hq.conn.transaction():
                hq.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_BLOB_LOCK_SPACE, _blob_key(sha256)))
                with package.open_original(sha256) as stream:
                    written = blobstore.store_original(hq.conn, hq.keys, stream, sha256=sha256, now=now,
                                                       progress=progress, cancel=cancel, done_before=done,
                                                       total=total)
            if written:
                result.stored.append(sha256)
                result.written += written
            already.add(sha256)
        done += int(original["size"])
    return result


def ensure_in_transaction(hq: Headquarters, package: TransferPackage, *, now: str) -> int:
    """Inside the final transaction: lock every original of the package against removal and store any
    that vanished since staging (an 'hq gc' run in between).  Returns the bytes written."""
    written = 0
    for original in package.manifest.originals:
        sha256 = str(original["sha256"])
        row = hq.conn.execute("SELECT 1 FROM blobs WHERE sha256 = %s FOR KEY SHARE", (sha256,)).fetchone()
        if row is None:
            with package.open_original(sha256) as stream:
                written += blobstore.store_original(hq.conn, hq.keys, stream, sha256=sha256, now=now)
    return written


def staged_summary(conn: psycopg.Connection) -> StagedSummary:
    row = conn.execute("SELECT count(*), coalesce(sum(b.size), 0) FROM blobs b WHERE "
                       "NOT EXISTS (SELECT 1 FROM items i WHERE i.sha256 = b.sha256)").fetchone()
    return StagedSummary(int(row[0]), int(row[1])) if row else StagedSummary(0, 0)


def discard_staged(conn: psycopg.Connection, hashes: Iterable[str]) -> None:
    """Remove those of ``hashes`` that are still only staged (a package that failed verification)."""
    with conn.transaction():
        for sha256 in sorted(set(hashes)):
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_BLOB_LOCK_SPACE, _blob_key(sha256)))
            _delete_if_unreferenced(conn, sha256)


def _delete_if_unreferenced(conn: psycopg.Connection, sha256: str) -> bool:
    row = conn.execute("SELECT b.sha256 FROM blobs b WHERE b.sha256 = %s AND "
                       "NOT EXISTS (SELECT 1 FROM items i WHERE i.sha256 = b.sha256) FOR UPDATE OF b",
                       (sha256,)).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM blob_chunks WHERE sha256 = %s", (sha256,))
    conn.execute("DELETE FROM blobs WHERE sha256 = %s", (sha256,))
    return True


def collect_garbage(hq: Headquarters, *, actor: str) -> StagedSummary:
    """``hq gc``: remove every staged original (left by imports that were interrupted and not run again).
    Imported originals are never touched: only blobs no item refers to are removed."""
    require_writable(hq)
    with hq.conn.transaction():
        row = hq.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (STAGE_LOCK,)).fetchone()
        if not row or not row[0]:
            raise HqError("An import is running at headquarters right now. Run 'hq gc' again after it finishes; "
                          "nothing was removed.")
        summary = staged_summary(hq.conn)
        hashes = [str(r[0]) for r in hq.conn.execute(
            "SELECT b.sha256 FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.sha256 = b.sha256)")]
        for sha256 in hashes:
            _delete_if_unreferenced(hq.conn, sha256)
        if hashes:
            hq_log.append(hq.conn, actor=actor, action="staged_originals_removed",
                          details={"originals": sorted(hashes), "bytes": summary.bytes})
            hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
    return summary
