"""A passphrase change with recovery enabled that fails part-way (a full disk, a failed rename): afterwards
exactly one of the old and the new passphrase opens the vault, the custody log has ``passphrase_changed``
exactly when the new one does, and the message says which (app/vault/keyslot_change.py)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
import sqlcipher3

from app.cli.main import main
from app.errors import DiskFull, EvidenceVaultError, WrongPassphrase
from app.vault import custody, keyslot, keyslot_change, recovery
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.reliability.crashkit import check_whole
from tests.reliability.test_environment import small_filesystem
from tests.vault.vaultkit import ACTOR, OTHER_PASSPHRASE, new_vault, speed_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _recovery_vault(folder: Path) -> Path:
    with new_vault(folder) as vault:
        vault.add_case("Passphrase change")
    path = folder / "test.vault"
    recovery.enable(path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    return path


def _state(path: Path) -> tuple[str, int]:
    """(the one passphrase that opens the vault, its number of passphrase_changed events)."""
    opening = []
    changes = 0
    for passphrase in (OTHER_PASSPHRASE, TEST_PASSPHRASE):  # the new one first: it applies the recovery rule
        try:
            vault = recovery.open_vault(path, passphrase, actor=ACTOR)
        except WrongPassphrase:
            continue
        with vault:
            check_whole(vault)
            events = [e for e in vault.events() if e.action == "passphrase_changed"]
            changes = len(events)
            if events:  # the last change names the keyslot in force
                digest = hashlib.sha256(keyslot.keyslot_path(path).read_bytes()).hexdigest()
                assert events[-1].details["keyslot_sha256"] == digest
        opening.append(passphrase)
    assert len(opening) == 1, f"{len(opening)} of the old and new passphrases open the vault"
    assert not [p.name for p in path.parent.iterdir() if ".keyslot-" in p.name]
    return opening[0], changes


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system so that about ``leave`` bytes stay free (none at all for 0)."""
    filler = folder / "filler"
    info = os.statvfs(folder)
    want = max(info.f_bavail * info.f_frsize - leave, 0)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while want > 0:
            want -= os.write(fd, b"\0" * min(1 << 20, want))
        while leave == 0:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _cli_passwd(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    monkeypatch.setenv("EVIDENCE_VAULT_NEW_PASSPHRASE", OTHER_PASSPHRASE)
    code = main(["--vault", str(path), "--actor", ACTOR, "passwd"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("free", [0, 8 * 1024], ids=["disk-full", "a-few-kilobytes-left"])
def test_passwd_with_recovery_on_a_full_disk_changes_nothing_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], free: int) -> None:
    """The audit's case: a tmpfs with a few KB left (the keyslot fits, the vault's journal does not), and
    one with none left (not even the keyslot fits)."""
    speed_up(monkeypatch)
    with small_filesystem(tmp_path / "small", "16m") as small:
        path = _recovery_vault(small)
        filler = _fill(small, free)
        code, err = _cli_passwd(path, monkeypatch, capsys)
        filler.unlink()
        assert _state(path) == (TEST_PASSPHRASE, 0)
        assert code == 2 and "Traceback" not in err
        assert "disk is full, so the passphrase was not changed: the old passphrase still opens the vault" in err
        code, err = _cli_passwd(path, monkeypatch, capsys)  # with room again, the change goes through
        assert code == 0 and "Passphrase changed." in err
        assert _state(path) == (OTHER_PASSPHRASE, 1)


def _disk_full(*_args: object, **_kwargs: object) -> None:
    raise sqlcipher3.OperationalError("database or disk is full")


def _no_space(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _change_failing_at_install(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A passphrase change whose recorded keyslot cannot be renamed into place (no space left)."""
    with monkeypatch.context() as patch:
        patch.setattr(keyslot_change, "_install", _no_space)
        with pytest.raises(EvidenceVaultError):
            recovery.change_passphrase(path, TEST_PASSPHRASE, OTHER_PASSPHRASE, actor=ACTOR)


@pytest.mark.parametrize("where", ["stage", "commit"])
def test_a_change_that_fails_before_its_event_leaves_the_old_passphrase(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    speed_up(monkeypatch)
    path = _recovery_vault(tmp_path)
    with monkeypatch.context() as patch:
        if where == "stage":
            patch.setattr(keyslot_change, "sync_folder", _no_space)  # the staged keyslot's fsync of the folder
        else:
            patch.setattr(custody, "append_event", _disk_full)
        with recovery.open_vault(path, TEST_PASSPHRASE, actor=ACTOR) as vault, pytest.raises(DiskFull) as caught:
            vault.change_passphrase(OTHER_PASSPHRASE)
    assert caught.value.user_message() == keyslot_change.FULL_NOT_CHANGED
    assert not keyslot_change.staged_path(path).exists()
    assert _state(path) == (TEST_PASSPHRASE, 0)


def test_a_change_whose_event_was_stored_is_finished_even_when_an_error_follows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = _recovery_vault(tmp_path)
    record = keyslot_change._record

    def recorded_then_failed(*args: object, **kwargs: object) -> None:
        record(*args, **kwargs)  # type: ignore[arg-type]
        raise sqlcipher3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(keyslot_change, "_record", recorded_then_failed)
        recovery.change_passphrase(path, TEST_PASSPHRASE, OTHER_PASSPHRASE, actor=ACTOR)
    assert _state(path) == (OTHER_PASSPHRASE, 1)


def test_a_recorded_change_whose_key_file_was_not_installed_is_completed_at_the_next_opening(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = _recovery_vault(tmp_path)
    old_keyslot = keyslot.keyslot_path(path).read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(keyslot_change, "_install", _no_space)
        with recovery.open_vault(path, TEST_PASSPHRASE, actor=ACTOR) as vault, \
                pytest.raises(EvidenceVaultError) as caught:
            vault.change_passphrase(OTHER_PASSPHRASE)
    assert caught.value.user_message() == keyslot_change.RECORDED_NOT_INSTALLED
    assert keyslot.keyslot_path(path).read_bytes() == old_keyslot and keyslot_change.staged_path(path).exists()
    with pytest.raises(WrongPassphrase):  # the old passphrase applies the rule too, and is refused
        recovery.open_vault(path, TEST_PASSPHRASE, actor=ACTOR)
    assert _state(path) == (OTHER_PASSPHRASE, 1)


def test_a_read_only_opening_works_out_the_passphrase_in_force_without_writing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = _recovery_vault(tmp_path)
    _change_failing_at_install(path, monkeypatch)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.name.endswith(".lock")}
    with pytest.raises(WrongPassphrase):
        Vault.open(path, TEST_PASSPHRASE, actor=ACTOR, read_only=True)
    with Vault.open(path, OTHER_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        assert vault.events()[-1].action == "passphrase_changed"
    assert files == {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()
                     and not p.name.endswith(".lock")}


def test_recovery_with_shares_settles_an_interrupted_change_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    with new_vault(tmp_path):
        pass
    path = tmp_path / "test.vault"
    setup = recovery.enable(path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    _change_failing_at_install(path, monkeypatch)
    third = "a third long passphrase for the recovery"
    recovery.recover(path, setup.shares[:2], third, actor="HQ")
    assert not keyslot_change.staged_path(path).exists()
    with recovery.open_vault(path, third, actor=ACTOR) as vault:
        methods = [e.details["method"] for e in vault.events() if e.action == "passphrase_changed"]
    assert methods == ["keyslot rewrap", "recovery shares"]
    for passphrase in (TEST_PASSPHRASE, OTHER_PASSPHRASE):
        with pytest.raises(WrongPassphrase):
            recovery.open_vault(path, passphrase, actor=ACTOR)


def test_panic_shreds_a_staged_key_file_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = _recovery_vault(tmp_path)
    _change_failing_at_install(path, monkeypatch)
    assert recovery.panic(path, destroy_keys=True).keys_destroyed
    assert not [p.name for p in tmp_path.iterdir() if "keyslot" in p.name]
