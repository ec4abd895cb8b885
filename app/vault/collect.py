"""Which files an import of some named files and folders stores: one rule for the CLI and the app.

``evidence-vault ingest PATH...`` and the desktop app's Import (files, folders, drag and drop) both
call :func:`collect_files`, so the same paths always import the same files in the same order
(tests/vault/test_collect.py proves it for both front ends).

Symbolic links are never followed, neither named ones nor those found inside a folder: a link
planted in an evidence folder must not pull in files from elsewhere on the laptop.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from app.errors import InvalidInput


def _shown(path: Path) -> str:
    # A file name may carry terminal control characters; show it without them.
    return "".join(ch if ch.isprintable() else "?" for ch in str(path))


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, and every regular file under the folders named, in a stable order: each
    folder's files by name, then its sub-folders by name.  Links inside folders are left out.

    Raises InvalidInput, before anything is stored, for a named path that is a symbolic link or
    neither a file nor a folder."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_symlink():
            raise InvalidInput(f"'{_shown(path)}' is a shortcut (symbolic link), which is never followed. "
                               "Choose the file or folder it points to instead. Nothing was stored.")
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.is_file() and not candidate.is_symlink():
                        found.append(candidate)
        else:
            raise InvalidInput(f"'{_shown(path)}' is not a file or folder that can be read. Nothing was stored.")
    return found
