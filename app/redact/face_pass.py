"""One detector pass over a whole image: scaled, optionally mirrored and turned, tiled when large.

Shared by photo detection (``app.redact.faces``: several passes fused) and video detection
(``app.redact.video_analysis``); boxes always come back in the coordinates of the image given.
"""

from __future__ import annotations

import numpy as np

from app.progress import CancelToken
from app.redact.centerface import CenterFaceModel


def _tiles(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Start/end offsets covering ``length`` with windows of ``tile`` overlapping by ``overlap``."""
    if length <= tile:
        return [(0, length)]
    step = tile - overlap
    starts = [*range(0, length - tile, step), length - tile]
    return [(s, s + tile) for s in starts]


def run_pass(
    model: CenterFaceModel,
    rgb: np.ndarray,
    *,
    scale: float,
    flip: bool = False,
    rotate: int = 0,
    threshold: float,
    tile_size: int = 1536,
    tile_overlap: int = 256,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Raw detections (N, 5) for ``rgb`` scaled by ``scale``, tiled when large, in ``rgb`` coordinates.

    ``flip`` mirrors left-right first, then ``rotate`` turns counter-clockwise by 0/90/180/270 degrees;
    boxes are mapped back to the unmodified image. ``cancel`` is checked before every tile.
    """
    if rotate % 90:
        raise ValueError("rotate must be a multiple of 90 degrees")
    height, width = rgb.shape[:2]
    turns = (rotate // 90) % 4
    image = rgb[:, ::-1] if flip else rgb
    if turns:
        image = np.rot90(image, turns)
    if flip or turns:
        image = np.ascontiguousarray(image)
    t_height, t_width = image.shape[:2]
    # Tile sizes in source pixels that become ``tile_size`` network pixels.
    src_tile = max(32, int(tile_size / scale))
    src_overlap = int(tile_overlap / scale)
    found = []
    for y1, y2 in _tiles(t_height, src_tile, src_overlap):
        for x1, x2 in _tiles(t_width, src_tile, src_overlap):
            if cancel is not None:
                cancel.check()
            crop = image[y1:y2, x1:x2]
            size = (max(1, round((x2 - x1) * scale)), max(1, round((y2 - y1) * scale)))
            dets = model.run(crop, input_size=size, threshold=threshold)
            if len(dets):
                dets = dets.copy()
                dets[:, [0, 2]] += x1
                dets[:, [1, 3]] += y1
                found.append(dets)
    if not found:
        return np.empty((0, 5), dtype=np.float32)
    dets = np.concatenate(found)
    # Box edges as columns (not the tile loop's integer bounds above).
    left, top, right, bottom = dets[:, 0].copy(), dets[:, 1].copy(), dets[:, 2].copy(), dets[:, 3].copy()
    # Undo the rotation (np.rot90 is counter-clockwise), then the mirror.
    if turns == 1:
        left, top, right, bottom = width - bottom, left, width - top, right
    elif turns == 2:
        left, top, right, bottom = width - right, height - bottom, width - left, height - top
    elif turns == 3:
        left, top, right, bottom = top, height - right, bottom, height - left
    if flip:
        left, right = width - right, width - left
    dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3] = left, top, right, bottom
    return dets
