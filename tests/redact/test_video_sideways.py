"""Faces lying on their side in video (the audit's leak): a phone held sideways, a wrong rotation flag,
a person lying down. Real model, real ffmpeg, real footage from ../shared/data."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from app.media.ffmpeg_io import read_frames
from app.redact.face_fusion import fuse
from app.redact.faces import FaceDetector
from app.redact.video import detect_video
from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG
from benchmarks.face_scoring import coverage
from tests.conftest import shared_data_path

# The audience shot of the Hamilton clip (1.55 s to 3.55 s): several faces on every frame. With a
# rotation flag of 90 degrees, the audit found no box at all on any of its frames.
START_S, SECONDS = 1.55, 2.0
EVERY = 4  # reference faces on every 4th frame


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shot upright, with a rotation flag of 90 degrees (as the audit made it: the pixels are
    untouched, the decoder turns them), and turned 270 degrees in the pixels."""
    folder = tmp_path_factory.mktemp("sideways")
    source = shared_data_path("video", "real_short_hamilton_clip.mp4")
    upright = folder / "upright.mp4"
    _ffmpeg("-ss", str(START_S), "-i", str(source), "-t", str(SECONDS), "-an", "-c:v", "libx264", "-crf", "16",
            "-pix_fmt", "yuv420p", str(upright))
    flagged = folder / "flag90.mp4"
    _ffmpeg("-i", str(upright), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(flagged))
    turned = folder / "turned270.mp4"
    _ffmpeg("-i", str(upright), "-vf", "transpose=cclock", "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p",
            str(turned))
    return {"upright": upright, "flag90": flagged, "turned270": turned}


@pytest.fixture(scope="module")
def reference(clips: dict[str, Path]) -> dict[int, list[list[float]]]:
    """Faces on the upright frames ([x, y, w, h]): what the photo detector is sure of (score >= 0.5),
    as benchmarks/faces_video.py takes them for this clip, which has no annotation."""
    detector = FaceDetector()
    cfg = detector.config
    faces: dict[int, list[list[float]]] = {}
    for index, rgb in enumerate(read_frames(clips["upright"])):
        if index % EVERY:
            continue
        dets, ids = detector.raw_detections(rgb)
        fused = fuse(dets, ids, threshold=cfg.threshold, low_threshold=cfg.low_threshold,
                     min_support=cfg.min_support, cluster_iou=cfg.cluster_iou)
        faces[index] = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2, s in fused
                        if s >= 0.5]
    assert sum(len(f) for f in faces.values()) >= 3 * len(faces), faces  # the shot has several faces
    return faces


def _turned(box: list[float], width: int, height: int, clockwise: int) -> list[float]:
    """A box of a ``width`` x ``height`` frame once the frame is turned clockwise by 90 or 270 degrees."""
    x, y, w, h = box
    return [height - y - h, x, h, w] if clockwise == 90 else [y, width - x - w, h, w]


def _exposed(video: Path, reference: dict[int, list[list[float]]], clockwise: int, **settings: int) -> list[int]:
    """Reference frames where a face >= 24 px (its own height) is less than 90% covered."""
    config = dataclasses.replace(DEFAULT_VIDEO_CONFIG, **settings)
    detection = detect_video(video, config=config)
    assert (detection.width, detection.height) == (360, 640)  # decoded sideways, the flag applied
    exposed = []
    for index, faces in reference.items():
        truth = [_turned(f, 640, 360, clockwise) for f in faces if f[3] >= 24]
        ours = [b.to_list() for b in detection.frames[index]]
        if not all(coverage(truth, ours, 360, 640)):
            exposed.append(index)
    return exposed


def test_a_rotation_flag_of_90_degrees_leaves_no_face_exposed(clips, reference) -> None:
    assert _exposed(clips["flag90"], reference, 90) == []


def test_faces_turned_270_degrees_in_the_pixels_leave_no_frame_exposed(clips, reference) -> None:
    assert _exposed(clips["turned270"], reference, 270) == []


def test_without_the_turned_passes_the_sideways_faces_leak(clips, reference) -> None:
    """The audit's leak, reproduced on this shot: the tests above fail without the turned passes (measured:
    every reference frame exposed, a 300 px close-up among them)."""
    assert len(_exposed(clips["flag90"], reference, 90, turned_size=0)) >= len(reference) // 2
