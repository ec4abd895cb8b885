"""Nothing that reveals evidence is stored by the desktop layer."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.ui import privacy


def test_qt_user_settings_go_to_a_throwaway_memory_dir(qapp):
    privacy.harden_process()
    try:
        scratch = privacy._SCRATCH[-1]
        settings = QSettings("QtProject")  # where QFileDialog saves history and last folder
        settings.setValue("FileDialog/history", ["/secret/folder"])
        settings.sync()
        assert settings.fileName().startswith(scratch)
    finally:
        privacy.cleanup_process()
    import os

    assert not os.path.exists(scratch)


def test_ui_settings_hold_only_the_auto_lock_delay(tmp_path):
    settings = privacy.UiSettings(tmp_path / "ui.ini")
    assert settings.auto_lock_minutes == privacy.UiSettings.DEFAULT_AUTO_LOCK_MINUTES
    settings.auto_lock_minutes = 3
    assert privacy.UiSettings(tmp_path / "ui.ini").auto_lock_minutes == 3
    settings.auto_lock_minutes = 100000
    assert settings.auto_lock_minutes == 240
    text = (tmp_path / "ui.ini").read_text()
    assert "auto_lock_minutes" in text and "evault" not in text


def test_scratch_left_by_a_crashed_process_is_removed_at_the_next_start(tmp_path):
    import os
    import subprocess
    import time

    ended = subprocess.Popen(["true"])  # a process that has ended: its id names no live process now
    ended.wait()
    orphan = tmp_path / f"evidence-vault-rec-{ended.pid}-a1b2c3"
    orphan.mkdir()
    (orphan / "interview-20261207T235900Z.wav").write_bytes(b"RIFF a survivor's voice")
    mine = tmp_path / privacy.private_scratch("rec", str(tmp_path))  # this process: still at work
    old_legacy, new_legacy = tmp_path / "evidence-vault-qt-x1y2z3", tmp_path / "evidence-vault-rec-q9w8e7"
    old_legacy.mkdir()
    new_legacy.mkdir()
    long_ago = time.time() - 2 * 24 * 3600
    os.utime(old_legacy, (long_ago, long_ago))
    other = tmp_path / "someone-else-7"
    other.mkdir()
    removed = privacy.remove_orphaned_scratch(str(tmp_path))
    assert sorted(removed) == sorted([orphan.name, old_legacy.name])
    assert not orphan.exists() and not old_legacy.exists()
    assert mine.exists() and new_legacy.exists() and other.exists()
    assert f"-{os.getpid()}-" in mine.name
