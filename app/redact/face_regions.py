"""Passes that look only near candidates: where on the photo an expensive pass is worth its time.

A pass at 1.5x costs 2.25 times the photo's own resolution, and what it adds is small faces; the
mirrored pass adds faces the model is unsure of. On most of a photo (sky, walls, the ground) neither
finds anything the whole-photo passes did not already half-see. A :class:`Near` pass therefore runs
only around the candidates of the whole-photo passes -- every detection at least ``min_score``, even
far below what is kept -- grown by ``margin`` times their size on every side:

- :func:`candidate_regions`: those grown rectangles, in photo pixels;
- :func:`search_windows`: the rectangles padded with context for the network (a face at a crop's edge
  scores lower than in the whole photo), aligned to the whole-photo pass's pixel grid, and joined where
  one run over two costs less than two runs;
- :func:`run_near`: the pass on each window (tiled like a whole-photo pass when large), keeping the
  detections whose centre lies in a candidate region. When the windows would cover most of the photo
  anyway (a crowd), the pass simply runs on the whole photo.

Measured by ``benchmarks/faces_photos.py`` (see ``DetectorConfig``): which passes look only near
candidates, and how near, is chosen on one half of the photos and reported on the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.progress import CancelToken

_MULTIPLE = 32  # the network's input sides are multiples of this

# Past this share of the photo, one whole-photo run costs less than the windows (they overlap at tiles).
WHOLE_PHOTO_SHARE = 0.7

# What one network run costs beyond its pixels (call, resize, decoding), as network pixels: measured
# here, a 64 x 64 input takes as long per pixel as about 2.5 times its area in a large one.
RUN_COST_PX = 8192

# run_pass without its image and scale: (crop) -> detections (N, 5) in crop pixels.
PassOnCrop = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Near:
    """Run a pass only around candidates of the whole-photo passes.

    ``min_score``: detections at least this sure are candidates (below the keep threshold on purpose:
    a face the model half-sees at one scale is what another scale or the mirror image confirms).
    ``margin``: each candidate grows by this many times its size on every side.
    ``max_px``: only candidates at most this tall in photo pixels (0 = any size): an enlarging pass is
    for small faces, so large candidates need not steer it.
    ``context_px``: network pixels of context added around each region before it is cropped. Measured
    on half A of the benchmark photos, the share of the whole-photo pass's detections a near pass
    reproduces (box within 5% of its size, score within 0.02) grows up to 128 px and no further
    (1.5x pass: 72% at 32 px, 78% at 64, 91% at 128, 92% at 192; mirrored 1.0x pass: 84%, 90%, 92%,
    92%). The rest differ because the whole photo's scaled height is rounded to a whole pixel.
    """

    min_score: float
    margin: float
    max_px: float = 0.0
    context_px: int = 128


def candidate_regions(candidates: np.ndarray, near: Near, width: int, height: int) -> np.ndarray:
    """(R, 4) float rectangles x1 y1 x2 y2 in photo pixels: each candidate grown by ``near.margin``."""
    dets = np.asarray(candidates, dtype=np.float32).reshape(-1, 5)
    dets = dets[dets[:, 4] >= near.min_score]
    if near.max_px > 0:
        dets = dets[(dets[:, 3] - dets[:, 1]) <= near.max_px]
    if len(dets) == 0:
        return np.empty((0, 4), dtype=np.float32)
    size = np.maximum(dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1])
    grow = near.margin * size
    regions = np.stack([dets[:, 0] - grow, dets[:, 1] - grow, dets[:, 2] + grow, dets[:, 3] + grow], axis=1)
    regions[:, [0, 2]] = regions[:, [0, 2]].clip(0, width)
    regions[:, [1, 3]] = regions[:, [1, 3]].clip(0, height)
    keep = (regions[:, 2] > regions[:, 0]) & (regions[:, 3] > regions[:, 1])
    return regions[keep]


def merge_overlapping(rects: np.ndarray, slack_px: float = float("inf")) -> np.ndarray:
    """(R, 4) integer rectangles -> fewer rectangles covering them: two that overlap become their
    bounding rectangle when that is at most ``slack_px`` larger than the two together (infinite: always,
    and then no two of the results overlap)."""
    current = [tuple(int(v) for v in r) for r in rects]
    while True:
        merged: list[list[int]] = []
        changed = False
        for x1, y1, x2, y2 in sorted(current):
            for other in merged:
                if not (x1 < other[2] and other[0] < x2 and y1 < other[3] and other[1] < y2):
                    continue
                joined = (min(other[0], x1), min(other[1], y1), max(other[2], x2), max(other[3], y2))
                apart = (x2 - x1) * (y2 - y1) + (other[2] - other[0]) * (other[3] - other[1])
                if (joined[2] - joined[0]) * (joined[3] - joined[1]) <= apart + slack_px:
                    other[:] = joined
                    changed = True
                    break
            else:
                merged.append([x1, y1, x2, y2])
        current = [(a, b, c, d) for a, b, c, d in merged]
        if not changed:
            return np.asarray(current, dtype=np.int64).reshape(-1, 4)


def grid_step(scale: float) -> int:
    """The smallest whole number of photo pixels that ``scale`` turns into a multiple of 32 network pixels."""
    for step in range(1, 4097):
        network = step * scale / _MULTIPLE
        if abs(network - round(network)) < 1e-6 and round(network) > 0:
            return step
    return 1


def origin_corner(flip: bool, rotate: int) -> tuple[int, int]:
    """Which corner of the photo (0 = left/top, 1 = right/bottom) a pass's transformed image starts at."""
    corner_x, corner_y = ((0, 0), (1, 0), (1, 1), (0, 1))[(rotate // 90) % 4]  # np.rot90 turns counter-clockwise
    return (1 - corner_x if flip else corner_x), corner_y


def _snap(low: np.ndarray, high: np.ndarray, length: int, step: int, from_far_end: bool) -> None:
    """Grow [low, high) so that the edge the pass starts from is a multiple of ``step`` away from it."""
    if from_far_end:
        high[:] = length - np.floor((length - high) / step) * step
    else:
        low[:] = np.floor(low / step) * step


def search_windows(
    regions: np.ndarray, scale: float, near: Near, width: int, height: int, *, flip: bool = False, rotate: int = 0
) -> np.ndarray:
    """(W, 4) integer windows x1 y1 x2 y2 that cover ``regions`` with context.

    Overlapping windows are joined when one run over both costs no more than two runs (pixels, plus
    :data:`RUN_COST_PX` for each run's fixed cost); scattered candidates keep separate windows, which
    may overlap (:func:`run_near` keeps each detection from one window only).

    Each window starts (on the side the pass's mirrored or turned image starts from) a whole number of
    :func:`grid_step` s from the photo's edge: the crop is then resampled at the same points, and the
    network's 32-pixel grid falls on the same pixels, as in a whole-photo pass, so a face scores the
    same in both (measured: unaligned crops changed the weak scores that decide borderline faces).
    """
    if len(regions) == 0:
        return np.empty((0, 4), dtype=np.int64)
    pad = near.context_px / max(scale, 1e-6)
    windows = np.stack([regions[:, 0] - pad, regions[:, 1] - pad, regions[:, 2] + pad, regions[:, 3] + pad],
                       axis=1).astype(np.float64)
    step = grid_step(scale)
    far_x, far_y = origin_corner(flip, rotate)
    while True:
        _snap(windows[:, 0], windows[:, 2], width, step, bool(far_x))
        _snap(windows[:, 1], windows[:, 3], height, step, bool(far_y))
        windows[:, :2] = np.floor(windows[:, :2])  # outwards: the context is never cut short
        windows[:, 2:] = np.ceil(windows[:, 2:])
        windows[:, [0, 2]] = windows[:, [0, 2]].clip(0, width)
        windows[:, [1, 3]] = windows[:, [1, 3]].clip(0, height)
        merged = merge_overlapping(windows, RUN_COST_PX / max(scale, 1e-6) ** 2)
        if len(merged) == len(windows):
            return merged
        windows = merged.astype(np.float64)


def centres_inside(dets: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """For each detection (N, >=4): does its centre lie in at least one of ``regions`` (R, 4)?"""
    if len(dets) == 0 or len(regions) == 0:
        return np.zeros(len(dets), dtype=bool)
    mid_x = ((dets[:, 0] + dets[:, 2]) / 2)[:, None]
    mid_y = ((dets[:, 1] + dets[:, 3]) / 2)[:, None]
    inside = ((mid_x >= regions[None, :, 0]) & (mid_x <= regions[None, :, 2])
              & (mid_y >= regions[None, :, 1]) & (mid_y <= regions[None, :, 3]))
    found: np.ndarray = inside.any(axis=1)
    return found


def run_near(
    rgb: np.ndarray,
    candidates: np.ndarray,
    near: Near,
    scale: float,
    pass_on_crop: PassOnCrop,
    cancel: CancelToken | None = None,
    *,
    flip: bool = False,
    rotate: int = 0,
) -> np.ndarray:
    """Detections (N, 5) of one pass run only around ``candidates`` (N, 5), in ``rgb`` coordinates.

    ``pass_on_crop`` runs the pass (its scale, mirror, rotation and tiling) on one crop of ``rgb``.
    """
    height, width = rgb.shape[:2]
    regions = candidate_regions(candidates, near, width, height)
    windows = search_windows(regions, scale, near, width, height, flip=flip, rotate=rotate)
    if len(windows) == 0:
        return np.empty((0, 5), dtype=np.float32)
    searched = float(np.sum((windows[:, 2] - windows[:, 0]) * (windows[:, 3] - windows[:, 1])))
    if searched >= WHOLE_PHOTO_SHARE * width * height:
        windows = np.asarray([[0, 0, width, height]], dtype=np.int64)
    pad = near.context_px / max(scale, 1e-6)
    cores = windows.astype(np.float64)
    cores[:, 0] = np.where(cores[:, 0] > 0, cores[:, 0] + pad, 0)
    cores[:, 1] = np.where(cores[:, 1] > 0, cores[:, 1] + pad, 0)
    cores[:, 2] = np.where(cores[:, 2] < width, cores[:, 2] - pad, width)
    cores[:, 3] = np.where(cores[:, 3] < height, cores[:, 3] - pad, height)
    found = []
    for index, (x1, y1, x2, y2) in enumerate(windows.tolist()):
        if cancel is not None:
            cancel.check()
        dets = pass_on_crop(rgb[y1:y2, x1:x2])
        if len(dets):
            dets = dets.copy()
            dets[:, [0, 2]] += x1
            dets[:, [1, 3]] += y1
            # Each face from one window only: the first whose core (its context stripped) holds its centre.
            own = centres_inside(dets, cores[index:index + 1]) & ~centres_inside(dets, cores[:index])
            found.append(dets[own])
    if not found:
        return np.empty((0, 5), dtype=np.float32)
    dets = np.concatenate(found)
    kept: np.ndarray = dets[centres_inside(dets, regions)]
    return kept
