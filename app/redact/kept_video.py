"""A kept face in a video: follow it through its shot and leave its boxes off where that is certain.

A reviewer names one face on one frame (a box around it). The face tracks of that frame's shot
(``app.redact.face_tracks``, linked forward and backward in time) give the face on every other
frame. Its boxes are left off a frame only where the face is confidently the same one:

- both the forward and the backward track of the face draw a box there, they agree (IoU), and
  the frame lies between the face's first and last sighting (a held box is a guess, not a face);
- neither track has lost the face there (unseen for more than ``max_gap`` frames), and neither
  draws the region a face too fast or too elusive to follow can be in there;
- no other track's box touches the kept face there: where two faces meet, identity may switch.

Everywhere else the kept face stays covered, as every other face does, and the frames where it
stayed covered inside its shot are flagged (``FLAG_KEPT_COVERED``) for the reviewer. A region box
(or whole-frame box) is never removed: when the kept track itself drew it, the face was lost there.

A reviewed video (boxes corrected per frame in the review) is analysed again with the kept faces
and merged with the review by :func:`merge_reviewed`: the reviewer's own boxes are always drawn,
even over a kept face (that frame then no longer counts as visible), and the detector's boxes the
reviewer deleted stay deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.errors import InvalidInput
from app.redact.face_tracks import ReviewFlag, ShotBoxes, TrackDrawing, flag_ranges, iou_matrix
from app.redact.faces import Box

FLAG_KEPT_COVERED = "kept_face_covered"
AGREE_IOU = 0.5  # forward and backward tracks must overlap this much to count as the same face
APART = 0.0  # margin (fraction of the kept face's size) another face's box must keep from it
MATCH_IOU = 0.1  # the named box and the face's track box on the named frame


@dataclass(frozen=True)
class KeptRequest:
    """A face to leave visible: its frame (index in the video) and a box around it on that frame."""

    frame: int
    box: Box


@dataclass
class ShotDecision:
    boxes: list[list[tuple[np.ndarray, float]]]  # per frame of the shot: what is still drawn
    owners: list[list[int]]  # per frame: the track (index into ShotBoxes.tracks) of each box still drawn
    shown: list[list[np.ndarray]] = field(default_factory=list)  # per frame: kept faces' boxes left visible
    visible: dict[int, list[int]] = field(default_factory=dict)  # request index -> frames left visible
    covered: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # a kept face stayed covered


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(iou_matrix(a[None, :4], b[None, :4])[0, 0])


def _touches(a: np.ndarray, b: np.ndarray) -> bool:
    """Does ``a`` come nearer ``b`` than ``APART`` of ``b``'s size?"""
    m = APART * max(b[2] - b[0], b[3] - b[1])
    return bool(min(a[2], b[2] + m) > max(a[0], b[0] - m) and min(a[3], b[3] + m) > max(a[1], b[1] - m))


def uncover(boxes: Sequence[Box], shown: Sequence[np.ndarray]) -> list[Box]:
    """``boxes`` with the kept faces' own boxes ``shown`` cut out (each box split in up to four).

    Only on frames where no other face comes near a kept one (:func:`decide_shot`): the padding of a
    neighbour's box (generous for large faces at the frame edge) must not hide the kept face itself,
    while the neighbour's face and the rest of its padding stay covered. A region box (where a fast
    face can be) that touches the kept face never reaches here: the kept one stays covered there."""
    result = list(boxes)
    for hole in shown:
        hx1, hy1 = int(np.ceil(hole[0])), int(np.ceil(hole[1]))
        hx2, hy2 = int(np.floor(hole[2])), int(np.floor(hole[3]))
        cut: list[Box] = []
        for b in result:
            x1, y1, x2, y2 = max(b.x, hx1), max(b.y, hy1), min(b.x2, hx2), min(b.y2, hy2)
            if x2 <= x1 or y2 <= y1:
                cut.append(b)
                continue
            parts = [(b.x, b.y, b.x2, y1), (b.x, y2, b.x2, b.y2), (b.x, y1, x1, y2), (x2, y1, b.x2, y2)]
            cut += [Box(px1, py1, px2 - px1, py2 - py1, b.score) for px1, py1, px2, py2 in parts
                    if px2 > px1 and py2 > py1]
        result = cut
    return result


