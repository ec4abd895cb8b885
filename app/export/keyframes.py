"""Key frames of a video for the dossier's contact sheet, taken straight from a vault stream.

The stream reaches ffmpeg through :class:`app.media.ffmpeg_io.MediaInput` (a stdin pipe, or an
in-memory file for MP4s with the index at the end); ffmpeg picks frames evenly spread over the
duration, scales them down and hands them back as PPM images through a pipe.  Each frame is
encoded as a fresh JPEG in memory (no metadata at all).  Nothing touches the disk.

The duration comes from the caller (the original's ingest metadata: a redacted copy has the same
length) or, failing that, from ffprobe reading the same stream.

On a face-redacted copy the middle frame of a slice is often one where a face was held or a region
covered, so evenly spread frames come out mostly black.  :func:`least_masked_frames` reads the copy's
derivation record (per-frame boxes as runs, written by :func:`app.redact.video.redact_video`) and
picks in each of the ``count`` time slices the frame with the least covered area (ties: the one
nearest the slice's middle); :func:`extract_key_frames` then takes exactly those frames of the copy
(``frame_indices``), with their true times.  They are the copy's own pixels: nothing is uncovered.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from app.errors import CorruptMedia
from app.media.ffmpeg_io import FFMPEG, FFPROBE, MediaInput
from app.media.ffmpeg_runner import FfmpegProcess, run
from app.progress import CancelToken

DEFAULT_FRAMES = 9
MAX_WIDTH = 480
JPEG_QUALITY = 80
_PROTOCOLS = ["-protocol_whitelist", "file,pipe"]
MAX_RECORD_FRAMES = 10_000_000  # a record claiming more frames than this is not trusted (fallback: even spread)


@dataclass(frozen=True)
class FrameChoice:
    """Frames chosen from a redacted copy's record: indices (from 0, ascending), the copy's frame rate,
    and each chosen frame's masked share next to that of the slice's middle frame (0..1)."""

    indices: list[int]
    fps: Fraction
    masked: list[float]
    middle_masked: list[float]


def _union_area(boxes: Sequence[Sequence[Any]], width: int, height: int) -> int:
    """Pixels covered by the union of ``[x, y, w, h]`` boxes, clipped to the frame (exact)."""
    rects = []
    for x, y, w, h in boxes:
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x) + int(w)), min(height, int(y) + int(h))
        if x1 > x0 and y1 > y0:
            rects.append((x0, y0, x1, y1))
    if len(rects) <= 1:
        return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects)
    xs = np.unique([v for r in rects for v in (r[0], r[2])])
    ys = np.unique([v for r in rects for v in (r[1], r[3])])
    covered = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    for x0, y0, x1, y1 in rects:
        covered[np.searchsorted(ys, y0):np.searchsorted(ys, y1), np.searchsorted(xs, x0):np.searchsorted(xs, x1)] = True
    return int((np.outer(np.diff(ys), np.diff(xs)) * covered).sum())


def masked_areas(derivation: Mapping[str, Any] | None) -> tuple[np.ndarray, int, Fraction] | None:
    """Covered pixels of every frame of a face-redacted video copy, from its derivation record.

    Returns (areas per frame, frame area, frame rate), or None when the record is not a video face
    redaction with boxes (an original, a voice-only copy, a malformed record)."""
    if not derivation or derivation.get("media") != "video":
        return None
    runs = derivation.get("boxes")
    try:
        width, height, frames = int(derivation["width"]), int(derivation["height"]), int(derivation["frames"])
        fps = Fraction(str(derivation["fps"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not isinstance(runs, list) or not runs or width <= 0 or height <= 0 or fps <= 0 or \
            not 0 < frames <= MAX_RECORD_FRAMES:
        return None
    areas = np.zeros(frames, dtype=np.int64)
    try:
        for first, last, boxes in runs:
            first, last = int(first), int(last)
            if not 0 <= first <= last < frames:
                return None
            areas[first:last + 1] = _union_area(boxes, width, height)
    except (TypeError, ValueError):
        return None
    return areas, width * height, fps


def least_masked_frames(derivation: Mapping[str, Any] | None, count: int = DEFAULT_FRAMES) -> FrameChoice | None:
    """In each of ``count`` equal slices of a redacted copy's frames, the frame with the least covered
    area (ties: the one nearest the slice's middle frame); None without a box record (see
    :func:`masked_areas`), when the caller keeps the evenly spread middle frames."""
    found = masked_areas(derivation)
    if found is None:
        return None
    areas, frame_area, fps = found
    total = len(areas)
    indices: list[int] = []
    masked: list[float] = []
    middle_masked: list[float] = []
    for i in range(count):
        start, stop = i * total // count, (i + 1) * total // count
        if stop <= start:
            continue  # fewer frames than slices
        middle = min(max((2 * i + 1) * total // (2 * count), start), stop - 1)
        segment = areas[start:stop]
        candidates = np.flatnonzero(segment == segment.min()) + start
        best = int(candidates[np.argmin(np.abs(candidates - middle))])
        indices.append(best)
        masked.append(float(areas[best]) / frame_area)
        middle_masked.append(float(areas[middle]) / frame_area)
    return FrameChoice(indices, fps, masked, middle_masked)


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
                       max_width: int = MAX_WIDTH, frame_indices: Sequence[int] | None = None,
                       fps: Fraction | float | None = None,
                       cancel: CancelToken | None = None) -> tuple[list[bytes], list[float]]:
    """``count`` frames evenly spread over the video (JPEG bytes) and their times in seconds.

    With ``frame_indices`` (frame numbers from 0, e.g. :attr:`FrameChoice.indices`) and the video's
    ``fps``, exactly those frames are taken instead, and their times are ``index / fps``."""
    if frame_indices is not None:
        indices = sorted({int(n) for n in frame_indices if int(n) >= 0})
        if not indices or fps is None or fps <= 0:
            raise ValueError("frame_indices needs at least one frame number and the video's fps")
        count = len(indices)
        # select keeps the decoded frames numbered n (in stream order); passthrough keeps their timing
        picks = "+".join(f"eq(n\\,{n})" for n in indices)
        video_filter, timing = f"select={picks},scale='min({max_width},iw)':-2", ["-fps_mode", "passthrough"]
        times = [round(n / float(fps), 2) for n in indices]
    with MediaInput(stream) as media_input:
        if frame_indices is None:
            if not duration or duration <= 0:
                duration = _probe_duration(media_input)
            if duration <= 0:
                duration = float(count)  # unknown length: one frame a second from the start
            step = duration / count
            # Ticks half a step into each slice, so frames come from its middle rather than the very first
            # frame (often black).  fps=1/step outputs, per tick, the last frame of the input frames it
            # rounds to that tick: with round=up those lie in (tick - step, tick], so the frame shown is the
            # one at the tick or just before it (round=near gave the frame just before the next tick,
            # 0.4 s late at 10 fps, and dropped the last tick when the duration was a whole step count).
            ticks = f"fps={1 / step:.6f}:start_time={step / 2:.6f}:round=up"
            video_filter, timing = f"{ticks},scale='min({max_width},iw)':-2", []
            times = [round(step / 2 + i * step, 2) for i in range(count)]
        command = [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", *_PROTOCOLS,
                   "-i", media_input.url(), "-map", "0:v:0", "-an", "-sn", "-dn",
                   "-vf", video_filter, *timing,
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
    return frames, times[:len(frames)]


def item_key_frames(vault: Any, item_id: int, duration: float | None, *, count: int = DEFAULT_FRAMES,
                    cancel: CancelToken | None = None) -> tuple[list[bytes], list[float]]:
    """The key frames of vault item ``item_id`` for its contact sheet.

    A face-redacted copy with a box record gets the least covered frame of each slice
    (:func:`least_masked_frames`); an original, or a copy without boxes, the evenly spread middle frames."""
    choice = least_masked_frames(vault.get_item(item_id).derivation, count)
    with vault.open_original(item_id) as stream:
        if choice is None:
            return extract_key_frames(stream, duration=duration, count=count, cancel=cancel)
        return extract_key_frames(stream, frame_indices=choice.indices, fps=choice.fps, cancel=cancel)
