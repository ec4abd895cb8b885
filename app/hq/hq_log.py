"""Headquarters' own custody log: the same construction as a field vault's, in PostgreSQL.

Each event is RFC 8785 JSON ``{"v": 1, "seq", "time", "actor", "action", "details", "prev_hash"}``;
its chain hash is ``SHA-256("evidence-vault:hq-event-chain:v1" 0x00 || canonical)`` (a prefix of its
own, so an HQ event can never pass for a field event) and its Merkle leaf is
``SHA-256(0x00 || canonical)`` (RFC 9162, :mod:`app.vault.merkle`).  Checkpoints are the vault's
signed-note format (:mod:`app.vault.checkpoint`), signed with HQ's Ed25519 key under the origin
``evidence-vault/<key id>``.  Appends take a transaction-scoped advisory lock, so two imports
never fork HQ's own chain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.errors import IntegrityError
from app.vault import merkle
from app.vault.canonical import canonical_json, parse_canonical
from app.vault.checkpoint import sign_checkpoint, vault_origin, verify_checkpoint
from app.vault.events import GENESIS_PREV_HASH, is_valid_time, utc_now

FORMAT_VERSION = 1
CHAIN_PREFIX = b"evidence-vault:hq-event-chain:v1\x00"
HQ_ACTIONS = frozenset(
    {"hq_created", "package_imported", "fork_detected", "checkpoint_cosigned", "exported", "verified",
     "staged_originals_removed"}
)
LOG_LOCK = 0x45564851  # "EVHQ": the advisory lock that serialises appends to HQ's log
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = ("seq", "time", "actor", "action", "details", "prev_hash")


@dataclass(frozen=True)
class HqEvent:
    seq: int
    time: str
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str

    def canonical_bytes(self) -> bytes:
        return canonical_json({"v": FORMAT_VERSION, **{name: getattr(self, name) for name in _FIELDS}})

    def chain_hash(self) -> str:
        return hashlib.sha256(CHAIN_PREFIX + self.canonical_bytes()).hexdigest()

    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(self.canonical_bytes())

    @classmethod
    def from_canonical(cls, data: bytes) -> HqEvent:
        record = parse_canonical(bytes(data))
        if not isinstance(record, dict) or record.get("v") != FORMAT_VERSION or set(record) != {"v", *_FIELDS}:
            raise IntegrityError(
                "An event in headquarters' custody log is damaged or was altered.", debug_detail=repr(record)[:200]
            )
        event = cls(**{name: record[name] for name in _FIELDS})
        if (
            not isinstance(event.seq, int) or event.seq < 0 or not is_valid_time(event.time)
            or not isinstance(event.actor, str) or not event.actor or event.action not in HQ_ACTIONS
            or not isinstance(event.details, dict) or not isinstance(event.prev_hash, str)
            or not _HEX64.fullmatch(event.prev_hash)
        ):
            raise IntegrityError(
                "An event in headquarters' custody log has invalid values; the log was altered.",
                debug_detail=repr(record)[:200],
            )
        return event


def append(conn: psycopg.Connection, *, actor: str, action: str, details: dict[str, Any]) -> HqEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the work)."""
    if action not in HQ_ACTIONS:
        raise ValueError(f"unknown HQ action {action!r}")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
    row = conn.execute("SELECT seq, chain_hash FROM hq_events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (0, GENESIS_PREV_HASH) if row is None else (int(row[0]) + 1, str(row[1]))
    event = HqEvent(seq=seq, time=utc_now(), actor=actor, action=action, details=details, prev_hash=prev)
    conn.execute(
        "INSERT INTO hq_events(seq, canonical, chain_hash) VALUES (%s, %s, %s)",
        (event.seq, event.canonical_bytes(), event.chain_hash()),
    )
    return event


def load_events(conn: psycopg.Connection) -> list[HqEvent]:
    return [HqEvent.from_canonical(row[0]) for row in conn.execute("SELECT canonical FROM hq_events ORDER BY seq")]


def origin(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return vault_origin(key)


def make_checkpoint(conn: psycopg.Connection, key: Ed25519PrivateKey) -> str:
    """Sign the current tree head and keep it (HQ's checkpoints are what auditors compare later)."""
    leaves = [event.leaf_hash() for event in load_events(conn)]
    text = sign_checkpoint(
        origin=origin(key), tree_size=len(leaves), root=merkle.root_hash(leaves), time=utc_now(), key=key
    )
    conn.execute(
        "INSERT INTO hq_checkpoints(tree_size, checkpoint) VALUES (%s, %s) "
        "ON CONFLICT (tree_size) DO UPDATE SET checkpoint = EXCLUDED.checkpoint",
        (len(leaves), text),
    )
    return text


def verify_log(conn: psycopg.Connection, public_key: Ed25519PublicKey, *, held: str | None = None) -> list[str]:
    """Problems with HQ's own log: the chain, stored chain hashes, every kept checkpoint, and ``held``
    (an HQ checkpoint an auditor kept from earlier: the log must still extend it)."""
    problems: list[str] = []
    rows = conn.execute("SELECT seq, canonical, chain_hash FROM hq_events ORDER BY seq").fetchall()
    expected_prev = GENESIS_PREV_HASH
    leaves: list[bytes] = []
    for position, (seq, canonical, stored_hash) in enumerate(rows):
        try:
            event = HqEvent.from_canonical(canonical)
        except IntegrityError as error:
            problems.append(f"headquarters' log: event {seq}: {error.user_message()}")
            return problems
        if seq != position or event.seq != position:
            problems.append(f"headquarters' log has a gap or reordering at event {seq}")
            return problems
        if event.prev_hash != expected_prev or event.chain_hash() != stored_hash:
            problems.append(f"headquarters' custody chain is broken at event {seq}: events were altered or removed")
            return problems
        expected_prev = event.chain_hash()
        leaves.append(event.leaf_hash())
    tree = merkle.MerkleTree(leaves)
    if held is not None:
        try:
            earlier = verify_checkpoint(held, public_key)
        except IntegrityError as error:
            problems.append(f"the checkpoint you hold is not headquarters' own: {error.user_message()}")
        else:
            if earlier.tree_size > tree.size or tree.root(earlier.tree_size) != earlier.root:
                problems.append(
                    f"headquarters' log no longer extends the checkpoint you hold ({earlier.tree_size} events, "
                    f"{earlier.time}): its history was rewritten since then"
                )
    for size, text in conn.execute("SELECT tree_size, checkpoint FROM hq_checkpoints ORDER BY tree_size"):
        try:
            checkpoint = verify_checkpoint(text, public_key)
        except IntegrityError as error:
            problems.append(f"headquarters' checkpoint at size {size}: {error.user_message()}")
            continue
        if checkpoint.tree_size != size or size > tree.size or tree.root(size) != checkpoint.root:
            problems.append(
                f"headquarters' checkpoint at size {size} does not match its log: the log was rewritten"
            )
    return problems
