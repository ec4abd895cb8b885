"""Shot-bounded tracking (app.redact.face_tracks) and scene cuts (app.redact.scene_cuts), on known boxes."""

from __future__ import annotations

import numpy as np

from app.redact.face_tracks import (
    FLAG_LOST,
    FLAG_UNCERTAIN,
    ReviewFlag,
    TrackSettings,
    flag_ranges,
    render_shot,
)
from app.redact.scene_cuts import SceneCutDetector

W, H = 1280, 720


def _det(x: float, y: float, size: float, score: float = 0.9, sure: bool = True) -> np.ndarray:
    return np.array([[x, y, x + size, y + size, score, 1.0 if sure else 0.0]])


def _covers(boxes: list[tuple[np.ndarray, float]], face: tuple[float, float, float, float]) -> bool:
    """Is the face box (x1, y1, x2, y2) wholly inside the union's bounding of some single drawn box?"""
    x1, y1, x2, y2 = face
    return any(b[0] <= x1 and b[1] <= y1 and b[2] >= x2 and b[3] >= y2 for b, _ in boxes)


def test_a_face_seen_once_is_held_over_the_whole_shot_and_flagged_far_from_the_sighting() -> None:
    shot = render_shot(0, 59, [30], [_det(600, 300, 50)], W, H)
    assert all(_covers(shot.boxes[i], (600, 300, 650, 350)) for i in range(60))
    settings = TrackSettings()
    far = [i for i in range(60) if abs(i - 30) > settings.max_gap]
    assert np.array_equal(np.flatnonzero(shot.lost), np.array(far))
    assert not shot.uncertain.any()
    flags = flag_ranges(shot.lost, FLAG_LOST, offset=100)
    assert flags == [ReviewFlag(100, 117, FLAG_LOST), ReviewFlag(143, 159, FLAG_LOST)]


def test_held_boxes_follow_the_motion_backwards_to_the_start_of_the_shot() -> None:
    # A face walking right at 5 px/frame, first detected at frame 20 (it was missed before).
    frames = list(range(20, 40, 2))
    dets = [_det(100 + 5 * f, 300, 60) for f in frames]
    shot = render_shot(0, 39, frames, dets, W, H)
    for g in range(0, 40):
        truth = (100 + 5 * g, 300, 160 + 5 * g, 360)
        assert _covers(shot.boxes[g], truth), g
    # the interpolated frames between sightings are not lost, nor is the start within max_gap
    assert not shot.lost[8:40].any()
    assert shot.lost[:8].all()


def test_interpolation_between_sightings_is_widened_by_the_motion() -> None:
    # fast and not linear: 15 px per frame, the true path bulges 10 px away from the straight line
    # between two sightings 6 frames apart (two detections missed)
    shot = render_shot(0, 6, [0, 6], [_det(100, 100, 40), _det(190, 100, 40)], W, H)
    for g in range(7):
        bulge = 10 * np.sin(np.pi * g / 6)
        truth = (100 + 15 * g, 100 + bulge, 140 + 15 * g, 140 + bulge)
        assert _covers(shot.boxes[g], truth), g


def test_fast_small_face_is_linked_although_boxes_never_overlap() -> None:
    # 30 px face moving 40 px per detection: no IoU between sightings, linked by centre distance
    frames = list(range(0, 20, 2))
    dets = [_det(100 + 20 * f, 200, 30) for f in frames]
    shot = render_shot(0, 19, frames, dets, W, H)
    for g in range(19):
        assert _covers(shot.boxes[g], (100 + 20 * g, 200, 130 + 20 * g, 230)), g


def test_uncertain_face_is_held_briefly_covered_and_flagged() -> None:
    settings = TrackSettings()
    shot = render_shot(0, 99, [50], [_det(400, 400, 40, score=0.15, sure=False)], W, H)
    drawn = [i for i in range(100) if shot.boxes[i]]
    assert drawn == list(range(50 - settings.weak_hold, 50 + settings.weak_hold + 1))
    assert np.array_equal(np.flatnonzero(shot.uncertain), np.array(drawn))
    assert flag_ranges(shot.uncertain, FLAG_UNCERTAIN) == [ReviewFlag(38, 62, FLAG_UNCERTAIN)]


