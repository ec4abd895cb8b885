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
