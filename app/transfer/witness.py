"""Witness cosignatures of field checkpoints (C2SP tlog-cosignature, ``cosignature/v1`` with Ed25519).

A cosignature is one more signed-note signature line under a checkpoint::

    — <witness name> base64(key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64))

    key ID         = SHA-256(<witness name> || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4]
    signed message = "cosignature/v1\\n" || "time <timestamp>\\n" || the checkpoint's note body

The note body is the checkpoint text up to and including the newline before the blank line (all its
lines, the ``time`` extension line too).  By cosigning, a witness states that as of ``timestamp`` this
is the largest tree head consistent with what it saw before; :func:`check_extension` is that check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.errors import EvidenceVaultError
from app.transfer.errors import ForkError, TransferError
from app.transfer.identity import check_name
from app.vault.checkpoint import EM_DASH, Checkpoint, parse_checkpoint, verify_checkpoint
from app.vault.keys import load_public_key_pem
from app.vault.merkle import verify_consistency

COSIGNATURE_TYPE = b"\x04"
HEADER_LINE = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
BLOB_SIZE = 4 + 8 + 64


def cosigner_key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + raw).digest()[:4]


def signed_message(body: str, timestamp: int) -> bytes:
    return f"{HEADER_LINE}time {timestamp}\n{body}".encode()


def _body(checkpoint_text: str) -> str:
    try:
        return parse_checkpoint(checkpoint_text).body
    except EvidenceVaultError as exc:
        raise TransferError(f"This is not a valid checkpoint ({exc.user_message()})") from exc


def _check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise TransferError("The cosignature time must be a whole number of seconds since 1970.")
    return timestamp


def cosign(checkpoint_text: str, witness: Ed25519PrivateKey, witness_name: str, *, timestamp: int) -> str:
    """The cosignature line (no final newline) for ``checkpoint_text``; see :func:`add_cosignature`."""
    name = check_name(witness_name)
    body = _body(checkpoint_text)
    signature = witness.sign(signed_message(body, _check_timestamp(timestamp)))
    blob = cosigner_key_id(name, witness.public_key()) + timestamp.to_bytes(8, "big") + signature
    return f"{EM_DASH} {name} {base64.b64encode(blob).decode('ascii')}"


def add_cosignature(checkpoint_text: str, signature_line: str) -> str:
    """The checkpoint with one more signature line (a line already present is not added twice)."""
    text = checkpoint_text.replace("\r\n", "\n").strip() + "\n"
    line = signature_line.strip()
    if line in text.split("\n"):
        return text
    return text + line + "\n"


def verify_cosignature(checkpoint_text: str, signature_line: str, witness_public: Ed25519PublicKey,
                       witness_name: str) -> int:
    """The cosignature's timestamp; raises TransferError unless ``signature_line`` is a valid
    cosignature/v1 of the checkpoint by ``witness_name`` with ``witness_public``."""
    parts = signature_line.strip().split(" ")
    if len(parts) != 3 or parts[0] != EM_DASH:
        raise TransferError("This is not a cosignature line ('— <name> <signature>').")
    if parts[1] != witness_name:
        raise TransferError(f"This cosignature is by {parts[1]!r}, not by the witness {witness_name!r}.")
    try:
        blob = base64.b64decode(parts[2].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise TransferError("This cosignature is damaged (not base64).") from None
    if len(blob) != BLOB_SIZE:
        raise TransferError("This is not a cosignature/v1 signature (wrong length).")
    if blob[:4] != cosigner_key_id(witness_name, witness_public):
        raise TransferError(f"This cosignature was made with another key than the witness {witness_name!r} uses.")
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > MAX_TIMESTAMP:
        raise TransferError("This cosignature's time is out of range.")
    try:
        witness_public.verify(blob[12:], signed_message(_body(checkpoint_text), timestamp))
    except InvalidSignature:
        raise TransferError(f"The cosignature by {witness_name!r} is not valid: the checkpoint was changed after "
                            "it was cosigned, or the cosignature was forged.") from None
    return timestamp


def find_cosignature(checkpoint_text: str, witness_public: Ed25519PublicKey, witness_name: str) -> int:
    """Check the cosignature by ``witness_name`` among a cosigned checkpoint's signature lines; returns
    its timestamp.  Raises TransferError when it is missing or invalid."""
    expected = cosigner_key_id(witness_name, witness_public)
    for line in checkpoint_text.replace("\r\n", "\n").split("\n"):
        parts = line.strip().split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or parts[1] != witness_name:
            continue
        try:
            blob = base64.b64decode(parts[2].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            continue
        if len(blob) == BLOB_SIZE and blob[:4] == expected:
            return verify_cosignature(checkpoint_text, line, witness_public, witness_name)
    raise TransferError(f"This checkpoint carries no cosignature by {witness_name!r}.")


def check_extension(old_checkpoint: str, new_checkpoint: str, proof: Sequence[bytes],
                    field_public_pem: bytes) -> None:
    """Raise ForkError unless ``new_checkpoint``'s log extends ``old_checkpoint``'s (both must be signed by
    the field vault key; a bad signature is a TransferError, not a fork)."""
    try:
        public = load_public_key_pem(field_public_pem)
    except EvidenceVaultError as exc:
        raise TransferError("The field vault's public key is damaged.", debug_detail=exc.message) from exc
    old, new = _verified(old_checkpoint, public, "earlier"), _verified(new_checkpoint, public, "new")
    if old.origin != new.origin:
        raise TransferError(f"The checkpoints come from different vaults ({old.origin} and {new.origin}).")
    if old.tree_size > new.tree_size:
        raise ForkError(f"A fork was detected in {new.origin}: its new checkpoint covers {new.tree_size} events, "
                        f"fewer than the {old.tree_size} seen before, so events were removed. The new checkpoint "
                        "was refused; keep both and contact your security lead.")
    try:
        verify_consistency(old_size=old.tree_size, new_size=new.tree_size, old_root=old.root, new_root=new.root,
                           proof=list(proof))
    except EvidenceVaultError as exc:
        raise ForkError(f"A fork was detected in {new.origin}: its log of {new.tree_size} events is not an "
                        f"extension of the {old.tree_size} events seen before, so its history was rewritten. The "
                        "new checkpoint was refused; keep both and contact your security lead.",
                        debug_detail=exc.message) from exc


def _verified(text: str, public: Ed25519PublicKey, which: str) -> Checkpoint:
    try:
        return verify_checkpoint(text, public)
    except EvidenceVaultError as exc:
        raise TransferError(f"The {which} checkpoint is not validly signed by the field vault "
                            f"({exc.user_message()})") from exc
