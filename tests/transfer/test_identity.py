"""Headquarters identity files: what a field laptop is given, and what headquarters keeps."""

from __future__ import annotations

import pytest

from app.transfer.errors import TransferError
from app.transfer.identity import HqIdentity, HqPublicIdentity, generate_hq_identity


def test_public_file_round_trip() -> None:
    hq = generate_hq_identity("hq.example.org")
    pem = hq.public().to_pem()
    assert pem.startswith(b"evidence-vault hq public identity v1\nname hq.example.org\n-----BEGIN PUBLIC KEY-----")
    again = HqPublicIdentity.from_pem(pem)
    assert again.name == "hq.example.org" and again.key_id() == hq.key_id()
    assert len(hq.key_id()) == 16 and int(hq.key_id(), 16) >= 0
    assert HqPublicIdentity.from_pem(pem.replace(b"\n", b"\r\n")).key_id() == hq.key_id()
    assert generate_hq_identity("hq.example.org").key_id() != hq.key_id()


def test_private_file_round_trip_and_wrong_passphrase() -> None:
    hq = generate_hq_identity("hq.example.org")
    data = hq.to_encrypted_pem("a long passphrase for headquarters")
    assert b"ENCRYPTED PRIVATE KEY" in data and b"PRIVATE KEY-----\nMC4C" not in data
    again = HqIdentity.from_encrypted_pem(data, "a long passphrase for headquarters")
    assert again.key_id() == hq.key_id()
    with pytest.raises(TransferError, match="passphrase for the headquarters key is not correct"):
        HqIdentity.from_encrypted_pem(data, "wrong")
    with pytest.raises(TransferError, match="passphrase is needed"):
        hq.to_encrypted_pem("")


@pytest.mark.parametrize("name", ["", "has space", "a+b", "x" * 129, "tab\tname"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(TransferError, match="headquarters name"):
        generate_hq_identity(name)


def test_malformed_public_files() -> None:
    hq = generate_hq_identity("hq.example.org")
    pem = hq.public().to_pem()
    blocks = pem.split(b"-----BEGIN")
    cases = {
        b"": "first line",
        b"\xff\xfe": "not plain text",
        pem.replace(b"public identity", b"private identity"): "first line",
        b"".join(blocks[:2]): "exactly two keys",
        pem.replace(b"K2Vu", b"K2Vw", 1): "wrong kind",  # the X25519 OID made Ed25519's
        pem.replace(b"K2Vu", b"K2V!", 1): "exactly two keys|damaged",
        b"evidence-vault hq public identity v1\nname hq.example.org\n-----BEGIN" + blocks[2] + b"-----BEGIN"
        + blocks[1]: "wrong kind",
        b"x" * 100_000: "too large",
    }
    for data, message in cases.items():
        with pytest.raises(TransferError, match=message):
            HqPublicIdentity.from_pem(data)
