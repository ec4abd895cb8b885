"""Which files an import of some named files and folders stores: one rule for the CLI and the app.

``evidence-vault ingest PATH...`` and the desktop app's Import (files, folders, drag and drop) both
call :func:`collect_files`, so the same paths always import the same files in the same order
(tests/vault/test_collect.py proves it for both front ends).

Symbolic links are never followed, neither named ones nor those found inside a folder: a link
planted in an evidence folder must not pull in files from elsewhere on the laptop.  Nothing found in a
folder is left out silently: links, named pipes, sockets, devices and sub-folders that cannot be read
are listed in :attr:`Collected.skipped` with the reason, for the front ends to show.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidInput

LINK = "it is a shortcut (symbolic link), which is never followed."
NOTHING_TO_IMPORT = "Nothing to import: no files were found there. Nothing was stored."


def _shown(path: Path) -> str:
    # A file name may carry terminal control characters; show it without them.
    return "".join(ch if ch.isprintable() else "?" for ch in str(path))


@dataclass(frozen=True)
class Skipped:
    """An entry of a folder that is not imported, and why (a plain sentence).  ``unreadable``: it could not
    be read (an error: what it holds may be evidence), rather than left out by rule (a link, a pipe...)."""

    path: Path
    reason: str
    unreadable: bool = False

    def line(self) -> str:
        """``<path>: <reason>``, printable."""
        return f"{_shown(self.path)}: {self.reason}"


class Collected(list[Path]):
    """The files to import, in order (a plain list of paths), and the entries left out (:attr:`skipped`)."""

    def __init__(self, files: Iterable[Path] = (), skipped: Iterable[Skipped] = ()) -> None:
        super().__init__(files)
        self.skipped: list[Skipped] = list(skipped)


def _not_ordinary(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    return f"it is {kind}, not an ordinary file."


def _unreadable(error: OSError) -> Skipped:
    where = Path(os.fsdecode(error.filename)) if error.filename is not None else Path("?")
    return Skipped(where, f"this folder cannot be read ({error.strerror or 'error'}), so nothing in it was "
                          "imported. Check its permissions and import it again.", unreadable=True)


def _walk(folder: Path, found: list[Path], skipped: list[Skipped]) -> None:
    for root, dirs, files in os.walk(folder, onerror=lambda error: skipped.append(_unreadable(error)),
                                     followlinks=False):
        dirs.sort()
        for name in list(dirs):
            if os.path.islink(os.path.join(root, name)):  # os.walk lists links to folders with the folders
                dirs.remove(name)
                skipped.append(Skipped(Path(root) / name, LINK))
        for name in sorted(files):
            candidate = Path(root) / name
            try:
                mode = candidate.lstat().st_mode
            except OSError as exc:
                skipped.append(Skipped(candidate, f"it could not be read ({exc.strerror or 'error'}); it may have "
                                                  "been moved or deleted.", unreadable=True))
                continue
            if stat.S_ISREG(mode):
                found.append(candidate)
            else:
                skipped.append(Skipped(candidate, _not_ordinary(mode)))


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> Collected:
    """The files named, and every regular file under the folders named, in a stable order: each
    folder's files by name, then its sub-folders by name.  What a folder holds besides (links, pipes,
    devices, unreadable sub-folders) is left out and listed in ``.skipped``.

    Raises InvalidInput, before anything is stored, for a named path that is a symbolic link or
    neither a file nor a folder."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw)
        if path.is_symlink():
            raise InvalidInput(f"'{_shown(path)}' is a shortcut (symbolic link), which is never followed. "
                               "Choose the file or folder it points to instead. Nothing was stored.")
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            _walk(path, found, skipped)
        else:
            raise InvalidInput(f"'{_shown(path)}' is not a file or folder that can be read. Nothing was stored.")
    return Collected(found, skipped)
