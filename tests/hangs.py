"""Running a call that must not block (on a named pipe, say) without letting a regression hang the run."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def finishes(call: Callable[[], Any], *, fifo: Path | None = None, seconds: float = 60) -> Any:
    """Run ``call`` in a thread and return what it returned (or raise what it raised); fail the test,
    instead of hanging, if it has not ended within ``seconds``.  A reader stuck on ``fifo`` is released
    (given an end of file) before failing."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(seconds)
        pytest.fail(f"still running after {seconds} s: it waits on the named pipe instead of refusing it")
    returned, value = outcome[0]
    if not returned:
        raise value
    return value
