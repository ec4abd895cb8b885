"""Targeted face redaction in videos: a kept face is followed through its shot, every other face stays covered.

The clip is made here from a real face photo (../shared/data/media): two faces moving apart on a
textured background, so the exact place of each face is known on every frame.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.errors import InvalidInput
from app.media.ffmpeg_io import read_frames
from app.redact.derive import redact_item
from app.redact.face_tracks import render_shot
from app.redact.faces import Box
from app.redact.kept import KeptFace, kept_faces_of
from app.redact.kept_video import FLAG_KEPT_COVERED, KeptRequest, decide_shot, frame_runs, uncover
from tests.conftest import shared_data_path
from tests.vault.vaultkit import fast_vault

W, H, FRAMES = 320, 240, 40
FACE_W, FACE_H = 70, 82


def _a(i: int) -> tuple[int, int]:  # the kept face (left), moving right
    return 20 + i, 60


def _b(i: int) -> tuple[int, int]:  # the other face (right), moving left and down
    return 225 - i, 90 + i // 2


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_two_faces_clip(tmp_path_factory.mktemp("kept") / "two_faces.mp4")


def centre_in(box: Box, x: int, y: int) -> bool:
    """Whether ``box`` holds the centre of the face whose top-left corner is at (x, y)."""
    cx, cy = x + FACE_W // 2, y + FACE_H // 2
    return box.x < cx < box.x2 and box.y < cy < box.y2


def make_two_faces_clip(clip: Path) -> Path:
    """1.6 s, 320x240, 25 fps: the kept face (left) moving right, the other (right) moving left and down."""
    photo = Image.open(shared_data_path("media", "png_rgb_face_astronaut.png")).convert("RGB")
    crop = photo.crop((140, 10, 310, 210)).resize((FACE_W, FACE_H), Image.Resampling.LANCZOS)
    face_a, face_b = np.asarray(crop), np.asarray(crop)[:, ::-1]
    rng = np.random.default_rng(7)
    background = (rng.integers(90, 140, (H // 8, W // 8, 3), dtype=np.uint8)
                  .repeat(8, axis=0).repeat(8, axis=1))
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "25", "-i", "-",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", str(clip)], stdin=subprocess.PIPE)
    assert encoder.stdin is not None
    for i in range(FRAMES):
        frame = background.copy()
        for (x, y), face in ((_a(i), face_a), (_b(i), face_b)):
            frame[y:y + FACE_H, x:x + FACE_W] = face
        encoder.stdin.write(frame.tobytes())
    encoder.stdin.close()
    assert encoder.wait() == 0
    return clip


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _people(vault) -> tuple[int, int]:
    perpetrator = vault.add_person(name="Somchai Perp", pseudonym="Accused 1", role="perpetrator", protected=False)
    survivor = vault.add_person(name="Dara Survivor", pseudonym="Witness KH-01", role="survivor", protected=True)
    return perpetrator, survivor


def _inner(frame: np.ndarray, x: int, y: int) -> np.ndarray:
    """The middle of a face (eyes, nose, mouth), well inside any box drawn over it."""
    return frame[y + 20:y + FACE_H - 20, x + 15:x + FACE_W - 15].astype(np.int16)


def test_kept_face_stays_visible_through_the_shot_and_the_other_is_covered(vault, two_faces: Path,
                                                                            tmp_path: Path) -> None:
    item = vault.ingest_file(two_faces, kind="video").item_id
    perpetrator, _ = _people(vault)
    x, y = _a(10)
    kept = KeptFace(Box(x - 5, y - 5, FACE_W + 10, FACE_H + 10), perpetrator,
                    "Identification of the accused; decided with counsel for the court copy", "lawyer M. Chan", 10)
    result = redact_item(vault, item, faces=True, names=False, keep_faces=[kept])

    out = tmp_path / "out.mp4"
    with vault.open_original(result.item_id) as stream:
        out.write_bytes(stream.read())
    original, redacted = list(read_frames(two_faces)), list(read_frames(out))
    assert len(redacted) == FRAMES
    shown = [i for i in range(FRAMES)
             if np.abs(_inner(redacted[i], *_a(i)) - _inner(original[i], *_a(i))).mean() < 12]
    assert len(shown) >= 0.8 * FRAMES  # the kept face is seen as it was in most frames of its shot
    for i in range(FRAMES):  # the other face is black in every frame
        assert _inner(redacted[i], *_b(i)).mean() < 12, i

    recorded = result.params["kept_faces"]
    assert len(recorded) == 1
    entry = recorded[0]
    assert entry["frame"] == 10 and entry["box"] == kept.box.to_list() and entry["person_id"] == perpetrator
    assert entry["reason"].startswith("Identification of the accused") and entry["decided_by"] == "lawyer M. Chan"
    visible = {f for first, last in entry["visible_frames"] for f in range(first, last + 1)}
    assert entry["visible_frame_count"] == len(visible) >= 0.8 * FRAMES
    assert set(shown) >= visible  # every frame recorded as visible really shows the face
    assert 10 in visible
    stored = vault.get_item(result.item_id).derivation
    assert kept_faces_of(stored) == [kept]
    assert stored["kept_faces"][0]["visible_frames"] == entry["visible_frames"]
    # the applied boxes recorded for the auditor never cover the kept face on a visible frame
    for first, last, boxes in stored["boxes"]:
        for f in range(max(first, 10), min(last, 10) + 1):
            ax, ay = _a(f)
            assert not any(bx < ax + FACE_W // 2 < bx + bw and by < ay + FACE_H // 2 < by + bh
                           for bx, by, bw, bh in boxes)


def test_refusals_hold_for_videos(vault, two_faces: Path) -> None:
    item = vault.ingest_file(two_faces, kind="video").item_id
    perpetrator, survivor = _people(vault)
    box = Box(15, 55, 80, 92)
    with pytest.raises(InvalidInput, match="protected"):
        redact_item(vault, item, names=False, keep_faces=[KeptFace(box, survivor, "court copy", "lawyer", 0)])
    with pytest.raises(InvalidInput, match="reason"):
        redact_item(vault, item, names=False, keep_faces=[KeptFace(box, perpetrator, "  ", "lawyer", 0)])
    with pytest.raises(InvalidInput, match="which frame"):
        redact_item(vault, item, names=False, keep_faces=[KeptFace(box, perpetrator, "court copy", "lawyer")])
    with pytest.raises(InvalidInput, match="numbered from 0"):  # reviewed boxes: the frame must be in them
        redact_item(vault, item, names=False, frames_boxes=[[] for _ in range(FRAMES)],
                    keep_faces=[KeptFace(box, perpetrator, "court copy", "lawyer", FRAMES)])
    with pytest.raises(InvalidInput, match="No face was found"):  # nothing there to follow
        redact_item(vault, item, names=False, keep_faces=[KeptFace(Box(140, 0, 40, 40), perpetrator,
                                                                   "court copy", "lawyer", 5)])
    assert [i.id for i in vault.list_items() if i.derived_from == item] == []


# -- the decision on plain detections (no video) -------------------------------------------------


def _det(x: float, y: float, size: float = 40.0) -> np.ndarray:
    return np.array([[x, y, x + size, y + size, 0.9, 1.0]], dtype=np.float32)


def test_a_face_crossing_the_kept_one_keeps_both_covered_where_they_meet() -> None:
    # kept face still at x=100; the other walks from x=300 to x=0 and crosses it around frame 20
    frames = list(range(0, 40, 2))
    dets = [np.concatenate([_det(100, 100), _det(300 - 10 * f, 110)]) for f in frames]
    shot = render_shot(0, 39, frames, dets, 640, 480)
    decision = decide_shot(shot, [(0, KeptRequest(0, Box(95, 95, 50, 50)))])
    visible = set(decision.visible[0])
    meeting = {f for f in range(40) if abs((300 - 10 * f) - 100) < 40}
    assert meeting and not meeting & visible  # where the faces touch, the kept one is covered too...
    assert all(decision.covered[f] for f in meeting)  # ... and flagged
    assert {0, 2, 38} <= visible
    for f in range(31):  # the other face is covered on every frame it is in the picture
        x = 300 - 10 * f
        other = np.array([x, 110, x + 40, 150])
        assert any(b[0] <= other[0] and b[1] <= other[1] and b[2] >= other[2] and b[3] >= other[3]
                   for b, _ in decision.boxes[f]), f


def test_the_region_a_fast_face_can_be_in_is_never_removed() -> None:
    # the other face crosses fast (0.75 face sizes per frame) and goes unseen on frames 7-15: the
    # region it can have reached is covered there; where that region reaches the kept face, the kept
    # face is covered too (and flagged), elsewhere it stays shown
    frames = list(range(0, 40, 2))
    dets = [np.concatenate([_det(100, 100), _det(300 - 15 * f, 200, 20)]) if not 6 < f < 16 else _det(100, 100)
            for f in frames]
    shot = render_shot(0, 39, frames, dets, 640, 480)
    regions = {i: [t.drawn[i] for t in shot.tracks if t.region[i]] for i in range(40)}
    assert {i for i, boxes in regions.items() if boxes} == set(range(7, 16))
    decision = decide_shot(shot, [(0, KeptRequest(0, Box(95, 95, 50, 50)))])
    reaching = set()
    for i in range(7, 16):
        for box in regions[i]:
            assert any(np.array_equal(b, box) for b, _ in decision.boxes[i]), i  # never removed
            assert not (box[0] <= 0 and box[1] <= 0 and box[2] >= 640 and box[3] >= 480)  # not the whole frame
            if box[0] < 140 and box[1] < 140 and box[2] > 100 and box[3] > 100:
                reaching.add(i)
    assert reaching and all(i not in decision.visible[0] and decision.covered[i] for i in reaching)
    assert set(range(7)) | set(range(16, 39)) <= set(decision.visible[0])  # elsewhere the kept face is shown
    assert frame_runs([3, 1, 2, 7]) == [[1, 3], [7, 7]]
    assert FLAG_KEPT_COVERED == "kept_face_covered"


def test_a_neighbours_padding_is_cut_away_from_the_kept_face_only() -> None:
    # two large faces side by side, apart; the right one's padded box reaches over the left (kept) one
    frames = list(range(0, 20, 2))
    dets = [np.concatenate([_det(100, 100, 100), _det(260, 100, 100)]) for _ in frames]
    shot = render_shot(0, 19, frames, dets, 640, 480)
    decision = decide_shot(shot, [(0, KeptRequest(4, Box(90, 90, 120, 120)))])
    assert decision.visible[0] == list(range(19))  # frame 19 comes after the last sighting: held, covered
    padded = [Box(150, 40, 200, 200)]  # the neighbour's padded box, over the kept face's right half
    cut = uncover(padded, decision.shown[4])
    mask = np.zeros((480, 640), dtype=bool)
    for b in cut:
        mask[b.y:b.y2, b.x:b.x2] = True
    assert not mask[100:200, 100:200].any()  # the kept face is not covered at all...
    assert mask[40:240, 200:350].all() and mask[40:100, 150:200].all()  # ... the rest of the box still is
    assert uncover(padded, []) == padded
