"""Locking (shortcut and idle) closes every content window; recording without devices explains itself."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.image_viewer import ImageViewer
from app.ui.media_viewer import MediaViewer
from app.ui.recording import RecordingDialog, has_capture_devices
from tests.ui.conftest import make_png, make_video


def _items(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    worker = window.import_paths([str(make_png(tmp_path / "p.png")), str(make_video(tmp_path / "v.mp4", 1))])
    with qtbot.waitSignal(worker.signals.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.items_model.rowCount() == 2, timeout=10_000)
    return {item.kind: item for item in unlocked.vault.list_items()}


def test_ctrl_l_locks_everything(unlocked, tmp_path, qtbot):
    items = _items(unlocked, tmp_path, qtbot)
    window = unlocked.main_window
    image = unlocked.open_item(items["photo"])
    with qtbot.waitSignal(image.loaded, timeout=10_000):
        pass
    player = unlocked.open_item(items["video"])
    player.player.play()
    qtbot.waitUntil(lambda: player.player.position() > 0, timeout=15_000)
    persons = unlocked.open_persons()
    log = unlocked.open_custody_log()
    vault = unlocked.vault
    window.activateWindow()
    window.setFocus()
    with qtbot.waitSignal(unlocked.locked, timeout=10_000):
        window.lock_action.trigger()  # the Ctrl+L action
    assert window.lock_action.shortcut().toString() == "Ctrl+L"
    assert unlocked.vault is None and unlocked.main_window is None and not vault.is_open
    assert unlocked.start_window.isVisible()
    assert not player.device.isOpen()
    for widget in (image, player, persons, log):
        assert not shiboken6.isValid(widget) or not widget.isVisible()  # closed, or closed and deleted
    assert all(w is unlocked.start_window for w in QApplication.topLevelWidgets() if w.isVisible())
    assert window.items_model.rowCount() == 0  # models dropped
    assert not shiboken6.isValid(image) or image.image is None  # decoded pixels dropped


def test_idle_timeout_locks(unlocked, qtbot):
    vault = unlocked.vault
    unlocked.idle.set_timeout(300)
    unlocked.idle.start()
    # input keeps it unlocked
    for _ in range(3):
        qtbot.wait(150)
        qtbot.keyClick(unlocked.main_window.search_edit, Qt.Key.Key_A)
    assert unlocked.vault is not None
    with qtbot.waitSignal(unlocked.locked, timeout=5000):
        pass
    assert unlocked.vault is None and unlocked.start_window.isVisible()
    from app.vault.vault import Vault

    reopened = Vault.open(vault.path, "correct horse battery staple orbit", actor="check")
    try:
        last = reopened.events()[-1]
        assert (last.action, last.details) == ("locked", {"reason": "idle"})
    finally:
        reopened.close()


def test_auto_lock_minutes_are_configurable(unlocked):
    unlocked.set_auto_lock_minutes(3)
    assert unlocked.idle.timeout_ms == 180_000
    assert unlocked.settings.auto_lock_minutes == 3


def test_unsaved_transcript_is_kept_when_locking(unlocked, tmp_path, qtbot):
    items = _items(unlocked, tmp_path, qtbot)
    viewer = unlocked.open_item(items["video"])
    assert isinstance(viewer, MediaViewer)
    viewer.segments.insert_segment(0.0, speaker="A", text="typed before the lock")
    vault = unlocked.vault
    unlocked.lock()
    from app.vault.vault import Vault

    reopened = Vault.open(vault.path, "correct horse battery staple orbit", actor="check")
    try:
        assert [s.text for s in reopened.transcript(items["video"].id)] == ["typed before the lock"]
    finally:
        reopened.close()


def test_recording_without_devices_says_so(unlocked, qtbot):
    dialog = unlocked.open_recording()
    assert isinstance(dialog, RecordingDialog)
    microphone, _camera = has_capture_devices()
    if microphone:
        assert dialog.record_button.isEnabled()
        return
    assert "No microphone was found" in dialog.device_message.text()
    assert not dialog.record_button.isEnabled()
    assert dialog.isVisible()
    # and consent comes first even when devices exist
    dialog.has_microphone = True
    dialog.start_recording()
    assert "Choose who is being interviewed" in dialog.status.text()
    assert not dialog.recording


def test_opening_an_item_without_a_viewer_explains(unlocked, tmp_path, qtbot):
    note = tmp_path / "statement.bin"  # neither picture, recording, text nor PDF (text and PDF: DocumentViewer)
    note.write_bytes(bytes(range(256)) * 4)
    unlocked.vault.ingest_file(note)
    item = unlocked.vault.list_items()[0]
    assert unlocked.open_item(item) is None
    assert "no viewer" in unlocked.main_window.statusBar().currentMessage()
    assert not any(isinstance(w, ImageViewer | MediaViewer) for w in unlocked.content)


def test_redaction_and_export_screens_open_from_the_main_window_and_close_on_lock(unlocked, tmp_path, qtbot):
    items = _items(unlocked, tmp_path, qtbot)
    window = unlocked.main_window
    window.select_item(items["photo"].id)
    with qtbot.waitSignal(window.redact_requested, timeout=2000):
        next(a for a in window.findChildren(type(window.lock_action)) if a.shortcut().toString() == "Ctrl+Shift+R"
             ).trigger()
    with qtbot.waitSignal(window.export_requested, timeout=2000):
        next(a for a in window.findChildren(type(window.lock_action)) if a.shortcut().toString() == "Ctrl+Shift+E"
             ).trigger()
    opened = [w for w in unlocked.content if w.isVisible()]
    names = sorted(type(w).__name__ for w in opened)
    assert names == ["ExportWizard", "RedactionReviewDialog"]
    unlocked.lock()
    assert not any(shiboken6.isValid(w) and w.isVisible() for w in opened)
