"""Shot-bounded tracking (app.redact.face_tracks) and scene cuts (app.redact.scene_cuts), on known boxes."""

from __future__ import annotations

import numpy as np

from app.redact.face_tracks import (
    FLAG_LOST,
    FLAG_UNCERTAIN,
    ReviewFlag,
    TrackSettings,
    flag_ranges,
    link,
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


def _area(boxes: list[tuple[np.ndarray, float]]) -> float:
    """Share of the frame the union of ``boxes`` (clipped to the frame) covers."""
    mask = np.zeros((H, W), dtype=bool)
    for b, _ in boxes:
        x1, y1, x2, y2 = (round(v) for v in (max(b[0], 0), max(b[1], 0), min(b[2], W), min(b[3], H)))
        mask[y1:max(y1, y2), x1:max(x1, x2)] = True
    return float(mask.mean())


def test_a_face_too_fast_to_follow_is_covered_where_it_can_have_got_to() -> None:
    # A 60 px face swinging across the frame at 50 px/frame (0.8 face sizes), seen on frames 10-14
    # only. Before and after, it may have gone on, stopped or turned back at up to its speed bound
    # (1.5 x 50 px per frame, every edge): each such face is covered, flagged, and the region grows
    # with the frames since the sighting until it is the whole frame.
    settings = TrackSettings()
    frames = list(range(10, 16, 2))
    dets = [_det(200 + 50 * (f - 10), 300, 60) for f in frames]
    shot = render_shot(0, 39, frames, dets, W, H)
    bound = settings.speed_margin * 50
    for g in [*range(0, 10), *range(15, 40)]:
        d, x0 = (10 - g, 200) if g < 10 else (g - 14, 400)
        for direction in (-1, 0, 1):
            for dy in (-1, 0, 1):
                x, y = x0 + direction * bound * d, 300 + dy * bound * d
                face = (max(x, 0), max(y, 0), min(x + 60, W), min(y + 60, H))
                if face[2] > face[0] and face[3] > face[1]:
                    assert _covers(shot.boxes[g], face), (g, direction, dy)
    assert shot.lost[:10].all() and shot.lost[15:].all()
    assert not any(_covers(shot.boxes[g], (0, 0, W, H)) for g in range(8, 18))  # near the sightings: a region
    assert _area(shot.boxes[9]) < 0.1 and _area(shot.boxes[16]) < 0.15
    assert all(_covers(shot.boxes[g], (0, 0, W, H)) for g in range(24, 40))  # far: it may be anywhere


def test_a_fast_face_unseen_between_two_sightings_is_covered_by_what_both_allow() -> None:
    # 60 px face at 40 px/frame, seen on frames 0-6 and 20-26 at the same height, missed in between
    # (say behind a passer-by): it must get from the one sighting to the other, so the region is the
    # intersection of what each allows -- never the whole frame, and every path within the speed
    # bound is covered (straight on, or a detour up or down and back).
    settings = TrackSettings()
    frames = [0, 2, 4, 6, 20, 22, 24, 26]
    dets = [_det(100 + 40 * f, 300, 60) for f in frames]
    shot = render_shot(0, 26, frames, dets, W, H)
    bound = settings.speed_margin * 40
    for g in range(7, 20):
        reach = min(g - 6, 20 - g) * bound
        for dy in (-reach, 0.0, reach):
            x, y = 100 + 40 * g, 300 + dy
            assert _covers(shot.boxes[g], (x, max(y, 0), x + 60, min(y + 60, H))), (g, dy)
        assert not _covers(shot.boxes[g], (0, 0, W, H)), g
    assert _area(shot.boxes[8]) < 0.15 and max(_area(shot.boxes[g]) for g in range(7, 20)) < 0.8
    assert shot.lost[7:20].all() and not shot.lost[:7].any() and not shot.lost[20:].any()


def test_a_slow_face_is_not_given_the_whole_frame() -> None:
    frames = list(range(10, 16, 2))
    shot = render_shot(0, 39, frames, [_det(200 + 5 * (f - 10), 300, 60) for f in frames], W, H)
    assert not any(_covers(shot.boxes[g], (0, 0, W, H)) for g in range(40))


def test_a_face_the_detector_keeps_losing_is_covered_where_it_can_be_where_unseen() -> None:
    # Detections every 2nd frame of a 40-frame shot; a blurred face is found on 2 of 20 (at a slow
    # turning point of a fast path): its own sightings do not bound its speed, so it is given the
    # elusive_speed face sizes per frame -- the whole frame far away.
    settings = TrackSettings()
    frames = list(range(0, 40, 2))
    dets = [_det(100, 100, 60) if f in (20, 22) else np.empty((0, 6)) for f in frames]
    shot = render_shot(0, 39, frames, dets, W, H)
    whole = (0, 0, W, H)
    bound = settings.elusive_speed * 60
    for g in [*range(0, 20), *range(23, 40)]:
        d = 20 - g if g < 20 else g - 22
        right, down = 100 + bound * d, 100 + bound * d
        assert _covers(shot.boxes[g], (100, 100, min(right + 60, W), min(down + 60, H))), g
    assert not any(_covers(shot.boxes[g], whole) for g in range(17, 26))
    assert all(_covers(shot.boxes[g], whole) for g in [*range(0, 5), *range(38, 40)])
    assert shot.lost[:20].all() and shot.lost[23:].all()
    # the same face found on most detection frames is held as usual, not by the whole frame
    steady = render_shot(0, 39, frames, [_det(100, 100, 60) if f >= 10 else np.empty((0, 6)) for f in frames], W, H)
    assert not any(_covers(steady.boxes[g], whole) for g in range(40))


def test_a_crowd_of_nine_hundred_faces_links_into_one_track_per_face() -> None:
    """A pan over a crowd photo gives thousands of sightings a frame; each face must stay its own track
    (linking compares every sighting with every track, all at once)."""
    grid = np.array([(x, y) for x in range(0, 1200, 40) for y in range(0, 1200, 40)], dtype=np.float64)
    frames = list(range(8))
    detections = []
    for frame in frames:
        moved = grid + np.array([3.0 * frame, 1.0 * frame])  # the camera pans: every face moves alike
        scores = np.linspace(0.3, 0.9, len(grid))
        detections.append(np.column_stack([moved, moved + 24.0, scores, np.ones(len(grid))]))
    tracks = link(frames, detections, TrackSettings())
    assert len(tracks) == len(grid) == 900
    for track in tracks:
        assert track.frames == frames
        starts = np.array([b[:2] for b in track.boxes]) - np.array([(3.0 * f, 1.0 * f) for f in frames])
        assert np.allclose(starts, starts[0])  # the same face in every frame
