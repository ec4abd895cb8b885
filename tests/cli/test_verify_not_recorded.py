"""``verify`` of an intact vault whose ``verified`` event cannot be written says truthfully why (audit
finding: on a full disk it said "the vault was opened read-only", which was false)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.cli.main import main
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.reliability.test_environment import small_filesystem
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, speed_up

READ_ONLY = "the vault was opened read-only"
DISK_FULL = "the disk holding the vault is full. Free some space and run verify again to record it."


def _vault(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(folder) as vault:
        vault.add_case("Not recorded")
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    return folder / "test.vault"


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--vault", str(path), "--actor", ACTOR, *extra, "verify"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out


def _verified_events(path: Path) -> int:
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        return sum(event.action == "verified" for event in vault.events())


def _fill(folder: Path) -> Path:
    """Fill the file system to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * (1 << 16))
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_full_disk_is_named_not_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The audit's case, on a real full file system: the verification runs (exit 0, intact), its event does
    not fit, and the message says so and what to do; with room again, verify records it."""
    with small_filesystem(tmp_path / "small", "16m") as small:
        path = _vault(small, monkeypatch)
        filler = _fill(small)
        code, out = _verify(path, capsys)
        assert code == 0 and out.startswith("Intact:")
        assert DISK_FULL in out and READ_ONLY not in out
        filler.unlink()
        assert _verified_events(path) == 0
        code, out = _verify(path, capsys)
        assert code == 0 and "Not recorded" not in out
        assert _verified_events(path) == 1


def test_another_write_failure_is_not_called_a_full_disk_or_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = _vault(tmp_path, monkeypatch)
    conn = raw_connect(path)  # an insider's trigger refuses every new event
    conn.execute("CREATE TRIGGER no_more BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END")
    conn.close()
    code, out = _verify(path, capsys)
    assert code == 0
    assert "Not recorded in the custody log: the vault could not be written to." in out
    assert "full" not in out and READ_ONLY not in out


def test_read_only_still_says_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _vault(tmp_path, monkeypatch)
    code, out = _verify(path, capsys, "--read-only")
    assert code == 0 and f"(Not recorded in the custody log: {READ_ONLY}.)" in out
