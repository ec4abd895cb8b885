"""Witnessing field vaults' checkpoints (C2SP tlog-witness semantics), state kept in PostgreSQL.

Per field origin headquarters keeps the last checkpoint it accepted.  A new checkpoint is cosigned
only when it verifies under the vault's key and is shown to extend the accepted one: by the full
custody log a transfer package carries (its first ``n`` leaves must give the accepted root), or by
an RFC 9162 consistency proof (``evidence-vault proof`` files, for a witness without the log).  A
checkpoint older than the accepted one is refused; one that contradicts it is a **fork**: refused,
recorded in ``forks`` with an event in HQ's own log, and reported by ``hq verify`` and
``hq list --vaults``.  The first checkpoint of an unknown vault is accepted on first sight (trust on
first use), as witnesses do.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.hq import hq_log
from app.transfer.errors import ForkError, TransferError
from app.transfer.identity import HqIdentity
from app.vault import merkle
from app.vault.checkpoint import Checkpoint, vault_origin, verify_checkpoint
from app.vault.events import utc_now
from app.vault.keys import key_id, load_public_key_pem, public_key_pem


@dataclass(frozen=True)
class Offered:
    """A checkpoint offered for cosigning and how it is shown to extend what was accepted."""

    checkpoint_text: str
    field_public_pem: bytes
    leaf_hashes: Sequence[bytes] | None = None          # the full log (packages)
    proof_from: tuple[int, bytes, Sequence[bytes]] | None = None  # (old size, old root, proof) (proof files)


@dataclass(frozen=True)
class Witnessed:
    field_vault_id: int
    origin: str
    checkpoint: Checkpoint
    cosigned_text: str
    timestamp: int
    first_sight: bool


@dataclass(frozen=True)
class ForkEvidence:
    origin: str
    accepted_checkpoint: str
    offered_checkpoint: str
    reason: str


class ForkFound(ForkError):
    """Carries what must be recorded after the import transaction is rolled back."""

    def __init__(self, evidence: ForkEvidence) -> None:
        super().__init__(
            "A fork was detected: this field vault's custody log contradicts the log headquarters accepted "
            "from it before, so its history was rewritten. The package was refused and the fork recorded. "
            "Keep the package and contact your security lead.",
            debug_detail=evidence.reason,
        )
        self.evidence = evidence


def _field_key(pem: bytes) -> Ed25519PublicKey:
    try:
        return load_public_key_pem(pem)
    except Exception as exc:
        raise TransferError("The field vault's public key in this package is damaged.") from exc


def witness(conn: psycopg.Connection, identity: HqIdentity, offered: Offered, *, package_id: str | None,
            actor: str) -> Witnessed:
    """Check ``offered`` against the accepted state and cosign it, in the caller's transaction.

    Raises ForkFound (the caller rolls back, then calls :func:`record_fork`), or TransferError for a
    checkpoint that is older than the accepted one or not signed by the vault's key."""
    from app.transfer.witness import add_cosignature, cosign

    public = _field_key(offered.field_public_pem)
    checkpoint = verify_checkpoint(offered.checkpoint_text, public)
    if checkpoint.origin != vault_origin(public):
        raise TransferError("The checkpoint's origin does not belong to the field vault's key; it was altered.")
    leaves = offered.leaf_hashes
    if leaves is not None and (
        len(leaves) < checkpoint.tree_size or merkle.MerkleTree(leaves).root(checkpoint.tree_size) != checkpoint.root
    ):
        raise TransferError(
            "The custody log in this package does not match its signed checkpoint; the package was altered.",
        )
    row = conn.execute(
        "SELECT id, public_pem, last_checkpoint, last_tree_size, last_root FROM field_vaults WHERE origin = %s "
        "FOR UPDATE",
        (checkpoint.origin,),
    ).fetchone()
    first_sight = row is None or row[2] is None
    if row is not None and bytes(row[1]).strip() != public_key_pem(public).strip():
        raise TransferError("This package's field key differs from the key headquarters knows for that vault.")
    if row is not None and row[2] is not None:
        accepted_text, size, root = str(row[2]), int(row[3]), bytes(row[4])
        _check_extends(checkpoint, offered, accepted_text, size, root, conn, int(row[0]))
    timestamp = int(time.time())
    line = cosign(offered.checkpoint_text, identity.signing_key, identity.name, timestamp=timestamp)
    text = add_cosignature(offered.checkpoint_text, line)
    if row is None:
        new = conn.execute(
            "INSERT INTO field_vaults(origin, key_id, public_pem, first_seen) VALUES (%s, %s, %s, %s) RETURNING id",
            (checkpoint.origin, key_id(public), public_key_pem(public), utc_now()),
        ).fetchone()
        assert new is not None
        vault_id = int(new[0])
    else:
        vault_id = int(row[0])
    conn.execute(
        "UPDATE field_vaults SET last_checkpoint = %s, last_tree_size = %s, last_root = %s, last_cosigned = %s "
        "WHERE id = %s",
        (offered.checkpoint_text, checkpoint.tree_size, checkpoint.root, text, vault_id),
    )
    conn.execute(
        "INSERT INTO witnessed_checkpoints(field_vault_id, tree_size, checkpoint, cosigned, cosigned_at, package_id) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (vault_id, checkpoint.tree_size, offered.checkpoint_text, text, timestamp, package_id),
    )
    hq_log.append(conn, actor=actor, action="checkpoint_cosigned", details={
        "origin": checkpoint.origin, "tree_size": checkpoint.tree_size, "root": checkpoint.root.hex(),
        "package_id": package_id, "timestamp": timestamp,
    })
    return Witnessed(vault_id, checkpoint.origin, checkpoint, text, timestamp, first_sight)


