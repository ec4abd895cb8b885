"""Play a video straight from the vault and edit its transcript beside the player."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtMultimedia import QMediaPlayer

from app.ui.media_viewer import MediaViewer
from app.ui.models import SegmentsTableModel
from tests.ui.conftest import make_video


@pytest.fixture
def video_item(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    worker = window.import_paths([str(make_video(tmp_path / "interview.mp4"))])
    with qtbot.waitSignal(worker.signals.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.items_model.rowCount() == 1, timeout=10_000)
    window.items_view.setCurrentIndex(window.items_proxy.index(0, 0))
    item = window.current_item()
    assert item.kind == "video"
    return item


def test_video_plays_from_the_vault_without_a_plaintext_file(unlocked, video_item, tmp_path, qtbot):
    before = set(tmp_path.rglob("*"))
    viewer = unlocked.open_item(video_item)
    assert isinstance(viewer, MediaViewer)
    viewer.player.play()
    qtbot.waitUntil(lambda: viewer.player.position() > 0, timeout=15_000)
    assert viewer.player.error() == QMediaPlayer.Error.NoError
    assert viewer.player.duration() == pytest.approx(2000, abs=150)
    assert viewer.player.sourceDevice() is viewer.device
    assert set(tmp_path.rglob("*")) == before  # nothing decrypted was written next to the vault
    viewer.stop()
    assert not viewer.device.isOpen()


def test_transcript_editing_seek_and_save(unlocked, video_item, qtbot):
    viewer = unlocked.open_item(video_item)
    viewer.player.play()
    qtbot.waitUntil(lambda: viewer.player.position() > 300, timeout=15_000)
    viewer.player.pause()
    here = viewer.current_seconds()
    # Ctrl+T: a segment starting at the current time
    qtbot.keyClick(viewer, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    model = viewer.segments
    assert model.rowCount() == 1
    assert model.start_of(0) == pytest.approx(here, abs=0.05)
    model.setData(model.index(0, SegmentsTableModel.COL_SPEAKER), "Interviewer")
    model.setData(model.index(0, SegmentsTableModel.COL_TEXT), "เล่าให้ฟังหน่อยว่าเกิดอะไรขึ้น")
    second = model.insert_segment(0.0, speaker="Witness A", text="我们在船上工作了两年")
    assert second == 0  # kept in time order
    assert model.setData(model.index(0, SegmentsTableModel.COL_END), "00:00.3")
    assert not model.setData(model.index(0, SegmentsTableModel.COL_END), "not a time")
    # click a segment to seek
    viewer.player.setPosition(1500)
    rect = viewer.table.visualRect(model.index(0, SegmentsTableModel.COL_TEXT))
    qtbot.mouseClick(viewer.table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))
    qtbot.waitUntil(lambda: viewer.player.position() < 500, timeout=5000)
    # save; the vault has it, search finds it
    qtbot.keyClick(viewer, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "saved" in viewer.status.text()
    stored = unlocked.vault.transcript(video_item.id)
    assert [(s.speaker, s.text) for s in stored] == [
        ("Witness A", "我们在船上工作了两年"), ("Interviewer", "เล่าให้ฟังหน่อยว่าเกิดอะไรขึ้น")]
    assert stored[0].end == pytest.approx(0.3)
    assert {h.item_id for h in unlocked.vault.search("船上工作")} == {video_item.id}
    assert not model.dirty
    viewer.close()
