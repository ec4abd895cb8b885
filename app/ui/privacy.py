"""Process-wide measures so the desktop leaves no trace of evidence behind.

- ``umask(0o077)``: anything Qt or we create is private to the user.
- Native file dialogs are off: GTK's chooser writes every chosen file to ``recently-used.xbel``.
- Qt's own file dialog saves its history and last folder to the user-scope ``QtProject`` settings
  and cannot be told not to; those settings are redirected to a throw-away directory in memory
  (``/dev/shm`` when present) that is removed at exit.
- Our own preferences live in one small ini file holding a whitelist of keys that reveal nothing
  (the auto-lock delay); no vault paths, no recent files, no window state with names in it.
- Private scratch folders in memory (the Qt settings above, an interview being recorded) carry the
  process id in their name; a crash leaves them behind until a reboot, so each start removes those
  whose process is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths, Qt

_SCRATCH: list[str] = []


def memory_dir() -> str | None:
    """A RAM-backed directory for short-lived private files, or None."""
    shm = Path("/dev/shm")  # noqa: S108 - chosen on purpose: RAM-backed, we make a 0700 dir inside
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return None


_SCRATCH_PREFIX = "evidence-vault-"
_LEGACY_STALE_SECONDS = 24 * 3600  # scratch folders named before they carried a process id


def private_scratch(purpose: str, base: str | None = None) -> str:
    """A new private (0700) folder in memory for ``purpose`` ("qt", "rec"), named after this process."""
    return tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{purpose}-{os.getpid()}-", dir=base or memory_dir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge
        return True
    return True


def remove_orphaned_scratch(base: str | None = None) -> list[str]:
    """Remove this user's scratch folders left by a process that is gone (a crash, a kill, a power cut
    without a reboot): they can hold an interview being recorded.  Returns the names removed."""
    folder = base or memory_dir()
    removed: list[str] = []
    if folder is None:
        return removed
    for entry in Path(folder).glob(f"{_SCRATCH_PREFIX}*"):
        try:
            info = entry.lstat()
            if not entry.is_dir() or entry.is_symlink() or info.st_uid != os.getuid():
                continue
            parts = entry.name[len(_SCRATCH_PREFIX):].split("-")
            if len(parts) >= 3 and parts[1].isdigit():
                if _alive(int(parts[1])):
                    continue
            elif time.time() - info.st_mtime < _LEGACY_STALE_SECONDS:
                continue
            shutil.rmtree(entry)
            removed.append(entry.name)
        except OSError:
            continue
    return removed


def harden_process() -> None:
    """Call before the QApplication exists."""
    os.umask(0o077)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    remove_orphaned_scratch()
    scratch = private_scratch("qt")
    _SCRATCH.append(scratch)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, scratch)


def cleanup_process() -> None:
    """Remove the throw-away settings directory (file-dialog history lands there)."""
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


class UiSettings:
    """The only preferences we keep on disk; nothing that reveals evidence or a vault's location."""

    DEFAULT_AUTO_LOCK_MINUTES = 10
    _ALLOWED = frozenset({"auto_lock_minutes"})

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
            path = Path(base) / "evidence-vault" / "ui.ini"
        self._settings = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def auto_lock_minutes(self) -> int:
        value = self._settings.value("auto_lock_minutes", self.DEFAULT_AUTO_LOCK_MINUTES)
        try:
            minutes = int(str(value))  # an INI file stores text
        except (TypeError, ValueError):
            minutes = self.DEFAULT_AUTO_LOCK_MINUTES
        return min(max(minutes, 1), 240)

    @auto_lock_minutes.setter
    def auto_lock_minutes(self, minutes: int) -> None:
        self._settings.setValue("auto_lock_minutes", min(max(int(minutes), 1), 240))
        self._settings.sync()

    def keys(self) -> list[str]:
        return [key for key in self._settings.allKeys() if key in self._ALLOWED]
