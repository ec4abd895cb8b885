"""The one way the app starts ffmpeg and ffprobe.

A child process writing to a pipe nobody reads blocks forever; ffmpeg writes a line to stderr
for every damaged packet, so a damaged file overflows the 64 KiB pipe quickly.  Every run here
therefore drains stderr on its own thread from the start (keeping only a bounded tail for error
messages), can be fed stdin from a stream on another thread, is watched for a time limit and for
cancellation, and is always killed (SIGKILL) and reaped with its threads joined on every way
out: normal end, exception, cancel, timeout.

``FfmpegProcess`` streams stdout to the caller (or captures it); :func:`run` is the short form
for commands whose whole output is small (ffprobe JSON, ``-filters``, ``-version``).
"""

from __future__ import annotations

import collections
import contextlib
import io
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

from app.errors import Cancelled, CorruptMedia, MediaError, UnsupportedMedia
from app.progress import CancelToken

CancelSource = Callable[[], bool] | threading.Event | CancelToken
FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
STDERR_KEEP = 64 * 1024
_CHUNK = 1 << 20
_POLL = 0.05


class MediaTimeout(MediaError):
    """ffmpeg or ffprobe ran past its time limit and was stopped."""

    default_message = (
        "Reading this file took far longer than expected and was stopped: it may be damaged. "
        "Check the file (play it, or ingest it again from the original), then try again."
    )


def tool_missing(exc: OSError) -> UnsupportedMedia:
    return UnsupportedMedia(
        "ffmpeg is not installed on this computer, so videos and recordings cannot be processed. "
        "Install ffmpeg (Debian/Ubuntu: 'apt install ffmpeg') and try again.",
        debug_detail=str(exc),
    )


def decode_failure(detail: str, message: str | None = None) -> CorruptMedia:
    """The error for a non-zero exit: plain words for people, ffmpeg's stderr tail for debugging."""
    return CorruptMedia(
        message or "The file could not be decoded: it seems damaged or truncated. Check the original "
        "file (play it, or copy it again from the device), then try again.",
        debug_detail=detail,
    )


def is_cancelled(cancel: CancelSource | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    flag = getattr(cancel, "cancelled", None)  # app.progress.CancelToken
    if isinstance(flag, bool):
        return flag
    if callable(cancel):
        return bool(cancel())
    raise TypeError(f"cancel must be an Event, a CancelToken or a callable, not {type(cancel).__name__}")


class _Tail:
    """Drains a pipe until EOF, keeping only the last ``keep`` bytes."""

    def __init__(self, pipe: IO[bytes], keep: int) -> None:
        self._parts: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._keep = keep
        self.total = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, args=(pipe,), name="ffmpeg-stderr", daemon=True)
        self.thread.start()

    def _run(self, pipe: IO[bytes]) -> None:
        reader = cast(io.BufferedReader, pipe)  # Popen's default buffering: read1 returns what is there
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: reader.read1(65536), b""):
                with self._lock:
                    self._parts.append(chunk)
                    self._size += len(chunk)
                    self.total += len(chunk)
                    while self._size > self._keep and len(self._parts) > 1:
                        self._size -= len(self._parts.popleft())
        with contextlib.suppress(OSError, ValueError):
            pipe.close()

    def text(self) -> str:
        with self._lock:
            data = b"".join(self._parts)
        return data[-self._keep:].decode("utf-8", "replace")


