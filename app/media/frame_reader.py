"""Decoding a video into upright RGB frames, one at a time through a pipe.

Memory stays flat whatever the length of the video.  The source reaches ffmpeg through
:class:`app.media.media_input.MediaInput` (never a plaintext file on disk); a file ffmpeg cannot
parse or decode raises :class:`CorruptMedia`, whose ``debug_detail`` alone carries ffmpeg's own
messages (they may contain file names).  The child process is killed and reaped on every error
and on cancel.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np

from app.errors import CorruptMedia
from app.media.audio_relay import AUDIO_RATE, AudioRelay
from app.media.ffmpeg_runner import FFMPEG, FfmpegProcess, MediaTimeout
from app.media.media_input import PROTOCOLS, MediaInput, Source
from app.media.probe import VideoInfo, probe_video
from app.progress import CancelToken

Frame = np.ndarray[Any, np.dtype[np.uint8]]  # height x width x 3, RGB


class FrameReader:
    """Decodes a video into RGB frames (``numpy`` uint8, height x width x 3, writable).

    Iterate over it inside a ``with`` block. Frames come at a constant rate (``info.fps``):
    ffmpeg duplicates or drops frames of variable-rate sources, which keeps audio in sync with
    an encoder running at the same rate.  ``audio`` (an :class:`AudioRelay`) makes the same
    ffmpeg process also decode the first audio track to s16le PCM at ``AUDIO_RATE`` Hz with
    ``audio_channels`` channels, passed through ``audio_filter`` (an ffmpeg filter graph string).
    """

    def __init__(
        self,
        source: Source | MediaInput,
        *,
        info: VideoInfo | None = None,
        audio: AudioRelay | None = None,
        audio_channels: int = 2,
        audio_filter: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self._own_input = not isinstance(source, MediaInput)
        self._input = source if isinstance(source, MediaInput) else MediaInput(source)
        try:
            self.info = info or probe_video(self._input)
        except BaseException:
            if self._own_input:
                self._input.close()
            raise
        self._audio = audio
        self._audio_channels = audio_channels
        self._audio_filter = audio_filter
        self._cancel = cancel
        self._run: FfmpegProcess | None = None
        self.frames_read = 0

    @property
    def _proc(self) -> subprocess.Popen[bytes] | None:
        return self._run.popen if self._run is not None else None

    def command(self) -> list[str]:
        info = self.info
        cmd = [FFMPEG, "-hide_banner", "-v", "error", "-xerror", *PROTOCOLS,
               "-i", self._input.url(),
               "-map", "0:v:0", "-an", "-sn", "-dn",
               "-r", str(info.fps), "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
        if self._audio is not None:
            cmd += ["-map", "0:a:0", "-vn", "-sn", "-dn"]
            if self._audio_filter:
                cmd += ["-af", self._audio_filter]
            cmd += ["-ac", str(self._audio_channels), "-ar", str(AUDIO_RATE), "-c:a", "pcm_s16le",
                    "-f", "s16le", f"pipe:{self._audio.decoder_fd}"]
        return cmd

    def start(self) -> None:
        if self._run is not None:
            return
        fds = list(self._input.pass_fds())
        if self._audio is not None:
            fds.append(self._audio.decoder_fd)
        self._run = FfmpegProcess(self.command(), feed=self._input.feed_stream(), pass_fds=fds)
        self._run.start()

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        assert self._run is not None
        width, height = self.info.width, self.info.height
        frame_size = width * height * 3
        stdout = self._run.stdout
        while True:
            if self._cancel is not None:
                self._cancel.check()
            buffer = bytearray(frame_size)
            view = memoryview(buffer)
            got = 0
            while got < frame_size:
                n = stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            if got == 0:
                break
            if got < frame_size:
                self._finish()
                raise CorruptMedia(debug_detail=f"partial frame ({got} of {frame_size} bytes)")
            self.frames_read += 1
            yield np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
        self._finish()

    def _finish(self) -> None:
        process = self._run
        if process is None:
            return
        try:
            returncode = process.wait(timeout=60)
        except MediaTimeout:
            returncode = -1
        stderr = process.stderr_tail()
        if returncode != 0:
            raise CorruptMedia(debug_detail=stderr)
        if self.frames_read == 0:
            raise CorruptMedia("This video contains no pictures that could be decoded.", debug_detail=stderr)

    def close(self) -> None:
        if self._run is not None:
            self._run.close()
        if self._own_input:
            self._input.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(source: Source | MediaInput, *, cancel: CancelToken | None = None) -> Iterator[Frame]:
    """Yield every frame of a video as RGB ``numpy`` arrays (convenience around :class:`FrameReader`)."""
    with FrameReader(source, cancel=cancel) as reader:
        yield from reader
