"""Consistency proofs between two signed checkpoints, and the proof file headquarters checks alone.

``evidence-vault proof --from @cp.txt`` writes, and ``evidence-vault verify-proof`` reads, this text
(docs/FORMAT.md, section "Consistency proof files")::

    evidence-vault consistency proof v1       <- first line, exactly
    old-size 6                                <- the earlier checkpoint's tree size
    new-size 11                               <- the later checkpoint's tree size
    proof 5c1a...e0                           <- one line per RFC 9162 consistency-proof hash (hex),
    proof 09bd...41                              in order; none when the sizes are equal
    --- old checkpoint                        <- the earlier checkpoint, exactly as printed
    evidence-vault/053fd518890fea59
    6
    ...
    --- new checkpoint                        <- the later checkpoint, exactly as printed
    evidence-vault/053fd518890fea59
    11
    ...

Lines end in ``\\n``.  Checkpoint lines never start with ``---`` (origins, numbers, base64, ``time``,
an empty line and the em-dash signature line), so the markers cannot be confused with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import IntegrityError, ProofError
from app.vault.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from app.vault.merkle import verify_consistency

HEADER = "evidence-vault consistency proof v1"
OLD_MARK = "--- old checkpoint"
NEW_MARK = "--- new checkpoint"
MAX_PROOF_HASHES = 128
MAX_FILE_BYTES = 256 << 10
_SIZE_LINE = re.compile(r"(old|new)-size (0|[1-9][0-9]*)")
_PROOF_LINE = re.compile(r"proof ([0-9a-f]{64})")


@dataclass(frozen=True)
class ConsistencyProofFile:
    old_checkpoint: str
    new_checkpoint: str
    proof: list[bytes]


def same_checkpoint(a: Checkpoint, b: Checkpoint) -> bool:
    """True when two checkpoints state the same log head (size and root) under the same origin."""
    return (a.origin, a.tree_size, a.root) == (b.origin, b.tree_size, b.root)


def check_extends(earlier: Checkpoint, later: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise IntegrityError, with a sentence saying why, unless ``later``'s log extends ``earlier``'s.

    Both checkpoints must already be signature-checked by the caller."""
    if earlier.origin != later.origin:
        raise IntegrityError(f"The checkpoints come from different vaults ({earlier.origin} and {later.origin}).")
    if earlier.tree_size > later.tree_size:
        raise IntegrityError(
            f"The later log has {later.tree_size} events, fewer than the {earlier.tree_size} of the earlier "
            "checkpoint: events were removed (the history was cut short)."
        )
    try:
        verify_consistency(old_size=earlier.tree_size, new_size=later.tree_size, old_root=earlier.root,
                           new_root=later.root, proof=list(proof))
    except ProofError as exc:
        raise IntegrityError(
            f"The log of {later.tree_size} events is not an extension of the earlier checkpoint of "
            f"{earlier.tree_size} events: the history was rewritten ({exc.message})"
        ) from exc


def format_proof_file(old_checkpoint: str, new_checkpoint: str, proof: Sequence[bytes]) -> str:
    old, new = _normal(old_checkpoint), _normal(new_checkpoint)
    lines = [HEADER, f"old-size {parse_checkpoint(old).tree_size}", f"new-size {parse_checkpoint(new).tree_size}"]
    lines += [f"proof {node.hex()}" for node in proof]
    return "\n".join(lines) + "\n" + OLD_MARK + "\n" + old + NEW_MARK + "\n" + new


def parse_proof_file(text: str) -> ConsistencyProofFile:
    """Parse the proof file strictly; raise ProofError (a plain sentence) when it is malformed."""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != HEADER:
        raise ProofError(f"This is not a consistency proof file (its first line must be '{HEADER}').")
    try:
        old_at, new_at = lines.index(OLD_MARK), lines.index(NEW_MARK)
    except ValueError:
        raise ProofError("The proof file is incomplete: it must hold both checkpoints.") from None
    if not 3 <= old_at < new_at:
        raise ProofError("The proof file is malformed: its parts are out of order.")
    sizes = [_SIZE_LINE.fullmatch(line) for line in lines[1:3]]
    if not all(sizes) or [m.group(1) for m in sizes if m] != ["old", "new"]:
        raise ProofError("The proof file is malformed: lines 2 and 3 must give old-size and new-size.")
    proof_lines = [_PROOF_LINE.fullmatch(line) for line in lines[3:old_at]]
    if not all(proof_lines) or len(proof_lines) > MAX_PROOF_HASHES:
        raise ProofError("The proof file is malformed: each proof line must be 'proof' and 64 hex digits.")
    old = "\n".join(lines[old_at + 1:new_at]).strip() + "\n"
    new = "\n".join(lines[new_at + 1:]).strip() + "\n"
    old_cp, new_cp = parse_checkpoint(old), parse_checkpoint(new)
    if (old_cp.tree_size, new_cp.tree_size) != tuple(int(m.group(2)) for m in sizes if m):
        raise ProofError("The proof file is malformed: its sizes differ from its checkpoints' sizes.")
    return ConsistencyProofFile(old, new, [bytes.fromhex(m.group(1)) for m in proof_lines if m])


def verify_proof_file(text: str, public_key: Ed25519PublicKey, *, expected_old: str | None = None,
                      expected_new: str | None = None) -> tuple[Checkpoint, Checkpoint]:
    """Check a proof file: both checkpoints signed by ``public_key``, the new log extends the old one,
    and (with ``expected_old`` / ``expected_new``) the old / new checkpoint is the one the caller holds.
    Raises IntegrityError."""
    parsed = parse_proof_file(text)
    old = verify_checkpoint(parsed.old_checkpoint, public_key)
    new = verify_checkpoint(parsed.new_checkpoint, public_key)
    if expected_old is not None:
        held = verify_checkpoint(_normal(expected_old), public_key)
        if not same_checkpoint(held, old):
            raise IntegrityError(
                f"The proof starts from a checkpoint of {old.tree_size} events, not from yours of "
                f"{held.tree_size} events; ask for a proof made from your checkpoint."
                if held.tree_size != old.tree_size else
                f"Your checkpoint and the proof's disagree about the first {held.tree_size} events: "
                "the history was rewritten."
            )
    if expected_new is not None:
        held = verify_checkpoint(_normal(expected_new), public_key)
        if not same_checkpoint(held, new):
            raise IntegrityError(
                f"The proof ends at a checkpoint of {new.tree_size} events, not at yours of {held.tree_size} "
                "events; ask for a proof made to your checkpoint (evidence-vault proof --to)."
                if held.tree_size != new.tree_size else
                f"Your checkpoint and the proof's disagree about the first {held.tree_size} events: "
                "the history was rewritten."
            )
    check_extends(old, new, parsed.proof)
    return old, new


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip() + "\n"
