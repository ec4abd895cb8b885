"""Read-only opening (an auditor who hashed the file on receipt must not change it by checking it), and
verify() that always returns its report: on a damaged file, or when the verified event cannot be written."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from app.errors import NotAVault, VaultInUse
from app.vault import lock as lock_module
from app.vault.vault import ReadOnlyVault, Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, sha256_file, speed_up


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        source = tmp_path / "file.bin"
        source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))  # several 64 KiB pages of chunks
        v.ingest_file(source)
        person = v.add_person(name="Lan", protected=True)
        v.add_consent(person, scopes="court")
        v.add_note(1, "note")
        v.checkpoint()
    (tmp_path / "test.vault.lock").unlink()
    return tmp_path / "test.vault"


def test_read_only_leaves_the_file_unchanged_and_refuses_every_write(vault_path: Path) -> None:
    before = sha256_file(vault_path)
    stat_before = os.stat(vault_path)
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as v:
        assert v.read_only
        report = v.verify()  # record=True by default, but read-only records nothing
        assert report.ok and not report.recorded
        assert v.list_items() and v.search("note") and v.events() and v.checkpoints()
        assert v.open_original(1).read(10)
        assert v.public_key_pem().startswith(b"-----BEGIN PUBLIC KEY")
        for write in (lambda: v.add_case("x"), lambda: v.add_note(1, "more"),
                      lambda: v.update_person(1, protected=False),
                      lambda: v.record_event("item_viewed", item_id=1), v.checkpoint,
                      lambda: v.ingest_file(vault_path), lambda: v.change_passphrase("another long passphrase 99"),
                      lambda: v.withdraw_consent(1)):
            with pytest.raises(ReadOnlyVault) as caught:
                write()
            assert "read-only" in caught.value.user_message()
    assert sha256_file(vault_path) == before
    assert os.stat(vault_path).st_mtime_ns == stat_before.st_mtime_ns
    assert not Path(f"{vault_path}-journal").exists() or Path(f"{vault_path}-journal").stat().st_size == 0


def test_readers_share_and_exclude_a_writer(vault_path: Path) -> None:
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as first, \
            Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as second:
        assert first.verify().ok and second.list_items()
        with pytest.raises(VaultInUse):
            Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as writer:
        with pytest.raises(VaultInUse):
            Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True)
        assert writer.verify().recorded  # the default still records "verified" (issue 2)


def test_read_only_media_without_a_lock_file(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder cannot be written (simulated: this suite runs as root, where permissions do not bite):
    no lock file can be made, the vault still opens read-only, and a writer is still seen."""
    real_open = os.open

    def read_only_folder(path, flags, *args):
        if str(path).endswith(".lock") and flags & (os.O_CREAT | os.O_RDWR | os.O_WRONLY):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as writer:
        monkeypatch.setattr(lock_module.os, "open", read_only_folder)
        with pytest.raises(VaultInUse):  # found through the lock on the vault file itself
            Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True)
        monkeypatch.setattr(lock_module.os, "open", real_open)
        assert writer.list_items()
    Path(f"{vault_path}.lock").unlink()  # media written elsewhere, without a lock file
    monkeypatch.setattr(lock_module.os, "open", read_only_folder)
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as v:
        assert v.verify().ok
    assert not Path(f"{vault_path}.lock").exists()
    with pytest.raises(Exception, match="cannot be written to"):
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 1]))


def test_damaged_data_page_gives_a_report_not_a_crash(vault_path: Path) -> None:
    pages = vault_path.stat().st_size // 65536
    _flip(vault_path, (pages - 3) * 65536 + 1000)
    for read_only in (False, True):
        with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=read_only) as v:
            report = v.verify()  # records nothing on a damaged file, and does not raise
        assert not report.ok and not report.recorded
        # a chunk page is located to its item; any other page to the vault file
        assert report.problems[0].kind in ("vault_file", "item_content")


def test_damaged_schema_page_is_called_damaged_not_a_foreign_file(vault_path: Path) -> None:
    conn = raw_connect(vault_path)
    page, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'settings'").fetchone()
    conn.close()
    _flip(vault_path, (page - 1) * 65536 + 1000)
    with pytest.raises(NotAVault) as caught:
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    assert "damaged (an encrypted page failed its check)" in caught.value.user_message()


def test_verify_returns_its_report_when_recording_fails(vault_path: Path, tmp_path: Path) -> None:
    conn = raw_connect(vault_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE persons SET protected = 0")
    # an insider's trigger makes every new event fail to be written
    conn.execute("CREATE TRIGGER no_more BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END")
    conn.close()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        report = v.verify()
    assert not report.ok and not report.recorded
    assert report.problems[0].location == "person 1"


def test_copy_on_read_only_is_the_auditor_workflow(vault_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.vault"
    shutil.copyfile(vault_path, copy)
    digest = sha256_file(copy)
    with Vault.open(copy, TEST_PASSPHRASE, actor="Auditor", read_only=True) as v:
        assert v.verify(record=True).ok
    assert sha256_file(copy) == digest
