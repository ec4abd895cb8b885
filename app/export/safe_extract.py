"""Extracting an untrusted ZIP bundle into a folder, after :class:`SafeZipReader` has checked it.

Every file is created with O_EXCL and O_NOFOLLOW relative to directory handles opened with O_NOFOLLOW,
so nothing is ever written outside the target folder, even if the folder changes underneath us; reads
are bounded by the declared sizes (checked against a total budget and the free space first).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

from app.errors import BundleError, DiskFull
from app.export.safe_zip import MAX_ENTRIES, SafeZipReader


def extract_zip(
    path: Path,
    target_dir: Path,
    *,
    max_total_bytes: int,
    max_entries: int = MAX_ENTRIES,
    cancel_check: Callable[[], None] | None = None,
) -> list[Path]:
    """Extract a checked ZIP into ``target_dir`` (created if missing, must be empty otherwise).

    Refuses the whole archive if any entry was refused.  Every file is created with O_EXCL and
    O_NOFOLLOW relative to directory handles opened with O_NOFOLLOW, so nothing is ever written
    outside ``target_dir`` even if the folder changes underneath us.  On any error everything
    created so far is removed.  Returns the paths of the extracted files.
    """
    target_dir = Path(target_dir)
    with SafeZipReader(path, max_entries=max_entries) as archive:
        if archive.problems:
            listed = "; ".join(str(p) for p in archive.problems[:5])
            more = f" (and {len(archive.problems) - 5} more)" if len(archive.problems) > 5 else ""
            raise BundleError(f"This bundle is unsafe to extract: {listed}{more}.")
        declared = sum(m.size for m in archive.files.values())
        if declared > max_total_bytes:
            raise BundleError(
                f"This bundle would unpack to {declared:,} bytes, more than the {max_total_bytes:,} allowed."
            )
        made_target = not os.path.lexists(target_dir)
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            # The target itself is the user's choice (it may be reached through a link); below it, nothing is.
            root_fd = os.open(target_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise BundleError(
                f"The folder {target_dir} cannot be used: {exc.strerror}.", debug_detail=str(exc)
            ) from exc
        created: list[tuple[int, str, bool]] = []  # (parent fd, name, is_dir), in creation order
        dir_fds: dict[str, int] = {"": root_fd}
        written: list[Path] = []
        try:
            if os.listdir(root_fd):
                raise BundleError(f"The folder {target_dir} is not empty; extract into an empty folder.")
            if declared > _free_bytes(target_dir):
                raise DiskFull(
                    f"There is not enough free space in {target_dir} to extract this bundle "
                    f"({declared:,} bytes needed). Free some space and try again."
                )
            for folder in sorted(archive.folders):
                _ensure_dir(dir_fds, folder, created)
            for name, member in archive.files.items():
                if cancel_check:
                    cancel_check()
                parent, _, leaf = name.rpartition("/")
                parent_fd = _ensure_dir(dir_fds, parent, created)
                fd = os.open(
                    leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                    dir_fd=parent_fd,
                )
                created.append((parent_fd, leaf, False))
                with os.fdopen(fd, "wb") as out:
                    for chunk in archive.iter_chunks(name, limit=member.size):
                        out.write(chunk)
                written.append(target_dir / name)
            return written
        except OSError as exc:
            _remove_created(created, target_dir if made_target else None)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(debug_detail=str(exc)) from exc
            raise BundleError(
                f"The bundle could not be extracted into {target_dir}: {exc.strerror}.", debug_detail=str(exc)
            ) from exc
        except BaseException:
            _remove_created(created, target_dir if made_target else None)
            raise
        finally:
            for fd in dir_fds.values():
                os.close(fd)


def _free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def _ensure_dir(dir_fds: dict[str, int], folder: str, created: list[tuple[int, str, bool]]) -> int:
    """The handle of ``folder`` (relative to the target), creating each level without following links."""
    if folder in dir_fds:
        return dir_fds[folder]
    parent, _, leaf = folder.rpartition("/")
    parent_fd = _ensure_dir(dir_fds, parent, created)
    try:
        os.mkdir(leaf, 0o777, dir_fd=parent_fd)
        created.append((parent_fd, leaf, True))
    except FileExistsError:
        pass  # made earlier in this extraction (the target was empty); O_NOFOLLOW below refuses links
    fd = os.open(leaf, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    dir_fds[folder] = fd
    return fd


def _remove_created(created: list[tuple[int, str, bool]], made_target: Path | None) -> None:
    """Best-effort removal of what this extraction created (relative to the still-open handles)."""
    for parent_fd, name, is_dir in reversed(created):
        with contextlib.suppress(OSError):
            if is_dir:
                os.rmdir(name, dir_fd=parent_fd)
            else:
                os.unlink(name, dir_fd=parent_fd)
    if made_target is not None:
        with contextlib.suppress(OSError):
            made_target.rmdir()  # only if empty: never removes anything we did not create
