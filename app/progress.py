"""Progress reporting and cancellation for long work (ingest, hashing, redaction, export).

Long operations take ``progress`` (a callable) and ``cancel`` (a :class:`CancelToken`).  They
call ``progress(done, total, message)`` every so often and ``cancel.check()`` between steps;
``check`` raises :class:`~app.errors.Cancelled`.  Nothing here knows about Qt: the GUI wraps
the same callable in a signal, the command line in a terminal progress bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.errors import Cancelled

ProgressCallback = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str) -> None:
    """The default progress callback: does nothing."""


class CancelToken:
    """Thread-safe cancellation flag shared between a worker and whoever may cancel it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
