""""Keep visible…" on a video in the redaction review (offscreen Qt, a real vault behind the service gate,
a real clip made with ffmpeg, the real detector and the real redacted copy read back).

The clip (tests/redact/test_kept_faces_video.py): face A moves right, face B left and down. The
reviewer keeps A on frame 10 and also holds a box of their own over A on frames 20-24: A is shown
through its shot except there, B is covered on every frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.media.ffmpeg_io import read_frames
from app.redact.faces import Box
from app.redact.kept import kept_faces_of
from app.ui.kept_faces import candidate_persons
from app.ui.redaction_review import RedactionReviewDialog
from app.ui.vault_gate import GatedVault
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

WAIT = 120_000
REASON = "identification of the accused; decided with counsel for the court copy"
REVIEWER_RANGE = (20, 24)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _show(dialog: RedactionReviewDialog, qtbot, index: int) -> None:
    if dialog.shown_frame == index:
        return
    with qtbot.waitSignal(dialog.frameShown, timeout=WAIT, check_params_cb=lambda i: i == index):
        dialog.timeline.slider.setValue(index)


def test_keep_visible_on_a_video_frame_follows_the_face_and_keeps_the_reviewers_boxes(vault, qtbot,
                                                                                    tmp_path: Path) -> None:
    clip = make_two_faces_clip(tmp_path / "two_faces.mp4")
    case = vault.add_case("Boat")
    item = vault.ingest_file(clip, case_id=case, kind="video").item_id
    note = tmp_path / "statement.txt"
    note.write_text("Statement about the captain.", encoding="utf-8")
    other = vault.ingest_file(note, case_id=case, kind="document").item_id
    accused = vault.add_person(name="Captain Lo", pseudonym="Accused A-1", role="perpetrator")
    survivor = vault.add_person(name="Sok Chantha", pseudonym="Survivor KH-01", role="survivor", protected=True)
    vault.link(other, accused)  # linked to the case only (through another item): offered all the same
    vault.link(item, survivor)
    gate = GatedVault(vault)
    dialog = RedactionReviewDialog(gate, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.video is not None and dialog.frame_boxes is not None
                    and dialog.proposal is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)
    assert dialog.keep_action.isVisible() and dialog.legend.isVisible()

    # the reviewer's own box over face A on frames 20-24 (a range box)
    x, y = _a(22)
    dialog.add_range_box(*REVIEWER_RANGE, Box(x - 4, y - 4, FACE_W + 8, FACE_H + 8))

    _show(dialog, qtbot, 10)
    dialog.editor.scene().clearSelection()
    assert dialog.kept.ask() is None and "Select the one box" in dialog.status.text()
    face_a = [i for i in dialog.editor.box_items() if i.kind == "detected" and centre_in(i.box(), *_a(10))]
    assert face_a, [i.box() for i in dialog.editor.box_items()]
    source = face_a[0].box()
    face_a[0].setSelected(True)
    dialog.keep_action.trigger()
    keep = dialog.kept.dialog
    assert keep is not None and keep.isVisible()
    assert [keep.person_combo.itemText(i) for i in range(keep.person_combo.count())] == ["Accused A-1 (perpetrator)"]
    keep.reason_edit.setPlainText(REASON)
    keep.decided_edit.setText("Lawyer M")
    keep.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert face_a[0].kind == "kept" and "frame 10" in dialog.status.text()
    # the detector's box stays among the reviewed boxes: the core decides where the face is shown
    assert source.to_list() in [b.to_list() for b in dialog.frame_boxes.frame(10)]

    # another frame and back: the kept face is still marked on frame 10 only
    _show(dialog, qtbot, 11)
    assert not [i for i in dialog.editor.box_items() if i.kind == "kept"]
    _show(dialog, qtbot, 10)
    [kept_item] = [i for i in dialog.editor.box_items() if i.kind == "kept"]
    assert kept_item.box() == source
    assert dialog.grab().save(str(tmp_path / "kept_on_video.png"))  # for a look: pytest keeps tmp dirs
    [request] = dialog.kept.kept_faces()
    assert (request.frame, request.person_id, request.reason, request.decided_by) == (10, accused, REASON,
                                                                                       "Lawyer M")

    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT) as created:
        dialog.apply()
    assert "left visible on" in dialog.status.text()
    derivative = vault.get_item(created.args[0])
    assert derivative.derived_from == item
    [kept] = kept_faces_of(derivative.derivation)
    assert (kept.frame, kept.person_id, kept.reason, kept.decided_by) == (10, accused, REASON, "Lawyer M")
    assert kept.box.to_list() == source.to_list()
    [entry] = derivative.derivation["kept_faces"]
    visible = {f for first, last in entry["visible_frames"] for f in range(first, last + 1)}
    assert 10 in visible and not visible & set(range(REVIEWER_RANGE[0], REVIEWER_RANGE[1] + 1))
    assert derivative.derivation["detection"]["reviewed"]["frames_with_reviewer_boxes"] == 5
    # the redaction is recorded on the original's custody events too
    redacted_events = [e for e in vault.events(item) if e.action == "redacted"]
    assert redacted_events and redacted_events[-1].details["kept_faces"][0]["person_id"] == accused

    out = tmp_path / "out.mp4"
    with vault.open_original(derivative.id) as stream:
        out.write_bytes(stream.read())
    original, redacted = list(read_frames(clip)), list(read_frames(out))
    assert len(redacted) == FRAMES
    shown = {i for i in range(FRAMES)
             if np.abs(_inner(redacted[i], *_a(i)) - _inner(original[i], *_a(i))).mean() < 12}
    assert visible <= shown and len(visible) >= 0.7 * FRAMES
    for i in range(FRAMES):
        assert _inner(redacted[i], *_b(i)).mean() < 12, i  # the other face: covered on every frame
    for i in range(REVIEWER_RANGE[0], REVIEWER_RANGE[1] + 1):
        assert _inner(redacted[i], *_a(i)).mean() < 12, i  # covered by the reviewer: never shown
    qtbot.waitUntil(lambda: gate.busy_with is None, timeout=WAIT)


def test_deleting_a_kept_box_on_a_video_hides_the_face_again(vault, qtbot, tmp_path: Path) -> None:
    clip = make_two_faces_clip(tmp_path / "two_faces.mp4")
    item = vault.ingest_file(clip, kind="video").item_id
    accused = vault.add_person(name="Captain Lo", pseudonym="Accused A-1", role="perpetrator")
    vault.link(item, accused)
    dialog = RedactionReviewDialog(GatedVault(vault), item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.video is not None and dialog.proposal is not None, timeout=WAIT)
    _show(dialog, qtbot, 5)
    before = sorted(b.to_list() for b in dialog.frame_boxes.frame(5))
    target = next(i for i in dialog.editor.box_items() if centre_in(i.box(), *_a(5)))
    target.setSelected(True)
    keep = dialog.kept.ask()
    assert keep is not None
    keep.reason_edit.setPlainText(REASON)
    keep.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert len(dialog.kept.kept_faces()) == 1
    dialog.editor.scene().clearSelection()
    target.setSelected(True)
    dialog.remove_selected()
    assert dialog.kept.kept_faces() == []
    # the detector's box is back on the frame, shown as the detector's again
    assert sorted(b.to_list() for b in dialog.frame_boxes.frame(5)) == before
    assert not [i for i in dialog.editor.box_items() if i.kind == "kept"]
    assert any(i.kind == "detected" and centre_in(i.box(), *_a(5)) for i in dialog.editor.box_items())


class _Counting:
    """The vault, counting the calls a function makes to it."""

    def __init__(self, vault) -> None:
        self.vault, self.calls = vault, []

    def __getattr__(self, name: str):
        self.calls.append(name)
        return getattr(self.vault, name)


def test_candidate_persons_asks_the_vault_twice_however_large_the_case(vault, tmp_path: Path) -> None:
    case = vault.add_case("Many items")
    items = []
    for n in range(25):
        path = tmp_path / f"note{n}.txt"
        path.write_text(f"note {n}", encoding="utf-8")
        items.append(vault.ingest_file(path, case_id=case, kind="document").item_id)
    people = [vault.add_person(name=f"Person {n}", role="witness", protected=n % 3 == 0) for n in range(6)]
    for n, person in enumerate(people):
        vault.link(items[n * 4], person)
    counting = _Counting(vault)
    found = candidate_persons(counting, vault.get_item(items[1]))
    assert [p.id for p in found] == [p for n, p in enumerate(people) if n % 3 != 0]
    assert sorted(counting.calls) == ["persons_for_case", "persons_for_item"]
