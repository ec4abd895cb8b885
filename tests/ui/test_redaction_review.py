"""Redaction review screen against a real vault: real face detection, real ffmpeg, real derivatives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from app.media.ffmpeg_io import read_frames
from app.redact.faces import Box
from app.ui.box_editor import BoxItem
from app.ui.redaction_review import RedactionReviewDialog
from app.vault.models import Segment
from tests.conftest import shared_data_path
from tests.vault.vaultkit import new_vault, speed_up

FACE_PHOTO = "13_Interview_Interview_On_Location_13_513.jpg"  # one annotated face [492, 100, 136, 216]
FACE = (492, 100, 136, 216)
WAIT = 60_000


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    opened = new_vault(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def photo_dialog(vault, qtbot, tmp_path):
    source = shared_data_path("faces", FACE_PHOTO)
    named = tmp_path / "Nguyen_Van_An_port.jpg"  # a protected name in the file name, too
    named.symlink_to(source)
    item = vault.ingest_file(named, kind="photo", title="Interview with Nguyễn Văn An at the port").item_id
    person = vault.add_person(name="Nguyễn Văn An", aliases=("阿安",), pseudonym="Witness A", role="witness",
                              protected=True)
    vault.link(item, person)
    vault.add_note(item, "阿安 was photographed by Mr Somchai Prasert.")
    dialog = RedactionReviewDialog(vault, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.proposal is not None and dialog.photo is not None and dialog.texts is not None,
                    timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)
    return dialog


def _covered(boxes: list[Box], target: tuple[int, int, int, int]) -> float:
    x, y, w, h = target
    mask = np.zeros((y + h + 1, x + w + 1), dtype=bool)
    for b in boxes:
        mask[b.y:b.y + b.h, b.x:b.x + b.w] = True
    return float(mask[y:y + h, x:x + w].mean())


def _view_point(dialog: RedactionReviewDialog, x: float, y: float) -> QPoint:
    return dialog.editor.mapFromScene(QPointF(x, y))


def test_detected_face_is_shown_and_names_are_highlighted(photo_dialog) -> None:
    dialog = photo_dialog
    boxes = dialog.editor.boxes()
    assert len(boxes) == 1 and _covered(boxes, FACE) >= 0.9
    assert [i.kind for i in dialog.editor.box_items()] == ["detected"]
    assert dialog.editor.image_size == (1024, 480)
    # the protected name (real name and alias) highlighted with what it becomes; a suggestion listed
    protected = dialog.names_view.marked("protected")
    assert "Nguyễn Văn An" in protected and "阿安" in protected and "Nguyen_Van_An" in protected
    assert " → Witness A" in dialog.names_view.marked("replacement")
    suggestions = [dialog.suggestions.item(i).text() for i in range(dialog.suggestions.count())]
    assert any("Somchai" in s for s in suggestions)
    dialog.set_option("name_mode_combo", "redacted")
    assert " → [REDACTED]" in dialog.names_view.marked("replacement")


def test_edit_boxes_with_the_api_and_the_mouse(photo_dialog, qtbot) -> None:
    dialog = photo_dialog
    editor = dialog.editor
    editor.set_zoom(0.5)
    assert editor.zoom == 0.5
    dialog.zoom_in_action.trigger()
    assert editor.zoom == pytest.approx(0.625)
    editor.set_zoom(0.5)
    editor.centerOn(512, 240)

    # API: add, resize (corner), remove
    added = editor.add_box(20, 300, 60, 50)
    assert len(editor.boxes()) == 2
    added.move_corner(2, QPointF(120, 380))
    assert added.box().to_list() == [20, 300, 100, 80] and added.kind == "reviewer"
    editor.scene().clearSelection()
    added.setSelected(True)
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert len(editor.boxes()) == 1

    # mouse: draw a new box by dragging on empty space
    start, end = _view_point(dialog, 40, 300), _view_point(dialog, 140, 400)
    qtbot.mousePress(editor.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(editor.viewport(), pos=end)
    qtbot.mouseRelease(editor.viewport(), Qt.MouseButton.LeftButton, pos=end)
    drawn = [i for i in editor.box_items() if i.kind == "reviewer"]
    assert len(drawn) == 1
    x, y, w, h = drawn[0].box().to_list()
    assert abs(x - 40) <= 2 and abs(y - 300) <= 2 and abs(w - 100) <= 4 and abs(h - 100) <= 4
    assert drawn[0].isSelected()

    # mouse: drag its bottom-right handle outwards
    handle = drawn[0].handles[2]
    assert handle.isVisible()
    grip = _view_point(dialog, x + w, y + h)
    target = _view_point(dialog, x + w + 60, y + h + 40)
    qtbot.mousePress(editor.viewport(), Qt.MouseButton.LeftButton, pos=grip)
    qtbot.mouseMove(editor.viewport(), pos=target)
    qtbot.mouseRelease(editor.viewport(), Qt.MouseButton.LeftButton, pos=target)
    resized = drawn[0].box()
    assert abs(resized.w - (w + 60)) <= 4 and abs(resized.h - (h + 40)) <= 4

    # mouse: drag the box by its middle; it moves, keeping its size
    middle = _view_point(dialog, resized.x + resized.w / 2, resized.y + resized.h / 2)
    moved_to = _view_point(dialog, resized.x + resized.w / 2 + 80, resized.y + resized.h / 2 - 60)
    qtbot.mousePress(editor.viewport(), Qt.MouseButton.LeftButton, pos=middle)
    qtbot.mouseMove(editor.viewport(), pos=moved_to)
    qtbot.mouseRelease(editor.viewport(), Qt.MouseButton.LeftButton, pos=moved_to)
    moved = drawn[0].box()
    assert abs(moved.x - (resized.x + 80)) <= 4 and abs(moved.y - (resized.y - 60)) <= 4
    assert (moved.w, moved.h) == (resized.w, resized.h)

    # Delete removes the selected box; the toolbar button does the same
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert [i.kind for i in editor.box_items()] == ["detected"]
    editor.box_items()[0].setSelected(True)
    dialog.remove_action.trigger()
    assert editor.boxes() == []
    dialog.add_action.trigger()  # a box in the middle of the view
    assert len(editor.boxes()) == 1


def test_preview_in_memory_then_apply_makes_a_derivative(photo_dialog, vault, qtbot, tmp_path) -> None:
    dialog = photo_dialog
    original = dialog.item_id
    dialog.editor.add_box(20, 300, 100, 80)
    dialog.set_preview(True)
    preview = dialog.preview_image
    assert preview is not None and not dialog.editor.editable
    assert preview.pixelColor(560, 200) == QColor(0, 0, 0)  # inside the face box: filled
    assert preview.pixelColor(60, 340) == QColor(0, 0, 0)  # inside the box just added
    assert preview.pixelColor(900, 400) != QColor(0, 0, 0)
    dialog.set_option("method_combo", "pixelate")
    assert dialog.preview_image.pixelColor(560, 200) != QColor(0, 0, 0)  # a mosaic now
    dialog.grab().save("/tmp/redaction_review_preview.png")
    dialog.set_preview(False)
    assert dialog.editor.editable and all(i.isVisible() for i in dialog.editor.box_items())
    assert not list(tmp_path.glob("**/*.png"))  # nothing decoded was written anywhere

    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT) as created:
        dialog.apply()
    derivative = vault.get_item(created.args[0])
    assert derivative.derived_from == original
    assert derivative.derivation["method"] == "pixelate"
    assert [20, 300, 100, 80] in derivative.derivation["boxes"]
    assert "Nguyễn" not in (derivative.title or "") and "Witness A" in derivative.title
    assert str(created.args[0]) in dialog.status.text()
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)

    # a redacted copy is not redacted again: the screen says so and offers no Apply
    again = RedactionReviewDialog(vault, created.args[0])
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.photo is not None and again.texts is not None, timeout=WAIT)
    assert not again.apply_button.isEnabled() and f"item {original}" in again.status.text()


def test_residual_faces_are_shown_covered_or_accepted(photo_dialog, vault, qtbot, monkeypatch) -> None:
    dialog = photo_dialog
    for item in dialog.editor.box_items():
        dialog.editor.remove_item(item)
    count = len(vault.list_items())
    with qtbot.waitSignal(dialog.residualFound, timeout=WAIT) as found:
        dialog.apply()
    residual = found.args[0]
    assert residual and _covered(residual, FACE) > 0.5
    assert dialog.residual_panel.isVisible() and dialog.editor.residual_boxes()
    assert len(vault.list_items()) == count  # nothing stored
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)
    dialog.grab().save("/tmp/redaction_review_residual.png")

    # accepting asks first; "No" changes nothing
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert dialog.accept_residual_and_apply() is None
    # cover them with boxes and apply: a clean derivative
    dialog.cover_residual()
    assert not dialog.residual_panel.isVisible() and not dialog.editor.residual_boxes()
    assert _covered(dialog.editor.boxes(), FACE) > 0.5
    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT):
        dialog.apply()
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)

    # or accept: the residual is recorded in the chain
    for item in dialog.editor.box_items():
        dialog.editor.remove_item(item)
    with qtbot.waitSignal(dialog.residualFound, timeout=WAIT):
        dialog.apply()
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT) as created:
        dialog.accept_residual_and_apply()
    event = [e for e in vault.events() if e.action == "redacted"][-1]
    assert event.details["derivative_item"] == created.args[0]
    assert event.details["residual_faces_accepted"]


def test_transcript_names_only(vault, qtbot) -> None:
    import io

    person = vault.add_person(name="สมศรี ใจดี", pseudonym="Survivor 7", role="survivor", protected=True)
    item = vault.ingest_stream(io.BytesIO(b"WEBVTT\n"), name="statement.vtt", kind="transcript",
                               title="Statement").item_id
    vault.link(item, person)
    vault.set_transcript(item, [Segment(0.0, 3.0, "สมศรี ใจดี", "th", "ฉันชื่อสมศรี ใจดี ถูกขายไปที่เรือ")])
    from app.ui.vault_gate import GatedVault

    gate = GatedVault(vault)  # what the main window hands to its dialogs
    dialog = RedactionReviewDialog(gate, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.texts is not None, timeout=WAIT)
    assert dialog.media == "text" and not dialog.editor.isVisible() and not dialog.faces_check.isChecked()
    assert dialog.names_view.marked("protected") == ["สมศรี ใจดี", "สมศรี ใจดี"]
    assert dialog.apply_button.isEnabled()
    dialog.names_check.setChecked(False)
    assert not dialog.apply_button.isEnabled()  # nothing left to redact
    dialog.names_check.setChecked(True)
    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT) as created:
        dialog.apply()
        assert gate.busy_with == "redacting"
    qtbot.waitUntil(lambda: gate.busy_with is None, timeout=WAIT)
    segments = vault.transcript(created.args[0])
    assert "สมศรี" not in segments[0].text and "Survivor 7" in segments[0].text
    assert vault.get_item(created.args[0]).derived_from == item


def test_a_protected_voice_is_removed_unless_the_reviewer_chooses(vault, qtbot, tmp_path) -> None:
    item = vault.ingest_file(_make_video(tmp_path / "voice.mp4"), kind="video").item_id

    def default_sound() -> str:
        dialog = RedactionReviewDialog(vault, item)
        qtbot.addWidget(dialog)
        chosen = dialog.audio
        dialog.cancel_running()
        dialog.close()
        return chosen

    assert default_sound() == "keep"  # nobody protected is linked to it
    vault.link(item, vault.add_person(name="Aye Aye", pseudonym="Survivor 2", role="survivor", protected=True))
    assert default_sound() == "mute"  # as the export would do without a redacted copy


def _make_video(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=192x144:rate=10:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-shortest", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True, timeout=60)
    return path


def _shown_rgb(dialog: RedactionReviewDialog) -> np.ndarray:
    image = dialog.editor.pixmap_item.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


@pytest.mark.parametrize("budget", [None, 1], ids=["cached", "decoded-on-demand"])
def test_video_scrub_range_box_and_apply(vault, qtbot, tmp_path, monkeypatch, budget) -> None:
    clip = _make_video(tmp_path / "clip.mp4")
    reference = list(read_frames(clip))
    item = vault.ingest_file(clip, kind="video").item_id
    if budget is not None:  # keep only the first frame: every other frame is decoded when shown
        monkeypatch.setattr(RedactionReviewDialog, "frame_budget", budget)
    dialog = RedactionReviewDialog(vault, item)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.video is not None and dialog.frame_boxes is not None
                    and dialog.proposal is not None, timeout=WAIT)
    assert dialog.video.count == len(reference) == 20
    assert dialog.timeline.slider.maximum() == 19 and dialog.timeline.strip.pixmap() is not None

    with qtbot.waitSignal(dialog.frameShown, timeout=WAIT, check_params_cb=lambda i: i == 13):
        dialog.timeline.slider.setValue(13)
    assert dialog.shown_frame == 13
    shown = _shown_rgb(dialog).astype(int)
    assert np.abs(shown - reference[13]).mean() < 1.0
    assert np.abs(shown - reference[0]).mean() > 1.0  # testsrc changes from frame to frame

    # a new box over frames 3..12 (in the middle of the picture), then resized on frame 5
    dialog.timeline.range_start.setValue(3)
    dialog.timeline.range_end.setValue(12)
    dialog.timeline.add_range_button.click()
    assert len(dialog.frame_boxes.ranges) == 1
    dialog.timeline.slider.setValue(5)
    ranged = [i for i in dialog.editor.box_items() if i.kind == "range"]
    assert len(ranged) == 1
    ranged[0].set_scene_rect(ranged[0].scene_rect().adjusted(-10, -10, 10, 10))
    range_box = next(iter(dialog.frame_boxes.ranges.values())).box
    # a box drawn on frame 15 covers frame 15 only
    dialog.timeline.slider.setValue(15)
    dialog.editor.add_box(4, 4, 30, 20)
    final = dialog.frame_boxes.final()
    assert [bool(b) for b in final] == [3 <= i <= 12 or i == 15 for i in range(20)]
    assert all(range_box in final[i] for i in range(3, 13))
    assert range_box.w == 192 // 4 + 20
    assert final[15] == [Box(4, 4, 30, 20, 1.0)]
    # selecting a box and turning it into a range moves it off its frame
    dialog.editor.box_items()[0].setSelected(True)
    dialog.timeline.range_start.setValue(15)
    dialog.timeline.range_end.setValue(17)
    dialog.timeline.add_range_button.click()
    assert dialog.frame_boxes.frame(15) == [] and dialog.frame_boxes.final()[17] == [Box(4, 4, 30, 20, 1.0)]
    if budget is None:
        dialog.grab().save("/tmp/redaction_review_video.png")
        return

    dialog.set_option("audio_combo", "mute")
    with qtbot.waitSignal(dialog.derivativeCreated, timeout=WAIT) as created:
        dialog.apply()
    derivative = vault.get_item(created.args[0])
    assert derivative.derived_from == item
    assert derivative.derivation["audio"]["mode"] == "mute"
    runs = derivative.derivation["boxes"]
    assert runs[0][0] == 3 and runs[0][2] == [range_box.to_list()]
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=WAIT)


def test_release_drops_decoded_pictures(photo_dialog) -> None:
    dialog = photo_dialog
    dialog.grab().save("/tmp/redaction_review_photo.png")
    dialog.release()
    assert dialog.photo is None and dialog.editor.pixmap_item.pixmap().isNull()
    assert dialog.editor.boxes() == [] and dialog.names_view.toPlainText() == ""


def test_box_item_stays_inside_the_picture(qtbot) -> None:
    from app.ui.box_editor import BoxEditorView

    view = BoxEditorView()
    qtbot.addWidget(view)
    image = QImage(200, 100, QImage.Format.Format_RGB888)
    image.fill(QColor("grey"))
    view.set_image(image)
    item: BoxItem = view.add_box(150, 50, 100, 100)
    assert item.box().to_list() == [150, 50, 50, 50]  # clipped
    item.setPos(500, 500)
    assert item.box().to_list() == [150, 50, 50, 50]  # dragged as far as the corner, not beyond
    item.move_corner(0, QPointF(190, 90))
    assert item.box().w >= 4 and item.box().h >= 4
