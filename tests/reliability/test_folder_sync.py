"""A new vault file and a folder bundle are durable by name too: the folders whose entries they
create are fsynced (watched on the real os.fsync calls, whatever module makes them)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.durable import sync_folder
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.export.test_bundle_support import build_bundle


@pytest.fixture
def synced_folders(monkeypatch) -> set[tuple[int, int]]:
    """(device, inode) of every folder fsynced while the test runs."""
    seen: set[tuple[int, int]] = set()
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            seen.add((info.st_dev, info.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    return seen


def _identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def test_creating_a_vault_syncs_the_folder_that_holds_it(tmp_path: Path, synced_folders) -> None:
    folder = tmp_path / "field"
    folder.mkdir()
    Vault.create(folder / "case.evault", TEST_PASSPHRASE, actor="alice").close()
    assert _identity(folder) in synced_folders


def test_a_folder_bundle_syncs_each_of_its_folders_and_its_parent(tmp_path: Path, synced_folders) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    folders = [built.path, *(p for p in built.path.rglob("*") if p.is_dir())]
    assert len(folders) > 1
    missing = [str(p) for p in [*folders, built.path.parent] if _identity(p) not in synced_folders]
    assert not missing, f"not synced: {missing}"


def test_sync_folder_refuses_a_file(tmp_path: Path) -> None:
    plain_file = tmp_path / "note.txt"
    plain_file.write_text("x")
    with pytest.raises(NotADirectoryError):
        sync_folder(plain_file)
