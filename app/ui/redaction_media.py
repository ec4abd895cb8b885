"""Pictures for the redaction review, decoded from the vault into memory only (never to disk).

Jobs here are plain ``job(progress, cancel)`` callables for :class:`app.ui.workers.WorkerPool`:

- :func:`photo_job` decodes a photo exactly as the redaction code does (``load_oriented_rgb``:
  EXIF orientation applied), so box coordinates mean the same thing on screen and in the output;
- :func:`frames_job` decodes a video once through ffmpeg (``FrameReader`` over the vault stream)
  and keeps downscaled frames in memory up to a budget (every n-th frame when the video is long);
- :func:`frame_job` decodes one exact frame (sequentially up to it) when it is not in the cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from app.errors import InvalidInput
from app.progress import CancelToken, ProgressCallback
from app.redact.faces import Box
from app.vault.service import VaultService

FRAME_MAX_SIDE = 640  # cached frames are shown scaled back up; boxes stay in true pixels
FRAME_BUDGET = 256 * 1024 * 1024  # bytes of decoded frames kept for scrubbing
STRIP_FRAMES = 12
STRIP_HEIGHT = 54


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of an RGB uint8 array (the array may be freed afterwards)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """An RGB uint8 array copied out of ``image`` (any format)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return data[:, : 3 * width].reshape(height, width, 3).copy()


def preview_frame(frame: QImage, boxes: list[Box], *, video_size: tuple[int, int], method: str) -> QImage:
    """A video frame as the redacted copy will show it: ``boxes`` (in true video pixels) applied to the
    displayed, possibly downscaled, ``frame`` with the same redaction code (in memory only)."""
    from app.redact.photo import apply_boxes

    scale_x = frame.width() / max(1, video_size[0])
    scale_y = frame.height() / max(1, video_size[1])
    scaled = [Box(round(b.x * scale_x), round(b.y * scale_y), max(1, round(b.w * scale_x)),
                  max(1, round(b.h * scale_y)), b.score) for b in boxes]
    return rgb_to_qimage(apply_boxes(qimage_to_rgb(frame), scaled, method=method, seed=0))  # type: ignore[arg-type]


@dataclass
class LoadedPhoto:
    rgb: np.ndarray  # oriented RGB pixels: what redact_item draws on
    image: QImage


def photo_job(vault: VaultService, item_id: int) -> Callable[[ProgressCallback, CancelToken], LoadedPhoto]:
    def run(_progress: ProgressCallback, cancel: CancelToken) -> LoadedPhoto:
        from app.redact.photo import load_oriented_rgb

        with vault.open_original(item_id) as stream:
            rgb = load_oriented_rgb(stream)
        cancel.check()
        return LoadedPhoto(rgb=rgb, image=rgb_to_qimage(rgb))

    return run


@dataclass
class VideoFrames:
    """Decoded frames for scrubbing: ``frames[i]`` is frame ``i * stride`` (downscaled)."""

    width: int
    height: int
    fps: float
    count: int  # frames actually decoded
    stride: int
    frames: list[QImage] = field(default_factory=list)
    strip: QImage | None = None

    def cached(self, index: int) -> QImage | None:
        if index % self.stride or index // self.stride >= len(self.frames):
            return None
        return self.frames[index // self.stride]

    def nearest(self, index: int) -> QImage | None:
        if not self.frames:
            return None
        return self.frames[min(index // self.stride, len(self.frames) - 1)]

    def release(self) -> None:
        self.frames.clear()
        self.strip = None


def _scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    factor = min(1.0, max_side / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def frames_job(vault: VaultService, item_id: int, *, max_side: int = FRAME_MAX_SIDE,
               budget: int = FRAME_BUDGET) -> Callable[[ProgressCallback, CancelToken], VideoFrames]:
    def run(progress: ProgressCallback, cancel: CancelToken) -> VideoFrames:
        from app.media.ffmpeg_io import FrameReader, MediaInput, probe

        with vault.open_original(item_id) as stream, MediaInput(stream) as media_input:
            info = probe(media_input)
            small_w, small_h = _scaled_size(info.width, info.height, max_side)
            per_frame = small_w * small_h * 3
            expected = max(info.frame_count, 1)
            stride = max(1, math.ceil(expected * per_frame / budget))
            result = VideoFrames(info.width, info.height, float(info.fps), 0, stride)
            with FrameReader(media_input, info=info, cancel=cancel) as reader:
                for index, frame in enumerate(reader):
                    if index % stride == 0 and len(result.frames) * per_frame < budget:
                        image = rgb_to_qimage(frame)
                        if (small_w, small_h) != (info.width, info.height):
                            image = image.scaled(small_w, small_h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
                        result.frames.append(image)
                    result.count = index + 1
                    if index % 10 == 0:
                        progress(index, max(expected, index + 1), "Decoding frames")
        result.strip = thumbnail_strip(result.frames)
        return result

    return run


def frame_job(vault: VaultService, item_id: int,
              index: int) -> Callable[[ProgressCallback, CancelToken], tuple[int, QImage]]:
    """One exact frame at full resolution (decodes from the start: fine for review, not for playback)."""
    def run(_progress: ProgressCallback, cancel: CancelToken) -> tuple[int, QImage]:
        from app.media.ffmpeg_io import FrameReader

        with vault.open_original(item_id) as stream, FrameReader(stream, cancel=cancel) as reader:
            for position, frame in enumerate(reader):
                if position == index:
                    return index, rgb_to_qimage(frame)
        raise InvalidInput("That frame lies beyond the end of the video.")

    return run


def thumbnail_strip(frames: list[QImage], count: int = STRIP_FRAMES, height: int = STRIP_HEIGHT) -> QImage | None:
    """Evenly spaced frames side by side (in memory), for the timeline."""
    if not frames:
        return None
    picks = [frames[round(i * (len(frames) - 1) / max(count - 1, 1))] for i in range(min(count, len(frames)))]
    first = picks[0]
    width = max(1, round(first.width() * height / max(first.height(), 1)))
    strip = QImage(width * len(picks), height, QImage.Format.Format_RGB888)
    strip.fill(QColor("#202020"))
    painter = QPainter(strip)
    try:
        for position, frame in enumerate(picks):
            painter.drawImage(QRect(position * width, 0, width - 1, height), frame)
    finally:
        painter.end()
    return strip
