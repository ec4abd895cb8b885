"""The "in use" lock holds whatever name the vault is opened by (symlink, hard link, another spelling),
and opening something that is not a vault leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.errors import InvalidInput, NotAVault, VaultExists, VaultInUse, WrongPassphrase
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, OTHER_PASSPHRASE, new_vault, speed_up


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    new_vault(tmp_path).close()
    return tmp_path / "test.vault"


@pytest.mark.parametrize("make_alias", [os.symlink, os.link])
def test_a_second_name_for_the_vault_meets_the_same_lock(vault_path: Path, make_alias) -> None:
    alias = vault_path.with_name("alias.vault")
    make_alias(vault_path, alias)
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR):
        for name in (alias, vault_path.parent / "." / "alias.vault"):
            with pytest.raises(VaultInUse):
                Vault.open(name, TEST_PASSPHRASE, actor=ACTOR)
            with pytest.raises(VaultInUse):
                Vault.open(name, TEST_PASSPHRASE, actor=ACTOR, read_only=True)
    with Vault.open(alias, TEST_PASSPHRASE, actor=ACTOR) as through_alias:  # and the other way round
        with pytest.raises(VaultInUse):
            Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
        assert through_alias.add_case("via the alias") == 1


def test_passphrase_change_through_a_symlink_keeps_the_symlink_and_the_lock(vault_path: Path) -> None:
    alias = vault_path.with_name("alias.vault")
    alias.symlink_to(vault_path)
    with Vault.open(alias, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.change_passphrase(OTHER_PASSPHRASE)
        with pytest.raises(VaultInUse):  # the replaced file is locked too
            Vault.open(vault_path, OTHER_PASSPHRASE, actor=ACTOR)
    assert alias.is_symlink()
    with Vault.open(alias, OTHER_PASSPHRASE, actor=ACTOR) as v:
        assert v.verify(record=False).ok


def test_a_file_that_is_not_a_vault_keeps_no_lock_file(tmp_path: Path, vault_path: Path) -> None:
    for name, content in (("random.bin", os.urandom(3 * 65536)), ("text.vault", b"hello\n" * 10),
                          ("empty.vault", b"")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises((NotAVault, WrongPassphrase)):
            Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)
        assert not Path(f"{path}.lock").exists()
    Path(f"{vault_path}.lock").unlink()  # made when the vault was created
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, OTHER_PASSPHRASE, actor=ACTOR)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")) == []


def test_folders_and_devices_are_named_for_what_they_are(tmp_path: Path, vault_path: Path) -> None:
    with pytest.raises(InvalidInput, match="This is a folder"):
        Vault.create(tmp_path, TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(InvalidInput, match="device or other special file"):
        Vault.create("/dev/null", TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(VaultExists):
        Vault.create(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(NotAVault, match="folder"):
        Vault.open(tmp_path, TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(NotAVault, match="device or other special file"):
        Vault.open("/dev/null", TEST_PASSPHRASE, actor=ACTOR)
    assert not Path("/dev/null.lock").exists()
