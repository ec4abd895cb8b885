"""Shot-bounded face tracks: from detections on some frames to boxes on every frame of a shot.

Fail-secure rule: a face seen in any frame of a shot stays covered in every frame of that shot
where it could be. The whole shot's detections are known before any frame is drawn (video
redaction analyses the video first), so tracks are built over the entire shot:

- sightings are linked twice, forward and backward in time (each direction predicts a face's next
  position from its motion, so a fast face entering from one side is linked from the side where
  it is largest); the boxes of both sets of tracks are drawn, and where they differ both cover;
- between two sightings the box is interpolated and widened by the observed motion;
- before a track's first and after its last sighting the box is *held* up to the shot's first and
  last frame: carried along its observed motion for ``extrapolate`` frames, then kept there, and
  grown every unseen frame (the face may have moved or turned where the detector lost it);
- a confirmed face seen moving faster than the tracker can follow (``fast_speed``), or found on
  too few of the shot's detection frames (``min_hit_rate``: blur or turning keeps losing it), is
  covered by the *region it can have reached* wherever it goes unseen for more than ``fast_gap``
  frames (flagged): every edge of its last box moved outwards by its speed bound times the frames
  since that sighting, intersected with the same from its next sighting (it must also get there),
  the shot's first and last frame bounding the rest. The speed bound is physical: the fastest edge
  speed observed between its sightings (``speed_margin`` more); an elusive face's sightings do not
  bound its speed (it may be found only where it turns), so it gets at least ``elusive_speed`` face
  sizes per frame. A region covering most of the frame (``whole_share``) becomes the whole frame;
- frames where a face had not been seen for more than ``max_gap`` frames, and frames covered on
  the evidence of an uncertain detection only, are returned as :class:`ReviewFlag` ranges: covered
  meanwhile, and shown to the reviewer.

Tracks of uncertain detections only (one weak pass, never confirmed) are held ``weak_hold`` frames
rather than to the cut: a flicker of texture must not black out a whole shot.

Boxes are ``(x1, y1, x2, y2)`` floats, tight as the detector reports them; padding is the caller's.
Plain float arithmetic in a fixed order: the same detections always give the same boxes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FLAG_LOST = "tracking_lost"
FLAG_UNCERTAIN = "detectors_disagree"


@dataclass(frozen=True)
class TrackSettings:
    match_iou: float = 0.2  # a sighting continues a track when it overlaps the predicted box this much...
    match_centre: float = 0.5  # ... or its centre is within this many face sizes of the prediction,
    max_speed: float = 0.75  # plus this many face sizes per frame since the track was last seen,
    max_speed_frames: int = 4  # counting at most this many frames
    link_gap: int = 25  # frames a track may go unseen and still be continued by a new sighting
    max_gap: int = 12  # unseen for longer than this: the face was lost there (flagged)
    motion_scale: float = 1.0  # widening per frame = observed corner speed x this
    extrapolate: int = 12  # frames the observed motion is carried on past a sighting
    growth: float = 0.02  # per unseen frame a held box grows by this fraction of the face on each side
    max_growth: float = 1.0  # ... up to this fraction (a held box at most triples its width)
    weak_hold: int = 12  # frames a track of uncertain sightings only is held
    # A confirmed face that moved faster than this many face sizes per frame between two sightings
    # cannot be followed through misses (it may turn back or leave between detections): wherever it
    # goes unseen for more than ``fast_gap`` frames, the region it can be in is covered and flagged.
    fast_speed: float = 0.6
    fast_gap: int = 4
    fast_steps: int = 2  # ... seen moving that fast between this many pairs of its sightings
    # Likewise a confirmed face found on fewer than this fraction of the shot's detection frames: the
    # detector keeps losing it (motion blur, turning), so where it is unseen it may be far away.
    min_hit_rate: float = 0.25
    # Such a face is covered where it can have got to, not by the whole frame: its speed bound is
    # the fastest edge speed seen between two of its sightings times ``speed_margin``; an elusive
    # face's own sightings do not bound it (it may be found only where it turns), so it gets at
    # least ``elusive_speed`` face sizes per frame.
    speed_margin: float = 1.5
    elusive_speed: float = 2.0
    whole_share: float = 0.8  # a region over this share of the frame: the whole frame is covered


@dataclass(frozen=True)
class ReviewFlag:
    """Frames ``first_frame``..``last_frame`` (inclusive) a reviewer must look at, and why."""

    first_frame: int
    last_frame: int
    reason: str  # FLAG_LOST or FLAG_UNCERTAIN

    def to_dict(self) -> dict[str, Any]:
        return {"first_frame": self.first_frame, "last_frame": self.last_frame, "reason": self.reason}


@dataclass
class Track:
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)  # (4,) x1 y1 x2 y2
    scores: list[float] = field(default_factory=list)
    sure: list[bool] = field(default_factory=list)

    def predict(self, frame: int) -> np.ndarray:
        if len(self.frames) < 2:
            return self.boxes[-1]
        step = self.frames[-1] - self.frames[-2]
        velocity = (self.boxes[-1] - self.boxes[-2]) / step
        return np.asarray(self.boxes[-1] + velocity * (frame - self.frames[-1]))

    def sorted(self) -> Track:
        order = sorted(range(len(self.frames)), key=self.frames.__getitem__)
        return Track([self.frames[i] for i in order], [self.boxes[i] for i in order],
                     [self.scores[i] for i in order], [self.sure[i] for i in order])


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
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9))


def _size(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))


def match_costs(boxes: np.ndarray, predicted: np.ndarray, ious: np.ndarray, frames_apart: np.ndarray,
                s: TrackSettings) -> np.ndarray:
    """How well each sighting ``boxes`` (N, 4) continues each track's ``predicted`` box (M, 4): (N, M), lower is
    better, inf where it does not.  ``frames_apart`` (M,): frames since each track was last seen.

    Overlap with the predicted box comes first; without overlap a sighting of similar size whose
    centre lies near enough still continues the track (small fast faces may not overlap at all):
    "near" grows with the frames since the track was last seen, up to ``max_speed_frames``.
    Computed for all pairs at once: a crowd gives thousands of sightings and tracks per frame.
    """
    size_a = np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)
    size_b = np.maximum(np.maximum(predicted[:, 2] - predicted[:, 0], predicted[:, 3] - predicted[:, 1]), 1.0)
    ratio = size_a[:, None] / size_b[None, :]
    centre_a = (boxes[:, :2] + boxes[:, 2:]) / 2
    centre_b = (predicted[:, :2] + predicted[:, 2:]) / 2
    distance = np.hypot(centre_a[:, None, 0] - centre_b[None, :, 0], centre_a[:, None, 1] - centre_b[None, :, 1])
    reach = s.match_centre + s.max_speed * np.minimum(np.abs(frames_apart), s.max_speed_frames)
    radius = np.maximum(size_a[:, None], size_b[None, :]) * reach[None, :]
    near = (ratio >= 0.5) & (ratio <= 2.0) & (distance <= radius)
    cost = np.where(near, 1.0 + distance / np.maximum(radius, 1e-12), np.inf)
    return np.asarray(np.where(ious >= s.match_iou, 1.0 - ious, cost))


def link(frames: Sequence[int], detections: Sequence[np.ndarray], settings: TrackSettings) -> list[Track]:
    """Link per-frame detections, visited in the order given (forward or backward), into tracks.

    ``detections[i]`` is (N, 6): x1 y1 x2 y2 score sure (1.0 = confirmed, 0.0 = uncertain).
    Pairs of (sighting, track) are taken best first, each sighting and track at most once.
    """
    tracks: list[Track] = []
    active: list[Track] = []
    for frame, dets in zip(frames, detections, strict=True):
        active = [t for t in active if abs(frame - t.frames[-1]) <= settings.link_gap]
        if len(dets) == 0:
            continue
        boxes = dets[:, :4].astype(np.float64)
        predicted = np.array([t.predict(frame) for t in active]).reshape(-1, 4)
        apart = np.array([frame - t.frames[-1] for t in active], dtype=np.float64)
        costs = match_costs(boxes, predicted, iou_matrix(boxes, predicted), apart, settings)
        rows, cols = np.nonzero(np.isfinite(costs))
        # Best first: lowest cost, then the surer sighting, then the order found.
        order = np.lexsort((cols, rows, -dets[rows, 4], costs[rows, cols]))
        assigned: dict[int, Track] = {}
        used: set[int] = set()
        for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
            if i not in assigned and j not in used:
                assigned[i] = active[j]
                used.add(j)
        for i in np.argsort(-dets[:, 4], kind="stable"):
            found = assigned.get(int(i))
            if found is None:
                track = Track()
                tracks.append(track)
                active.append(track)
            else:
                track = found
            track.frames.append(int(frame))
            track.boxes.append(boxes[i].copy())
            track.scores.append(float(dets[i, 4]))
            track.sure.append(bool(dets[i, 5] >= 0.5))
    return [t.sorted() for t in tracks]


@dataclass
class ShotBoxes:
    """What :func:`render_shot` produces for frames ``start``..``end``."""

    start: int
    end: int
    boxes: list[list[tuple[np.ndarray, float]]]  # per frame of the shot: (x1 y1 x2 y2, score)
    lost: np.ndarray  # bool per frame: a face was held unseen for more than max_gap frames
    uncertain: np.ndarray  # bool per frame: covered on an uncertain detection only
    # which track (index into ``tracks``) drew each box of ``boxes``, and each track's own drawing:
    # what following one face through the shot (a kept face, app.redact.kept_video) needs
    owners: list[list[int]] = field(default_factory=list)
    tracks: list[TrackDrawing] = field(default_factory=list)


@dataclass
class TrackDrawing:
    """One linked track as drawn over a shot: raw boxes (NaN where none) and where it was unsure."""

    forward: bool  # linked forward in time (else backward)
    drawn: np.ndarray  # (n, 4) x1 y1 x2 y2 per frame of the shot, NaN where the track draws nothing
    lost: np.ndarray  # bool per frame: unseen for more than max_gap frames there
    region: np.ndarray  # bool per frame: drawn is where a fast or elusive face can be, not its box
    first_seen: int  # frame numbers of the first and last sighting
    last_seen: int
    sure: bool
    face: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (n, 2) the face's own width, height


def _held(box: np.ndarray, velocity: np.ndarray, d: np.ndarray, s: TrackSettings) -> np.ndarray:
    """``box`` carried ``d`` frames (array; negative = backwards) along ``velocity``, hull kept, grown."""
    steps = np.clip(d, -s.extrapolate, s.extrapolate)[:, None]
    moved = box[None, :] + velocity[None, :] * steps
    hull = np.concatenate([np.minimum(box[:2], moved[:, :2]), np.maximum(box[2:], moved[:, 2:])], axis=1)
    size = _size(box)
    speed = float(np.abs(velocity).max()) * s.motion_scale
    widen = speed * np.abs(steps) + s.growth * size * np.abs(d)[:, None]
    widen = np.minimum(widen, s.max_growth * size)
    return np.asarray(hull + np.array([-1.0, -1.0, 1.0, 1.0]) * widen)


def _velocity(track: Track, k: int) -> np.ndarray:
    """Per-frame corner motion between sightings ``k`` and ``k + 1`` (zero for a single sighting)."""
    if len(track.frames) < 2:
        return np.zeros(4)
    k = max(0, min(k, len(track.frames) - 2))
    return np.asarray((track.boxes[k + 1] - track.boxes[k]) / (track.frames[k + 1] - track.frames[k]))


def _fast(track: Track, s: TrackSettings) -> bool:
    """Did this face move faster than the tracker can follow between ``fast_steps`` of its sightings
    (or between its only two)? One jump inside a slow track is a crowd neighbour linked by mistake."""
    fast = 0
    for k in range(len(track.frames) - 1):
        a, b = track.boxes[k], track.boxes[k + 1]
        step = float(np.hypot(*((b[:2] + b[2:]) / 2 - (a[:2] + a[2:]) / 2)))
        if step / (track.frames[k + 1] - track.frames[k]) > s.fast_speed * max(_size(a), _size(b)):
            fast += 1
    return fast >= min(s.fast_steps, len(track.frames) - 1) > 0


def _observed_speed(track: Track) -> float:
    """The fastest edge motion (px per frame) between two consecutive sightings of ``track``."""
    return max((float(np.abs(track.boxes[k + 1] - track.boxes[k]).max()) / (track.frames[k + 1] - track.frames[k])
                for k in range(len(track.frames) - 1)), default=0.0)


def _cover_regions(track: Track, start: int, end: int, s: TrackSettings, frame_box: np.ndarray,
                   drawn: np.ndarray, lost: np.ndarray, floor: float) -> np.ndarray:
    """Where a fast or elusive face goes unseen for more than ``fast_gap`` frames, the region it can be in.

    From a sighting ``d`` frames away, every edge of the face's box can have moved at most ``v * d``
    (``v``: the speed bound, at least ``floor`` face sizes per frame); between two sightings the face
    is in both such boxes (their intersection, which holds the straight path between them). The
    face's own interpolated or held box stays inside. Returns bool per frame: drawn there is a
    region (flagged as lost)."""
    region = np.zeros(len(drawn), dtype=bool)
    observed = s.speed_margin * _observed_speed(track)
    seen: list[tuple[int, np.ndarray | None]] = [(start - 1, None), *zip(track.frames, track.boxes, strict=True),
                                                 (end + 1, None)]  # the shot's edges bound the rest
    frame_area = float((frame_box[2] - frame_box[0]) * (frame_box[3] - frame_box[1]))
    outwards = np.array([-1.0, -1.0, 1.0, 1.0])
    for (f, before), (nxt, after) in itertools.pairwise(seen):
        if nxt - f <= s.fast_gap:
            continue
        g = np.arange(max(f + 1, start), min(nxt, end + 1))
        lo = np.full((len(g), 2), -np.inf)
        hi = np.full((len(g), 2), np.inf)
        for box, d in ((before, g - f), (after, nxt - g)):
            if box is not None:
                grown = box[None, :] + outwards[None, :] * (max(observed, floor * _size(box)) * d)[:, None]
                lo, hi = np.maximum(lo, grown[:, :2]), np.minimum(hi, grown[:, 2:])
        own = drawn[g - start]
        has = ~np.isnan(own[:, 0])
        lo[has], hi[has] = np.minimum(lo[has], own[has, :2]), np.maximum(hi[has], own[has, 2:])
        reach = np.concatenate([lo, hi], axis=1)
        inside = np.clip(np.minimum(hi, frame_box[2:]) - np.maximum(lo, frame_box[:2]), 0, None)
        most = inside[:, 0] * inside[:, 1] >= s.whole_share * frame_area
        reach[most] = frame_box
        drawn[g - start] = reach
        lost[g - start] = True
        region[g - start] = True
    return region


def _render_track(track: Track, start: int, end: int, s: TrackSettings,
                  out: ShotBoxes, frame_box: np.ndarray | None = None, detection_frames: int = 0,
                  forward: bool = True) -> None:
    frames, boxes = track.frames, track.boxes
    sure = any(track.sure)
    score = max(track.scores)
    n = end - start + 1
    drawn = np.full((n, 4), np.nan)
    lost = np.zeros(n, dtype=bool)
    for k, f in enumerate(frames):
        drawn[f - start] = boxes[k]
    for k in range(len(frames) - 1):
        f, nxt = frames[k], frames[k + 1]
        if nxt - f < 2:
            continue
        g = np.arange(f + 1, nxt)
        t = ((g - f) / (nxt - f))[:, None]
        d = np.minimum(g - f, nxt - g)
        # the fastest corner's speed on every side: motion along x makes y uncertain too
        speed = np.full(4, np.abs(boxes[k + 1] - boxes[k]).max() / (nxt - f) * s.motion_scale)
        size = max(_size(boxes[k]), _size(boxes[k + 1]))
        widen = speed[None, :] * d[:, None]
        if nxt - f > s.max_gap:  # lost between the sightings: grow like a held box
            widen = widen + s.growth * size * d[:, None]
            lost[g - start] = True
        widen = np.minimum(widen, s.max_growth * size)
        drawn[g - start] = boxes[k] + (boxes[k + 1] - boxes[k]) * t + np.array([-1.0, -1.0, 1.0, 1.0]) * widen
    reach_before = frames[0] - start if sure else min(frames[0] - start, s.weak_hold)
    if reach_before > 0:
        g = np.arange(frames[0] - reach_before, frames[0])
        drawn[g - start] = _held(boxes[0], _velocity(track, 0), g - frames[0], s)
        lost[g - start] = frames[0] - g > s.max_gap
    reach_after = end - frames[-1] if sure else min(end - frames[-1], s.weak_hold)
    if reach_after > 0:
        g = np.arange(frames[-1] + 1, frames[-1] + reach_after + 1)
        drawn[g - start] = _held(boxes[-1], _velocity(track, len(frames) - 2), g - frames[-1], s)
        lost[g - start] = g - frames[-1] > s.max_gap
    # (two confirmed sightings at least: one sure flicker of texture must not black out a shot)
    elusive = sum(track.sure) >= 2 and len(frames) < s.min_hit_rate * detection_frames
    region = np.zeros(n, dtype=bool)
    if sure and frame_box is not None and (elusive or _fast(track, s)):
        region = _cover_regions(track, start, end, s, frame_box, drawn, lost, s.elusive_speed if elusive else 0.0)
    owner = len(out.tracks)
    # padding is measured on the face's own size, not on the drawn box: an interpolated, held or
    # region box has already grown by where the face can have moved
    out.tracks.append(TrackDrawing(forward, drawn.copy(), lost.copy(), region, frames[0], frames[-1], sure,
                                   _face_sizes(track, start, end)))
    for i in np.nonzero(~np.isnan(drawn[:, 0]))[0]:
        out.boxes[i].append((drawn[i], score))
        out.owners[i].append(owner)
    out.lost |= lost
    if not sure:
        out.uncertain |= ~np.isnan(drawn[:, 0])


def _face_sizes(track: Track, start: int, end: int) -> np.ndarray:
    """The face's own width and height on every frame of the shot: interpolated between sightings,
    the nearest sighting's beyond them."""
    frames = np.arange(start, end + 1)
    sizes = np.array([[b[2] - b[0], b[3] - b[1]] for b in track.boxes], dtype=np.float64)
    return np.stack([np.interp(frames, track.frames, sizes[:, 0]), np.interp(frames, track.frames, sizes[:, 1])],
                    axis=1)


