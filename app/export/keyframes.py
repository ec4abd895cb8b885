"""Key frames of a video for the dossier's contact sheet, taken straight from a vault stream.

The stream reaches ffmpeg through :class:`app.media.ffmpeg_io.MediaInput` (a stdin pipe, or an
in-memory file for MP4s with the index at the end); ffmpeg picks frames evenly spread over the
duration, scales them down and hands them back as PPM images through a pipe.  Each frame is
encoded as a fresh JPEG in memory (no metadata at all).  Nothing touches the disk.

The duration comes from the caller (the original's ingest metadata: a redacted copy has the same
length) or, failing that, from ffprobe reading the same stream.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import BinaryIO

from PIL import Image

from app.errors import CorruptMedia
from app.media.ffmpeg_io import FFMPEG, FFPROBE, MediaInput
from app.media.ffmpeg_runner import FfmpegProcess, run
from app.progress import CancelToken

DEFAULT_FRAMES = 9
MAX_WIDTH = 480
JPEG_QUALITY = 80
_PROTOCOLS = ["-protocol_whitelist", "file,pipe"]


def _run(command: list[str], media_input: MediaInput, on_stdout: Callable[[BinaryIO], None],
         cancel: CancelToken | None) -> int:
    """Run an ffmpeg/ffprobe command fed from ``media_input``; ``on_stdout(pipe)`` reads its output.

    Killed after 600 s, or at once when ``cancel`` is set; always reaped."""
    with FfmpegProcess(command, feed=media_input.feed_stream(), pass_fds=media_input.pass_fds(),
                       time_limit=600, cancel=cancel) as process:
        on_stdout(process.stdout)
        return process.wait()


def _probe_duration(media_input: MediaInput) -> float:
    result = run([FFPROBE, "-v", "error", *_PROTOCOLS, "-print_format", "json", "-show_format",
                  media_input.url()], feed=media_input.feed_stream(), pass_fds=media_input.pass_fds(),
                 time_limit=600)
    try:
        return float(json.loads(result.stdout or b"{}").get("format", {}).get("duration") or 0.0)
    except (ValueError, TypeError):
        return 0.0


def _read_ppm(pipe: BinaryIO) -> Image.Image | None:
    """One binary PPM (P6, maxval 255) from the pipe, or None at the end."""
    tokens: list[bytes] = []
    token = b""
    while len(tokens) < 4:
        byte = pipe.read(1)
        if not byte:
            return None
        if byte.isspace():
            if token:
                tokens.append(token)
                token = b""
        else:
            token += byte
    if tokens[0] != b"P6" or tokens[3] != b"255":
        raise CorruptMedia(debug_detail=f"unexpected frame header {tokens!r}")
    width, height = int(tokens[1]), int(tokens[2])
    data = pipe.read(width * height * 3)
    if len(data) < width * height * 3:
        return None
    return Image.frombytes("RGB", (width, height), data)


def extract_key_frames(stream: BinaryIO, *, duration: float | None = None, count: int = DEFAULT_FRAMES,
                       max_width: int = MAX_WIDTH,
                       cancel: CancelToken | None = None) -> tuple[list[bytes], list[float]]:
    """``count`` frames evenly spread over the video (JPEG bytes) and their times in seconds."""
    with MediaInput(stream) as media_input:
        if not duration or duration <= 0:
            duration = _probe_duration(media_input)
        if duration <= 0:
            duration = float(count)  # unknown length: one frame a second from the start
        step = duration / count
        # fps=1/step takes the frame nearest each tick; start half a step in, so frames come from
        # the middle of each slice rather than the very first frame (often black).
        command = [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", *_PROTOCOLS,
                   "-i", media_input.url(), "-map", "0:v:0", "-an", "-sn", "-dn",
                   "-vf", f"fps={1 / step:.6f}:start_time={step / 2:.6f},scale='min({max_width},iw)':-2",
                   "-frames:v", str(count), "-c:v", "ppm", "-f", "image2pipe", "pipe:1"]
        frames: list[bytes] = []

        def collect(pipe: BinaryIO) -> None:
            while len(frames) < count:
                if cancel is not None:
                    cancel.check()
                image = _read_ppm(pipe)
                if image is None:
                    return
                out = io.BytesIO()
                image.save(out, "JPEG", quality=JPEG_QUALITY)  # a new image: no EXIF, no XMP
                frames.append(out.getvalue())

        code = _run(command, media_input, collect, cancel)
        if not frames:
            raise CorruptMedia("No pictures could be taken from this video for the dossier. Check the "
                               "video in the vault, then export again.", debug_detail=f"ffmpeg exit {code}")
    return frames, [round(step / 2 + i * step, 2) for i in range(len(frames))]
