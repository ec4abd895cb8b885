"""The ffmpeg runner against the real ffmpeg binary: no deadlock, limits kill, nothing left behind."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from app.errors import Cancelled, CorruptMedia, UnsupportedMedia
from app.media.ffmpeg_runner import STDERR_KEEP, FfmpegProcess, MediaTimeout, run
from app.progress import CancelToken

# An endless test pattern, decoded and thrown away: runs until killed.
ENDLESS = ["ffmpeg", "-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25",
           "-f", "null", "-"]


def _children() -> list[int]:
    """Direct children of this test process still present (running or zombie)."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.mark.timeout(60)
def test_more_than_a_mebibyte_of_stderr_does_not_block() -> None:
    # -loglevel debug with showinfo prints a long line per frame: several MiB on stderr.
    command = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "debug", "-f", "lavfi",
               "-i", "testsrc2=size=64x64:rate=100:duration=40", "-vf", "showinfo", "-f", "null", "-"]
    with FfmpegProcess(command) as process:
        assert process.wait() == 0
        assert process.stderr_bytes_seen() > 1024 * 1024
        tail = process.stderr_tail()
    assert 0 < len(tail.encode()) <= STDERR_KEEP + 4  # bounded (a split UTF-8 char may widen it)
    assert not _children()


@pytest.mark.timeout(60)
def test_stdout_streamed_and_stdin_fed_from_a_stream() -> None:
    data = os.urandom(3 * 1024 * 1024)
    command = ["ffmpeg", "-hide_banner", "-v", "error", "-f", "data", "-i", "pipe:0", "-map", "0", "-c", "copy",
               "-f", "data", "pipe:1"]
    out = io.BytesIO()
    with FfmpegProcess(command, feed=io.BytesIO(data)) as process:
        for chunk in iter(lambda: process.stdout.read(65536), b""):
            out.write(chunk)
        assert process.wait() == 0
    assert out.getvalue() == data
    assert run(command, feed=io.BytesIO(data)).stdout == data
    assert not _children()


@pytest.mark.timeout(60)
def test_time_limit_kills_and_reaps() -> None:
    with pytest.raises(MediaTimeout) as caught, FfmpegProcess(ENDLESS, time_limit=1) as process:
        pid = process.pid
        process.wait()
    assert "ffmpeg" not in caught.value.user_message().lower()
    assert caught.value.user_message().endswith("try again.")
    assert _gone(pid) and not _children()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["event", "token", "callable"])
def test_cancel_kills_and_joins(kind: str) -> None:
    event = threading.Event()
    token = CancelToken()
    cancel = {"event": event, "token": token, "callable": event.is_set}[kind]
    process = FfmpegProcess(ENDLESS, cancel=cancel).start()
    pid = process.pid
    threading.Timer(0.5, token.cancel if kind == "token" else event.set).start()
    with pytest.raises(Cancelled), process:
        process.wait()
    assert process.returncode is not None and process.returncode < 0  # killed by a signal
    assert _gone(pid) and not _children()
    assert not [t for t in threading.enumerate() if t.name.startswith("ffmpeg-")]


@pytest.mark.timeout(60)
def test_exception_in_the_caller_kills_and_joins() -> None:
    with pytest.raises(RuntimeError), FfmpegProcess(ENDLESS) as process:
        pid = process.pid
        raise RuntimeError("caller failed while reading")
    assert _gone(pid) and not _children()
    assert not [t for t in threading.enumerate() if t.name.startswith("ffmpeg-")]


@pytest.mark.timeout(60)
def test_failure_keeps_the_error_text_and_missing_tool_is_explained(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    result = run(["ffprobe", "-v", "error", "-show_format", f"file:{garbage}"])
    assert result.returncode != 0 and result.stderr.strip()
    with pytest.raises(UnsupportedMedia) as caught:
        run(["ffmpeg-that-is-not-installed", "-version"])
    assert "install ffmpeg" in caught.value.user_message().lower()
    assert not _children()


def test_decode_failure_is_a_plain_sentence() -> None:
    from app.media.ffmpeg_runner import decode_failure

    error = decode_failure("[mp3 @ 0x1] invalid frame")
    assert isinstance(error, CorruptMedia)
    assert error.user_message().startswith("The file could not be decoded: it seems damaged")
    assert "0x1" not in error.user_message() and "0x1" in error.debug_detail