def _find_track(tracks: Sequence[TrackDrawing], forward: bool, i: int, box: np.ndarray) -> int | None:
    """The track of one direction whose box on frame ``i`` has its centre in ``box`` and overlaps it best."""
    best, best_iou = None, MATCH_IOU
    for k, track in enumerate(tracks):
        drawn = track.drawn[i]
        if track.forward != forward or np.isnan(drawn[0]) or track.region[i]:
            continue
        cx, cy = (drawn[0] + drawn[2]) / 2, (drawn[1] + drawn[3]) / 2
        iou = _iou(drawn, box)
        if box[0] <= cx <= box[2] and box[1] <= cy <= box[3] and iou >= best_iou:
            best, best_iou = k, iou
    return best


def decide_shot(shot: ShotBoxes, requests: Sequence[tuple[int, KeptRequest]]) -> ShotDecision:
    """Which boxes of ``shot`` stay drawn when the faces ``requests`` name (index, request) are kept.

    Raises :class:`InvalidInput` when a request's box holds no face the detector followed."""
    n = shot.end - shot.start + 1
    decision = ShotDecision([list(items) for items in shot.boxes], [list(o) for o in shot.owners],
                            [[] for _ in range(n)], covered=np.zeros(n, dtype=bool))
    if not requests:
        return decision
    pairs: dict[int, tuple[int, int]] = {}
    for index, request in requests:
        i = request.frame - shot.start
        r = request.box
        box = np.array([r.x, r.y, r.x + r.w, r.y + r.h], dtype=np.float64)
        found = (_find_track(shot.tracks, True, i, box), _find_track(shot.tracks, False, i, box))
        if found[0] is None or found[1] is None:
            raise InvalidInput(f"No face was found and followed inside the box x={r.x}, y={r.y}, {r.w}×{r.h} px on "
                               f"frame {request.frame}. Draw the box around a face the review shows on that frame "
                               "(or choose another frame where the face is clearly seen), then try again.")
        pairs[index] = (found[0], found[1])
    kept_tracks = {k for pair in pairs.values() for k in pair}
    drop: list[set[int]] = [set() for _ in range(n)]
    for index, (fw, bw) in pairs.items():
        a, b = shot.tracks[fw], shot.tracks[bw]
        first, last = max(a.first_seen, b.first_seen), min(a.last_seen, b.last_seen)
        visible: list[int] = []
        for i in range(n):
            box_a, box_b = a.drawn[i], b.drawn[i]
            if np.isnan(box_a[0]) and np.isnan(box_b[0]):
                continue  # the face is not in this part of the shot at all
            if np.isnan(box_a[0]) or np.isnan(box_b[0]) or not first <= shot.start + i <= last \
                    or a.lost[i] or b.lost[i] or a.region[i] or b.region[i] \
                    or _iou(box_a, box_b) < AGREE_IOU \
                    or any(owner not in kept_tracks and (_touches(raw, box_a) or _touches(raw, box_b))
                           for (raw, _), owner in zip(shot.boxes[i], shot.owners[i], strict=True)):
                decision.covered[i] = True
                continue
            drop[i] |= {fw, bw}
            # where both tracks agree the face is: their intersection
            decision.shown[i].append(np.concatenate([np.maximum(box_a[:2], box_b[:2]),
                                                     np.minimum(box_a[2:], box_b[2:])]))
            visible.append(shot.start + i)
        decision.visible[index] = visible
    for i in range(n):
        if drop[i]:
            decision.boxes[i] = [item for item, owner in zip(shot.boxes[i], shot.owners[i], strict=True)
                                 if owner not in drop[i]]
            decision.owners[i] = [owner for owner in shot.owners[i] if owner not in drop[i]]
    return decision


def kept_flags(covered: np.ndarray, offset: int) -> list[ReviewFlag]:
    """Frames where a kept face stayed covered, as review flags."""
    return flag_ranges(covered, FLAG_KEPT_COVERED, offset)


