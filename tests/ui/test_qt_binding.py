"""PySide6 6.12 on Python 3.11 drops a reference to None (and True/False) on every void Qt call, and a
few thousand calls abort the interpreter; pyproject.toml pins a release without the bug.  This guards
the pin.  Run in a child process: a failure would kill pytest itself."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
for i in range(20_000):
    label.setText("x")
    label.isVisible()
after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
print("leak", [a - b for a, b in zip(after, before)])
"""


def test_many_void_qt_calls_leave_python_singletons_alone() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    leak = [int(x) for x in result.stdout.split("[", 1)[1].rstrip("]\n").split(",")]
    assert all(abs(delta) < 100 for delta in leak), f"PySide6 leaks references to None/True/False: {leak}"