def _inside(box: np.ndarray, width: int, height: int) -> bool:
    return bool(box[2] > 0 and box[3] > 0 and box[0] < width and box[1] < height)


def render_shot(
    start: int,
    end: int,
    frames: Sequence[int],
    detections: Sequence[np.ndarray],
    width: int,
    height: int,
    settings: TrackSettings = TrackSettings(),
) -> ShotBoxes:
    """Boxes for every frame ``start``..``end`` of one shot from its detections (frames ascending).

    Tracks are linked forward and backward; both sets are drawn. Boxes wholly outside the frame
    (a held face that left the picture) are dropped.
    """
    n = end - start + 1
    out = ShotBoxes(start, end, [[] for _ in range(n)], np.zeros(n, dtype=bool), np.zeros(n, dtype=bool),
                    [[] for _ in range(n)])
    forward = link(frames, detections, settings)
    backward = link(list(frames)[::-1], list(detections)[::-1], settings)
    frame_box = np.array([0.0, 0.0, float(width), float(height)])
    for k, track in enumerate(forward + backward):
        _render_track(track, start, end, settings, out, frame_box, len(frames), forward=k < len(forward))
    for i, items in enumerate(out.boxes):
        keep = [j for j, (b, _) in enumerate(items) if _inside(b, width, height)]
        out.boxes[i] = [items[j] for j in keep]
        out.owners[i] = [out.owners[i][j] for j in keep]
    return out


def flag_ranges(mask: np.ndarray, reason: str, offset: int = 0) -> list[ReviewFlag]:
    """Runs of True in ``mask`` as :class:`ReviewFlag` ranges (frame numbers + ``offset``)."""
    flags: list[ReviewFlag] = []
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    for first, after in zip(edges[0::2], edges[1::2], strict=True):
        flags.append(ReviewFlag(int(first) + offset, int(after) - 1 + offset, reason))
    return flags
