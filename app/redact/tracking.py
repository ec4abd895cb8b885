"""Turning face detections on some frames into redaction boxes on every frame.

The detector runs on a subset of frames (every ``stride``-th frame, plus both sides of every
scene cut).  :class:`FaceTracks` links those detections into tracks and answers, for any frame,
which rectangles must be hidden there:

- between two observations of the same face the box is interpolated linearly, and widened by the
  face's motion per frame times the distance to the nearest observation (the face may not move
  linearly in between);
- before a track's first and after its last observation the box is *held* for ``hold`` frames,
  extended in the direction of motion and widened the same way: a face the detector only
  catches from its second frame on, or loses a frame early, stays covered;
- a scene cut ends every track (faces do not glide across a cut), and holds stop at the cut.

Everything here is plain arithmetic on floats in a fixed order, so the same detections always
give the same boxes (the custody record relies on that).  Boxes are ``(x1, y1, x2, y2)`` floats,
tight around the face as the detector reports it; padding is added by the caller.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Track:
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)  # (4,) x1 y1 x2 y2
    scores: list[float] = field(default_factory=list)
    segment: int = 0  # scene (between cuts) the track lives in

    @property
    def last_frame(self) -> int:
        return self.frames[-1]

    def velocity(self, index: int) -> np.ndarray:
        """Per-frame motion of the box corners around observation ``index``."""
        if len(self.frames) < 2:
            return np.zeros(4)
        j = max(1, min(index, len(self.frames) - 1))
        return (self.boxes[j] - self.boxes[j - 1]) / max(1, self.frames[j] - self.frames[j - 1])

    def predict(self, frame: int) -> np.ndarray:
        v = self.velocity(len(self.frames) - 1)
        return self.boxes[-1] + v * (frame - self.last_frame)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a`` (N, 4) and ``b`` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _cap(widen: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Motion margins never exceed the face's own size (a bad velocity must not blank the frame)."""
    size = max(box[2] - box[0], box[3] - box[1], 1.0)
    return np.minimum(widen, size)


def _centre_close(a: np.ndarray, b: np.ndarray) -> bool:
    """Centres within half a face size of each other (small fast faces may not overlap at all)."""
    size = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
    ca, cb = (a[:2] + a[2:]) / 2, (b[:2] + b[2:]) / 2
    return bool(np.hypot(*(ca - cb)) <= 0.5 * size)


class FaceTracks:
    """Accumulates per-frame detections (in frame order) and renders boxes for any frame."""

    def __init__(self, *, hold: int = 6, max_gap: int = 12, match_iou: float = 0.2) -> None:
        self.hold = hold
        self.max_gap = max_gap  # longer gaps between observations are not interpolated across
        self.match_iou = match_iou
        self.tracks: list[Track] = []
        self._active: list[Track] = []
        self._segment = 0
        self.cuts: list[int] = []  # first frames of new scenes
        self.detected_frames: list[int] = []

    def cut(self, frame: int) -> None:
        """A new scene starts at ``frame``: no track continues across it."""
        self._segment += 1
        self._active = []
        self.cuts.append(frame)

    def add(self, frame: int, dets: np.ndarray) -> None:
        """Detections (N, >=5: x1 y1 x2 y2 score) found on ``frame`` (frames must increase)."""
        self.detected_frames.append(frame)
        self._active = [t for t in self._active if frame - t.last_frame <= self.max_gap]
        boxes = np.asarray(dets, dtype=np.float64).reshape(-1, dets.shape[1] if len(dets) else 5)
        if len(boxes) == 0:
            return
        order = np.argsort(-boxes[:, 4], kind="stable")
        predicted = np.array([t.predict(frame) for t in self._active]).reshape(-1, 4)
        ious = iou_matrix(boxes[:, :4], predicted)
        used: set[int] = set()
        for i in order:
            box = boxes[i, :4]
            best, best_iou = -1, self.match_iou
            for j in range(len(predicted)):
                if j in used:
                    continue
                if ious[i, j] > best_iou or (best < 0 and _centre_close(box, predicted[j])):
                    best, best_iou = j, max(best_iou, ious[i, j])
            if best >= 0:
                used.add(best)
                track = self._active[best]
            else:
                track = Track(segment=self._segment)
                self.tracks.append(track)
                self._active.append(track)
            track.frames.append(frame)
            track.boxes.append(box.copy())
            track.scores.append(float(boxes[i, 4]))

    def drop_before(self, frame: int) -> None:
        """Forget tracks that can no longer affect ``frame`` or any later frame (bounded memory)."""
        self.tracks = [t for t in self.tracks if t.last_frame + self.hold >= frame]

    def boxes_at(self, g: int, *, motion_scale: float = 1.0) -> list[tuple[np.ndarray, float]]:
        """Tight boxes (x1, y1, x2, y2; may reach outside the frame) and scores on frame ``g``.

        Final once detections up to frame ``g + max(hold, max_gap)`` have been added.
        """
        out: list[tuple[np.ndarray, float]] = []
        grow = np.array([-1.0, -1.0, 1.0, 1.0])
        for track in self.tracks:
            frames, boxes = track.frames, track.boxes
            if g < frames[0] - self.hold or g > frames[-1] + self.hold:
                continue
            # holds stay inside the track's own scene: a close-up after a cut must not blank the
            # last frames of the wide shot before it
            if g < self._scene_start(track) or g > self._scene_end(track):
                continue
            score = max(track.scores)
            k = bisect.bisect_right(frames, g) - 1  # last observation at or before g
            if k >= 0 and frames[k] == g:
                out.append((boxes[k], score))
                continue
            has_next = k + 1 < len(frames)
            if k >= 0 and has_next and frames[k + 1] - frames[k] <= self.max_gap:
                f, nxt = frames[k], frames[k + 1]
                t = (g - f) / (nxt - f)
                speed = np.abs(boxes[k + 1] - boxes[k]) / (nxt - f) * motion_scale
                widen = _cap(speed * min(g - f, nxt - g), boxes[k])
                out.append((boxes[k] + (boxes[k + 1] - boxes[k]) * t + grow * widen, score))
                continue
            if k >= 0 and g - frames[k] <= self.hold:  # held after the last sighting
                out.append((self._held(track, k, g - frames[k], motion_scale), score))
            if has_next and frames[k + 1] - g <= self.hold:  # held before the next sighting
                out.append((self._held(track, k + 1, g - frames[k + 1], motion_scale), score))
        return out

    def _scene_start(self, track: Track) -> int:
        return self.cuts[track.segment - 1] if track.segment > 0 else 0

    def _scene_end(self, track: Track) -> float:
        return self.cuts[track.segment] - 1 if track.segment < len(self.cuts) else float("inf")

    @staticmethod
    def _held(track: Track, k: int, d: int, motion_scale: float) -> np.ndarray:
        """Observation ``k`` carried ``d`` frames (negative = backwards) along its motion, widened."""
        box = track.boxes[k]
        v = track.velocity(k if d > 0 else k + 1)
        moved = box + v * d
        hull = np.array([min(box[0], moved[0]), min(box[1], moved[1]),
                         max(box[2], moved[2]), max(box[3], moved[3])])
        widen = _cap(np.abs(v) * motion_scale * abs(d), box)
        return hull + np.array([-1.0, -1.0, 1.0, 1.0]) * widen
