"""Targeted face redaction: a face reviewers decide to keep stays as it was, every other face is covered."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.errors import InvalidInput
from app.redact.derive import redact_item, replay
from app.redact.faces import Box
from app.redact.kept import KeptFace, kept_faces_of
from app.redact.photo import load_oriented_rgb
from tests.conftest import shared_data_path
from tests.vault.vaultkit import fast_vault

# Two people: annotated faces [288, 76, 108, 160] (left) and [652, 40, 92, 160] (right).
TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"
RIGHT_FACE = Box(628, 6, 150, 206)
LEFT_FACE_INSIDE = (288 + 20, 76 + 20, 288 + 88, 76 + 140)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _case(vault) -> tuple[int, int, int]:
    """The photo, an alleged perpetrator (not protected) and a protected survivor linked to it."""
    item = vault.ingest_file(shared_data_path("faces", TWO_FACES), kind="photo").item_id
    perpetrator = vault.add_person(name="Somchai Perp", pseudonym="Accused 1", role="perpetrator",
                                   protected=False)
    survivor = vault.add_person(name="Dara Survivor", pseudonym="Witness KH-01", role="survivor", protected=True)
    vault.link(item, perpetrator)
    vault.link(item, survivor)
    return item, perpetrator, survivor


def _pixels(vault, item_id: int) -> np.ndarray:
    with vault.open_original(item_id) as stream:
        return np.asarray(Image.open(io.BytesIO(stream.read())).convert("RGB"))


def test_kept_face_is_unchanged_and_the_other_is_covered(vault) -> None:
    item, perpetrator, _ = _case(vault)
    kept = KeptFace(RIGHT_FACE, perpetrator, "Identification of the accused; decided with counsel for the court copy",
                    "lawyer M. Chan")
    result = redact_item(vault, item, faces=True, names=False, keep_faces=[kept])

    with vault.open_original(item) as stream:
        original = load_oriented_rgb(stream)
    redacted = _pixels(vault, result.item_id)
    b = RIGHT_FACE
    assert np.array_equal(redacted[b.y:b.y2, b.x:b.x2], original[b.y:b.y2, b.x:b.x2])
    x1, y1, x2, y2 = LEFT_FACE_INSIDE
    assert redacted[y1:y2, x1:x2].max() == 0  # the other face is filled
    assert result.residual_faces == []  # the kept face is not reported as a face left over

    derivation = vault.get_item(result.item_id).derivation
    assert kept_faces_of(derivation) == [kept]
    recorded = [e for e in vault.events() if e.action == "item_ingested" and e.item_id == result.item_id]
    assert recorded[0].details["derivation"]["kept_faces"] == [
        {"box": RIGHT_FACE.to_list(), "person_id": perpetrator, "reason": kept.reason, "decided_by": "lawyer M. Chan"}]
    redacted_events = [e for e in vault.events(item) if e.action == "redacted"]
    assert redacted_events[-1].details["kept_faces"][0]["person_id"] == perpetrator
    assert replay(vault, result.item_id) == result.sha256
    assert vault.verify().ok


def test_default_covers_every_face_and_records_nothing_kept(vault) -> None:
    item, _, _ = _case(vault)
    result = redact_item(vault, item, faces=True, names=False)
    redacted = _pixels(vault, result.item_id)
    assert redacted[40 + 20:40 + 140, 652 + 20:652 + 72].max() == 0
    assert "kept_faces" not in vault.get_item(result.item_id).derivation


def test_a_protected_or_unknown_person_or_no_reason_is_refused(vault) -> None:
    item, perpetrator, survivor = _case(vault)
    count = len(vault.list_items())
    cases = [
        (KeptFace(RIGHT_FACE, survivor, "counsel asked", "lawyer"), "is protected"),
        (KeptFace(RIGHT_FACE, 9999, "counsel asked", "lawyer"), "no person 9999"),
        (KeptFace(RIGHT_FACE, None, "counsel asked", "lawyer"), "Say whose face"),
        (KeptFace(RIGHT_FACE, perpetrator, "   ", "lawyer"), "Give the reason"),
    ]
    for kept, message in cases:
        with pytest.raises(InvalidInput) as raised:
            redact_item(vault, item, faces=True, names=False, keep_faces=[kept])
        assert message in raised.value.user_message()
    assert len(vault.list_items()) == count  # nothing stored


def test_a_frame_number_on_a_photo_is_refused(vault) -> None:
    item, perpetrator, _ = _case(vault)
    with pytest.raises(InvalidInput, match="no frames"):
        redact_item(vault, item, names=False, keep_faces=[KeptFace(RIGHT_FACE, perpetrator, "court copy", "lawyer", 3)])
    assert KeptFace.from_dict(KeptFace(RIGHT_FACE, perpetrator, "r", "d", 3).to_dict()).frame == 3
    assert "frame" not in KeptFace(RIGHT_FACE, perpetrator, "r", "d").to_dict()  # photo records stay as before
