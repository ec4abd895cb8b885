"""Encoding RGB frames (and relayed audio) to H.264/AAC fragmented MP4, streamed to a sink.

Outputs (:data:`Sink`) are a path or a binary file object.  ffmpeg writes **fragmented MP4**
(``-movflags frag_keyframe+empty_moov+default_base_moof``) to its stdout, which a thread copies to
the sink, so nothing is held in memory or written to a temporary file.  Fragmented MP4 with an
empty ``moov`` plays in VLC, mpv, Chrome, Firefox, Edge, Safari and QtMultimedia (whose FFmpeg
backend reads it like any MP4); the cost compared with a "fast start" file is that some players
show the duration only after scanning, and seeking uses the fragments (one per keyframe, every
few seconds).  A path sink is written as ``<name>.partial`` and renamed when complete, so a
failed or cancelled run leaves no file; a file-object sink is truncated back to where it started
(when it supports ``truncate``) -- otherwise the caller must discard it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from app.errors import DiskFull, MediaError, UnsupportedMedia
from app.media.audio_relay import AUDIO_RATE, AudioRelay
from app.media.ffmpeg_runner import FFMPEG, FfmpegProcess, MediaTimeout
from app.media.frame_reader import Frame

Sink = Path | str | BinaryIO
_CHUNK = 1 << 20


@dataclass(frozen=True)
class EncoderSettings:
    """libx264 + AAC settings; fixed threads and bitexact flags make the output reproducible."""

    crf: int = 20
    preset: str = "veryfast"
    threads: int = 2  # x264 output depends on the thread count: fixed, never "auto"
    keyframe_seconds: float = 2.0
    audio_bitrate: str = "128k"

    def as_dict(self) -> dict[str, Any]:
        return {"video_codec": "libx264", "crf": self.crf, "preset": self.preset, "threads": self.threads,
                "keyframe_seconds": self.keyframe_seconds, "b_frames": 0, "pix_fmt": "yuv420p", "colorspace": "bt709",
                "audio_codec": "aac", "audio_bitrate": self.audio_bitrate, "audio_rate": AUDIO_RATE,
                "container": "mp4 (fragmented)", "bitexact": True, "sei_removed": True}


class _SinkWriter:
    """Copies ffmpeg's stdout into the sink on a thread; undoes partial output on failure."""

    def __init__(self, sink: Sink) -> None:
        self._final: Path | None = None
        self._own_file: BinaryIO | None = None
        self._start: int | None = 0  # where a file-object sink is truncated back to on failure
        if isinstance(sink, str | Path):
            self._final = Path(sink)
            self._partial = self._final.with_name(self._final.name + ".partial")
            self._own_file = open(self._partial, "wb")  # noqa: SIM115 - closed in finish/abort
            self._file: BinaryIO = self._own_file
        else:
            self._file = sink
            try:
                self._start = sink.tell()
            except (OSError, AttributeError):
                self._start = None
        self.error: BaseException | None = None
        self.bytes_written = 0
        self.hash = hashlib.sha256()  # of exactly the bytes given to the sink
        self._thread: threading.Thread | None = None

    def start(self, pipe: io.BufferedReader) -> None:
        def copy() -> None:
            try:
                for chunk in iter(lambda: pipe.read1(_CHUNK), b""):
                    self._file.write(chunk)
                    self.hash.update(chunk)
                    self.bytes_written += len(chunk)
            except BaseException as exc:  # reported by finish(); the thread must not die silently
                self.error = exc

        self._thread = threading.Thread(target=copy, name="ffmpeg-sink", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def commit(self) -> None:
        if self._own_file is not None:
            assert self._final is not None
            self._own_file.flush()
            os.fsync(self._own_file.fileno())
            self._own_file.close()
            os.replace(self._partial, self._final)
            self._own_file = None

    def abort(self) -> None:
        if self._own_file is not None:
            with contextlib.suppress(OSError):
                self._own_file.close()
            with contextlib.suppress(OSError):
                self._partial.unlink()
            self._own_file = None
        elif self._start is not None:
            with contextlib.suppress(OSError, AttributeError, ValueError, io.UnsupportedOperation):
                self._file.seek(self._start)
                self._file.truncate()


class FrameWriter:
    """Encodes RGB frames to H.264/AAC fragmented MP4 written to ``sink``.

    ``audio`` is the :class:`AudioRelay` whose other end a :class:`FrameReader` feeds; ``None``
    makes a file without an audio track.  No metadata, chapters, subtitles or data streams are
    written, and the x264 version banner (an SEI message) is stripped from the bitstream.
    Call :meth:`close` to finish, :meth:`abort` on error or cancel (both idempotent).
    """

    def __init__(
        self,
        sink: Sink,
        *,
        width: int,
        height: int,
        fps: Fraction,
        audio: AudioRelay | None = None,
        audio_channels: int = 2,
        settings: EncoderSettings | None = None,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.settings = settings or EncoderSettings()
        self._audio = audio
        self._audio_channels = audio_channels
        self._sink = _SinkWriter(sink)
        self._run: FfmpegProcess | None = None
        self._done = False
        self.frames_written = 0

    def command(self) -> list[str]:
        s = self.settings
        gop = max(1, round(float(self.fps) * s.keyframe_seconds))
        cmd = [FFMPEG, "-hide_banner", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
               "-framerate", str(self.fps), "-probesize", "32", "-i", "pipe:0"]
        if self._audio is not None:
            cmd += ["-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", str(self._audio_channels),
                    "-probesize", "32", "-analyzeduration", "0", "-i", f"pipe:{self._audio.encoder_fd}"]
        # even sizes for 4:2:0; bt709 matrix and tags so every player shows the same colours
        cmd += ["-map", "0:v:0"]
        if self._audio is not None:
            cmd += ["-map", "1:a:0"]
        cmd += [
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf), "-threads", str(s.threads),
            # no B-frames: fragmented MP4 carries no edit list, so reordering delay would start the
            # video late (80 ms with x264's defaults) and put it out of sync with the sound
            "-bf", "0", "-g", str(gop), "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-color_range", "tv", "-flags:v", "+bitexact", "-bsf:v", "filter_units=remove_types=6",
        ]
        if self._audio is not None:
            cmd += ["-c:a", "aac", "-b:a", s.audio_bitrate, "-flags:a", "+bitexact"]
        cmd += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"]
        return cmd

    def start(self) -> None:
        if self._run is not None:
            return
        fds = (self._audio.encoder_fd,) if self._audio is not None else ()
        run = FfmpegProcess(self.command(), stdin_pipe=True, pass_fds=fds)
        try:
            run.start()
        except UnsupportedMedia:
            self._sink.abort()
            raise
        self._run = run
        self._sink.start(run.stdout)

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the bytes written to the sink; final after :meth:`close`."""
        return self._sink.hash.hexdigest()

    @property
    def bytes_written(self) -> int:
        return self._sink.bytes_written

    def write(self, frame: Frame) -> None:
        self.start()
        assert self._run is not None
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype}, expected ({self.height}, {self.width}, 3) uint8")
        try:
            self._run.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError) as exc:
            detail = self._failure_detail()
            self.abort()
            raise self._error(detail) from exc
        self.frames_written += 1

    def _failure_detail(self) -> str:
        if self._run is None:
            return ""
        self._run.kill()
        return self._run.stderr_tail()

    def _error(self, detail: str) -> DiskFull | MediaError:
        sink_error = self._sink.error
        if isinstance(sink_error, OSError) and sink_error.errno == 28:
            return DiskFull(debug_detail=detail)
        return MediaError(
            "The redacted video could not be written. Check free disk space and try again.",
            debug_detail=f"{detail}\n{sink_error!r}" if sink_error else detail,
        )

    def close(self) -> None:
        """Finish the file: flush ffmpeg, wait for it, and commit the sink."""
        if self._done:
            return
        self.start()
        process = self._run
        assert process is not None
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()
        try:
            returncode = process.wait(timeout=600)
        except MediaTimeout:
            returncode = -1
        self._sink.join()
        detail = process.stderr_tail()
        if returncode != 0 or self._sink.error is not None:
            self.abort()
            raise self._error(detail)
        self._sink.commit()
        self._done = True
        process.close()

    def abort(self) -> None:
        """Stop ffmpeg and remove whatever was written so far."""
        if self._done:
            return
        self._done = True
        if self._run is not None:
            self._run.kill()
            with contextlib.suppress(OSError, ValueError):
                self._run.stdin.close()
        self._sink.join()
        self._sink.abort()
        if self._run is not None:
            self._run.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
