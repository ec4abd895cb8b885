"""Irreversible photo redaction with metadata stripped, and the reviewer's proposal of boxes.

Flow: ``propose(src)`` -> a reviewer adds/removes/resizes boxes on the :class:`Proposal` ->
``redact_image(src, dst, proposal.boxes)`` -> a :class:`PhotoRedaction` whose ``residual_faces``
must be empty or accepted by a reviewer before the redaction counts as done.

Irreversible means: pixels inside a box are replaced by a solid colour (``fill``) or by a coarse
mosaic whose cell colours carry random noise (``pixelate``); no blur (a light blur can be undone).
The output is a NEW image built from pixel data only, so no EXIF, GPS, maker notes, thumbnails,
XMP, IPTC, ICC profile or PNG text survives. Default output is PNG: lossless, so the evidence
outside the boxes loses nothing, and the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import CorruptMedia, InvalidInput, MediaTooLarge, UnsupportedMedia
from app.progress import CancelToken, ProgressCallback
from app.redact.faces import Box, FaceDetector

pillow_heif.register_heif_opener()

# Largest image accepted, checked from the header before any pixel is decoded: above real cameras
# (100+ MP sensors exist), far below what a decompression bomb claims. Pillow's own guard
# (DecompressionBombError above 2 x Image.MAX_IMAGE_PIXELS, ~179 MP by default) also applies and
# is reported the same way, so the effective limit is the lower of the two.
MAX_PIXELS = 200_000_000
FILL_COLOUR = (0, 0, 0)
PIXELATE_CELLS = 6  # mosaic cells across the longer side of a box: too few to recognise anyone
PIXELATE_NOISE = 48  # +/- per channel per cell, so cell colours are not the true averages
JPEG_QUALITY = 92

Method = Literal["fill", "pixelate"]
OutputFormat = Literal["png", "jpeg"]


@dataclass
class PhotoRedaction:
    """What :func:`redact_image` did. ``residual_faces`` non-empty -> a reviewer must decide."""

    width: int
    height: int
    boxes: list[Box]
    method: str
    seed: int
    output_format: str
    mime: str
    sha256: str  # of the bytes written to dst
    size: int
    residual_faces: list[Box] = field(default_factory=list)
    detector: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        return bool(self.residual_faces)

    def to_dict(self) -> dict[str, Any]:
        """For the custody record (``details`` of the "redacted" event)."""
        return {
            "width": self.width,
            "height": self.height,
            "boxes": [b.to_dict() for b in self.boxes],
            "method": self.method,
            "seed": self.seed,
            "output_format": self.output_format,
            "mime": self.mime,
            "sha256": self.sha256,
            "size": self.size,
            "residual_faces": [b.to_dict() for b in self.residual_faces],
            "detector": self.detector,
        }


def _rewind(src: BinaryIO | Path) -> BinaryIO | Path:
    if not isinstance(src, (str, Path)) and hasattr(src, "seek"):
        src.seek(0)
    return src


def load_oriented_rgb(src: BinaryIO | Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a photo into an RGB uint8 array, turned the way a viewer shows it (EXIF orientation).

    Raises MediaTooLarge (decompression bombs), CorruptMedia (damaged or truncated files),
    UnsupportedMedia (not an image Pillow/pillow-heif can read). A seekable stream is rewound first.
    """
    src = _rewind(src)
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x its limit Pillow only warns; our explicit MAX_PIXELS check decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(src) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise MediaTooLarge(debug_detail=f"{width}x{height} pixels")
                image.load()  # decodes now, so truncation is caught here
                oriented = ImageOps.exif_transpose(image)
                if oriented.mode not in ("RGB", "L", "RGBA", "LA", "P", "CMYK", "I;16", "I", "F", "YCbCr"):
                    raise UnsupportedMedia(
                        "This photo uses a colour format that cannot be redacted. Convert it to JPEG or PNG first.",
                        debug_detail=f"mode {oriented.mode}",
                    )
                if oriented.mode in ("I;16", "I", "F"):
                    # 16-bit/float greyscale: scale to 8 bits rather than clip
                    data = np.asarray(oriented, dtype=np.float64)
                    span = max(float(data.max() - data.min()), 1e-9)
                    grey = ((data - data.min()) * (255.0 / span)).round().astype(np.uint8)
                    return np.repeat(grey[:, :, None], 3, axis=2)
                return np.asarray(oriented.convert("RGB"), dtype=np.uint8).copy()
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(debug_detail=str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(
            "This file is not a photo that can be redacted (or it is too damaged to recognise).",
            debug_detail=str(exc),
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncation and decoder failures as OSError ("image file is truncated",
        # "broken data stream"); some plugins raise SyntaxError/ValueError on bad headers.
        raise CorruptMedia(
            "This photo is damaged or incomplete and cannot be decoded. Use the original file from "
            "the camera or sender if you have it.",
            debug_detail=f"{type(exc).__name__}: {exc}",
        ) from exc


def _clip_boxes(boxes: Sequence[Box], width: int, height: int) -> list[Box]:
    clipped = []
    for b in boxes:
        x1, y1 = max(0, b.x), max(0, b.y)
        x2, y2 = min(width, b.x + b.w), min(height, b.y + b.h)
        if x2 > x1 and y2 > y1:
            clipped.append(Box(x1, y1, x2 - x1, y2 - y1, b.score))
    return clipped


def _pixelate(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Coarse mosaic of ``region`` with per-cell noise: the cells' true averages are not recoverable."""
    h, w = region.shape[:2]
    cell = max(1, -(-max(h, w) // PIXELATE_CELLS))
    rows, cols = -(-h // cell), -(-w // cell)
    out = np.empty_like(region)
    noise = rng.integers(-PIXELATE_NOISE, PIXELATE_NOISE + 1, size=(rows, cols, 3))
    for r in range(rows):
        for c in range(cols):
            block = region[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell]
            mean = block.reshape(-1, 3).mean(axis=0).round().astype(np.int64)
            out[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = np.clip(mean + noise[r, c], 0, 255)
    return out


def apply_boxes(rgb: np.ndarray, boxes: Sequence[Box], *, method: Method = "fill", seed: int = 0) -> np.ndarray:
    """A redacted copy of ``rgb``. Boxes are applied in order; deterministic for a given seed."""
    if method not in ("fill", "pixelate"):
        raise InvalidInput("Choose 'fill' or 'pixelate' as the redaction method.")
    out = rgb.copy()
    for index, b in enumerate(_clip_boxes(boxes, rgb.shape[1], rgb.shape[0])):
        if method == "fill":
            out[b.y:b.y2, b.x:b.x2] = FILL_COLOUR
        else:
            rng = np.random.default_rng([seed, index])
            # pixelate from the ORIGINAL pixels, so overlapping boxes do not leak through each other's order
            out[b.y:b.y2, b.x:b.x2] = _pixelate(rgb[b.y:b.y2, b.x:b.x2], rng)
    return out


def encode_clean(rgb: np.ndarray, output_format: OutputFormat = "png") -> bytes:
    """Encode pixels into a brand-new file: no metadata of any kind (fresh image, nothing passed on)."""
    image = Image.fromarray(np.ascontiguousarray(rgb))
    buffer = io.BytesIO()  # in memory only: never a temporary file with evidence on disk
    if output_format == "png":
        image.save(buffer, format="PNG", compress_level=3, optimize=False)  # 8.5 MP: 1.3 s vs 3.5 s at 6, +8% size
    elif output_format == "jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False, progressive=False)
    else:
        raise InvalidInput("Choose 'png' or 'jpeg' as the output format.")
    return buffer.getvalue()


def redact_image(
    src: BinaryIO | Path,
    dst: BinaryIO,
    boxes: Sequence[Box],
    *,
    method: Method = "fill",
    seed: int = 0,
    output_format: OutputFormat = "png",
    detector: FaceDetector | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    kept: Sequence[Box] = (),
) -> PhotoRedaction:
    """Write a redacted, metadata-free copy of the photo ``src`` to ``dst`` and check it for faces.

    ``boxes`` are in the oriented image (as ``FaceDetector.detect_image_file`` returns them). After
    redacting, the detector runs on the output; faces it still finds (outside the redacted areas)
    are returned in ``residual_faces`` and the caller must not mark the job done until a reviewer
    has looked at them. Nothing is written to ``dst`` unless everything succeeded (``cancel`` is
    checked throughout the check for residual faces).

    ``kept`` are faces reviewers decided to leave visible (e.g. an alleged perpetrator's): the caller
    leaves them out of ``boxes``, and a face found mostly inside one of them is not a residual face.
    """
    if method not in ("fill", "pixelate"):
        raise InvalidInput("Choose 'fill' or 'pixelate' as the redaction method.")
    rgb = load_oriented_rgb(src)
    height, width = rgb.shape[:2]
    applied = _clip_boxes(boxes, width, height)
    redacted = apply_boxes(rgb, applied, method=method, seed=seed)
    data = encode_clean(redacted, output_format)

    detector = detector or FaceDetector()
    # Check what will be written (JPEG changes pixels slightly), decoded back.
    written = redacted if output_format == "png" else np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    found = detector.detect(written, progress=progress, cancel=cancel)
    residual = residual_faces(found, applied, width, height, kept=_clip_boxes(kept, width, height))
    if cancel is not None:
        cancel.check()
    dst.write(data)  # last: a cancelled or failed run leaves dst untouched
    return PhotoRedaction(
        width=width,
        height=height,
        boxes=applied,
        method=method,
        seed=seed,
        output_format=output_format,
        mime="image/png" if output_format == "png" else "image/jpeg",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        residual_faces=residual,
        detector=detector.model_info(),
    )


def residual_faces(found: Sequence[Box], applied: Sequence[Box], width: int, height: int, *,
                   kept: Sequence[Box] = ()) -> list[Box]:
    """Faces found after redaction that are not (≥ 90%) inside the redacted area.

    A detection lying inside redacted pixels is the fill or mosaic itself (its content is
    destroyed by construction); anything reaching out of it is a face the redaction missed or
    only partly hid.  A detection lying mostly (more than half) inside a ``kept`` box is the face
    reviewers decided to leave visible, not a residual one.
    """
    mask = np.zeros((height, width), dtype=bool)
    for b in applied:
        mask[b.y:b.y2, b.x:b.x2] = True
    kept_mask = np.zeros((height, width), dtype=bool)
    for b in kept:
        kept_mask[b.y:b.y2, b.x:b.x2] = True
    left = []
    for f in found:
        area = mask[f.y:f.y2, f.x:f.x2]
        if area.size == 0 or area.mean() < 0.9:
            if kept and area.size and kept_mask[f.y:f.y2, f.x:f.x2].mean() > 0.5:
                continue
            left.append(f)
    return left


def mostly_inside(box: Box, others: Sequence[Box], share: float = 0.5) -> bool:
    """True when more than ``share`` of ``box``'s area lies inside one of ``others``."""
    for other in others:
        w = max(0, min(box.x2, other.x2) - max(box.x, other.x))
        h = max(0, min(box.y2, other.y2) - max(box.y, other.y))
        if box.w > 0 and box.h > 0 and w * h > share * box.w * box.h:
            return True
    return False


@dataclass
class Proposal:
    """Boxes proposed for one photo, for a reviewer to correct before :func:`redact_image`."""

    width: int
    height: int
    boxes: list[Box]
    detector: dict[str, Any] = field(default_factory=dict)

    def _clip(self, x: int, y: int, w: int, h: int, score: float) -> Box:
        clipped = _clip_boxes([Box(int(x), int(y), int(w), int(h), score)], self.width, self.height)
        if not clipped:
            raise InvalidInput("That box lies outside the photo. Draw it over the part to hide.")
        return clipped[0]

    def add(self, x: int, y: int, w: int, h: int) -> Box:
        """Add a reviewer-drawn box (score 1.0), clipped to the photo; returns it."""
        box = self._clip(x, y, w, h, 1.0)
        self.boxes.append(box)
        return box

    def remove(self, index: int) -> Box:
        """Remove the box at ``index`` (the reviewer judged it not to be a face)."""
        if not 0 <= index < len(self.boxes):
            raise InvalidInput("There is no box with that number.")
        return self.boxes.pop(index)

    def resize(self, index: int, x: int, y: int, w: int, h: int) -> Box:
        """Replace the geometry of box ``index``; it keeps its score."""
        if not 0 <= index < len(self.boxes):
            raise InvalidInput("There is no box with that number.")
        box = self._clip(x, y, w, h, self.boxes[index].score)
        self.boxes[index] = box
        return box

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "boxes": [b.to_dict() for b in self.boxes],
            "detector": self.detector,
        }


def propose(
    src: BinaryIO | Path,
    detector: FaceDetector | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Proposal:
    """Detect faces in a photo and return them as a :class:`Proposal` for review."""
    detector = detector or FaceDetector()
    width, height, boxes = detector.detect_image_file(src, progress=progress, cancel=cancel)
    return Proposal(width=width, height=height, boxes=list(boxes), detector=detector.model_info())
