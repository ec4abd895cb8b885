"""``hq verify``: re-hash every stored original, re-check every field log and headquarters' own log.

Runs in one read-only REPEATABLE READ transaction (one consistent snapshot, and it works on a
streaming-replication standby).  Every problem is a plain sentence; ``ok`` is False when there is
any, including a recorded fork: a field vault whose history was rewritten is not "unbroken custody".
Originals staged by an import that was interrupted are not part of the archive: they are counted
(``staged_originals``), not re-hashed, and do not make the archive fail; ``hq gc`` removes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import EvidenceVaultError
from app.hq import blobstore, hq_log, staging
from app.hq.headquarters import Headquarters
from app.hq.storage_crypto import open_record
from app.progress import CancelToken, ProgressCallback
from app.transfer.witness import find_cosignature
from app.vault import merkle
from app.vault.checkpoint import verify_checkpoint
from app.vault.events import Event, verify_chain
from app.vault.keys import load_public_key_pem


@dataclass
class HqVerifyReport:
    problems: list[str] = field(default_factory=list)
    originals_checked: int = 0
    bytes_hashed: int = 0
    field_vaults: int = 0
    field_events: int = 0
    checkpoints_witnessed: int = 0
    records_checked: int = 0
    hq_events: int = 0
    forks: int = 0
    staged_originals: int = 0  # stored by an import that has not finished (yet): not part of the archive
    staged_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_originals(hq: Headquarters, report: HqVerifyReport, progress: ProgressCallback | None,
                     cancel: CancelToken | None) -> None:
    # Only originals an imported item refers to; staged ones (an interrupted import) are counted apart.
    rows = hq.conn.execute("SELECT b.sha256, b.size FROM blobs b WHERE EXISTS (SELECT 1 FROM items i WHERE "
                           "i.sha256 = b.sha256) ORDER BY b.sha256").fetchall()
    total = sum(int(r[1]) for r in rows)
    for sha256, size in rows:
        if cancel is not None:
            cancel.check()
        try:
            digest, actual = blobstore.rehash(hq.conn, hq.keys, sha256)
        except EvidenceVaultError as error:
            report.problems.append(f"original {sha256[:16]}…: {error.user_message()}")
            continue
        if digest != sha256 or actual != int(size):
            report.problems.append(f"original {sha256[:16]}… no longer matches its SHA-256: it was altered")
        report.originals_checked += 1
        report.bytes_hashed += actual
        if progress is not None:
            progress(report.bytes_hashed, total, "re-hashing originals")


def _check_field_vault(hq: Headquarters, report: HqVerifyReport, row: tuple[object, ...]) -> None:
    vault_id, origin, pem, _last_checkpoint, forked = row
    report.field_vaults += 1
    where = f"field vault {origin}"
    events: list[Event] = []
    try:
        for (canonical,) in hq.conn.execute(
            "SELECT canonical FROM field_events WHERE field_vault_id = %s ORDER BY seq", (vault_id,)
        ):
            events.append(Event.from_canonical(bytes(canonical)))
        verify_chain(events)
    except EvidenceVaultError as error:
        report.problems.append(f"{where}: {error.user_message()}")
        return
    report.field_events += len(events)
    tree = merkle.MerkleTree([e.leaf_hash() for e in events])
    assert isinstance(pem, bytes | memoryview)
    public = load_public_key_pem(bytes(pem))
    delivered = 0  # the largest checkpoint that came with its log (in a package)
    for size, text, cosigned, package_id in hq.conn.execute(
        "SELECT tree_size, checkpoint, cosigned, package_id FROM witnessed_checkpoints WHERE field_vault_id = %s "
        "ORDER BY id",
        (vault_id,),
    ).fetchall():
        report.checkpoints_witnessed += 1
        try:
            checkpoint = verify_checkpoint(text, public)
            find_cosignature(cosigned, hq.identity.signing_key.public_key(), hq.name)
        except EvidenceVaultError as error:
            report.problems.append(f"{where}: a witnessed checkpoint of {size} events: {error.user_message()}")
            continue
        if package_id is not None:
            delivered = max(delivered, checkpoint.tree_size)
        elif checkpoint.tree_size > tree.size:
            continue  # cosigned on a consistency proof alone ('hq witness'): no log here to compare with
        if checkpoint.tree_size > tree.size or tree.root(checkpoint.tree_size) != checkpoint.root:
            report.problems.append(
                f"{where}: the stored log no longer matches the checkpoint of {size} events headquarters "
                "witnessed: it was altered"
            )
    if tree.size != delivered:
        report.problems.append(f"{where}: the stored log ({tree.size} events) is not the length of the last "
                               f"checkpoint that came with its log ({delivered} events)")
    if forked:
        report.problems.append(
            f"{where}: a FORK was detected (a package contradicted the history accepted before); see 'hq list --vaults'"
        )


def _check_records(hq: Headquarters, report: HqVerifyReport) -> None:
    queries = (
        ("cases", "SELECT field_vault_id || ':' || field_case_id, record FROM cases"),
        ("persons", "SELECT field_vault_id || ':' || field_person_id, record FROM persons"),
        ("consents", "SELECT field_vault_id || ':' || field_consent_id, record FROM consents"),
        ("derivations", "SELECT field_vault_id || ':' || field_item_id, record FROM derivations"),
        ("items", "SELECT field_vault_id || ':' || field_item_id, record FROM items"),
    )
    for table, sql in queries:
        for ident, sealed in hq.conn.execute(sql):
            try:
                open_record(hq.keys, table, str(ident), bytes(sealed))
            except EvidenceVaultError as error:
                report.problems.append(f"{table} record {ident}: {error.user_message()}")
            report.records_checked += 1


def verify_archive(hq: Headquarters, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                   record: bool = True, actor: str = "hq verify", held_checkpoint: str | None = None
                   ) -> HqVerifyReport:
    """Everything in the module docstring; ``held_checkpoint``: an HQ checkpoint kept by an auditor."""
    report = HqVerifyReport()
    with hq.conn.transaction():
        hq.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        _check_originals(hq, report, progress, cancel)
        staged = staging.staged_summary(hq.conn)
        report.staged_originals, report.staged_bytes = staged.originals, staged.bytes
        for row in hq.conn.execute(
            "SELECT id, origin, public_pem, last_checkpoint, forked FROM field_vaults ORDER BY id"
        ).fetchall():
            _check_field_vault(hq, report, row)
        _check_records(hq, report)
        report.forks = int(hq.conn.execute("SELECT count(*) FROM forks").fetchone()[0])  # type: ignore[index]
        report.problems += hq_log.verify_log(hq.conn, hq.identity.signing_key.public_key(), held=held_checkpoint)
        report.hq_events = int(hq.conn.execute("SELECT count(*) FROM hq_events").fetchone()[0])  # type: ignore[index]
    if record and not hq.read_only:
        with hq.conn.transaction():
            hq_log.append(hq.conn, actor=actor, action="verified", details={
                "problems": len(report.problems), "originals": report.originals_checked,
                "bytes_hashed": report.bytes_hashed, "field_events": report.field_events,
            })
            hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
    return report
