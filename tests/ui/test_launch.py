"""launch_gui builds the whole application (what `evidence-vault` with no arguments runs).

Run in a child process: once a QApplication's exec() has returned, Qt treats the application as
closing, which would disturb every later test in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui import launch, privacy
from app.ui.start import StartWindow

qapp = QApplication([])
launch.UiSettings = lambda: privacy.UiSettings(sys.argv[1])
seen = []

def look_then_quit():
    seen.append(any(isinstance(w, StartWindow) and w.isVisible() for w in QApplication.topLevelWidgets()))
    seen.append(os.umask(0o077) == 0o077)
    seen.append(all(p.startswith(("/dev/shm", "/tmp")) for p in privacy._SCRATCH))
    for widget in QApplication.topLevelWidgets():
        widget.close()

QTimer.singleShot(300, look_then_quit)
code = launch.launch_gui([])
print("RESULT", code, seen, privacy._SCRATCH)
"""


def test_launch_shows_the_unlock_screen_and_exits_cleanly(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "ui.ini")], capture_output=True, text=True,
                            env=env, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # the start window was shown, umask was 077, Qt's settings went to a scratch dir that is now gone
    assert "RESULT 0 [True, True, True] []" in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written next to where it ran (no ui.ini: nothing changed)
