"""`redact ID --faces --keep-face X,Y,W,H --keep-person P --keep-reason …` on a real photo and vault."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.main import main
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.redact.test_kept_faces_video import make_two_faces_clip

TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"  # faces at [288, 76, …] and [652, 40, …]


def _run(capsys, *args: str, expect: int = 0) -> tuple[str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == expect, f"{args}: exit {code}: {err}"
    return out, err


def test_keep_face_is_shown_in_the_dry_run_then_recorded(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "v.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    _run(capsys, "init")
    item = _run(capsys, "ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    accused = _run(capsys, "person", "add", "--name", "Somchai Perp", "--pseudonym", "Accused 1",
                   "--role", "perpetrator")[0].strip()
    survivor = _run(capsys, "person", "add", "--name", "Dara Survivor", "--pseudonym", "Witness KH-01",
                    "--role", "survivor", "--protected")[0].strip()
    keep = ["--keep-face", "628,6,150,206", "--keep-reason", "identification of the accused, counsel's decision"]

    out, err = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", accused, "--decided-by", "Lawyer M")
    assert "face kept visible at [628, 6, 150, 206]" in out and "Accused 1" in out and "Lawyer M" in out
    assert "Nothing was changed" in err

    _, err = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", survivor, "--yes", expect=2)
    assert "is protected" in err and "Traceback" not in err
    _, err = _run(capsys, "redact", item, "--faces", "--keep-face", "628,6,150", "--keep-person", accused,
                  "--keep-reason", "x", expect=2)
    assert "is not a box" in err
    _, err = _run(capsys, "redact", item, "--faces", "--keep-face", "628,6,150,206", "--keep-person", accused,
                  expect=2)
    assert "--keep-reason" in err

    derivative = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", accused, "--yes")[0].strip()
    shown = json.loads(_run(capsys, "show", derivative, "--json")[0])
    kept = shown["item"]["derivation"]["kept_faces"]
    decided_by = kept[0]["decided_by"]
    assert decided_by  # the vault's actor by default
    assert kept == [{"box": [628, 6, 150, 206], "person_id": int(accused),
                     "reason": "identification of the accused, counsel's decision", "decided_by": decided_by}]
    _run(capsys, "verify")


def test_keep_face_on_a_video_frame_is_followed_and_recorded(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "v.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    _run(capsys, "init")
    clip = make_two_faces_clip(tmp_path / "two_faces.mp4")
    item = _run(capsys, "ingest", str(clip))[0].strip()
    accused = _run(capsys, "person", "add", "--name", "Somchai Perp", "--pseudonym", "Accused 1",
                   "--role", "perpetrator")[0].strip()
    reason = ["--keep-reason", "identification of the accused, counsel's decision", "--keep-person", accused]

    _, err = _run(capsys, "redact", item, "--faces", "--no-names", "--keep-face", "25,55,80,92", *reason, "--yes",
                  expect=2)
    assert "which frame" in err and "FRAME:X,Y,W,H" in err and "Traceback" not in err
    _, err = _run(capsys, "redact", item, "--faces", "--keep-face", "ten:25,55,80,92", *reason, expect=2)
    assert "is not a box" in err

    out, err = _run(capsys, "redact", item, "--faces", "--no-names", "--keep-face", "10:25,65,80,92", *reason,
                    "--decided-by", "Lawyer M", "--yes")
    assert "left visible on" in err
    shown = json.loads(_run(capsys, "show", out.strip(), "--json")[0])
    kept = shown["item"]["derivation"]["kept_faces"]
    assert len(kept) == 1 and kept[0]["frame"] == 10 and kept[0]["box"] == [25, 65, 80, 92]
    assert kept[0]["person_id"] == int(accused) and kept[0]["decided_by"] == "Lawyer M"
    assert kept[0]["visible_frame_count"] >= 32 and kept[0]["visible_frames"][0][0] <= 10
    _run(capsys, "verify")
