"""A photo's detection is remembered by its exact pixels (app/redact/detection_memo.py).

Redacting a photo where nothing needs covering writes the same pixels the detector already searched, so the
check for faces still visible reuses that answer; any changed pixel (a box drawn, a lossy copy) runs the
detector again.  Real detector, real photo from ../shared/data.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.redact import faces, photo
from app.redact.detection_memo import PHOTO_DETECTIONS, DetectionMemo
from app.redact.faces import Box, FaceDetector
from tests.conftest import shared_data_path


def _count_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []
    original = FaceDetector.raw_detections

    def counted(self: FaceDetector, rgb: np.ndarray, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        runs.append(rgb.shape[0])
        return original(self, rgb, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(faces.FaceDetector, "raw_detections", counted)
    return runs


def _scene(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_the_same_pixels_are_searched_once_and_a_changed_pixel_searches_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _count_runs(monkeypatch)
    rgb = np.asarray(Image.open(shared_data_path("faces", "neg_skimage_moon.jpg")).convert("RGB"))
    detector = FaceDetector()
    first = detector.detect(rgb)
    assert detector.detect(rgb.copy()) == first and len(runs) == 1
    changed = rgb.copy()
    changed[0, 0, 0] ^= 1
    detector.detect(changed)
    assert len(runs) == 2
    # Another model (a test double, another build) never shares an answer.
    FaceDetector(model=_OtherModel(detector.model)).detect(rgb)
    assert len(runs) == 3


class _OtherModel:
    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)


def test_a_photo_with_nothing_to_cover_is_searched_once_and_one_with_a_box_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _count_runs(monkeypatch)
    source = io.BytesIO()
    Image.fromarray(_scene()).save(source, "PNG")
    proposal = photo.propose(io.BytesIO(source.getvalue()))
    assert proposal.boxes == [] and len(runs) == 1
    result = photo.redact_image(io.BytesIO(source.getvalue()), io.BytesIO(), proposal.boxes)
    assert result.residual_faces == [] and len(runs) == 1  # lossless, nothing covered: the same search
    photo.redact_image(io.BytesIO(source.getvalue()), io.BytesIO(), [Box(10, 10, 40, 40)])
    assert len(runs) == 2  # pixels changed: searched again
    photo.redact_image(io.BytesIO(source.getvalue()), io.BytesIO(), [], output_format="jpeg")
    assert len(runs) == 3  # a lossy copy has other pixels: searched again


def test_the_memo_keeps_only_the_most_recent_answers() -> None:
    memo = DetectionMemo(size=2)
    images = [_scene(seed) for seed in range(3)]
    for k, image in enumerate(images):
        assert memo.get_or_run("settings", image, lambda k=k: k) == k
    assert memo.get_or_run("settings", images[2], lambda: -1) == 2 and memo.hits == 1
    assert memo.get_or_run("settings", images[0], lambda: -1) == -1  # forgotten: computed again
    assert memo.get_or_run("other settings", images[2], lambda: -2) == -2
    assert PHOTO_DETECTIONS is not memo
