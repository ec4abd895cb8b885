""""Keep visible…" in the redaction review (offscreen Qt, real vault, real detector, real derivative)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from app.redact.kept import kept_faces_of
from app.redact.photo import load_oriented_rgb
from app.ui.box_editor import KEPT_COLOUR
from app.ui.redaction_review import RedactionReviewDialog
from tests.conftest import shared_data_path
from tests.vault.vaultkit import fast_vault

TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"  # faces at [288, 76, …] and [652, 40, …]
WAIT = 60_000
REASON = "identification of the accused; decided with counsel"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def test_keep_visible_leaves_the_chosen_face_and_hides_the_other(vault, qtbot) -> None:
    case_id = vault.add_case("Boat")
    item = vault.ingest_file(shared_data_path("faces", TWO_FACES), case_id=case_id, kind="photo").item_id
    accused = vault.add_person(name="Captain Lo", pseudonym="Accused A-1", role="perpetrator")
    survivor = vault.add_person(name="Sok Chantha", pseudonym="Survivor KH-01", role="survivor", protected=True)
    vault.link(item, accused)
    vault.link(item, survivor)
    dialog = RedactionReviewDialog(vault, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.proposal is not None and dialog.photo is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)
    assert dialog.keep_action.isVisible() and "kept visible" in dialog.legend.text()

    # nothing selected: a sentence says what to do
    dialog.editor.scene().clearSelection()
    assert dialog.kept.ask() is None and "Select the one box" in dialog.status.text()

    right = next(i for i in dialog.editor.box_items() if i.box().x > 500)
    right.setSelected(True)
    dialog.keep_action.trigger()
    keep = dialog.kept.dialog
    assert keep is not None and keep.isVisible()
    # only the person who is not protected is offered
    assert [keep.person_combo.itemText(i) for i in range(keep.person_combo.count())] == ["Accused A-1 (perpetrator)"]
    ok = keep.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # no reason yet
    keep.reason_edit.setPlainText(REASON)
    keep.decided_edit.setText("Lawyer M")
    assert ok.isEnabled()
    ok.click()

    assert right.kind == "kept" and right.pen().color() == KEPT_COLOUR
    assert right.box() not in dialog.editor.boxes() and len(dialog.editor.boxes()) == 1
    kept_box = right.box()
    dialog.apply()
    qtbot.waitUntil(lambda: dialog.derivative is not None, timeout=WAIT)

    derivative = vault.get_item(dialog.derivative.item_id)
    [kept] = kept_faces_of(derivative.derivation)
    assert (kept.person_id, kept.reason, kept.decided_by) == (accused, REASON, "Lawyer M")
    assert kept.box.to_list() == kept_box.to_list()
    with vault.open_original(derivative.id) as stream:
        redacted = np.asarray(Image.open(io.BytesIO(stream.read())).convert("RGB"))
    with vault.open_original(item) as stream:
        original = load_oriented_rgb(stream)
    b = kept_box
    assert np.array_equal(redacted[b.y:b.y2, b.x:b.x2], original[b.y:b.y2, b.x:b.x2])
    assert redacted[76 + 20:76 + 140, 288 + 20:288 + 88].max() == 0  # the other face is hidden
