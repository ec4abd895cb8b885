"""Run plain Python callables off the UI thread and report back through Qt signals.

A job is any callable ``job(progress, cancel) -> result`` (see :mod:`app.progress`): the same
functions the command line calls.  :class:`Worker` runs it on a :class:`QThreadPool` and re-emits
progress, result and error as queued signals, so slots always run on the UI thread.  Workers never
touch widgets.  :class:`WorkerPool` is owned by the composition root, which cancels and waits for
every job before the vault is closed or the process exits, but never longer than it says: a job that
ignores its cancel is *abandoned* (:meth:`WorkerPool.shutdown`), so that locking still closes the vault.
An abandoned job delivers no result; whatever it does next ends in :class:`JobAbandoned`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.errors import Cancelled, EvidenceVaultError
from app.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

Job = Callable[[ProgressCallback, CancelToken], Any]


class JobAbandoned(EvidenceVaultError):
    default_message = ("The vault was locked before this task finished, so the task was stopped and nothing "
                       "it was doing was kept. Unlock the vault and start the task again.")


class WorkerSignals(QObject):
    """Signals only: the one thing a worker thread may hold that reaches the UI."""

    progress = Signal(object, object, str)  # done, total, message (Python ints: files exceed 2 GiB)
    result = Signal(object)
    error = Signal(object)  # an EvidenceVaultError (unexpected errors are wrapped)
    cancelled = Signal()
    finished = Signal()  # always last, whatever happened


class Worker(QRunnable):
    """One job on the thread pool.  Connect to ``signals`` before :meth:`WorkerPool.start`."""

    def __init__(self, job: Job, *, name: str = "job") -> None:
        super().__init__()
        self.setAutoDelete(False)  # the pool keeps a Python reference until `finished`
        self.job = job
        self.name = name
        self.cancel_token = CancelToken()
        self.signals = WorkerSignals()
        self.abandoned = False  # set on the UI thread, read on the worker thread (a plain bool is enough)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def abandon(self) -> None:
        """Give up waiting for this job: the vault it uses is about to be closed under it."""
        self.abandoned = True
        self.cancel_token.cancel()

    def _progress(self, done: int, total: int, message: str) -> None:
        # Called on the worker thread; the signal is delivered queued to the UI thread.
        if self.abandoned:
            raise JobAbandoned()
        self._emit("progress", int(done), int(total), str(message))

    def _emit(self, name: str, *args: Any) -> None:
        try:
            getattr(self.signals, name).emit(*args)
        except RuntimeError:
            # The receiver side was torn down (window closed, app quitting): nobody is listening,
            # and the job must still finish cleanly.
            log.debug("job %s: %s signal dropped, its owner is gone", self.name, name)

    def run(self) -> None:
        try:
            self.cancel_token.check()
            value = self.job(self._progress, self.cancel_token)
            if self.abandoned:  # finished after the lock: its result may hold evidence nobody may see now
                raise JobAbandoned()
        except Exception as error:
            if self.abandoned:
                # Whatever the job hit after the vault closed under it (the vault's "locked" error, a
                # closed stream, a cancel) means one thing for the user.
                log.info("job %s ended after it was abandoned: %r", self.name, error)
                if not isinstance(error, JobAbandoned):
                    error = JobAbandoned(debug_detail=repr(error))
                self._emit("error", error)
            else:
                self._report(error)
        else:
            self._emit("result", value)
        finally:
            self._emit("finished")

    def _report(self, error: Exception) -> None:
        if isinstance(error, Cancelled):
            self._emit("cancelled")
        elif isinstance(error, EvidenceVaultError):
            log.debug("job %s failed: %r", self.name, error)
            self._emit("error", error)
        else:  # a bug: keep the UI alive, say something generic
            log.error("job %s failed unexpectedly", self.name)
            log.debug("details", exc_info=error)
            self._emit("error", EvidenceVaultError(debug_detail=repr(error)))


class WorkerPool(QObject):
    """Owns every running worker; the composition root calls :meth:`shutdown` at lock and exit."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._max_threads = max_threads
        self._running: set[Worker] = set()
        # Jobs given up by shutdown but still on a thread: referenced until they end (a QRunnable
        # collected while it runs crashes the process), and each gets a thread of its own so that
        # the next session still has max_threads threads.
        self._abandoned: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        was_idle = not self._running
        self._running.add(worker)
        worker.signals.finished.connect(lambda w=worker: self._finished(w))
        self._pool.start(worker)
        if was_idle:
            self.busy_changed.emit(True)
        return worker

    def run(
        self,
        job: Job,
        *,
        name: str = "job",
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[EvidenceVaultError], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Worker:
        """Convenience: build a worker, connect the given slots (UI thread), start it."""
        worker = Worker(job, name=name)
        if on_progress is not None:
            worker.signals.progress.connect(on_progress)
        if on_result is not None:
            worker.signals.result.connect(on_result)
        if on_error is not None:
            worker.signals.error.connect(on_error)
        if on_cancelled is not None:
            worker.signals.cancelled.connect(on_cancelled)
        if on_finished is not None:
            worker.signals.finished.connect(on_finished)
        return self.start(worker)

    def _finished(self, worker: Worker) -> None:
        if worker in self._abandoned:
            self._abandoned.discard(worker)
            self._pool.setMaxThreadCount(self._max_threads + len(self._abandoned))
            return
        self._running.discard(worker)
        if not self._running:
            self.busy_changed.emit(False)

    @property
    def active_count(self) -> int:
        return len(self._running)

    def cancel_all(self) -> None:
        for worker in list(self._running):
            worker.cancel()

    @property
    def abandoned_count(self) -> int:
        """Jobs that ignored their cancel at the last shutdown and have not ended yet."""
        return len(self._abandoned)

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel everything and wait for the threads, at most ``timeout_ms`` (-1: no limit).

        True when all stopped in time.  Otherwise the jobs still running are abandoned (see
        :meth:`abandon_running`) and False is returned: the caller closes the vault anyway."""
        self.cancel_all()
        if self._pool.waitForDone(timeout_ms):
            return True
        self.abandon_running()
        return False

    def abandon_running(self) -> None:
        """Stop waiting for every job: queued ones never start, running ones deliver nothing more
        than a :class:`JobAbandoned` error whenever they end."""
        was_busy = bool(self._running)
        for worker in list(self._running):
            self._running.discard(worker)
            if self._pool.tryTake(worker):  # still queued behind a stuck job: it never starts
                worker.abandoned = True
                worker.signals.cancelled.emit()
                worker.signals.finished.emit()
                continue
            worker.abandon()
            self._abandoned.add(worker)
            log.warning("job %s did not stop when asked; the vault is closed without waiting for it", worker.name)
        self._pool.setMaxThreadCount(self._max_threads + len(self._abandoned))
        if was_busy:
            self.busy_changed.emit(False)
