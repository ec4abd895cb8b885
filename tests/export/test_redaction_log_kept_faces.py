"""A face kept visible on a reviewed redacted photo gets its own row in the redaction log (PDF parsed back)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.export.exporter import export
from app.export.pdf.inspect import extract_everything
from app.redact.derive import redact_item
from app.redact.faces import Box
from app.redact.kept import KeptFace
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"
REASON = "identification of the accused by the court, decided with counsel"


def test_kept_face_row_names_the_pseudonym_reason_and_decider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    vault = Vault.create(tmp_path / "v.vault", TEST_PASSPHRASE, actor="Reviewer R", organisation="Test NGO")
    try:
        case_id = vault.add_case("Forced labour on the boat")
        photo = vault.ingest_file(shared_data_path("faces", TWO_FACES), case_id=case_id, kind="photo",
                                  title="On the boat").item_id
        accused = vault.add_person(name="Captain Lo", pseudonym="Accused A-1", role="perpetrator")
        survivor = vault.add_person(name="Sok Chantha", pseudonym="Survivor KH-01", role="survivor", protected=True)
        vault.add_consent(survivor, scopes="court,un", date="2026-10-02", taken_by="Interviewer Kim")
        vault.link(photo, accused)
        vault.link(photo, survivor)
        redact_item(vault, photo, faces=True, names=True, keep_faces=[
            KeptFace(Box(628, 6, 150, 206), accused, REASON, "Lawyer M (counsel)")])

        out = tmp_path / "reviewed.pdf"
        export(vault, item_ids=[photo], audience="un", level="redacted", out=out, review_required=True)
        contents = extract_everything(out)
    finally:
        vault.close()
    log = " ".join(next(t for t in contents.page_texts[2:] if "Redaction log" in t).split())
    assert "Face of Accused A-1 left visible" in log
    assert "decided with counsel" in log and "Lawyer M (counsel)" in log
    assert "KEPT" in log and "PW-ID" in log  # the other faces are still covered and logged
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    assert "Captain Lo" not in text and "Sok Chantha" not in text


class _Persons:
    def __init__(self, *persons: object) -> None:
        self._persons = persons

    def list_persons(self) -> list[object]:
        return list(self._persons)


class _SameText:
    def redact(self, text: str) -> str:
        return text


def test_kept_face_on_a_video_says_on_how_many_frames_it_was_visible() -> None:
    from types import SimpleNamespace

    from app.export.redaction_log import _kept_rows

    accused = SimpleNamespace(id=7, pseudonym=None, role="perpetrator", name="Real Name")
    face = KeptFace(Box(10, 20, 30, 40), 7, REASON, "Lawyer Somchai", frame=12).to_dict()
    derivation = {"kept_faces": [{**face, "visible_frames": [[12, 44]], "visible_frame_count": 33}]}
    rows = _kept_rows(_Persons(accused), "EV-00003-Red", derivation, _SameText(), "2026-12-07")
    assert len(rows) == 1
    text = rows[0].what
    assert "the alleged perpetrator" in text and "frame 12" in text and "33 frame(s)" in text
    assert "Real Name" not in text
