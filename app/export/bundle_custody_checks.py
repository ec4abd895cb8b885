"""The custody-chain part of a bundle check: the signed checkpoint, the custody events and their chain,
each event's inclusion proof, the consistency proofs from earlier checkpoints, and whether the log
extends a checkpoint the auditor obtained before.  Problems go into the shared Verifier."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import IntegrityError
from app.export import bundle as layout
from app.export.bundle_verifier import HEX64, Verifier
from app.export.commitments import ShownEvent, shown_event
from app.vault import merkle
from app.vault.canonical import parse_canonical
from app.vault.checkpoint import Checkpoint, verify_checkpoint
from app.vault.events import GENESIS_PREV_HASH
from app.vault.proofs_file import check_extends, same_checkpoint

_MAX_PROOF_LENGTH = 64
EARLIER = "earlier checkpoint"  # where problems with --checkpoint are reported


def check_checkpoint(v: Verifier, manifest: dict[str, Any], key: Ed25519PublicKey | None) -> Checkpoint | None:
    data = v.parsed.get(layout.CHECKPOINT)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        v.problem(layout.CHECKPOINT, "is not UTF-8 text")
        return None
    if text != manifest["checkpoint"]:
        v.problem(layout.CHECKPOINT, "differs from the checkpoint recorded in manifest.json")
    if key is None:
        v.problem(layout.CHECKPOINT, "cannot be checked without a valid vault public key")
        return None
    try:
        return verify_checkpoint(text, key)
    except IntegrityError as exc:
        v.problem(layout.CHECKPOINT, exc.message)
        return None


def check_events(v: Verifier, manifest: dict[str, Any], checkpoint: Checkpoint | None) -> list[ShownEvent]:
    data = v.parsed.get(layout.EVENTS)
    if data is None:
        return []
    if data and not data.endswith(b"\n"):
        v.problem(layout.EVENTS, "does not end with a newline (it was truncated)")
    lines = data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")
    events: list[ShownEvent] = []
    for number, line in enumerate(lines, start=1):
        try:
            events.append(shown_event(line))
        except (IntegrityError, RecursionError):
            v.problem(layout.EVENTS, f"line {number} is not a valid canonical custody event")
            continue
        if events[-1].withheld and manifest.get("level") != "redacted":
            v.problem(layout.EVENTS, f"line {number} withholds values, which only a redacted bundle may do")
    if manifest.get("events") != len(lines):
        v.problem(layout.EVENTS, f"holds {len(lines)} events but the manifest says {manifest.get('events')}")
    seqs = [event.seq for event in events]
    if seqs != sorted(set(seqs)):
        v.problem(layout.EVENTS, "events are out of order or repeated")
    _check_chain(v, events)
    if checkpoint is not None:
        _check_proofs(v, events, checkpoint)
    return events


def _check_chain(v: Verifier, events: list[ShownEvent]) -> None:
    previous: ShownEvent | None = None
    for event in events:
        if event.seq == 0 and event.prev_hash != GENESIS_PREV_HASH:
            v.problem(layout.EVENTS, "event 0 does not start the custody chain")
        if previous is not None and previous.seq + 1 == event.seq and event.prev_hash != previous.chain:
            v.problem(layout.EVENTS, f"event {event.seq} does not follow from event {previous.seq} (chain broken)")
        previous = event


def _check_proofs(v: Verifier, events: list[ShownEvent], checkpoint: Checkpoint) -> None:
    data = v.parsed.get(layout.PROOFS)
    if data is None:
        return
    try:
        doc = parse_canonical(data)
    except (IntegrityError, RecursionError):
        v.problem(layout.PROOFS, "is not valid canonical JSON")
        return
    if not isinstance(doc, dict) or doc.get("format") != layout.PROOFS_FORMAT or not isinstance(
        doc.get("proofs"), list
    ):
        v.problem(layout.PROOFS, "is not an Evidence Vault proof file")
        return
    if doc.get("tree_size") != checkpoint.tree_size or doc.get("root") != checkpoint.root.hex():
        v.problem(layout.PROOFS, "is for a different log size or root than the signed checkpoint")
    by_seq = {p["seq"]: p for p in doc["proofs"] if isinstance(p, dict) and type(p.get("seq")) is int}
    for event in events:
        proof = by_seq.get(event.seq)
        path = proof.get("inclusion_proof") if proof else None
        if (
            proof is None or proof.get("leaf_index") != event.seq or not isinstance(path, list)
            or len(path) > _MAX_PROOF_LENGTH or not all(isinstance(h, str) and HEX64.fullmatch(h) for h in path)
        ):
            v.problem(layout.PROOFS, f"has no well-formed inclusion proof for event {event.seq}")
            continue
        leaf = event.leaf
        if proof.get("leaf_hash") != leaf.hex():
            v.problem(layout.PROOFS, f"the leaf hash for event {event.seq} does not match custody/events.jsonl")
            continue
        try:
            merkle.verify_inclusion(leaf_hash=leaf, index=event.seq, tree_size=checkpoint.tree_size,
                                    proof=[bytes.fromhex(h) for h in path], root=checkpoint.root)
        except IntegrityError:
            v.problem(layout.PROOFS, f"the inclusion proof for event {event.seq} does not lead to the "
                      "checkpoint root (the event or the proof was changed)")
            continue
        v.events_checked += 1


def check_consistency_file(v: Verifier, checkpoint: Checkpoint,
                           key: Ed25519PublicKey | None) -> dict[tuple[int, str], list[bytes]]:
    """Check custody/consistency.json; return the proofs that verify, by (earlier size, earlier root hex)."""
    where = layout.CONSISTENCY
    proven: dict[tuple[int, str], list[bytes]] = {}
    data = v.parsed.get(where)  # absent when not listed (bundles from before consistency proofs)
    if data is None or key is None:
        return proven
    try:
        doc = parse_canonical(data)
    except (IntegrityError, RecursionError):
        v.problem(where, "is not valid canonical JSON")
        return proven
    if not isinstance(doc, dict) or doc.get("format") != layout.CONSISTENCY_FORMAT or not isinstance(
        doc.get("proofs"), list
    ):
        v.problem(where, "is not an Evidence Vault consistency-proof file")
        return proven
    if doc.get("tree_size") != checkpoint.tree_size or doc.get("root") != checkpoint.root.hex():
        v.problem(where, "is for a different log size or root than the signed checkpoint")
        return proven
    for number, entry in enumerate(doc["proofs"], start=1):
        path = entry.get("consistency_proof") if isinstance(entry, dict) else None
        if not isinstance(path, list) or len(path) > _MAX_PROOF_LENGTH or not isinstance(
            entry.get("checkpoint"), str
        ) or not all(isinstance(h, str) and HEX64.fullmatch(h) for h in path):
            v.problem(where, f"proof {number} is not well formed")
            continue
        try:
            earlier = verify_checkpoint(entry["checkpoint"], key)
            if entry.get("tree_size") != earlier.tree_size or entry.get("root") != earlier.root.hex():
                raise IntegrityError("its size or root differs from its checkpoint")
            check_extends(earlier, checkpoint, [bytes.fromhex(h) for h in path])
        except IntegrityError as exc:
            v.problem(where, f"proof {number} (from {entry.get('tree_size')} events) does not verify: {exc.message}")
            continue
        proven[(earlier.tree_size, earlier.root.hex())] = [bytes.fromhex(h) for h in path]
    return proven


def check_earlier_checkpoint(v: Verifier, text: str, checkpoint: Checkpoint, key: Ed25519PublicKey | None,
                             proven: dict[tuple[int, str], list[bytes]]) -> bool | None:
    """Does the bundle's log extend ``text`` (a checkpoint obtained earlier)?  Problems say why not.

    None when the bundle cannot tell: the checkpoint given is later than the bundle's own (a genuine
    older bundle), so only the vault can show the two agree; a note says how to check that."""
    if key is None:
        v.problem(EARLIER, "cannot be checked without a valid vault public key")
        return False
    try:
        earlier = verify_checkpoint(text.replace("\r\n", "\n").strip() + "\n", key)
    except IntegrityError as exc:
        v.problem(EARLIER, f"is not signed by this bundle's vault key ({exc.message}); it belongs to "
                  "another vault, or the bundle was re-signed with a new key")
        return False
    if earlier.tree_size > checkpoint.tree_size:
        return _later_than_bundle(v, earlier, checkpoint)
    if earlier.tree_size == checkpoint.tree_size:
        if same_checkpoint(earlier, checkpoint):
            return True
        v.problem(EARLIER, f"has a different root for the same {earlier.tree_size} events: the history was "
                  "rewritten")
        return False
    proof = proven.get((earlier.tree_size, earlier.root.hex()))
    if proof is None:
        v.problem(EARLIER, f"is not an ancestor of the bundle's log: the bundle carries no valid consistency "
                  f"proof from that checkpoint of {earlier.tree_size} events, so the history was rewritten "
                  "since then (or the vault's record of that checkpoint was removed)")
        return False
    check_extends(earlier, checkpoint, proof)  # already verified in check_consistency_file
    return True


def _later_than_bundle(v: Verifier, given: Checkpoint, checkpoint: Checkpoint) -> bool | None:
    """The checkpoint given covers more events than the bundle's.  A log only grows, so an honest vault
    signed the bundle's checkpoint first: then the bundle is simply older and cannot answer.  A bundle's
    checkpoint signed *later* yet covering fewer events means events were removed (or the vault's clock
    was set back).  Checkpoint times are whole-second UTC text, so they compare as strings."""
    if checkpoint.time > given.time:
        v.problem(EARLIER, f"covers {given.tree_size} events (signed {given.time}), but the bundle's log, "
                  f"signed later ({checkpoint.time}), has only {checkpoint.tree_size}: events were removed after "
                  "that checkpoint (the history was cut short), or the vault's clock was set back")
        return False
    v.note(EARLIER, f"was not compared: it covers {given.tree_size} events, more than this bundle's log of "
           f"{checkpoint.tree_size} events, which was signed earlier ({checkpoint.time}; yours {given.time}). "
           "A bundle can only show that it extends checkpoints older than its own. To check that your "
           "checkpoint extends this bundle's log, ask the vault's keeper to run 'evidence-vault proof --from "
           "@checkpoint.txt --to @yours.txt' with this bundle's custody/checkpoint.txt and your checkpoint, "
           "then check the proof file they send with 'evidence-vault verify-proof PROOF --key "
           "keys/vault-ed25519.pem --from @custody/checkpoint.txt --to @yours.txt'")
    return None
