"""A kept face in a video whose boxes a reviewer corrected: the review and the kept face combined.

The rule (app.redact.kept_video.merge_reviewed): the video is analysed again with the kept face; the
reviewer's own boxes are drawn wherever they lie (a face a reviewer covered is never shown, and
those frames no longer count as visible for the kept face); detector boxes the reviewer deleted stay
deleted. Same generated clip as tests/redact/test_kept_faces_video.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.media.ffmpeg_io import read_frames
from app.redact.derive import propose, redact_item
from app.redact.faces import Box
from app.redact.kept import KeptFace
from app.redact.kept_video import FLAG_KEPT_COVERED, merge_reviewed
from tests.redact.test_kept_faces_video import (
    FACE_H,
    FACE_W,
    FRAMES,
    _a,
    _b,
    _inner,
    centre_in,
    make_two_faces_clip,
)
from tests.vault.vaultkit import fast_vault

COVERED_BY_REVIEWER = range(20, 25)  # the reviewer drew a box over the kept face on these frames
CORNER = Box(0, 200, 40, 40)  # a reviewer's box over the background, on every frame


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_two_faces_clip(tmp_path_factory.mktemp("kept_reviewed") / "two_faces.mp4")


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def test_reviewed_boxes_and_a_kept_face_combine_without_showing_what_the_reviewer_covered(
        vault, two_faces: Path, tmp_path: Path) -> None:
    item = vault.ingest_file(two_faces, kind="video").item_id
    accused = vault.add_person(name="Somchai Perp", pseudonym="Accused 1", role="perpetrator")
    reviewed = propose(vault, item, faces=True, names=False).frames
    assert len(reviewed) == FRAMES and all(reviewed)
    for i in COVERED_BY_REVIEWER:
        x, y = _a(i)
        reviewed[i].append(Box(x + 5, y + 5, FACE_W - 10, FACE_H - 10))  # the reviewer's own box
    for boxes in reviewed:
        boxes.append(CORNER)
    # frame 30: the reviewer deleted the detector's box of the other face (judged not a face)
    removed = [b for b in reviewed[30] if centre_in(b, *_b(30))]
    assert removed
    reviewed[30] = [b for b in reviewed[30] if b not in removed]

    x, y = _a(10)
    kept = KeptFace(Box(x - 5, y - 5, FACE_W + 10, FACE_H + 10), accused, "identification of the accused",
                    "lawyer M. Chan", 10)
    result = redact_item(vault, item, faces=True, names=False, frames_boxes=reviewed, keep_faces=[kept])

    out = tmp_path / "out.mp4"
    with vault.open_original(result.item_id) as stream:
        out.write_bytes(stream.read())
    original, redacted = list(read_frames(two_faces)), list(read_frames(out))
    assert len(redacted) == FRAMES

    def shows(i: int, x: int, y: int) -> bool:
        return bool(np.abs(_inner(redacted[i], x, y) - _inner(original[i], x, y)).mean() < 12)

    shown_a = {i for i in range(FRAMES) if shows(i, *_a(i))}
    for i in COVERED_BY_REVIEWER:  # covered by the reviewer: never shown, though kept
        assert _inner(redacted[i], *_a(i)).mean() < 12, i
    assert len(shown_a) >= 0.7 * FRAMES and 10 in shown_a  # elsewhere the kept face is seen
    for i in range(FRAMES):
        assert redacted[i][205:235, 5:35].mean() < 12, i  # the reviewer's corner box is drawn throughout
        if i != 30:
            assert _inner(redacted[i], *_b(i)).mean() < 12, i  # the other face stays covered...
    assert shows(30, *_b(30))  # ... except where the reviewer deleted its box

    [entry] = result.params["kept_faces"]
    visible = {f for first, last in entry["visible_frames"] for f in range(first, last + 1)}
    assert not visible & set(COVERED_BY_REVIEWER)  # the record does not claim what the reviewer covered
    assert visible <= shown_a and entry["visible_frame_count"] == len(visible) >= 0.7 * FRAMES
    detection = result.params["detection"]
    assert detection["reviewed"]["detector_boxes_removed"] == len({tuple(b.to_list()) for b in removed})
    assert detection["reviewed"]["frames_with_reviewer_boxes"] == FRAMES
    flagged = {f for flag in detection["review_flags"] if flag["reason"] == FLAG_KEPT_COVERED
               for f in range(flag["first_frame"], flag["last_frame"] + 1)}
    assert set(COVERED_BY_REVIEWER) <= flagged
    # the applied boxes recorded for the auditor hold the reviewer's boxes
    recorded = {f: boxes for first, last, boxes in result.params["boxes"] for f in range(first, last + 1)}
    assert all(CORNER.to_list() in recorded[f] for f in range(FRAMES))


def test_merge_keeps_visibility_where_the_reviewers_boxes_lie_elsewhere() -> None:
    face, other, mine = Box(100, 100, 60, 60), Box(300, 100, 60, 60), Box(500, 10, 20, 20)
    plain = [[face, other], [face, other], [face, other]]
    kept = [[other], [other], [face, other]]  # the kept face left visible on frames 0 and 1
    reviewed = [[face, other, mine], [face, other, Box(120, 120, 10, 10)], [face]]
    merged = merge_reviewed(reviewed, plain, kept, [[0, 1]])
    assert merged.frames[0] == [other, mine]  # a box away from the kept face leaves it visible
    assert merged.frames[1] == [other, Box(120, 120, 10, 10)]  # over the kept face: drawn...
    assert merged.visible == [[0]] and list(merged.covered) == [False, True, False]  # ... and no longer visible
    assert merged.frames[2] == [face]  # the reviewer deleted the other face's box on frame 2
    assert merged.record == {"reviewer_boxes": 2, "frames_with_reviewer_boxes": 2, "detector_boxes_removed": 1}
    with pytest.raises(Exception, match="number of frames"):
        merge_reviewed(reviewed[:2], plain, kept, [[0]])
