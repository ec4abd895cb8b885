"""Lock, panic and exit close the vault even while a worker job ignores its cancel (tracker #10).

The stuck job holds an open stream on a real original and blocks on an Event that only the test
releases; until then the vault must already be closed, its keys dropped, the lock screen shown and
the event loop (and the worker pool) still usable.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.errors import EvidenceVaultError
from app.ui.workers import JobAbandoned
from app.vault.vault import Vault
from tests.ui.conftest import make_png

SAFETY_S = 30  # only so that a broken lock cannot hang the suite: the test releases the job itself


class StuckJob:
    """A job that opens an original, reads from it, then waits for `release` whatever its cancel says."""

    def __init__(self, vault: Any, item_id: int) -> None:
        self.vault, self.item_id = vault, item_id
        self.entered = threading.Event()
        self.release = threading.Event()
        self.vault_error: BaseException | None = None

    def __call__(self, progress: Any, cancel: Any) -> bytes:
        stream = self.vault.open_original(self.item_id)
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
        self.entered.set()
        self.release.wait(SAFETY_S)  # ignores `cancel` on purpose
        try:
            self.vault.get_item(self.item_id)  # the vault was closed meanwhile
        except Exception as error:
            self.vault_error = error
        return stream.read(64)  # and so was its stream


@pytest.fixture
def stuck(unlocked: Any, tmp_path: Path) -> Iterator[tuple[StuckJob, Any, list[Any]]]:
    vault = unlocked.vault
    item_id = vault.ingest_file(make_png(tmp_path / "photo.png"), title="photo").item_id
    job = StuckJob(vault, item_id)
    errors: list[Any] = []
    results: list[Any] = []
    worker = unlocked.pool.run(job, name="stuck", on_error=errors.append, on_result=results.append)
    assert job.entered.wait(10)
    yield job, worker, errors
    job.release.set()  # before the `ui` fixture shuts the app down
    assert results == []  # an abandoned job never delivers a result


def _trigger(ui: Any, how: str) -> Callable[[], None]:
    if how == "shutdown":
        return ui.shutdown
    return getattr(ui.main_window, how).trigger


@pytest.mark.parametrize("how", ["lock_action", "panic_action", "shutdown"])
def test_lock_closes_the_vault_while_a_job_is_stuck(unlocked, stuck, qtbot, vault_path, passphrase, how) -> None:
    job, _worker, errors = stuck
    vault = unlocked.vault
    locked_while_stuck: list[bool] = []
    unlocked.locked.connect(lambda: locked_while_stuck.append(not job.release.is_set()))

    _trigger(unlocked, how)()

    assert locked_while_stuck == [True]  # the lock did not wait for the job
    assert not vault.is_open
    assert vault._conn is None and vault._signing_key is None and vault._seal is None
    assert vault._raw_key is None and vault._record_key_cache is None
    assert unlocked.vault is None and unlocked.gate is None and unlocked.main_window is None
    if how != "shutdown":
        assert unlocked.start_window.isVisible()
        assert all(w is unlocked.start_window for w in QApplication.topLevelWidgets() if w.isVisible())
    # The file lock was released: the vault opens elsewhere, and its custody log says why it was locked.
    reopened = Vault.open(vault_path, passphrase, actor="check")
    try:
        reason = {"lock_action": "manual", "panic_action": "panic", "shutdown": "exit"}[how]
        assert (reopened.events()[-1].action, reopened.events()[-1].details) == ("locked", {"reason": reason})
    finally:
        reopened.close()
    # The event loop still runs while the job is stuck.
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True], timeout=2000)
    assert not job.release.is_set()

    # Released, the job finds the vault locked and ends in one plain sentence, without crashing.
    job.release.set()
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=2000)
    assert isinstance(job.vault_error, EvidenceVaultError) and "locked" in job.vault_error.user_message()
    assert isinstance(errors[0], JobAbandoned)
    assert errors[0].user_message().startswith("The vault was locked before this task finished")
    qtbot.waitUntil(lambda: unlocked.pool.abandoned_count == 0, timeout=2000)


def test_queued_jobs_are_dropped_and_the_next_session_still_runs_jobs(unlocked, stuck, qtbot, vault_path,
                                                                      passphrase) -> None:
    job, _worker, _errors = stuck
    ran: list[int] = []
    cancelled: list[bool] = []
    unlocked.pool.run(lambda p, c: ran.append(1), name="queued", on_cancelled=lambda: cancelled.append(True))
    unlocked.main_window.lock_action.trigger()
    assert cancelled == [True] and unlocked.pool.active_count == 0

    # Unlocking runs on the same pool, whose one thread is still taken by the stuck job.
    start = unlocked.start_window
    start.open_path.setText(str(vault_path))
    start.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(unlocked.unlocked, timeout=10_000):
        start.unlock_button.click()
    fresh: list[str] = []
    unlocked.pool.run(lambda p, c: "fresh", on_result=fresh.append)  # slots connected before it starts
    qtbot.waitUntil(lambda: fresh == ["fresh"], timeout=10_000)
    assert not job.release.is_set() and unlocked.pool.abandoned_count == 1
    assert ran == []  # the job queued before the lock never ran


def test_lock_while_a_job_is_busy_reading_an_original(unlocked, tmp_path, qtbot, vault_path, passphrase) -> None:
    """A job inside read() when the vault closes: it waits for the vault's lock while holding its stream's."""
    vault = unlocked.vault
    source = tmp_path / "noise.bin"
    source.write_bytes(random.Random(14).randbytes(3 * 1024 * 1024))  # several chunks: reads go to SQLite
    item_id = vault.ingest_file(source, kind="document").item_id
    reading = threading.Event()
    errors: list[Any] = []

    def busy_reader(progress: Any, cancel: Any) -> None:
        stream = vault.open_original(item_id)
        while True:  # never looks at `cancel`; ends only when a read fails
            stream.seek(0)
            while stream.read(7000):
                reading.set()

    unlocked.pool.run(busy_reader, name="reader", on_error=errors.append)
    assert reading.wait(10)
    unlocked.main_window.lock_action.trigger()
    assert not vault.is_open and vault._signing_key is None
    assert unlocked.start_window.isVisible()
    Vault.open(vault_path, passphrase, actor="check").close()  # really closed: the file lock was released
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=2000)
    assert isinstance(errors[0], JobAbandoned)
    assert "locked" in errors[0].debug_detail  # what the job hit: the vault's own "The vault is locked"
