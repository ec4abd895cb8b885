"""kill -9 at random moments: the vault must always open and verify, with every item whole or absent,
and a passphrase change must leave exactly one of the two passphrases working."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.errors import WrongPassphrase
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, OTHER_PASSPHRASE, new_vault, speed_up

RUNS = 12


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.vault.crash_worker", *args], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, text=True)


def _timed_full_run(*args: str) -> float:
    process = _worker(*args)
    assert process.stdout is not None and process.stdout.readline().strip() == "start"
    began = time.monotonic()
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and out.strip().endswith("done"), out
    return time.monotonic() - began


def _kill_after(delay: float, *args: str) -> str:
    process = _worker(*args)
    assert process.stdout is not None and process.stdout.readline().strip() == "start"
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    return out


@pytest.mark.slow
def test_kill_during_batch_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    new_vault(tmp_path).close()
    path = tmp_path / "test.vault"
    rng = random.Random(20261125)
    expected: dict[str, str] = {}  # sha256 -> file name, for every file ever offered

    def batch(run: int) -> list[str]:
        names = []
        for index in range(6):
            source = tmp_path / f"run{run}-{index}.bin"
            data = os.urandom(rng.randint(1, 3 * 1024 * 1024))
            source.write_bytes(data)
            expected[hashlib.sha256(data).hexdigest()] = source.name
            names.append(str(source))
        return names

    duration = _timed_full_run("ingest", str(path), TEST_PASSPHRASE, *batch(0))
    killed_mid_batch = 0
    for run in range(1, RUNS + 1):
        # Stratified random moments: one in each slice of the batch's duration.
        delay = duration * (run - 1 + rng.random()) / RUNS
        out = _kill_after(delay, "ingest", str(path), TEST_PASSPHRASE, *batch(run))
        killed_mid_batch += "done" not in out
        with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
            report = v.verify(record=False)
            assert report.ok, (run, report.problems)
            for item in v.list_items():
                assert item.sha256 in expected
                with v.open_original(item.id) as original:
                    assert hashlib.sha256(original.read()).hexdigest() == item.sha256
            with v._read() as conn:  # nothing half-written: no blob without an item, no stray chunk
                assert conn.execute(
                    "SELECT count(*) FROM blobs WHERE id NOT IN (SELECT blob_id FROM items)").fetchone() == (0,)
                assert conn.execute(
                    "SELECT count(*) FROM chunks WHERE blob_id NOT IN (SELECT blob_id FROM items)").fetchone() == (0,)
    assert killed_mid_batch >= 3  # the kills really landed during work


@pytest.mark.slow
def test_kill_during_passphrase_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = tmp_path / "test.vault"
    with new_vault(tmp_path) as v:
        for index in range(4):
            source = tmp_path / f"f{index}.bin"
            source.write_bytes(os.urandom(1024 * 1024))
            v.ingest_file(source)
    rng = random.Random(7)
    current, other = TEST_PASSPHRASE, OTHER_PASSPHRASE
    duration = _timed_full_run("rekey", str(path), current, other)
    current, other = other, current
    outcomes = {"old": 0, "new": 0}
    for run in range(RUNS):
        _kill_after(duration * 1.2 * (run + rng.random()) / RUNS, "rekey", str(path), current, other)
        try:
            vault = Vault.open(path, current, actor=ACTOR)
            outcomes["old"] += 1
        except WrongPassphrase:
            vault = Vault.open(path, other, actor=ACTOR)  # must work when the old one does not
            outcomes["new"] += 1
            assert vault.events()[-1].action == "passphrase_changed"
            current, other = other, current
        with vault:
            assert vault.verify(record=False).ok
            assert len(vault.list_items()) == 4
        leftovers = [p.name for p in tmp_path.iterdir() if ".rekey-" in p.name]
        assert leftovers == []  # removed at open
    assert outcomes["old"] and outcomes["new"], outcomes