def frame_runs(frames: Sequence[int]) -> list[list[int]]:
    """Sorted frame numbers as ``[[first, last], ...]`` runs."""
    runs: list[list[int]] = []
    for f in sorted(frames):
        if runs and runs[-1][1] == f - 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    return runs


@dataclass
class ReviewedMerge:
    """Reviewed boxes merged with an analysis that kept faces (:func:`merge_reviewed`)."""

    frames: list[list[Box]]  # what is drawn on each frame
    visible: list[list[int]]  # per kept face: frames it is left visible on
    covered: np.ndarray  # bool per frame: a reviewer's box covers where a kept face was left visible
    record: dict[str, int]  # counts for the derivation's record


def _key(box: Box) -> tuple[int, int, int, int]:
    return box.x, box.y, box.w, box.h


def _over_uncovered(box: Box, plain: Sequence[Box], kept: Sequence[Box]) -> bool:
    """Does ``box`` reach a pixel the plain analysis covers and the analysis with kept faces does not?"""
    x1, y1 = max(box.x, 0), max(box.y, 0)
    if box.x2 <= x1 or box.y2 <= y1:
        return False
    area = np.zeros((box.y2 - y1, box.x2 - x1), dtype=bool)
    for boxes, value in ((plain, True), (kept, False)):
        for b in boxes:
            bx1, by1 = max(b.x, x1) - x1, max(b.y, y1) - y1
            bx2, by2 = min(b.x2, box.x2) - x1, min(b.y2, box.y2) - y1
            if bx2 > bx1 and by2 > by1:
                area[by1:by2, bx1:bx2] = value
    return bool(area.any())


def merge_reviewed(reviewed: Sequence[Sequence[Box]], plain: Sequence[Sequence[Box]],
                   kept: Sequence[Sequence[Box]], visible: Sequence[Sequence[int]]) -> ReviewedMerge:
    """A reviewer's boxes per frame combined with an analysis run again to keep faces visible.

    ``plain`` is the analysis without kept faces (what the review showed: the same detector and
    settings give the same boxes), ``kept`` the same analysis with them, ``visible`` the frames each
    kept face was left visible on. Per frame:

    - the detector's boxes come from ``kept``, except those the reviewer deleted (a box of
      ``plain`` missing from ``reviewed``: the reviewer judged it is not a face);
    - every box of ``reviewed`` that is not the detector's (drawn, moved or resized by the reviewer,
      or held over a range of frames) is drawn as well, wherever it lies: keeping a face never
      uncovers what a reviewer covered;
    - where such a box reaches the area keeping a face uncovered, that frame no longer counts as
      visible for any kept face seen on it, and is flagged (``covered``)."""
    if not len(reviewed) == len(plain) == len(kept):
        raise InvalidInput("The reviewed face boxes do not belong to this video (their number of frames differs). "
                           "Open the redaction review of this video again.")
    shown = [set(frames) for frames in visible]
    seen = set().union(*shown) if shown else set()
    covered = np.zeros(len(kept), dtype=bool)
    frames: list[list[Box]] = []
    record = {"reviewer_boxes": 0, "frames_with_reviewer_boxes": 0, "detector_boxes_removed": 0}
    for i, (own_boxes, plain_boxes, kept_boxes) in enumerate(zip(reviewed, plain, kept, strict=True)):
        detector = {_key(b) for b in plain_boxes}
        removed = detector - {_key(b) for b in own_boxes}
        own = [b for b in own_boxes if _key(b) not in detector]
        merged, keys = [], set()
        for b in [*(b for b in kept_boxes if _key(b) not in removed), *own]:
            if _key(b) not in keys:
                keys.add(_key(b))
                merged.append(b)
        frames.append(merged)
        record["reviewer_boxes"] += len(own)
        record["frames_with_reviewer_boxes"] += bool(own)
        record["detector_boxes_removed"] += len(removed)
        if i in seen and any(_over_uncovered(b, plain_boxes, kept_boxes) for b in own):
            covered[i] = True
            for frames_shown in shown:
                frames_shown.discard(i)
    return ReviewedMerge(frames, [sorted(s) for s in shown], covered, record)
