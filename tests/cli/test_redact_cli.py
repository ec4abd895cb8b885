"""`faces`, `redact-file` and `redact` on the command line, with real photos and ffmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from app.cli.main import main
from tests.conftest import TEST_PASSPHRASE, shared_data_path

FACE_PHOTO = "13_Interview_Interview_On_Location_13_513.jpg"  # face at [492, 100, 136, 216]


def _run(capsys, *args: str, expect: int = 0) -> tuple[str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == expect, f"{args}: exit {code}: {err}"
    return out, err


def test_faces_json_covers_the_annotated_face(capsys) -> None:
    photo = shared_data_path("faces", FACE_PHOTO)
    out, _ = _run(capsys, "faces", str(photo), "--json")
    record = json.loads(out.splitlines()[0])
    assert (record["width"], record["height"]) == (1024, 480)
    x, y, w, h = 492, 100, 136, 216
    assert any(bx <= x and by <= y and bx + bw >= x + w * 0.9 and by + bh >= y + h * 0.9
               for bx, by, bw, bh, _ in record["boxes"])


def test_faces_on_video_lists_every_frame(capsys, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=1",
                    "-c:v", "libx264", str(clip)], check=True)
    out, _ = _run(capsys, "faces", str(clip), "--json")
    record = json.loads(out)
    assert [f["index"] for f in record["frames"]] == list(range(5))


def test_redact_file_strips_gps_and_refuses_to_overwrite(capsys, tmp_path: Path) -> None:
    photo = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    out_file = tmp_path / "clean.jpg"
    _run(capsys, "redact-file", str(photo), str(out_file), "--accept-residual")
    image = Image.open(out_file)
    assert not image.getexif() and "exif" not in image.info
    _, err = _run(capsys, "redact-file", str(out_file), str(out_file), expect=2)
    assert "must not overwrite" in err


def test_redact_file_on_a_corrupt_photo_is_one_clear_sentence(capsys, tmp_path: Path) -> None:
    broken = shared_data_path("media", "broken_truncated_header_only.jpg")
    _, err = _run(capsys, "redact-file", str(broken), str(tmp_path / "x.png"), expect=2)
    assert "Traceback" not in err and err.startswith("evidence-vault: ")
    assert not (tmp_path / "x.png").exists()


def test_redact_item_proposes_then_applies(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "v.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    _run(capsys, "init")
    item = _run(capsys, "ingest", str(shared_data_path("faces", FACE_PHOTO)))[0].strip()
    out, err = _run(capsys, "redact", item, "--faces")
    assert "face area(s) to cover" in out and "Nothing was changed" in err
    assert len(json.loads(_run(capsys, "list", "--json")[0])) == 1
    derivative = _run(capsys, "redact", item, "--faces", "--yes")[0].strip()
    shown = json.loads(_run(capsys, "show", derivative, "--json")[0])
    assert str(shown["item"]["derived_from"]) == item
    _run(capsys, "verify")


@pytest.mark.parametrize("bad", ["--method=blur", "--audio=robot"])
def test_unknown_choices_are_refused(capsys, bad: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["redact-file", "a.jpg", str(tmp_path / "b.jpg"), bad])