def _check_extends(checkpoint: Checkpoint, offered: Offered, accepted_text: str, size: int, root: bytes,
                   conn: psycopg.Connection, vault_id: int) -> None:
    def fork(reason: str) -> ForkFound:
        return ForkFound(ForkEvidence(checkpoint.origin, accepted_text, offered.checkpoint_text, reason))

    if checkpoint.tree_size < size:
        stored = [merkle.leaf_hash(bytes(r[0])) for r in conn.execute(
            "SELECT canonical FROM field_events WHERE field_vault_id = %s ORDER BY seq", (vault_id,))]
        tree = merkle.MerkleTree(stored)
        if len(stored) >= checkpoint.tree_size and tree.root(checkpoint.tree_size) != checkpoint.root:
            raise fork(f"offered size {checkpoint.tree_size} contradicts the stored log of {len(stored)} events")
        raise TransferError(
            f"This package is older than one headquarters already accepted from that field vault (its log has "
            f"{checkpoint.tree_size} events, {size} were accepted). Nothing was stored; ask for a new transfer.",
        )
    if offered.leaf_hashes is not None:
        if merkle.MerkleTree(offered.leaf_hashes).root(size) != root:
            raise fork(f"the first {size} events of the offered log do not give the accepted root")
        return
    if offered.proof_from is None:
        if checkpoint.tree_size == size:  # the same size: the same log only if the same root
            if checkpoint.root != root:
                raise fork(f"offered and accepted checkpoints of {size} events have different roots")
            return
        raise TransferError("A consistency proof from the accepted checkpoint is needed to cosign this one.")
    old_size, old_root, proof = offered.proof_from
    if old_size != size or old_root != root:
        raise TransferError(
            f"The proof starts from a checkpoint of {old_size} events, but headquarters last accepted one of "
            f"{size} events from that vault. Make a proof from the accepted checkpoint ('evidence-vault proof').",
        )
    try:
        merkle.verify_consistency(old_size=size, new_size=checkpoint.tree_size, old_root=root,
                                  new_root=checkpoint.root, proof=proof)
    except Exception as exc:
        raise fork(f"consistency proof from {size} to {checkpoint.tree_size} does not verify") from exc


def record_fork(conn: psycopg.Connection, evidence: ForkEvidence, *, package_id: str | None, actor: str) -> int:
    """Record a refused fork in its own transaction; returns the HQ event seq."""
    with conn.transaction():
        row = conn.execute("SELECT id FROM field_vaults WHERE origin = %s", (evidence.origin,)).fetchone()
        vault_id = int(row[0]) if row else None
        event = hq_log.append(conn, actor=actor, action="fork_detected", details={
            "origin": evidence.origin, "package_id": package_id, "reason": evidence.reason,
        })
        conn.execute(
            "INSERT INTO forks(origin, field_vault_id, detected_at, package_id, accepted_checkpoint, "
            "offered_checkpoint, reason, hq_event_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (evidence.origin, vault_id, event.time, package_id, evidence.accepted_checkpoint,
             evidence.offered_checkpoint, evidence.reason, event.seq),
        )
        if vault_id is not None:
            conn.execute("UPDATE field_vaults SET forked = true WHERE id = %s", (vault_id,))
    return event.seq
