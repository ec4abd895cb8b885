"""The generic worker: result, progress, errors and cancel arrive as signals on the UI thread."""

from __future__ import annotations

import threading

from app.errors import EvidenceVaultError, WrongPassphrase
from app.ui.workers import Worker, WorkerPool


def test_result_and_progress_arrive_on_the_ui_thread(qtbot):
    pool = WorkerPool()
    seen: list[tuple[int, int, str, bool]] = []
    ui_thread = threading.get_ident()
    job_threads: list[int] = []

    def job(progress, cancel):
        job_threads.append(threading.get_ident())
        for i in range(3):
            cancel.check()
            progress(i + 1, 3, f"step {i + 1}")
        return 5 * 2**40  # bigger than a C int: progress and results carry Python ints

    worker = Worker(job)
    worker.signals.progress.connect(lambda d, t, m: seen.append((d, t, m, threading.get_ident() == ui_thread)))
    with qtbot.waitSignal(worker.signals.result, timeout=5000) as blocker:
        pool.start(worker)
    assert blocker.args == [5 * 2**40]
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert [s[:3] for s in seen] == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
    assert all(s[3] for s in seen)
    assert job_threads and job_threads[0] != ui_thread
    assert pool.shutdown(5000)


def test_vault_errors_pass_through_and_bugs_are_wrapped(qtbot):
    pool = WorkerPool()
    first = Worker(lambda p, c: (_ for _ in ()).throw(WrongPassphrase()))
    with qtbot.waitSignal(first.signals.error, timeout=5000) as b:  # connected before the job can finish
        pool.start(first)
    assert isinstance(b.args[0], WrongPassphrase)

    def buggy(progress, cancel):
        raise KeyError("/home/alice/secret-evidence.jpg")

    worker = Worker(buggy)
    with qtbot.waitSignal(worker.signals.error, timeout=5000) as blocker:
        pool.start(worker)
    error = blocker.args[0]
    assert type(error) is EvidenceVaultError
    assert "secret-evidence" not in error.user_message()  # paths never reach a dialog
    pool.shutdown(5000)


def test_cancel_stops_the_job_and_shutdown_waits(qtbot):
    pool = WorkerPool()
    started = threading.Event()
    finished_loops: list[int] = []

    def long_job(progress, cancel):
        started.set()
        for i in range(10_000):
            cancel.check()
            threading.Event().wait(0.001)
            finished_loops.append(i)
        return "done"

    worker = Worker(long_job)
    results: list[object] = []
    worker.signals.result.connect(results.append)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000):
        pool.start(worker)
        assert started.wait(5)
        worker.cancel()
    assert pool.shutdown(5000)
    assert results == []
    assert len(finished_loops) < 10_000
    qtbot.waitUntil(lambda: pool.active_count == 0)
