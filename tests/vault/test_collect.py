"""One rule for which files an import stores (app/vault/collect.py), used by the CLI and the app alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli.main import main
from app.errors import InvalidInput
from app.progress import CancelToken
from app.ui.importer import import_job
from app.vault.collect import collect_files
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import new_vault, speed_up


def _evidence_folder(tmp_path: Path) -> Path:
    """A folder with nested sub-folders, names that sort differently as paths and per folder, and
    links to a file and a folder outside it."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private.txt").write_text("not evidence", encoding="utf-8")
    card = tmp_path / "card"
    (card / "b-sub" / "deeper").mkdir(parents=True)
    (card / "a-sub").mkdir()
    for name, text in {"z.txt": "z", "c.txt": "c", "a-sub/m.txt": "m", "b-sub/x.txt": "x",
                       "b-sub/deeper/y.txt": "y"}.items():
        (card / name).write_text(f"statement {text}", encoding="utf-8")
    os.symlink(outside / "private.txt", card / "link.txt")
    os.symlink(outside, card / "linked-folder")
    return card


def test_folders_are_walked_in_a_stable_order_without_following_links(tmp_path: Path) -> None:
    card = _evidence_folder(tmp_path)
    single = tmp_path / "single.txt"
    single.write_text("one", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in collect_files([card, single])]
    assert found == ["card/c.txt", "card/z.txt", "card/a-sub/m.txt", "card/b-sub/x.txt",
                     "card/b-sub/deeper/y.txt", "single.txt"]


def test_a_named_link_or_missing_path_stops_the_import_before_anything_is_stored(tmp_path: Path) -> None:
    card = _evidence_folder(tmp_path)
    with pytest.raises(InvalidInput, match="symbolic link"):
        collect_files([card, card / "link.txt"])
    with pytest.raises(InvalidInput, match="not a file or folder"):
        collect_files([card, tmp_path / "missing.txt"])


def test_cli_and_app_import_the_same_files_from_the_same_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    speed_up(monkeypatch)
    card = _evidence_folder(tmp_path)
    single = tmp_path / "single.txt"
    single.write_text("one", encoding="utf-8")
    paths = [str(card), str(single)]

    # The command line.
    cli_vault = tmp_path / "cli.vault"
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    assert main(["--vault", str(cli_vault), "--actor", "tester", "init"]) == 0
    assert main(["--vault", str(cli_vault), "--actor", "tester", "ingest", *paths]) == 0, capsys.readouterr().err
    capsys.readouterr()
    opened = Vault.open(cli_vault, TEST_PASSPHRASE, actor="tester")
    try:
        by_cli = [(item.original_name, item.sha256) for item in opened.list_items()]
    finally:
        opened.close()

    # The app's Import job (the same job the main window runs on its worker thread).
    app_vault = new_vault(tmp_path, "app.vault")
    try:
        summary = import_job(app_vault, paths, case_id=None)(lambda *_: None, CancelToken())
        assert not summary.failed and not summary.cancelled
        by_app = [(item.original_name, item.sha256) for item in app_vault.list_items()]
    finally:
        app_vault.close()

    assert len(by_cli) == 6 and "private.txt" not in {name for name, _ in by_cli}
    assert by_cli == by_app
