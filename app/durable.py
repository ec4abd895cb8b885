"""Surviving a power cut or a kill: fsync of a folder itself, and removing the hidden temporaries a
killed writer left behind.

Syncing a file's bytes does not make its name durable; after a file is created, renamed into place
or removed, the folder holding it must be synced too (fsync(2), "Notes").
"""

from __future__ import annotations

import glob
import os
import shutil
import time
from pathlib import Path

STALE_PARTIAL_SECONDS = 30


def sync_folder(folder: Path) -> None:
    """fsync ``folder``, so the names created, renamed or removed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_partials(folder: str | os.PathLike[str], stem: str) -> bool:
    """Remove the temporaries (``.<stem>.*.partial``) a writer killed half-way (kill -9, power cut) left in
    ``folder``: they can hold evidence.  Only ones untouched for a while, so a writer still at work is left
    alone.  True when none is left."""
    now = time.time()
    clean = True
    for leftover in Path(folder).glob(f".{glob.escape(stem)}.*.partial"):
        try:
            if now - leftover.lstat().st_mtime < STALE_PARTIAL_SECONDS:
                clean = False
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except OSError:
            clean = False
    return clean
