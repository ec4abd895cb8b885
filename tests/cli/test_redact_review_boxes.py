"""`redact ITEM --json` then `redact ITEM --boxes FILE --yes`: a reviewer's boxes applied from the command
line, on a real photo and a real video in a real vault (with a kept face on the video too)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.redact.test_kept_faces_video import make_two_faces_clip

TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"
BACKGROUND_BOX = [20, 400, 60, 40]  # a patch with no face: only a reviewer would cover it


def _write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_a_reviewers_photo_boxes_are_applied_exactly(cli, tmp_path: Path) -> None:
    cli("init")
    item = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    proposal = json.loads(cli("redact", item, "--faces", "--no-names", "--json")[0])
    assert proposal["kind"] == "photo" and proposal["item"] == int(item) and len(proposal["boxes"]) >= 2
    assert proposal["width"] == 1024 and all(len(box) == 4 for box in proposal["boxes"])

    reviewed = _write(tmp_path / "review.json", {**proposal, "boxes": [*proposal["boxes"], BACKGROUND_BOX]})
    derivative = cli("redact", item, "--faces", "--no-names", "--boxes", reviewed, "--yes")[0].strip()
    recorded = json.loads(cli("show", derivative, "--json")[0])["item"]["derivation"]["boxes"]
    assert recorded == [*proposal["boxes"], BACKGROUND_BOX]

    with (Vault.open(cli.vault, TEST_PASSPHRASE, actor="auditor", read_only=True) as vault,
          vault.open_original(int(derivative)) as stream):
        pixels = np.asarray(Image.open(io.BytesIO(stream.read())).convert("RGB"))
    x, y, w, h = BACKGROUND_BOX
    assert pixels[y:y + h, x:x + w].max() == 0  # filled, as the reviewer asked
    assert pixels[y + h + 20:y + h + 60, x:x + w].max() > 0  # and nothing around it


def test_a_review_that_uncovers_a_face_still_meets_the_residual_check(cli, tmp_path: Path) -> None:
    cli("init")
    item = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    nothing = _write(tmp_path / "none.json", {"boxes": []})
    _, err = cli("redact", item, "--faces", "--no-names", "--boxes", nothing, "--yes", expect=2)
    assert "face" in err.lower() and "Traceback" not in err
    assert cli("list")[0].count("\n") == 1  # nothing stored: only the original is listed


def test_a_reviewers_video_boxes_with_a_kept_face(cli, tmp_path: Path) -> None:
    cli("init")
    clip = make_two_faces_clip(tmp_path / "two_faces.mp4")
    item = cli("ingest", str(clip))[0].strip()
    accused = cli("person", "add", "--name", "Somchai Perp", "--pseudonym", "Accused 1", "--role", "perpetrator")[0]
    proposal = json.loads(cli("redact", item, "--faces", "--no-names", "--json")[0])
    assert proposal["kind"] == "video" and len(proposal["frames"]) == 40
    assert sum(1 for boxes in proposal["frames"] if boxes) >= 38

    corner = [0, 200, 30, 30]  # the reviewer covers a corner on every frame
    reviewed = _write(tmp_path / "review.json", {"frames": [[*boxes, corner] for boxes in proposal["frames"]]})
    keep = ["--keep-face", "10:25,65,80,92", "--keep-person", accused.strip(),
            "--keep-reason", "identification of the accused, counsel's decision"]
    out, _ = cli("redact", item, "--faces", "--no-names", "--boxes", reviewed, *keep, "--yes")
    derivation = json.loads(cli("show", out.strip(), "--json")[0])["item"]["derivation"]
    assert derivation["frames"] == 40
    drawn = {tuple(box) for _, _, boxes in derivation["boxes"] for box in boxes}
    assert tuple(corner) in drawn  # the reviewer's own box is always drawn, kept face or not
    assert derivation["kept_faces"][0]["frame"] == 10 and derivation["kept_faces"][0]["visible_frame_count"] > 0
    cli("verify")


def test_wrong_or_hostile_box_files_are_refused_with_what_to_fix(cli, tmp_path: Path) -> None:
    cli("init")
    photo = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    clip = cli("ingest", str(make_two_faces_clip(tmp_path / "clip.mp4")))[0].strip()
    cases = [
        (photo, {"frames": [[]]}, 'has no "boxes"'),
        (clip, {"boxes": [[1, 2, 3, 4]]}, 'has no "frames"'),
        (photo, {"boxes": [[1, 2, -3, 4]]}, "box 1"),
        (photo, {"boxes": [[1, 2, "3", 4]]}, "box 1"),
        (photo, {"boxes": [[1.5, 2, 3, 4]]}, "whole pixels"),
        (photo, {"boxes": {"x": 1}}, "must be a list"),
        (photo, [1, 2, 3], "one JSON object"),
        (clip, {"frames": [[] for _ in range(39)]}, "number of frames differs"),
        (clip, {"frames": [[[1, 2, 3, True]]]}, "frame 0, box 1"),
    ]
    for index, (item, data, expected) in enumerate(cases):
        path = _write(tmp_path / f"bad{index}.json", data)
        _, err = cli("redact", item, "--faces", "--no-names", "--boxes", path, "--yes", expect=2)
        assert expected in err and "Traceback" not in err, (data, err)
    (tmp_path / "broken.json").write_text('{"boxes": [[1, 2')
    _, err = cli("redact", photo, "--faces", "--boxes", str(tmp_path / "broken.json"), "--yes", expect=2)
    assert "not valid JSON" in err
    _, err = cli("redact", photo, "--faces", "--boxes", str(tmp_path / "missing.json"), "--yes", expect=2)
    assert "cannot be read" in err
    _, err = cli("redact", photo, "--no-faces", "--boxes", str(tmp_path / "bad0.json"), "--yes", expect=2)
    assert "--no-faces" in err
    _, err = cli("redact", photo, "--json", "--yes", expect=2)
    assert "leave out --yes" in err
    assert cli("list")[0].count("\n") == 2  # nothing was made: the photo and the clip only


def test_boxes_can_come_from_standard_input(cli, tmp_path: Path, monkeypatch) -> None:
    cli("init")
    item = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    proposal = json.loads(cli("redact", item, "--faces", "--no-names", "--json")[0])
    piped = json.dumps({"boxes": [*proposal["boxes"], BACKGROUND_BOX]}).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(piped)))
    derivative = cli("redact", item, "--faces", "--no-names", "--boxes", "-", "--yes")[0].strip()
    assert BACKGROUND_BOX in json.loads(cli("show", derivative, "--json")[0])["item"]["derivation"]["boxes"]


def test_a_box_file_far_larger_than_any_review_is_refused_unread(cli, tmp_path: Path, monkeypatch) -> None:
    cli("init")
    item = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    monkeypatch.setattr("app.cli.review_boxes.MAX_BYTES", 64)  # the real limit is 256 MB
    huge = _write(tmp_path / "huge.json", {"boxes": [[1, 2, 3, 4]] * 20})
    _, err = cli("redact", item, "--faces", "--no-names", "--boxes", huge, "--yes", expect=2)
    assert "is larger than" in err and "Traceback" not in err
    assert cli("list")[0].count("\n") == 1


def test_the_review_file_is_checked_before_yes(cli, tmp_path: Path) -> None:
    """Without --yes nothing is made, but a mistake in the review file shows at once, and a good one is
    summarised next to the detector's proposal."""
    cli("init")
    item = cli("ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    bad = _write(tmp_path / "bad.json", {"boxes": [[1, 2, -3, 4]]})
    _, err = cli("redact", item, "--faces", "--no-names", "--boxes", bad, expect=2)
    assert "box 1" in err and "Traceback" not in err
    good = _write(tmp_path / "good.json", {"boxes": [BACKGROUND_BOX, [100, 100, 40, 50]]})
    out, err = cli("redact", item, "--faces", "--no-names", "--boxes", good)
    assert "reviewed face boxes from" in out and ": 2;" in out
    assert "Nothing was changed" in err
    assert cli("list")[0].count("\n") == 1
