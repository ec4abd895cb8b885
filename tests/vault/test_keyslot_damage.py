"""A damaged key file (``VAULT.keyslot``, recovery enabled) is called damaged wherever its format shows it,
not "the passphrase is not correct" (audit finding).  AES-GCM alone cannot tell a wrong passphrase from a
damaged slot; the keyslot also holds a fingerprint of the key, one wrapping per slot under the same
passphrase, and slots of fixed length (app/vault/keyslot.py, ``unwrap``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from app.errors import NotAVault, WrongPassphrase
from app.vault import keyslot, recovery
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, OTHER_PASSPHRASE, new_vault, speed_up

DAMAGED = "The passphrase is right, but the vault's key file (.keyslot) beside the vault is damaged."


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as vault:
        vault.add_case("Keyslot")
    path = tmp_path / "test.vault"
    recovery.enable(path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    return path


def _open(path: Path, passphrase: str = TEST_PASSPHRASE) -> None:
    Vault.open(path, passphrase, actor=ACTOR).close()


def _flip_slot_byte(path: Path, index: int, role: str = "current") -> None:
    """Flip one bit of byte ``index`` of a slot's ciphertext (0-31: the wrapped key, 32-47: the GCM tag)."""
    slot = keyslot.read(path)
    nonce, sealed = slot.slots[role]
    slot.slots[role] = (nonce, sealed[:index] + bytes([sealed[index] ^ 0x10]) + sealed[index + 1:])
    keyslot.write(path, slot)


def _edit_json(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    file = keyslot.keyslot_path(path)
    doc = json.loads(file.read_bytes())
    change(doc)
    file.write_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8"))


@pytest.mark.parametrize("index", [32, 40, 47], ids=["tag-start", "tag-middle", "tag-end"])
def test_a_damaged_tag_is_called_damaged_and_a_wrong_passphrase_still_wrong(vault_path: Path, index: int) -> None:
    _flip_slot_byte(vault_path, index)
    with pytest.raises(keyslot.KeyslotDamaged) as caught:
        _open(vault_path)
    assert caught.value.user_message().startswith(DAMAGED)
    assert "recover" in caught.value.user_message()
    with pytest.raises(WrongPassphrase) as wrong:
        _open(vault_path, OTHER_PASSPHRASE)
    assert not isinstance(wrong.value, keyslot.KeyslotDamaged)
    assert "not correct" in wrong.value.user_message()


def test_a_changed_header_setting_is_called_damaged(vault_path: Path) -> None:
    """panic_destroys_keys is bound to the slot as GCM associated data: changed, the tag fails."""
    _edit_json(vault_path, lambda doc: doc.update(panic_destroys_keys=not doc["panic_destroys_keys"]))
    with pytest.raises(keyslot.KeyslotDamaged):
        _open(vault_path)


def test_a_slot_of_the_wrong_length_is_called_damaged(vault_path: Path) -> None:
    _edit_json(vault_path, lambda doc: doc["slots"]["current"].update(
        ciphertext=doc["slots"]["current"]["ciphertext"][:-2]))
    with pytest.raises(NotAVault) as caught:
        _open(vault_path)
    assert "key file (.keyslot) is damaged" in caught.value.user_message()


def test_one_slot_that_unwraps_proves_the_passphrase(vault_path: Path) -> None:
    """Mid-rotation the keyslot holds two slots under the same passphrase: the current one unwraps, so a
    pending one that does not is damaged, whatever part of it was hit."""
    slot = keyslot.read(vault_path)
    current = keyslot.unwrap(slot, TEST_PASSPHRASE)["current"]
    keyslot.write(vault_path, keyslot.build(TEST_PASSPHRASE, {"current": current, "pending": os.urandom(32)},
                                            panic_destroys_keys=slot.panic_destroys_keys))
    _flip_slot_byte(vault_path, 3, role="pending")  # in the wrapped key: alone, this could not be told apart
    with pytest.raises(keyslot.KeyslotDamaged):
        keyslot.unwrap(keyslot.read(vault_path), TEST_PASSPHRASE)
    with pytest.raises(keyslot.KeyslotDamaged):
        _open(vault_path)


def test_damage_in_the_wrapped_key_itself_cannot_be_told_from_a_wrong_passphrase(vault_path: Path) -> None:
    """The limit of the format: the only slot's wrapped key damaged fails exactly like a wrong passphrase."""
    _flip_slot_byte(vault_path, 5)
    with pytest.raises(WrongPassphrase) as caught:
        _open(vault_path)
    assert not isinstance(caught.value, keyslot.KeyslotDamaged)


def test_the_command_line_says_damaged(vault_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _flip_slot_byte(vault_path, 44)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    code = main(["--vault", str(vault_path), "--actor", ACTOR, "list"])
    err = capsys.readouterr().err
    assert code == 2 and DAMAGED in err and "not correct" not in err