class FfmpegProcess:
    """One ffmpeg/ffprobe child.  Use as a context manager; leaving it always kills and reaps.

    ``feed``: a seekable stream copied (from its start) into the child's stdin on a thread.
    ``stdin_pipe``: give the caller ``stdin`` to write to instead.  ``capture_stdout``: collect
    stdout on a thread (read it with :meth:`output` after :meth:`wait`); otherwise the caller reads
    :attr:`stdout`.  ``time_limit`` (seconds, from start) and ``cancel`` make a watchdog kill the
    child; :meth:`wait` then raises :class:`MediaTimeout` or :class:`Cancelled`.
    """

    def __init__(self, command: Sequence[str], *, feed: BinaryIO | None = None, stdin_pipe: bool = False,
                 pass_fds: Sequence[int] = (), time_limit: float | None = None,
                 cancel: CancelSource | None = None, capture_stdout: bool = False,
                 stderr_keep: int = STDERR_KEEP) -> None:
        if feed is not None and stdin_pipe:
            raise ValueError("feed and stdin_pipe are exclusive")
        self.command = list(command)
        self._feed_source = feed
        self._stdin_pipe = stdin_pipe
        self._pass_fds = tuple(pass_fds)
        self._time_limit = time_limit
        self._cancel = cancel
        self._capture = capture_stdout
        self._stderr_keep = stderr_keep
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: _Tail | None = None
        self._threads: list[threading.Thread] = []
        self._captured: list[bytes] = []
        self._done = threading.Event()
        self.stopped_because: str | None = None  # "timeout" or "cancelled" once the watchdog killed it

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> FfmpegProcess:
        if self._proc is not None:
            return self
        stdin = subprocess.PIPE if (self._feed_source is not None or self._stdin_pipe) else subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(self.command, stdin=stdin, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, pass_fds=self._pass_fds)
        except OSError as exc:
            raise tool_missing(exc) from exc
        assert self._proc.stderr is not None and self._proc.stdout is not None
        self._stderr = _Tail(self._proc.stderr, self._stderr_keep)
        if self._feed_source is not None:
            self._spawn(self._feed, "ffmpeg-feed")
        if self._capture:
            self._spawn(self._collect, "ffmpeg-stdout")
        if self._time_limit is not None or self._cancel is not None:
            self._spawn(self._watch, "ffmpeg-watchdog")
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _feed(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None and self._feed_source is not None
        stdin, source = self._proc.stdin, self._feed_source
        try:
            source.seek(0)
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                stdin.write(chunk)
        except (BrokenPipeError, ValueError, OSError):
            pass  # the child stopped reading (probe finished, or it was killed)
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    def _collect(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        reader = cast(io.BufferedReader, self._proc.stdout)
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: reader.read1(_CHUNK), b""):
                self._captured.append(chunk)

    def _watch(self) -> None:
        assert self._proc is not None
        deadline = None if self._time_limit is None else time.monotonic() + self._time_limit
        while not self._done.wait(_POLL):
            if self._proc.poll() is not None:
                return
            reason = None
            if is_cancelled(self._cancel):
                reason = "cancelled"
            elif deadline is not None and time.monotonic() >= deadline:
                reason = "timeout"
            if reason is not None:
                self.stopped_because = reason
                self._kill()
                return

    def _kill(self) -> None:
        """SIGKILL, not SIGTERM: ffmpeg answers SIGTERM by flushing into a pipe nobody reads."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            proc.kill()

    # -- for the caller ----------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the child now and reap it (threads are joined by :meth:`close`)."""
        self._kill()
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=10)

    @property
    def popen(self) -> subprocess.Popen[bytes] | None:
        return self._proc

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def stdout(self) -> io.BufferedReader:
        assert self._proc is not None and self._proc.stdout is not None and not self._capture
        return cast(io.BufferedReader, self._proc.stdout)

    @property
    def stdin(self) -> BinaryIO:
        assert self._proc is not None and self._proc.stdin is not None and self._stdin_pipe
        return cast(BinaryIO, self._proc.stdin)

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stderr_tail(self) -> str:
        """The end of what the child wrote to stderr (complete once it has exited)."""
        if self._stderr is None:
            return ""
        if self._proc is not None and self._proc.poll() is not None:
            self._stderr.thread.join(timeout=5)
        return self._stderr.text()

    def stderr_bytes_seen(self) -> int:
        return self._stderr.total if self._stderr is not None else 0

    def output(self) -> bytes:
        """Captured stdout (``capture_stdout=True``), complete after :meth:`wait`."""
        return b"".join(self._captured)

    def raise_if_stopped(self) -> None:
        """Raise what the watchdog did, if it killed the child."""
        if self.stopped_because == "cancelled":
            raise Cancelled()
        if self.stopped_because == "timeout":
            raise MediaTimeout(debug_detail=f"time limit {self._time_limit}s; stderr: {self.stderr_tail()}")

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code.  Raises if the watchdog stopped the child, or on ``timeout``
        (the child is then killed and reaped: it never outlives this call's failure)."""
        self.start()
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stopped_because = self.stopped_because or "timeout"
            self._kill()
            self._proc.wait()
            raise MediaTimeout(debug_detail=f"wait {timeout}s; stderr: {self.stderr_tail()}") from exc
        for thread in self._threads:
            if thread.name == "ffmpeg-stdout":
                thread.join()
        self.raise_if_stopped()
        return code

    def close(self) -> None:
        """Kill if still running, reap, close pipes, join every thread.  Idempotent, never raises."""
        self._done.set()
        proc = self._proc
        if proc is None:
            return
        self._kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()
        for thread in [*self._threads, *([self._stderr.thread] if self._stderr else [])]:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> FfmpegProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: bytes
    stderr: str  # the bounded tail


def run(command: Sequence[str], *, feed: BinaryIO | None = None, pass_fds: Sequence[int] = (),
        time_limit: float | None = 120, cancel: CancelSource | None = None) -> RunResult:
    """Run to the end, capturing stdout; raises :class:`MediaTimeout`, :class:`Cancelled`, or
    :class:`UnsupportedMedia` when the tool is not installed.  A non-zero exit is returned, not raised."""
    with FfmpegProcess(command, feed=feed, pass_fds=pass_fds, time_limit=time_limit, cancel=cancel,
                       capture_stdout=True) as process:
        code = process.wait()
        return RunResult(returncode=code, stdout=process.output(), stderr=process.stderr_tail())


def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (recorded with redactions), or '' when unavailable."""
    exe = shutil.which(FFMPEG)
    if not exe:
        return ""
    try:
        out = run([exe, "-version"], time_limit=20).stdout
    except (MediaError, OSError):
        return ""
    return out.decode("utf-8", "replace").splitlines()[0] if out else ""
