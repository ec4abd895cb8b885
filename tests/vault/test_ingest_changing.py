"""A file that changes while it is being imported is refused and nothing of it is stored (app/vault/ingest.py,
SteadyFile).  The change is made to a real file on disk, from the ingest's own progress callback after the
first chunk, so it always lands mid-read."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli.main import main
from app.progress import CancelToken
from app.ui.importer import import_job
from app.vault import ingest
from app.vault.blobs import CHUNK_SIZE
from app.vault.ingest import FileChanged
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.reliability.crashkit import check_whole
from tests.vault.vaultkit import fast_vault, speed_up

SIZE = 3 * CHUNK_SIZE + 12_345


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vault]:
    yield from fast_vault(tmp_path, monkeypatch)


def _source(path: Path, size: int = SIZE) -> Path:
    path.write_bytes(os.urandom(size))
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))  # clearly older than any change
    return path


def _rewrite(path: Path) -> None:
    """Same size, new bytes, written in place (a copy tool still at work)."""
    with open(path, "r+b") as handle:
        handle.write(os.urandom(path.stat().st_size))


def _shrink(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 3)


def _grow(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(os.urandom(CHUNK_SIZE))


def _replace(path: Path) -> None:
    """A new version put in place under the same name (an editor's save, a copy tool's final rename)."""
    other = path.with_name(path.name + ".new")
    other.write_bytes(os.urandom(path.stat().st_size))
    os.replace(other, path)


def _restore_times(path: Path) -> None:
    """Rewritten, with the old modification time put back: only the change time tells."""
    _rewrite(path)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))


def _after_first_chunk(change: Callable[[], None]) -> Callable[[int, int, str], None]:
    done: list[bool] = []

    def progress(_done: int, _total: int, _label: str) -> None:
        if not done:
            done.append(True)
            change()
    return progress


def _nothing_stored(vault: Vault, events_before: int) -> None:
    check_whole(vault)  # no blob or chunk without its item: the partial copy was rolled back
    assert vault.list_items() == [] and len(vault.events()) == events_before
    with vault._read() as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (0,)


@pytest.mark.parametrize("change", [_rewrite, _shrink, _grow, _replace, _restore_times],
                         ids=["rewritten", "shrunk", "grown", "replaced", "rewritten-mtime-restored"])
def test_a_file_changed_mid_read_is_refused_and_nothing_is_stored(vault: Vault, tmp_path: Path,
                                                                  change: Callable[[Path], None]) -> None:
    source = _source(tmp_path / "statement.bin")
    events_before = len(vault.events())
    with pytest.raises(FileChanged) as caught:
        vault.ingest_file(source, progress=_after_first_chunk(lambda: change(source)))
    assert caught.value.user_message() == (
        "This file changed while it was being read (it is still being written or copied?). Nothing was stored "
        "from it. Wait until it is complete and import it again.")
    _nothing_stored(vault, events_before)
    # Once it is complete and steady, it goes in: the refusal held nothing back.
    assert vault.ingest_file(source).sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_change_after_the_last_chunk_is_caught_too(vault: Vault, tmp_path: Path) -> None:
    source = _source(tmp_path / "short.txt", 1000)  # one chunk: the change comes after the only read
    events_before = len(vault.events())
    with pytest.raises(FileChanged):
        vault.ingest_file(source, progress=_after_first_chunk(lambda: _rewrite(source)))
    _nothing_stored(vault, events_before)


def test_a_steady_file_is_stored_as_before(vault: Vault, tmp_path: Path) -> None:
    source = _source(tmp_path / "steady.bin")
    result = vault.ingest_file(source, progress=lambda *_: None)
    assert result.size == SIZE
    with vault.open_original(result.item_id) as stream:
        assert stream.read() == source.read_bytes()


def test_a_changing_file_does_not_stop_the_others_in_the_app_import(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    files = [_source(folder / f"{name}.bin") for name in ("a", "b", "c")]
    changed: list[bool] = []

    def progress(done: int, _total: int, label: str) -> None:
        # "2/3" is b.bin; the first call with bytes done past a.bin comes after b.bin's first chunk
        if label == "2/3" and done > SIZE and not changed:
            changed.append(True)
            _rewrite(files[1])

    summary = import_job(vault, [str(folder)], case_id=None)(progress, CancelToken())
    assert changed and len(summary.stored) == 2 and not summary.cancelled
    assert summary.failed == [("b.bin", FileChanged().user_message())]
    assert sorted(item.original_name for item in vault.list_items()) == ["a.bin", "c.bin"]
    check_whole(vault)


def test_the_cli_names_the_changed_file_and_stores_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    files = [_source(folder / f"{name}.bin") for name in ("a", "b", "c")]
    real_read = ingest.SteadyFile.read
    changed: list[bool] = []

    def read(self: ingest.SteadyFile, size: int = -1) -> bytes:
        data = real_read(self, size)
        if self._path == files[1] and not changed:  # after b.bin's first chunk was read
            changed.append(True)
            _rewrite(files[1])
        return data

    speed_up(monkeypatch)
    monkeypatch.setattr(ingest.SteadyFile, "read", read)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    path = str(tmp_path / "cli.vault")
    assert main(["--vault", path, "--actor", "tester", "init"]) == 0
    capsys.readouterr()
    assert main(["--vault", path, "--actor", "tester", "ingest", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert len(out.split()) == 2  # two item ids
    assert err.strip() == ("evidence-vault: b.bin changed while it was being read (it is still being written or "
                           "copied?). Nothing was stored from it. Wait until it is complete and import it again.")
    with Vault.open(path, TEST_PASSPHRASE, actor="tester") as opened:
        assert sorted(item.original_name for item in opened.list_items()) == ["a.bin", "c.bin"]
        check_whole(opened)
