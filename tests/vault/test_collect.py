"""One rule for which files an import stores (app/vault/collect.py), used by the CLI and the app alike."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import main
from app.errors import InvalidInput
from app.progress import CancelToken
from app.ui.importer import import_job
from app.vault.collect import collect_files
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
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


# -- nothing is left out silently -------------------------------------------------------------------

def _odd_folder(tmp_path: Path) -> Path:
    """One ordinary file among everything an import leaves out: links (to a file, to a folder, broken, in a
    loop, back up the tree), a named pipe and a socket."""
    folder = tmp_path / "odd"
    (folder / "sub").mkdir(parents=True)
    (folder / "statement.txt").write_text("statement", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("not evidence", encoding="utf-8")
    os.symlink(outside, folder / "link-to-file")
    os.symlink(tmp_path, folder / "link-to-folder")
    os.symlink(tmp_path / "gone", folder / "broken-link")
    os.symlink("loop-b", folder / "loop-a")
    os.symlink("loop-a", folder / "loop-b")
    os.symlink("..", folder / "sub" / "up")
    os.mkfifo(folder / "pipe")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(folder / "sock"))
    return folder


def test_every_entry_left_out_is_listed_with_its_reason(tmp_path: Path) -> None:
    folder = _odd_folder(tmp_path)
    collected = collect_files([folder])
    assert collected == [folder / "statement.txt"]
    reasons = {entry.path.relative_to(folder).as_posix(): entry.reason for entry in collected.skipped}
    link = "it is a shortcut (symbolic link), which is never followed."
    assert reasons == {"link-to-file": link, "link-to-folder": link, "broken-link": link, "loop-a": link,
                       "loop-b": link, "sub/up": link, "pipe": "it is a named pipe (FIFO), not an ordinary file.",
                       "sock": "it is a socket, not an ordinary file."}
    assert not any(entry.unreadable for entry in collected.skipped)
    assert all(entry.line().startswith(str(folder)) for entry in collected.skipped)


def test_an_empty_folder_collects_nothing_and_skips_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty" / "also-empty").mkdir(parents=True)
    collected = collect_files([tmp_path / "empty"])
    assert collected == [] and collected.skipped == []


UNPRIVILEGED = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def unprivileged(command: list[str]) -> list[str]:
    """``command`` without root's power to read any folder (file permissions apply), when run as root."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: folder permissions cannot be made to apply")
    return [*UNPRIVILEGED, *command]


def locked_folder(tmp_path: Path) -> Path:
    """A folder with a readable file and a sub-folder nobody may read (mode 000), as on a card from a
    phone whose app kept its folder private."""
    folder = tmp_path / "card"
    (folder / "private").mkdir(parents=True)
    (folder / "private" / "hidden.txt").write_text("unreachable", encoding="utf-8")
    (folder / "readable.txt").write_text("statement", encoding="utf-8")
    os.chmod(folder / "private", 0)
    for part in (tmp_path, folder):
        os.chmod(part, 0o755)
    return folder


def test_a_subfolder_that_cannot_be_read_is_reported(tmp_path: Path) -> None:
    folder = locked_folder(tmp_path)
    code = ("import json, sys\nfrom app.vault.collect import collect_files\nc = collect_files(sys.argv[1:])\n"
            "print(json.dumps([[str(p) for p in c], [[str(s.path), s.reason, s.unreadable] for s in c.skipped]]))")
    try:
        done = subprocess.run(unprivileged([sys.executable, "-c", code, str(folder)]), cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=60, check=True)
    finally:
        os.chmod(folder / "private", 0o700)
    files, skipped = json.loads(done.stdout)
    assert files == [str(folder / "readable.txt")]
    assert skipped == [[str(folder / "private"), "this folder cannot be read (Permission denied), so nothing in "
                        "it was imported. Check its permissions and import it again.", True]]


def test_the_app_shows_what_was_skipped_and_says_when_there_was_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: object) -> None:
    from app.ui.import_actions import FolderImportSummary, ImportActions, collecting_import_job

    speed_up(monkeypatch)
    folder = _odd_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    vault = new_vault(tmp_path, "app.vault")
    try:
        summary = collecting_import_job(vault, [str(folder)], case_id=None)(lambda *_: None, CancelToken())
        empty = collecting_import_job(vault, [str(tmp_path / "empty")], case_id=None)(lambda *_: None, CancelToken())
        assert [item.original_name for item in vault.list_items()] == ["statement.txt"]
    finally:
        vault.close()
    assert summary.found == 1 and len(summary.stored) == 1 and len(summary.skipped) == 8
    assert f"{folder / 'pipe'}: it is a named pipe (FIFO), not an ordinary file." in summary.skipped
    assert empty == FolderImportSummary(found=0)

    window = ImportActions()
    try:
        window._import_done(summary)
        assert window._import_message == ("1 file(s) stored. 8 skipped (links, special files or folders that "
                                          "cannot be read); see the details.")
        details = window.import_box.detailedText().splitlines()
        assert f"Skipped: {folder / 'sock'}: it is a socket, not an ordinary file." in details
        window._import_done(empty)
        assert window._import_message == "Nothing to import: no files were found there. Nothing was stored."
    finally:
        window.close()
        window.deleteLater()
