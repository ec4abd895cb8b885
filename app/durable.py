"""Making changes to a folder survive a power cut or a kill: fsync of the folder itself.

Syncing a file's bytes does not make its name durable; after a file is created, renamed into place
or removed, the folder holding it must be synced too (fsync(2), "Notes").
"""

from __future__ import annotations

import os
from pathlib import Path


def sync_folder(folder: Path) -> None:
    """fsync ``folder``, so the names created, renamed or removed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
