"""Putting a finished export file in place: never over an existing file, durable once there.

Used by the field exporter (app.export.exporter) and headquarters' dossier (app.hq.dossier) for the PDF and
its load files alike.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from app.durable import sync_folder
from app.errors import InvalidInput


def publish_new(temp: Path, out: Path) -> None:
    """Move the finished file into place without ever replacing an existing file."""
    with open(temp, "rb+") as handle:
        os.fsync(handle.fileno())
    try:
        os.link(temp, out)
    except FileExistsError as exc:
        raise InvalidInput(f"{out} appeared while exporting. Nothing was overwritten; choose another name.") from exc
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        # File systems without hard links (FAT32/exFAT USB drives): check, then rename.
        if os.path.lexists(out):
            raise InvalidInput(f"{out} appeared while exporting. Nothing was overwritten.") from exc
        os.replace(temp, out)
    else:
        temp.unlink()
    with contextlib.suppress(OSError):
        sync_folder(out.parent)


def remove_output(out: Path) -> None:
    """Remove a published output again (a file, or a bundle folder), quietly."""
    with contextlib.suppress(OSError):
        if out.is_dir() and not out.is_symlink():
            shutil.rmtree(out)
        else:
            out.unlink(missing_ok=True)
