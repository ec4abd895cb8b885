"""Fusion of face detections from several detector passes into one box per face.

Each pass of :class:`app.redact.faces.FaceDetector` (a scale, a mirror, a rotation) boxes the same
face slightly differently, and each finds some faces the others miss. Detections overlapping enough
belong to one face; whether that face is kept depends on its best score and on how many different
passes saw it (agreement between passes is evidence a weak one-off lacks).
"""

from __future__ import annotations

import numpy as np


def fuse_clusters(
    dets: np.ndarray,
    pass_ids: np.ndarray,
    *,
    threshold: float,
    low_threshold: float,
    min_support: int,
    cluster_iou: float,
    merge: str = "union",
    min_mean_score: float = 0.0,
    n_passes: int = 0,
    sure_threshold: float = 1.0,
    mean_rule_below_px: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster detections from all passes: (M, 5) one box per cluster that qualifies, and for each
    the number of different passes that saw it. ``merge`` is how a cluster becomes one box:
    "union" of its members or their score-weighted "mean". ``min_mean_score`` (with ``n_passes``,
    how many passes ran) also requires the mean over all passes of each pass's best score in the
    cluster (0 for a pass that missed it) to reach that value: a face most passes see is kept, a
    texture one pass happens to score highly is not. A cluster whose best score reaches
    ``sure_threshold`` needs no such agreement (a face only one pass can see, e.g. upside down), nor
    does one whose best box is at least ``mean_rule_below_px`` tall (0: the rule holds at any size)."""
    if merge not in ("union", "mean"):
        raise ValueError(f"merge must be 'union' or 'mean', not {merge!r}")
    keep_mask = dets[:, 4] >= low_threshold
    dets, pass_ids = dets[keep_mask], pass_ids[keep_mask]
    if len(dets) == 0:
        return np.empty((0, 5), dtype=np.float32), np.empty(0, dtype=np.int32)
    x1, y1, x2, y2, scores = dets.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    taken = np.zeros(len(dets), dtype=bool)
    out = []
    supports = []
    for i in order:
        if taken[i]:
            continue
        rest = np.nonzero(~taken)[0]
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        members = rest[(iou >= cluster_iou) | (rest == i)]  # i itself even when it has no area (edge-clipped)
        taken[members] = True
        seen = np.unique(pass_ids[members])
        support = len(seen)
        if min_mean_score > 0 and scores[i] < sure_threshold and (
            mean_rule_below_px <= 0 or y2[i] - y1[i] < mean_rule_below_px
        ):
            best = sum(float(scores[members][pass_ids[members] == p].max()) for p in seen)
            if best / max(n_passes, support) < min_mean_score:
                continue
        if scores[i] >= threshold or support >= min_support:
            if merge == "union":
                out.append(
                    [x1[members].min(), y1[members].min(), x2[members].max(), y2[members].max(), scores[i]]
                )
            else:  # score-weighted mean of the members: one pass's loose box does not widen the face
                weights = scores[members] / scores[members].sum()
                out.append([float(weights @ x1[members]), float(weights @ y1[members]),
                            float(weights @ x2[members]), float(weights @ y2[members]), scores[i]])
            supports.append(support)
    return np.asarray(out, dtype=np.float32).reshape(-1, 5), np.asarray(supports, dtype=np.int32)


def fuse(
    dets: np.ndarray,
    pass_ids: np.ndarray,
    *,
    threshold: float,
    low_threshold: float,
    min_support: int,
    cluster_iou: float,
    merge: str = "union",
    min_mean_score: float = 0.0,
    n_passes: int = 0,
    sure_threshold: float = 1.0,
    mean_rule_below_px: float = 0.0,
) -> np.ndarray:
    """Cluster detections from all passes; return (M, 5) one box per cluster that qualifies."""
    boxes, _ = fuse_clusters(dets, pass_ids, threshold=threshold, low_threshold=low_threshold,
                             min_support=min_support, cluster_iou=cluster_iou, merge=merge,
                             min_mean_score=min_mean_score, n_passes=n_passes, sure_threshold=sure_threshold,
                             mean_rule_below_px=mean_rule_below_px)
    return boxes
