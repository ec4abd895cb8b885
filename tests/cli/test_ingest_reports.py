"""`evidence-vault ingest FOLDER` says what it did not import: one line per entry left out (links, pipes,
sockets, sub-folders that cannot be read) and "Nothing to import" for an empty folder; exit 1 when something
could not be read or nothing was imported (app/cli/vault_cmds.py, app/vault/collect.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CHEAP_KDF_ITER, PROJECT_ROOT, TEST_PASSPHRASE
from tests.vault.test_collect import _odd_folder, locked_folder, unprivileged

LINK = "it is a shortcut (symbolic link), which is never followed."


def test_an_empty_folder_says_nothing_to_import(cli, tmp_path: Path) -> None:
    cli("init")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    out, err = cli("ingest", str(tmp_path / "empty"), expect=1)
    assert out == ""
    assert err == "evidence-vault: Nothing to import: no files were found there. Nothing was stored.\n"


def test_a_folder_of_links_only_lists_them_and_says_nothing_to_import(cli, tmp_path: Path) -> None:
    cli("init")
    folder = tmp_path / "links"
    folder.mkdir()
    os.symlink("/etc/hostname", folder / "a")
    out, err = cli("ingest", str(folder), expect=1)
    assert out == "" and err.splitlines() == [
        f"evidence-vault: skipped {folder / 'a'}: {LINK}",
        "evidence-vault: Nothing to import: no files were found there. Nothing was stored."]


def test_each_entry_left_out_gets_one_line_and_the_file_goes_in(cli, tmp_path: Path) -> None:
    cli("init")
    folder = _odd_folder(tmp_path)
    out, err = cli("ingest", str(folder))  # left out by rule, each reported: not a failure
    assert len(out.split()) == 1
    lines = err.splitlines()
    assert len(lines) == 8 and all(line.startswith(f"evidence-vault: skipped {folder}") for line in lines)
    assert f"evidence-vault: skipped {folder / 'loop-a'}: {LINK}" in lines
    assert f"evidence-vault: skipped {folder / 'sub' / 'up'}: {LINK}" in lines
    assert f"evidence-vault: skipped {folder / 'pipe'}: it is a named pipe (FIFO), not an ordinary file." in lines


def test_a_subfolder_that_cannot_be_read_is_named_and_the_exit_code_is_1(tmp_path: Path) -> None:
    folder = locked_folder(tmp_path)
    vault = tmp_path / "case.vault"
    code = (f"import sys; from app.vault import db; db._unsafe_kdf_iter_for_tests = {CHEAP_KDF_ITER}\n"
            "from app.cli.main import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "EVIDENCE_VAULT_PASSPHRASE": TEST_PASSPHRASE}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(unprivileged([sys.executable, "-c", code, "--vault", str(vault), *args]),
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)

    try:
        assert run("init").returncode == 0
        done = run("ingest", str(folder))
    finally:
        os.chmod(folder / "private", 0o700)
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.split()) == 1  # readable.txt went in
    assert done.stderr.splitlines() == [
        f"evidence-vault: skipped {folder / 'private'}: this folder cannot be read (Permission denied), so "
        "nothing in it was imported. Check its permissions and import it again."]
