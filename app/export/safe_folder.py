"""Reading an untrusted folder bundle: walked through directory handles, never following a link.

The same rules as for ZIP members apply (:func:`app.export.safe_zip.unsafe_name_reason`); symlinks,
special files (pipes, devices, sockets), names that are not UTF-8 and names that clash by case or Unicode
form are reported as problems and never read.  Files are opened relative to directory handles with
O_NOFOLLOW (and O_NONBLOCK, so a pipe swapped in cannot hang the check), and re-checked with fstat.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from app.errors import BundleError
from app.export.safe_zip import CHUNK, BundleProblem, find_duplicates, unsafe_name_reason


class SafeFolderReader:
    """A folder bundle, walked through directory handles without following any link."""

    def __init__(self, root: Path, max_entries: int) -> None:
        self.files: dict[str, int] = {}
        self.problems: list[BundleProblem] = []
        self._seen = 0
        self._max_entries = max_entries
        self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._walk(self._root_fd, "")
        except BaseException:
            os.close(self._root_fd)
            raise
        for name, first in find_duplicates(list(self.files)).items():
            self.problems.append(BundleProblem(
                name, f"clashes with {first!r} (names differing only in case or Unicode form count as the "
                "same file); neither copy was trusted"))
            self.files.pop(name, None)
            self.files.pop(first, None)

    def _walk(self, fd: int, prefix: str) -> None:
        with os.scandir(fd) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            self._seen += 1
            if self._seen > self._max_entries:
                raise BundleError(
                    f"This folder holds more than {self._max_entries:,} entries; it is not a bundle made by "
                    "Evidence Vault and was not checked."
                )
            name = prefix + entry.name
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                self.problems.append(BundleProblem(shown, "has a name that is not valid UTF-8"))
                continue
            if entry.is_symlink():
                self.problems.append(BundleProblem(name, "is a symbolic link; bundles never contain links"))
            elif entry.is_dir(follow_symlinks=False):
                reason = unsafe_name_reason(name + "/")
                if reason:
                    self.problems.append(BundleProblem(name, reason))
                    continue
                try:
                    sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                  dir_fd=fd)
                except OSError as exc:
                    self.problems.append(BundleProblem(name, f"is a folder that cannot be read ({exc.strerror})"))
                    continue
                try:
                    self._walk(sub, name + "/")
                finally:
                    os.close(sub)
            elif entry.is_file(follow_symlinks=False):
                reason = unsafe_name_reason(name)
                if reason:
                    self.problems.append(BundleProblem(name, reason))
                else:
                    self.files[name] = entry.stat(follow_symlinks=False).st_size
            else:
                self.problems.append(BundleProblem(name, "is a special file (device, pipe or socket)"))

    def iter_chunks(self, name: str, *, limit: int) -> Iterator[bytes]:
        fds = [os.dup(self._root_fd)]
        try:
            for part in name.split("/")[:-1]:
                fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                   dir_fd=fds[-1]))
            fd = os.open(name.rsplit("/", 1)[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=fds[-1])
        except OSError as exc:
            raise BundleError(f"{name} could not be opened ({exc.strerror}).", debug_detail=str(exc)) from exc
        finally:
            for handle in fds:
                os.close(handle)
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise BundleError(f"{name} is no longer a regular file; it changed during the check.")
            read = 0
            while True:
                try:
                    chunk = stream.read(min(CHUNK, limit - read + 1))
                except OSError as exc:
                    raise BundleError(f"{name} could not be read ({exc.strerror}).", debug_detail=str(exc)) from exc
                if not chunk:
                    return
                read += len(chunk)
                if read > limit:
                    raise BundleError(f"{name} grew beyond its listed size during the check.")
                yield chunk

    def close(self) -> None:
        os.close(self._root_fd)
