"""Whoever makes a redacted copy (command line, desktop app, export), the core titles it "… (redacted)"
and links it to the original's people."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.redact.copies import redacted_title
from app.redact.derive import redact_item
from tests.conftest import shared_data_path
from tests.vault.vaultkit import fast_vault

FACE_PHOTO = "13_Interview_Interview_On_Location_13_513.jpg"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def test_redacted_title_marks_the_copy_once() -> None:
    assert redacted_title("Harbour at night", 3) == "Harbour at night (redacted)"
    assert redacted_title("Harbour at night (redacted)", 3) == "Harbour at night (redacted)"
    assert redacted_title("", 3) == redacted_title(None, 3) == "Redacted copy of item 3"


def test_copy_is_titled_and_linked_like_its_original(vault) -> None:
    original = vault.ingest_file(shared_data_path("faces", FACE_PHOTO), kind="photo").item_id
    survivor = vault.add_person(name="Nguyễn Văn Bình", pseudonym="Witness B", role="survivor", protected=True)
    interviewer = vault.add_person(name="Dara Interviewer", role="interviewer")
    vault.link(original, survivor)
    vault.link(original, interviewer)
    vault.edit_item(original, title="Nguyễn Văn Bình at the harbour")

    copy_id = redact_item(vault, original, faces=True, names=True).item_id

    copy = vault.get_item(copy_id)
    assert copy.title == "Witness B at the harbour (redacted)"
    assert {p.id for p in vault.persons_for_item(copy_id)} == {survivor, interviewer}
    assert vault.get_item(original).title == "Nguyễn Văn Bình at the harbour"
    assert vault.verify().ok
