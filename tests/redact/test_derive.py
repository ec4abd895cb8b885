"""Redacted derivatives inside a real vault: originals untouched, no metadata, parameters replay."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from app.redact.derive import ResidualFaces, propose, redact_item, replay
from app.redact.faces import Box
from app.vault.models import Segment
from app.vault.spool import EncryptedSpool
from tests.conftest import shared_data_path
from tests.vault.vaultkit import new_vault, speed_up

FACE_PHOTO = "13_Interview_Interview_On_Location_13_513.jpg"  # one annotated face [492, 100, 136, 216]


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    opened = new_vault(tmp_path)
    yield opened
    opened.close()


def _stored_bytes(vault, item_id: int) -> bytes:
    with vault.open_original(item_id) as stream:
        return stream.read()


def test_photo_derivative_covers_the_face_and_keeps_the_original(vault) -> None:
    photo = shared_data_path("faces", FACE_PHOTO)
    original = vault.ingest_file(photo, kind="photo").item_id
    before = vault.get_item(original).sha256

    result = redact_item(vault, original, faces=True, names=False)

    assert vault.get_item(original).sha256 == before == hashlib.sha256(photo.read_bytes()).hexdigest()
    derivative = vault.get_item(result.item_id)
    assert derivative.derived_from == original
    assert derivative.derivation["boxes"] and derivative.derivation["method"] == "fill"
    assert derivative.derivation["detector"]["model"]
    # The annotated face lies inside what was filled: those pixels are black now.
    image = Image.open(io.BytesIO(_stored_bytes(vault, result.item_id)))
    face = image.convert("RGB").crop((492 + 20, 100 + 20, 492 + 116, 100 + 196))
    assert max(face.getextrema(), key=lambda e: e[1])[1] == 0
    assert not image.info.get("exif") and not image.getexif()
    actions = [(e.action, e.item_id) for e in vault.events()]
    assert ("redacted", original) in actions and ("item_ingested", result.item_id) in actions
    assert vault.verify().ok


def test_recorded_parameters_replay_to_the_same_bytes(vault) -> None:
    photo = shared_data_path("faces", FACE_PHOTO)
    original = vault.ingest_file(photo, kind="photo").item_id
    result = redact_item(vault, original, faces=True, names=False, method="pixelate")
    assert replay(vault, result.item_id) == result.sha256


def test_gps_photo_derivative_has_no_metadata(vault) -> None:
    photo = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    original = vault.ingest_file(photo, kind="photo").item_id
    result = redact_item(vault, original, faces=True, names=False, accept_residual=True)
    data = _stored_bytes(vault, result.item_id)
    image = Image.open(io.BytesIO(data))
    assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert b"GPS" not in data and b"NIKON" not in data.upper()


def test_residual_faces_block_until_accepted(vault, tmp_path: Path) -> None:
    photo = shared_data_path("faces", FACE_PHOTO)
    original = vault.ingest_file(photo, kind="photo").item_id
    count = len(vault.list_items())
    # A reviewer who removed every box: the face is still there and must be reported.
    with pytest.raises(ResidualFaces) as raised:
        redact_item(vault, original, faces=True, names=False, boxes=[Box(0, 0, 10, 10)])
    assert "still be seen" in raised.value.user_message()
    assert len(vault.list_items()) == count  # nothing stored


def test_names_in_transcript_become_pseudonyms(vault) -> None:
    person = vault.add_person(name="Nguyễn Văn An", aliases=("อานันท์", "阿安"), pseudonym="Witness A",
                              role="survivor", protected=True)
    interview = vault.ingest_stream(io.BytesIO(b"audio bytes stand-in"), name="interview_Nguyen_Van_An.txt",
                                    kind="document", title="Interview with Nguyen Van An").item_id
    vault.link(interview, person)
    vault.set_transcript(interview, [
        Segment(0.0, 2.0, "Nguyễn Văn An", "vi", "Tôi là Nguyen Van An, họ bán tôi."),
        Segment(2.0, 4.0, "Interviewer", "th", "อานันท์ถูกขายไปที่บริษัทอื่น"),
        Segment(4.0, 6.0, "Interviewer", "zh", "阿安被卖到另一个园区"),
    ])
    proposal = propose(vault, interview, faces=False, names=True)
    assert len(proposal.names_found) >= 4
    result = redact_item(vault, interview, faces=False, names=True)
    derivative = vault.get_item(result.item_id)
    text = _stored_bytes(vault, result.item_id).decode("utf-8")
    text += json.dumps([s.__dict__ for s in vault.transcript(result.item_id)], ensure_ascii=False)
    text += derivative.title + derivative.original_name
    for name in ("Nguyễn", "Nguyen", "อานันท์", "阿安"):
        assert name not in text
    assert "Witness A" in text and derivative.kind == "transcript"


@pytest.mark.slow
def test_video_derivative_streams_through_the_vault(vault, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=1",
         "-f", "lavfi", "-i", "sine=duration=1", "-shortest", "-c:v", "libx264", "-c:a", "aac",
         "-metadata", "location=+13.7563+100.5018/", "-metadata", "title=secret place", str(clip)],
        check=True,
    )
    original = vault.ingest_file(clip, kind="video").item_id
    result = redact_item(vault, original, faces=True, names=False, audio="mute")
    data = _stored_bytes(vault, result.item_id)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", "-i", "pipe:0"],
                           input=data, capture_output=True, check=True)
    info = json.loads(probe.stdout)
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    tags = json.dumps(info["format"].get("tags", {})).lower()
    assert "location" not in tags and "secret" not in tags
    assert vault.get_item(result.item_id).derivation["audio"]["mode"] == "mute"


def test_spool_keeps_no_plaintext_on_disk(tmp_path: Path) -> None:
    marker = b"PLAINTEXT-MARKER-" * 100_000
    spool = EncryptedSpool(tmp_path)
    spool.write(marker)
    assert list(tmp_path.iterdir()) == []  # the spool file has no name
    with spool.reader() as reader:
        assert reader.read() == marker
    spool.close()
