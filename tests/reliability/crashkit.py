"""Helpers for the kill -9 tests: start a worker, kill it at a random moment, check the vault after."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import WrongPassphrase
from app.vault import recovery
from tests.conftest import PROJECT_ROOT
from tests.vault.vaultkit import ACTOR


@dataclass
class Run:
    killed_during_work: bool
    output: str
    seconds: float


def start_worker(*args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.reliability.crash_worker", *args], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "start":
        _, err = process.communicate(timeout=60)
        raise AssertionError(f"worker failed to start: {line!r} {err[-2000:]}")
    return process


def full_run(*args: str) -> float:
    """Run the operation to the end (the control run); returns its duration after "start"."""
    process = start_worker(*args)
    began = time.monotonic()
    assert process.stdout is not None
    finished = began
    for line in process.stdout:  # the work ends at "done"; interpreter teardown is not counted
        if line.strip() == "done":
            finished = time.monotonic()
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0 and finished > began, (out, err[-3000:])
    return finished - began


def kill_after(delay: float, *args: str) -> Run:
    process = start_worker(*args)
    began = time.monotonic()
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    return Run(killed_during_work="done" not in out, output=out, seconds=time.monotonic() - began)


def open_either(path: Path, *passphrases: str):
    """Open with the first passphrase that works; the vault must open with one of them."""
    last: Exception | None = None
    for passphrase in passphrases:
        try:
            return recovery.open_vault(path, passphrase, actor=ACTOR), passphrase
        except WrongPassphrase as exc:
            last = exc
    raise AssertionError(f"the vault opens with none of the passphrases: {last!r}")


def check_whole(vault) -> None:
    """verify() passes; nothing half-written: every blob and chunk belongs to an item, every item has
    exactly one item_ingested event, every event's item exists, originals read back to their hash."""
    report = vault.verify(record=False)
    assert report.ok, report.problems
    with vault._read() as conn:
        assert conn.execute(
            "SELECT count(*) FROM blobs WHERE id NOT IN (SELECT blob_id FROM items)").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM chunks WHERE blob_id NOT IN (SELECT blob_id FROM items)").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM blobs WHERE sha256 IS NULL").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM items i WHERE (SELECT count(*) FROM events e WHERE e.item_id = i.id "
            "AND e.action = 'item_ingested') != 1").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM events WHERE item_id IS NOT NULL AND item_id NOT IN (SELECT id FROM items)"
        ).fetchone() == (0,)
    for item in vault.list_items():
        with vault.open_original(item.id) as stream:
            digest = hashlib.sha256()
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == item.sha256


def stale_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".rekey-" in p.name or ".creating-" in p.name
                  or ".keyslot-" in p.name)
