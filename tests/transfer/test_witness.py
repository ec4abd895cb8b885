"""C2SP tlog-cosignature v1 cosignatures of real field checkpoints, and fork detection."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.transfer.errors import ForkError, TransferError
from app.transfer.witness import add_cosignature, check_extension, cosign, find_cosignature, verify_cosignature
from app.vault.checkpoint import parse_checkpoint, verify_checkpoint
from app.vault.keys import load_public_key_pem
from app.vault.merkle import consistency_proof
from tests.transfer.conftest import Field

NAME = "hq.example.org"
WHEN = 1_796_000_000


def test_cosignature_bytes_follow_the_specification(field: Field) -> None:
    """Rebuilt from the C2SP text alone: key ID with type 0x04, 8-byte big-endian time, signed message."""
    checkpoint = field.vault.checkpoint()
    witness = Ed25519PrivateKey.generate()
    line = cosign(checkpoint, witness, NAME, timestamp=WHEN)
    dash, name, blob64 = line.split(" ")
    assert dash == "\u2014" and name == NAME
    blob = base64.b64decode(blob64)
    raw = witness.public_key().public_bytes_raw()
    assert blob[:4] == hashlib.sha256(NAME.encode() + b"\n\x04" + raw).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == WHEN
    body = checkpoint.split("\n\n")[0] + "\n"
    witness.public_key().verify(blob[12:], f"cosignature/v1\ntime {WHEN}\n".encode() + body.encode())
    assert verify_cosignature(checkpoint, line, witness.public_key(), NAME) == WHEN


def test_cosigned_checkpoint_still_verifies_for_the_vault(field: Field) -> None:
    checkpoint = field.vault.checkpoint()
    witness = Ed25519PrivateKey.generate()
    cosigned = add_cosignature(checkpoint, cosign(checkpoint, witness, NAME, timestamp=WHEN))
    assert add_cosignature(cosigned, cosign(checkpoint, witness, NAME, timestamp=WHEN)) == cosigned
    verify_checkpoint(cosigned, load_public_key_pem(field.vault.public_key_pem()))
    assert find_cosignature(cosigned, witness.public_key(), NAME) == WHEN
    with pytest.raises(TransferError, match="no cosignature by"):
        find_cosignature(checkpoint, witness.public_key(), NAME)


def test_bad_cosignatures_are_refused(field: Field) -> None:
    checkpoint = field.vault.checkpoint()
    witness = Ed25519PrivateKey.generate()
    line = cosign(checkpoint, witness, NAME, timestamp=WHEN)
    with pytest.raises(TransferError, match="another key"):
        verify_cosignature(checkpoint, line, Ed25519PrivateKey.generate().public_key(), NAME)
    with pytest.raises(TransferError, match="not by the witness"):
        verify_cosignature(checkpoint, line, witness.public_key(), "other.example.org")
    later = field.vault.checkpoint()
    with pytest.raises(TransferError, match="changed after it was cosigned"):
        verify_cosignature(later, line, witness.public_key(), NAME)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[5] ^= 1  # the time: signed too
    forged = f"\u2014 {NAME} {base64.b64encode(bytes(blob)).decode()}"
    with pytest.raises(TransferError, match="not valid"):
        verify_cosignature(checkpoint, forged, witness.public_key(), NAME)
    with pytest.raises(TransferError, match="not a cosignature line"):
        verify_cosignature(checkpoint, "garbage", witness.public_key(), NAME)


def test_check_extension_accepts_a_grown_log(field: Field) -> None:
    old = field.vault.checkpoint()
    field.vault.add_note(field.item_ids[0], "more")
    new = field.vault.checkpoint()
    leaves = field.vault.leaf_hashes()
    new_size = parse_checkpoint(new).tree_size
    proof = consistency_proof(parse_checkpoint(old).tree_size, leaves[:new_size])
    check_extension(old, new, proof, field.vault.public_key_pem())
    check_extension(new, new, [], field.vault.public_key_pem())


def test_fork_is_detected(field: Field) -> None:
    """Two checkpoints signed by the same field key over logs that disagree: a fork."""
    from app.vault.checkpoint import sign_checkpoint
    from app.vault.events import utc_now

    key = field.vault.signing_key
    old = field.vault.checkpoint()
    parsed = parse_checkpoint(old)
    leaves = field.vault.leaf_hashes()
    rewritten = sign_checkpoint(origin=field.vault.origin, tree_size=parsed.tree_size, root=leaves[0],
                                time=utc_now(), key=key)
    with pytest.raises(ForkError, match="fork was detected"):
        check_extension(old, rewritten, [], field.vault.public_key_pem())
    shorter = sign_checkpoint(origin=field.vault.origin, tree_size=2, root=leaves[0], time=utc_now(), key=key)
    with pytest.raises(ForkError, match=r"fork was detected.*fewer"):
        check_extension(old, shorter, [], field.vault.public_key_pem())
    field.vault.add_note(field.item_ids[0], "more")
    new = field.vault.checkpoint()
    wrong_proof = consistency_proof(parsed.tree_size - 1, field.vault.leaf_hashes()[:parse_checkpoint(new).tree_size])
    with pytest.raises(ForkError, match="fork was detected"):
        check_extension(old, new, wrong_proof, field.vault.public_key_pem())


def test_bad_signature_is_not_called_a_fork(field: Field) -> None:
    old = field.vault.checkpoint()
    stranger = Ed25519PrivateKey.generate()
    from app.vault.keys import public_key_pem

    with pytest.raises(TransferError) as caught:
        check_extension(old, old, [], public_key_pem(stranger))
    assert not isinstance(caught.value, ForkError)
