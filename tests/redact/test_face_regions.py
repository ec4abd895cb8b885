"""Passes that look only near candidates (app/redact/face_regions.py), with the real model on real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.errors import Cancelled
from app.progress import CancelToken
from app.redact.centerface import CenterFaceModel
from app.redact.face_regions import (
    Near,
    candidate_regions,
    centres_inside,
    grid_step,
    merge_overlapping,
    origin_corner,
    run_near,
    search_windows,
)
from app.redact.faces import DEFAULT_CONFIG, DetectorConfig, FaceDetector, Pass, run_pass
from app.redact.photo import load_oriented_rgb
from tests.conftest import shared_data_path


def test_candidates_grow_by_their_size_and_stay_on_the_photo() -> None:
    dets = np.asarray([[100, 100, 120, 130, 0.3],   # 30 px tall, kept
                       [0, 0, 10, 10, 0.9],          # at the corner: clipped
                       [200, 200, 260, 260, 0.02],   # below the score
                       [300, 10, 380, 90, 0.9]],     # taller than max_px
                      dtype=np.float32)
    regions = candidate_regions(dets, Near(min_score=0.05, margin=1.0, max_px=40), 400, 300)
    assert regions.tolist() == [[70, 70, 150, 160], [0, 0, 20, 20]]


def test_windows_cover_every_region_with_context_on_the_pass_grid() -> None:
    rng = np.random.default_rng(7)
    corners = rng.uniform(0, 900, size=(60, 2))
    sizes = rng.uniform(5, 80, size=(60, 2))
    regions = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)
    near = Near(0.1, 1.0, context_px=24)
    assert grid_step(1.5) == 64 and grid_step(1.0) == 32 and grid_step(0.75) == 128
    for flip, rotate in ((False, 0), (True, 0), (True, 180)):
        windows = search_windows(regions, 1.5, near, 1000, 1000, flip=flip, rotate=rotate)
        assert len(windows) < len(regions)
        context = 24 / 1.5
        for x1, y1, x2, y2 in regions:
            assert any(w[0] <= max(0, x1 - context) and w[1] <= max(0, y1 - context)
                       and w[2] >= min(1000, x2 + context) and w[3] >= min(1000, y2 + context) for w in windows)
        # The edge the pass's image starts from lies on its grid: the same resampling as the whole photo.
        far_x, far_y = origin_corner(flip, rotate)
        starts_x = 1000 - windows[:, 2] if far_x else windows[:, 0]
        starts_y = 1000 - windows[:, 3] if far_y else windows[:, 1]
        assert all(v % 64 == 0 for v in starts_x.tolist() + starts_y.tolist())


def test_origin_corner_follows_numpy_rotation() -> None:
    image = np.arange(12).reshape(3, 4)
    for flip in (False, True):
        for rotate in (0, 90, 180, 270):
            turned = np.rot90(image[:, ::-1] if flip else image, rotate // 90)
            corner_x, corner_y = origin_corner(flip, rotate)
            assert turned[0, 0] == image[2 * corner_y, 3 * corner_x]


def test_overlapping_windows_are_joined_only_when_one_run_costs_less() -> None:
    # a overlaps b, b overlaps c, but a and c do not overlap: one window
    merged = merge_overlapping(np.asarray([[0, 0, 10, 10], [8, 0, 20, 10], [18, 0, 30, 10], [50, 50, 60, 60]]))
    assert sorted(merged.tolist()) == [[0, 0, 30, 10], [50, 50, 60, 60]]
    # Two long thin windows crossing: their bounding square would search far more than both.
    crossing = np.asarray([[0, 45, 100, 55], [45, 0, 55, 100]])
    assert sorted(merge_overlapping(crossing, slack_px=100).tolist()) == sorted(crossing.tolist())
    assert merge_overlapping(crossing).tolist() == [[0, 0, 100, 100]]


def test_centres_inside() -> None:
    dets = np.asarray([[0, 0, 10, 10, 1], [40, 40, 60, 60, 1]], dtype=np.float32)
    assert centres_inside(dets, np.asarray([[30, 30, 70, 70]], dtype=np.float32)).tolist() == [False, True]
    assert centres_inside(dets, np.empty((0, 4), dtype=np.float32)).tolist() == [False, False]


def _crowd() -> tuple[np.ndarray, list[list[float]]]:
    folder = shared_data_path("faces")
    name = "0_Parade_marchingband_1_593.jpg"
    image = next(i for i in json.loads((folder / "annotations.json").read_text())["images"] if i["file"] == name)
    return load_oriented_rgb(folder / name), image["faces"]


def test_a_near_pass_finds_what_the_whole_photo_pass_finds_around_the_candidates() -> None:
    rgb, _ = _crowd()
    model = CenterFaceModel.shared()
    height, width = rgb.shape[:2]
    candidates = run_pass(model, rgb, scale=1.0, threshold=0.05)
    near = Near(min_score=0.1, margin=1.0, max_px=32)
    regions = candidate_regions(candidates, near, width, height)
    windows = search_windows(regions, 1.5, near, width, height)
    searched = np.sum((windows[:, 2] - windows[:, 0]) * (windows[:, 3] - windows[:, 1]))
    assert 0 < searched < 0.7 * width * height  # the point: most of the photo is not searched again

    def on_crop(crop: np.ndarray) -> np.ndarray:
        return run_pass(model, crop, scale=1.5, threshold=0.1)

    found = run_near(rgb, candidates, near, 1.5, on_crop)
    whole = run_pass(model, rgb, scale=1.5, threshold=0.1)
    expected = whole[centres_inside(whole, regions)]
    assert len(expected) > 10
    # Every confident face of the whole-photo pass near a candidate is found again, at the same place.
    for box in expected[expected[:, 4] >= 0.5]:
        centre = (box[:2] + box[2:4]) / 2
        mid = (found[:, :2] + found[:, 2:4]) / 2
        assert np.min(np.abs(mid - centre).max(axis=1)) <= 2.0
    assert centres_inside(found, regions).all()
    # Windows may overlap; a face in two of them still comes back once.
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            assert inter / union < 0.9


def test_near_pass_is_cancellable() -> None:
    rgb, _ = _crowd()
    candidates = np.asarray([[10, 10, 30, 30, 0.9], [300, 300, 320, 320, 0.9]], dtype=np.float32)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_near(rgb, candidates, Near(0.1, 1.0), 1.5, lambda crop: np.empty((0, 5), dtype=np.float32), token)


def test_detector_with_near_passes_covers_the_faces_the_default_covers() -> None:
    """The shipped config and the same config with every near pass looking at the whole photo agree on
    the confident faces of a real group photo."""
    rgb, faces = _crowd()
    whole_config = DetectorConfig(passes=tuple(Pass(p.scale, p.flip, p.rotate) for p in DEFAULT_CONFIG.passes))
    shipped = FaceDetector(DEFAULT_CONFIG).detect(rgb)
    whole = FaceDetector(whole_config).detect(rgb)
    assert whole and shipped

    def covered(boxes: list) -> int:
        mask = np.zeros(rgb.shape[:2], dtype=bool)
        for b in boxes:
            mask[b.y:b.y2, b.x:b.x2] = True
        return sum(mask[int(y):int(y + h), int(x):int(x + w)].mean() >= 0.9 for x, y, w, h in faces if h >= 24)

    assert covered(shipped) >= covered(whole)
    info = FaceDetector(DEFAULT_CONFIG).model_info()
    json.dumps(info)
    assert any("near" in p for p in info["config"]["passes"]) == any(p.near for p in DEFAULT_CONFIG.passes)


def test_a_detector_needs_a_pass_over_the_whole_photo() -> None:
    with pytest.raises(ValueError, match="whole photo"):
        DetectorConfig(passes=(Pass(1.5, near=Near(0.1, 1.0)),))
