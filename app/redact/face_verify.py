"""Second look at uncertain face candidates: crop, bring the face to the model's best size, run again.

A full-photo pass sees every face at whatever size it happens to have. Small faces (10-30 px) and
blurred ones score weakly there, and so does face-like texture (foliage, fabric, crowds of heads in
the distance). Looked at again, the two behave differently: a candidate cropped with some context
and resized so that it is ``face_px`` tall is, if it is a face, at the size the network finds best
and scores high; texture enlarged stays texture and scores low. :func:`recheck` does this for many
candidates at once: all crops share one input size, so they go through the network as ONE batch.

Used by :class:`app.redact.faces.FaceDetector` on the clusters its full-photo passes are not sure of
(:func:`rechecked_clusters`, the keep rule of ``DetectorConfig.recheck_below``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from app.redact.centerface import CenterFaceModel, _as_rgb_uint8, decode, nms
from app.redact.face_fusion import fuse_clusters

if TYPE_CHECKING:
    from app.redact.faces import DetectorConfig

_MULTIPLE = 32  # network input sides must be multiples of 32
_MAX_BATCH = 32  # crops per network run: bounds memory whatever the number of candidates


def crop_side(face_px: float, context: float) -> int:
    """Network input side (a multiple of 32) holding a ``face_px`` face with ``context`` times its size around."""
    return max(_MULTIPLE, math.ceil(face_px * context / _MULTIPLE) * _MULTIPLE)


def _window(box: np.ndarray, face_px: float, side: int) -> tuple[float, float, float]:
    """(left, top, k): the source square mapped onto the crop, and the enlargement factor k."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    size = max(y2 - y1, x2 - x1, 1.0)
    k = face_px / size
    half = side / (2 * k)
    return (x1 + x2) / 2 - half, (y1 + y2) / 2 - half, k


def _crop(rgb: np.ndarray, left: float, top: float, k: float, side: int) -> np.ndarray:
    """The ``side`` x ``side`` network crop (CHW float32, zero where the window leaves the image)."""
    height, width = rgb.shape[:2]
    out = np.zeros((3, side, side), dtype=np.float32)
    span = side / k
    sx1, sy1 = max(0, math.floor(left)), max(0, math.floor(top))
    sx2, sy2 = min(width, math.ceil(left + span)), min(height, math.ceil(top + span))
    if sx2 <= sx1 or sy2 <= sy1:
        return out
    # Where the clipped source region lands in the crop, in crop pixels.
    ox1, oy1 = max(0, round((sx1 - left) * k)), max(0, round((sy1 - top) * k))
    ox2, oy2 = min(side, round((sx2 - left) * k)), min(side, round((sy2 - top) * k))
    if ox2 <= ox1 or oy2 <= oy1:
        return out
    region = Image.fromarray(np.ascontiguousarray(rgb[sy1:sy2, sx1:sx2]))
    resized = np.asarray(region.resize((ox2 - ox1, oy2 - oy1), Image.Resampling.BILINEAR))
    out[:, oy1:oy2, ox1:ox2] = resized.transpose(2, 0, 1)
    return out


def _matches(dets: np.ndarray, cx1: float, cy1: float, cx2: float, cy2: float) -> np.ndarray:
    """Which detections (crop pixels) are the candidate [cx1, cx2] x [cy1, cy2] seen again: centre
    inside it, size within a factor of two (a third to double)."""
    mid_x, mid_y = (dets[:, 0] + dets[:, 2]) / 2, (dets[:, 1] + dets[:, 3]) / 2
    det_size = np.maximum(dets[:, 3] - dets[:, 1], dets[:, 2] - dets[:, 0])
    cand_size = max(cy2 - cy1, cx2 - cx1, 1.0)
    matched: np.ndarray = ((mid_x >= cx1) & (mid_x <= cx2) & (mid_y >= cy1) & (mid_y <= cy2)
                           & (det_size >= cand_size / 3) & (det_size <= cand_size * 2))
    return matched


