"""Scoring helpers for face redaction benchmarks (photos and video frames).

Boxes everywhere are ``[x, y, w, h]`` in pixels, origin top-left (the annotation format of
/work/shared/data/faces/annotations.json and video/annotations.json).

- :func:`coverage`: which ground-truth faces a redaction hides. A face counts as redacted when at
  least ``threshold`` (default 90%) of its box area lies inside the UNION of the redaction boxes;
  the union is rasterised into a per-image mask, so several partial boxes can hide one face.
- :func:`on_face`: which redaction boxes are on a face (for precision). Rule: a redaction box is on
  a face when it contains at least 50% of some ground-truth face's area, or its IoU with some
  ground-truth face is above 0.2. Ignored ("invalid") WIDER faces count as faces here: boxing a
  real but tiny/blurred face is not a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = Sequence[float]  # x, y, w, h


def _clip(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer pixel span [x1, x2) x [y1, y2) of a box, clipped to the image."""
    x, y, w, h = box
    x1 = int(np.clip(np.floor(x), 0, width))
    y1 = int(np.clip(np.floor(y), 0, height))
    x2 = int(np.clip(np.ceil(x + w), 0, width))
    y2 = int(np.clip(np.ceil(y + h), 0, height))
    return x1, y1, x2, y2


def union_mask(boxes: Sequence[Box], width: int, height: int) -> np.ndarray:
    """Boolean (height, width) mask of every pixel inside at least one box."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        x1, y1, x2, y2 = _clip(box, width, height)
        mask[y1:y2, x1:x2] = True
    return mask


def _pixels_inside(
    boxes: Sequence[Box], union_of: Sequence[Box], width: int, height: int
) -> list[tuple[int, np.int64]]:
    """For each of ``boxes``: its clipped area and how many of those pixels lie in the union of ``union_of``."""
    mask = union_mask(union_of, width, height)
    # An integral image makes each box's covered-pixel count O(1).
    integral = np.zeros((height + 1, width + 1), dtype=np.int64)
    integral[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    result = []
    for box in boxes:
        x1, y1, x2, y2 = _clip(box, width, height)
        inside = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
        result.append(((x2 - x1) * (y2 - y1), inside))
    return result


def coverage(
    gt_boxes: Sequence[Box],
    redaction_boxes: Sequence[Box],
    width: int,
    height: int,
    threshold: float = 0.9,
) -> list[bool]:
    """For each ground-truth face: is at least ``threshold`` of its area inside the redaction union?

    The face's own area is measured after clipping to the image (a face cut by the frame edge
    only needs its visible part hidden). A face with no visible pixels counts as covered.
    """
    return [area <= 0 or inside >= threshold * area
            for area, inside in _pixels_inside(gt_boxes, redaction_boxes, width, height)]


def on_face(
    redaction_boxes: Sequence[Box],
    gt_boxes: Sequence[Box],
    *,
    contain: float = 0.5,
    iou: float = 0.2,
) -> list[bool]:
    """For each redaction box: does it contain ≥ ``contain`` of some face, or IoU > ``iou`` with one?"""
    if not gt_boxes:
        return [False] * len(redaction_boxes)
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    gx1, gy1 = gt[:, 0], gt[:, 1]
    gx2, gy2 = gx1 + gt[:, 2], gy1 + gt[:, 3]
    garea = np.maximum(gt[:, 2], 0) * np.maximum(gt[:, 3], 0)
    result = []
    for x, y, w, h in redaction_boxes:
        iw = np.maximum(np.minimum(x + w, gx2) - np.maximum(x, gx1), 0)
        ih = np.maximum(np.minimum(y + h, gy2) - np.maximum(y, gy1), 0)
        inter = iw * ih
        contained = inter >= contain * np.maximum(garea, 1e-9)
        ious = inter / np.maximum(w * h + garea - inter, 1e-9)
        result.append(bool(np.any(contained & (garea > 0)) or np.any(ious > iou)))
    return result


class Tally:
    """Accumulates coverage by face-height band, precision and timing over a data set."""

    def __init__(self) -> None:
        self.covered: dict[str, list[bool]] = {"ge24": [], "24to47": [], "ge10": [], "all": []}
        self.boxes_on_face: list[bool] = []
        self.seconds = 0.0
        self.megapixels = 0.0
        self.boxes_on_faceless_images = 0
        self.box_face_fractions: list[float] = []
        self.outside_pixels = 0
        self.pixels = 0

    def add(
        self,
        *,
        faces: Sequence[Box],
        ignore: Sequence[bool],
        boxes: Sequence[Box],
        width: int,
        height: int,
        seconds: float,
    ) -> None:
        covered = coverage(faces, boxes, width, height)
        for face, ign, cov in zip(faces, ignore, covered, strict=True):
            if ign:
                continue  # WIDER "invalid" faces are left out of recall, as in WIDER's own protocol
            h = face[3]
            self.covered["all"].append(cov)
            if h >= 24:
                self.covered["ge24"].append(cov)
            if 24 <= h < 48:
                self.covered["24to47"].append(cov)
            if h >= 10:
                self.covered["ge10"].append(cov)
        self.boxes_on_face.extend(on_face(boxes, faces))
        self.box_face_fractions.extend(face_fraction(boxes, faces, width, height))
        self.outside_pixels += area_outside_faces(boxes, faces, width, height)
        self.pixels += width * height
        if not faces:
            self.boxes_on_faceless_images += len(boxes)
        self.seconds += seconds
        self.megapixels += width * height / 1e6

    def rate(self, band: str) -> float:
        values = self.covered[band]
        return sum(values) / len(values) if values else float("nan")

    def summary(self) -> dict[str, float]:
        return {
            "cover_ge24": self.rate("ge24"),
            "cover_24to47": self.rate("24to47"),
            "cover_ge10": self.rate("ge10"),
            "cover_all": self.rate("all"),
            "n_ge24": len(self.covered["ge24"]),
            "n_24to47": len(self.covered["24to47"]),
            "n_ge10": len(self.covered["ge10"]),
            "precision": (sum(self.boxes_on_face) / len(self.boxes_on_face)) if self.boxes_on_face else 1.0,
            "boxes": len(self.boxes_on_face),
            "boxes_on_faceless_images": self.boxes_on_faceless_images,
            "mostly_on_face": (
                sum(f >= 0.3 for f in self.box_face_fractions) / len(self.box_face_fractions)
                if self.box_face_fractions else 1.0
            ),
            "outside_mpx": self.outside_pixels / 1e6,
            "outside_fraction": self.outside_pixels / self.pixels if self.pixels else 0.0,
            "s_per_mp": self.seconds / self.megapixels if self.megapixels else float("nan"),
        }


# ---------------------------------------------------------------------------------------------
# Cross-validation split and the issue #10 precision measures


def split_halves(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Deterministic two-way split of photo file names, stratified by WIDER event.

    Within each event (the file name's prefix before the first ``_``; face-free photos form one
    group) names are sorted by their SHA-256 and dealt alternately to half A and half B, so both
    halves hold every kind of scene and the split never depends on the order of the annotations.
    """
    import hashlib

    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.split("_", 1)[0], []).append(name)
    half_a: list[str] = []
    half_b: list[str] = []
    for key in sorted(groups):
        ordered = sorted(groups[key], key=lambda n: hashlib.sha256(n.encode()).hexdigest())
        half_a += ordered[0::2]
        half_b += ordered[1::2]
    return half_a, half_b


def face_fraction(redaction_boxes: Sequence[Box], gt_boxes: Sequence[Box], width: int, height: int) -> list[float]:
    """For each redaction box: the fraction of its (clipped) area lying on the union of annotated faces.

    Issue #10's precision: a box is "mostly on a face" when this is >= 0.3. Ignored (invalid)
    WIDER faces count as faces: hiding a real tiny or blurred face is not a false positive.
    """
    return [float(inside) / area
            for area, inside in _pixels_inside(redaction_boxes, gt_boxes, width, height) if area > 0]


def area_outside_faces(redaction_boxes: Sequence[Box], gt_boxes: Sequence[Box], width: int, height: int) -> int:
    """Pixels redacted that are on no annotated face (evidence hidden for nothing)."""
    redacted = union_mask(redaction_boxes, width, height)
    faces = union_mask(gt_boxes, width, height)
    return int(np.count_nonzero(redacted & ~faces))
