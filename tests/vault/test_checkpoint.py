"""Checkpoints: C2SP signed-note / tlog-checkpoint text, strict parsing, signature checks."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput, ProofError
from app.vault.checkpoint import (
    Checkpoint,
    checkpoint_body,
    note_key_id,
    parse_checkpoint,
    sign_checkpoint,
    vault_origin,
    verify_checkpoint,
)
from app.vault.keys import load_private_key, new_signing_key, public_key_bytes, public_key_pem
from app.vault.merkle import leaf_hash, root_hash

ROOT = root_hash([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
ORIGIN = "evidence-vault/3f2a9c0d1e4b5a69"

# golang.org/x/mod/sumdb/note reference vector: an independent implementation of signed-note.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="


@pytest.fixture(scope="module")
def key():  # type: ignore[no-untyped-def]
    return new_signing_key()


def _sign(key, **overrides) -> str:  # type: ignore[no-untyped-def]
    args = {"origin": ORIGIN, "tree_size": 3, "root": ROOT, "time": "2026-11-25T14:56:22.123456Z", "key": key}
    args.update(overrides)
    return sign_checkpoint(**args)


def test_note_key_id_and_signature_match_go_reference() -> None:
    seed_blob = base64.b64decode(GO_SIGNER_KEY.split("+c74f20a3+")[1])
    assert seed_blob[0] == 1  # Ed25519 type byte
    go_key = load_private_key(seed_blob[1:])
    assert note_key_id("PeterNeumann", go_key).hex() == "c74f20a3"
    blob = base64.b64encode(note_key_id("PeterNeumann", go_key) + go_key.sign(GO_TEXT.encode())).decode()
    assert blob == GO_SIGNATURE


def test_exact_text_layout(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    lines = text.split("\n")
    assert lines[:5] == [ORIGIN, "3", base64.b64encode(ROOT).decode(), "time 2026-11-25T14:56:22Z", ""]
    assert lines[-1] == "" and len(lines) == 7
    dash, name, blob = lines[5].split(" ")
    assert dash == "\u2014" and name == ORIGIN
    raw = base64.b64decode(blob)
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_key_bytes(key)).digest()[:4]
    assert raw[:4] == expected_id and len(raw) == 68
    body = "\n".join(lines[:4]) + "\n"
    assert body == checkpoint_body(origin=ORIGIN, tree_size=3, root=ROOT, time="2026-11-25T14:56:22Z")
    key.public_key().verify(raw[4:], body.encode())  # raises if the signature is not over the body
    assert len(text) < 260  # fits in a couple of text messages


def test_round_trip(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key, tree_size=0, root=hashlib.sha256(b"").digest())
    checkpoint = verify_checkpoint(text, key.public_key())
    assert isinstance(checkpoint, Checkpoint)
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.time) == (ORIGIN, 0, "2026-11-25T14:56:22Z")
    assert checkpoint.root == hashlib.sha256(b"").digest()
    assert checkpoint.key_id == note_key_id(ORIGIN, key).hex()
    assert len(checkpoint.signature) == 64
    assert parse_checkpoint(text) == checkpoint


def test_transport_damage_that_cannot_change_meaning_is_tolerated(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    verify_checkpoint("\n  " + text.replace("\n", "\r\n").rstrip() + "  \n\n", key.public_key())
    verify_checkpoint(text.encode("utf-8"), key.public_key())  # type: ignore[arg-type]


def test_wrong_key_is_rejected(key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProofError, match="not signed by the expected vault key"):
        verify_checkpoint(_sign(key), new_signing_key().public_key())


def test_forged_signature_with_right_key_id_is_rejected(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    other = _sign(new_signing_key())
    forged = text.split("\n\n")[0] + "\n\n" + f"\u2014 {ORIGIN} " + base64.b64encode(
        note_key_id(ORIGIN, key) + base64.b64decode(other.split(" ")[-1])[4:]
    ).decode() + "\n"
    with pytest.raises(ProofError, match="signature is not valid"):
        verify_checkpoint(forged, key.public_key())


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n3\n", "\n4\n"), ("time 2026-11-25T14:56:22Z", "time 2026-11-25T14:56:23Z")],
)
def test_altered_text_fails_signature(key, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    with pytest.raises(ProofError, match="signature is not valid"):
        verify_checkpoint(text.replace(old, new, 1), key.public_key())


def test_altered_root_fails_signature(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    other_root = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    with pytest.raises(ProofError, match="signature is not valid"):
        verify_checkpoint(text.replace(base64.b64encode(ROOT).decode(), other_root), key.public_key())


def test_witness_signatures_are_ignored(key) -> None:  # type: ignore[no-untyped-def]
    witness = new_signing_key()
    text = _sign(key)
    body = text.split("\n\n")[0] + "\n"
    blob = base64.b64encode(note_key_id("witness.example", witness) + witness.sign(body.encode())).decode()
    cosigned = text + f"\u2014 witness.example {blob}\n"
    assert verify_checkpoint(cosigned, key.public_key()).origin == ORIGIN


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: t.replace("\n\n", "\n"), "blank line"),
        (lambda t: t.split("\n\n")[0] + "\n\n", "blank line"),
        (lambda t: t.replace("\n3\n", "\n03\n"), "tree size"),
        (lambda t: t.replace("\n3\n", "\n-3\n"), "tree size"),
        (lambda t: t.replace("\n3\n", "\n3 \n"), "tree size"),
        (lambda t: t.replace("time ", "clock "), "fourth line"),
        (lambda t: t.replace("T14:56:22Z", "T14:56:22.5Z"), "fourth line"),
        (lambda t: t.replace("2026-11-25T", "2026-02-30T"), "real date"),
        (lambda t: t.replace("time 2026", "extra line\ntime 2026"), "expected 4 lines"),
        (lambda t: t.replace(ORIGIN + "\n", "evidence vault\n", 1), "origin"),
        (lambda t: t.replace("\u2014 ", "- "), "signature line"),
        (lambda t: t.replace("\u2014 " + ORIGIN, "\u2014 someone.else"), "origin's name"),
        (lambda t: t.rstrip("\n")[:-3] + "\n", "base64"),
        (lambda t: t.rstrip("\n")[:-4] + "\n", "64 bytes"),
        (lambda t: t.replace(base64.b64encode(ROOT).decode(), base64.b64encode(ROOT[:31]).decode()), "32 bytes"),
        (lambda t: t.replace("\n3\n", "\n3\t\n"), "control characters"),
        (lambda t: "", "blank line"),
    ],
)
def test_malformed_text_is_rejected_clearly(key, mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProofError, match=reason):
        parse_checkpoint(mutate(_sign(key)))


def test_non_canonical_base64_is_rejected(key) -> None:  # type: ignore[no-untyped-def]
    text = _sign(key)
    root_b64 = base64.b64encode(ROOT).decode()
    # Changing the unused low bits of the final character decodes to the same bytes: not canonical.
    last = root_b64[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(ProofError, match="canonical"):
        parse_checkpoint(text.replace(root_b64, root_b64[:-2] + twin + "="))


@pytest.mark.parametrize(
    "overrides",
    [{"origin": ""}, {"origin": "has space"}, {"origin": "a+b"}, {"tree_size": -1}, {"tree_size": True},
     {"root": b"\x00" * 31}, {"time": "2026-11-25 14:56:22Z"}, {"time": "2026-13-01T00:00:00Z"}],
)
def test_signing_refuses_bad_input(key, overrides) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        _sign(key, **overrides)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 2**63 - 1), root=st.binary(min_size=32, max_size=32), data=st.data())
def test_property_any_flipped_character_fails(size: int, root: bytes, data: st.DataObject) -> None:
    key = load_private_key(hashlib.sha256(b"fixed test seed").digest())
    text = sign_checkpoint(origin=ORIGIN, tree_size=size, root=root, time="2026-11-25T14:56:22Z", key=key)
    assert verify_checkpoint(text, key.public_key()).tree_size == size
    position = data.draw(st.integers(0, len(text) - 2))
    original = text[position]
    replacement = data.draw(st.sampled_from("0123456789abcXYZ+/=\n -"))
    if replacement == original:
        return
    tampered = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(ProofError):
        verify_checkpoint(tampered, key.public_key())


# The worked example of docs/FORMAT.md, reproduced from a fixed seed so the document stays true.
EXAMPLE_SEED = hashlib.sha256(b"evidence-vault FORMAT.md example key").digest()
EXAMPLE_ROOT = "41755b98a6694b383a67407379c9ad6844fdaa25a6f6940d264e698e0604cafe"
EXAMPLE_CHECKPOINT = (
    "evidence-vault/053fd518890fea59\n"
    "3\n"
    "QXVbmKZpSzg6Z0BzecmtaET9qiWm9pQNJk5pjgYEyv4=\n"
    "time 2026-11-25T14:58:10Z\n"
    "\n"
    "\u2014 evidence-vault/053fd518890fea59 "
    "Wn7h93fvGCllSzoxVSvjvUDkXuaYp8hXa6ACghpPTSF3UYlsjaxrC599lPpsbjATUUwog4IIa6AvBInMY/6ivG+Jtwg=\n"
)


def test_format_md_worked_example() -> None:
    key = load_private_key(EXAMPLE_SEED)
    assert vault_origin(key) == "evidence-vault/053fd518890fea59"
    assert note_key_id(vault_origin(key), key).hex() == "5a7ee1f7"
    text = sign_checkpoint(origin=vault_origin(key), tree_size=3, root=bytes.fromhex(EXAMPLE_ROOT),
                           time="2026-11-25T14:58:10.500000Z", key=key)
    assert text == EXAMPLE_CHECKPOINT
    verify_checkpoint(text, key.public_key())
    format_md = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    assert EXAMPLE_CHECKPOINT in format_md
    assert public_key_pem(key).decode() in format_md