def test_a_confirmed_sighting_makes_the_whole_track_sure() -> None:
    frames = [10, 12, 14]
    dets = [_det(400, 400, 40, 0.15, sure=False), _det(402, 400, 40, 0.9), _det(404, 400, 40, 0.15, sure=False)]
    shot = render_shot(0, 59, frames, dets, W, H)
    assert all(shot.boxes[i] for i in range(60))
    assert not shot.uncertain.any()


def test_a_face_leaving_the_picture_is_not_drawn_outside_it() -> None:
    frames = list(range(0, 10, 2))
    dets = [_det(1180 + 20 * f, 300, 60) for f in frames]  # moving right, out of the frame
    shot = render_shot(0, 59, frames, dets, W, H)
    assert shot.boxes[0]
    for items in shot.boxes:
        assert all(b[0] < W for b, _ in items)


def test_same_detections_give_the_same_boxes() -> None:
    frames = list(range(0, 30, 2))
    dets = [_det(100 + 3 * f, 200 + f, 50 + f) for f in frames]
    a = render_shot(0, 29, frames, dets, W, H)
    b = render_shot(0, 29, frames, dets, W, H)
    assert all(
        len(x) == len(y) and all(np.array_equal(p[0], q[0]) for p, q in zip(x, y, strict=True))
        for x, y in zip(a.boxes, b.boxes, strict=True)
    )


def test_no_detections_no_boxes_no_flags() -> None:
    shot = render_shot(5, 24, [6, 8], [np.empty((0, 6)), np.empty((0, 6))], W, H)
    assert all(not items for items in shot.boxes)
    assert not shot.lost.any() and not shot.uncertain.any()


def test_scene_cuts_found_between_different_pictures_not_in_a_pan() -> None:
    rng = np.random.default_rng(1)
    # a smooth "scene": low-frequency colour noise, panned 12 px per frame
    base = rng.integers(0, 256, size=(40, 80, 3)).astype(np.uint8)
    scene = np.kron(base, np.ones((24, 24, 1), dtype=np.uint8))  # 960 x 1920
    other = (255 - scene[:, ::-1]) // 2
    detector = SceneCutDetector()
    cuts = []
    for index in range(30):
        x = 12 * index
        picture = scene if index < 20 else other
        if detector.push(np.ascontiguousarray(picture[100:820, x:x + 1280])):
            cuts.append(index)
    assert cuts == [20]


def test_a_face_too_fast_to_follow_is_covered_by_the_whole_frame_where_unseen() -> None:
    # A 60 px face swinging across the frame at 50 px/frame (0.8 face sizes), seen on frames 10-14
    # only: it may be anywhere before and after, so the whole frame is covered there and flagged.
    frames = list(range(10, 16, 2))
    dets = [_det(200 + 50 * (f - 10), 300, 60) for f in frames]
    shot = render_shot(0, 39, frames, dets, W, H)
    whole = (0, 0, W, H)
    assert all(_covers(shot.boxes[g], whole) for g in [*range(0, 10), *range(15, 40)])
    assert shot.lost[:10].all() and shot.lost[15:].all()
    assert not any(_covers(shot.boxes[g], whole) for g in range(10, 15))  # seen or interpolated: its own box


def test_a_slow_face_is_not_given_the_whole_frame() -> None:
    frames = list(range(10, 16, 2))
    shot = render_shot(0, 39, frames, [_det(200 + 5 * (f - 10), 300, 60) for f in frames], W, H)
    assert not any(_covers(shot.boxes[g], (0, 0, W, H)) for g in range(40))


def test_a_face_the_detector_keeps_losing_is_covered_by_the_whole_frame_where_unseen() -> None:
    # Detections every 2nd frame of a 40-frame shot; a blurred face is found on 2 of 20 (at a slow
    # turning point of a fast path): elsewhere it may be anywhere, so the whole frame is covered.
    frames = list(range(0, 40, 2))
    dets = [_det(100, 100, 60) if f in (20, 22) else np.empty((0, 6)) for f in frames]
    shot = render_shot(0, 39, frames, dets, W, H)
    whole = (0, 0, W, H)
    assert all(_covers(shot.boxes[g], whole) for g in [*range(0, 20), *range(23, 40)])
    assert not any(_covers(shot.boxes[g], whole) for g in (20, 21, 22))
    # the same face found on most detection frames is held as usual, not by the whole frame
    steady = render_shot(0, 39, frames, [_det(100, 100, 60) if f >= 10 else np.empty((0, 6)) for f in frames], W, H)
    assert not any(_covers(steady.boxes[g], whole) for g in range(40))
