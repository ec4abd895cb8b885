"""Faces lying on their side in photos: the turned passes (``faces.SIDEWAYS_PASSES``, not on by default:
docs/FACE_DETECTION.md has the cost) and the boxes between a photo and its turned copy."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from app.redact.face_sideways import from_turned, to_turned
from app.redact.faces import DEFAULT_CONFIG, SIDEWAYS_PASSES, FaceDetector, sideways
from app.redact.photo import load_oriented_rgb
from benchmarks.face_scoring import coverage
from tests.conftest import shared_data_path

UPRIGHT = dataclasses.replace(DEFAULT_CONFIG, passes=tuple(p for p in DEFAULT_CONFIG.passes if p.rotate % 180 == 0))
TURNED = dataclasses.replace(UPRIGHT, passes=(*UPRIGHT.passes, *SIDEWAYS_PASSES))


@pytest.mark.parametrize("turns", [1, 3])
def test_boxes_follow_the_picture_when_it_is_turned(turns: int) -> None:
    rgb = np.zeros((40, 60, 3), dtype=np.uint8)
    rgb[5:15, 20:28] = 255  # x 20..28, y 5..15
    turned = np.rot90(rgb, turns)
    ys, xs = np.nonzero(turned[:, :, 0])
    box = np.array([[20, 5, 28, 15, 0.9]], dtype=np.float32)
    there = to_turned(box, 60, 40, turns)
    assert there[0, :4].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert there[0, 4] == pytest.approx(0.9)  # the score is kept
    assert from_turned(there, 60, 40, turns)[0].tolist() == pytest.approx(box[0].tolist())
    assert to_turned(np.empty((0, 5), dtype=np.float32), 60, 40, turns).shape == (0, 5)


def test_the_turned_passes_are_sideways_and_the_upright_ones_not() -> None:
    assert sideways(TURNED)
    assert not sideways(UPRIGHT)


@pytest.mark.parametrize("turns", [1, 3])
def test_a_face_lying_on_its_side_is_covered_with_the_turned_passes(turns: int) -> None:
    """A WIDER FACE parade photo turned a quarter either way: its one face >= 48 px (50 x 53) lies across
    the picture. The upright passes leave it uncovered; with the turned passes it is covered."""
    folder = shared_data_path("faces")
    name = "0_Parade_Parade_0_353.jpg"
    image = next(i for i in json.loads((folder / "annotations.json").read_text())["images"] if i["file"] == name)
    large = [f for f, ignored in zip(image["faces"], image["ignore"], strict=True) if not ignored and f[3] >= 48]
    assert len(large) == 1
    rgb = np.ascontiguousarray(np.rot90(load_oriented_rgb(folder / name), turns))
    corners = to_turned(np.array([[x, y, x + w, y + h] for x, y, w, h in large], dtype=np.float32),
                        image["width"], image["height"], turns)
    truth = [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in corners.tolist()]
    height, width = rgb.shape[:2]
    upright = [b.to_list() for b in FaceDetector(UPRIGHT).detect(rgb)]
    assert not all(coverage(truth, upright, width, height))  # the leak: upright passes miss it
    found = [b.to_list() for b in FaceDetector(TURNED).detect(rgb)]
    assert all(coverage(truth, found, width, height)), (truth, found)