def recheck(
    model: CenterFaceModel,
    rgb: np.ndarray,
    boxes: np.ndarray,
    *,
    face_px: float = 40.0,
    context: float = 3.0,
    threshold: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-examine candidate faces ``boxes`` (N, >=4: x1 y1 x2 y2 ...) in the RGB image ``rgb``.

    Each candidate is cropped with ``context`` times its size around it, scaled so it is ``face_px``
    tall, and run through the network (in batches). Returns (scores (N,), boxes (N, 4)): the best
    score of a detection in the crop that matches the candidate (its centre inside the candidate's
    box, its size within a factor of two), 0 when none does; and that detection's box in ``rgb``
    coordinates (the candidate's own box when none matched).
    """
    count = len(boxes)
    scores = np.zeros(count, dtype=np.float32)
    found = np.asarray(boxes, dtype=np.float32).reshape(-1, boxes.shape[1] if count else 4)[:, :4].copy()
    if count == 0:
        return scores, found.reshape(0, 4)
    rgb = _as_rgb_uint8(rgb)  # gray and RGBA as the full-photo passes take them
    side = crop_side(face_px, context)
    windows = [_window(box, face_px, side) for box in found]
    for start in range(0, count, _MAX_BATCH):
        stop = min(count, start + _MAX_BATCH)
        blob = np.stack([_crop(rgb, *windows[i], side) for i in range(start, stop)])
        heatmaps, sizes, offsets = model.forward(blob)
        for j, i in enumerate(range(start, stop)):
            dets = decode(heatmaps[j, 0], sizes[j], offsets[j], threshold=threshold, limit=(side, side))
            if not len(dets):
                continue
            left, top, k = windows[i]
            # the candidate in crop pixels
            cx1, cy1, cx2, cy2 = ((found[i, 0] - left) * k, (found[i, 1] - top) * k,
                                  (found[i, 2] - left) * k, (found[i, 3] - top) * k)
            match = _matches(dets, cx1, cy1, cx2, cy2)
            if not match.any():
                continue
            winner = np.flatnonzero(match)[np.argmax(dets[match, 4])]
            # Suppression is greedy by score: whether the best match survives it depends only on the boxes
            # scoring at least as high, usually a handful (the whole crop's suppression only when it does not).
            stronger = np.flatnonzero(dets[:, 4] >= dets[winner, 4])
            if winner not in stronger[nms(dets[stronger, :4], dets[stronger, 4], 0.3)]:
                kept = np.zeros(len(dets), dtype=bool)
                kept[nms(dets[:, :4], dets[:, 4], 0.3)] = True
                match &= kept
                if not match.any():
                    continue
                winner = np.flatnonzero(match)[np.argmax(dets[match, 4])]
            best = dets[winner]
            scores[i] = best[4]
            found[i] = [best[0] / k + left, best[1] / k + top, best[2] / k + left, best[3] / k + top]
    return scores, found


def rechecked_clusters(
    dets: np.ndarray,
    pass_ids: np.ndarray,
    config: DetectorConfig,
    recheck: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Every cluster of detections >= ``low_threshold``, kept by the re-check rule of
    ``DetectorConfig.recheck_below``: (M, 5) unpadded boxes x1 y1 x2 y2 score."""
    low = config.low_threshold
    union, support = fuse_clusters(dets, pass_ids, threshold=low, low_threshold=low, min_support=1,
                                   cluster_iou=config.cluster_iou, merge="union")
    # Same clusters in the same order; the score-weighted mean box is the better-placed candidate.
    mean, _ = fuse_clusters(dets, pass_ids, threshold=low, low_threshold=low, min_support=1,
                            cluster_iou=config.cluster_iou, merge="mean")
    if len(union) == 0:
        return union
    best = union[:, 4]
    tall = (mean[:, 3] - mean[:, 1]) >= config.recheck_size_px
    # Tall clusters: the full-photo rule (a score, or agreement between passes), the union box.
    keep = (best >= config.recheck_below) | (tall & ((best >= config.threshold) | (support >= config.min_support)))
    out = union.copy()
    unsure = np.flatnonzero(~tall & (best < config.recheck_below))
    # Every cluster kept so far (tall, or small and sure) is looked at again too, for its box only: never
    # dropped by it. (Small sure ones too: on half A that took boxes mostly on a face from 55.2% to 57.6%
    # with the same recall; on B 64.7% -> 66.8%, faces >= 24 px unchanged.)
    refine = np.flatnonzero(keep) if config.refine_confirm > 0 else np.empty(0, dtype=np.intp)
    looked_at = np.concatenate([unsure, refine])
    if len(looked_at):
        all_scores, all_boxes = recheck(mean[looked_at])
        scores, boxes = all_scores[: len(unsure)], all_boxes[: len(unsure)]
        passed = unsure[scores >= config.recheck_threshold]
        keep[passed] = True
        found = boxes[scores >= config.recheck_threshold]
        if config.recheck_box == "both":
            found = np.concatenate([np.minimum(found[:, :2], out[passed, :2]),
                                    np.maximum(found[:, 2:], out[passed, 2:4])], axis=1)
        out[passed, :4] = found
        out[passed, 4] = np.maximum(scores[scores >= config.recheck_threshold], best[passed])
        out[refine] = refined_boxes(union[refine], mean[refine], all_scores[len(unsure):],
                                    all_boxes[len(unsure):], config.refine_confirm)
    kept: np.ndarray = out[keep]
    return kept


def refined_boxes(
    union: np.ndarray, mean: np.ndarray, scores: np.ndarray, found: np.ndarray, confirm: float
) -> np.ndarray:
    """The box of each kept cluster looked at again (M, 5): where the second look confirms the face
    (re-check score >= ``confirm``), the re-check's box joined with the cluster's score-weighted mean box;
    elsewhere the union of all its detections, as before.

    In a crowd the union chains weak detections of neighbouring heads and texture into a box several
    times the face; the face seen again at the model's best size is boxed tightly. Joining the mean
    box keeps the full-photo passes' view of where the face is, so a re-check box that sits a little
    off the face does not uncover it."""
    out = union.copy()
    sure = scores >= confirm
    out[sure, :2] = np.minimum(found[sure, :2], mean[sure, :2])
    out[sure, 2:4] = np.maximum(found[sure, 2:4], mean[sure, 2:4])
    return out
