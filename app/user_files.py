"""Reading the small files a person names on the command line or in a window: keys, checkpoints, proofs,
receipts, face boxes, seal files.

Two rules, for every such file:

* Only an ordinary file is read.  The file is opened with ``O_NONBLOCK`` and checked with ``fstat``
  before anything is read: opening a named pipe (FIFO) for reading otherwise waits, forever, for a
  writer that never comes, and reading a device such as ``/dev/zero`` never ends.  ``O_NONBLOCK`` changes
  nothing for an ordinary file (it is switched off again before reading).
* Each purpose has a size limit far above any real file of its kind, checked before reading (``fstat``)
  and while reading (a file that grows meanwhile): a key file of 20 GB is a mistake, not a key, and must
  not fill the memory first.

Every refusal is an :class:`~app.errors.EvidenceVaultError` (``InvalidInput`` unless the caller names
another) whose message says what was wrong with the file and what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from app.errors import EvidenceVaultError, InvalidInput

KIB = 1024
MIB = 1024 * KIB


def shown(path: str | os.PathLike[str]) -> str:
    """A path as it may be printed in a message: control characters (which could rewrite the terminal
    line) replaced, like app.cli.terminal.clean_text, which this core module cannot import."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in os.fsdecode(path))


def size_text(size: int) -> str:
    if size >= 1024 * MIB:
        return f"{size / (1024 * MIB):,.1f} GB"
    if size >= MIB:
        return f"{size / MIB:,.0f} MB"
    if size >= KIB:
        return f"{size / KIB:,.0f} KB"
    return f"{size} bytes"


def open_regular_file(path: str | os.PathLike[str], *, what: str,
                      error: type[EvidenceVaultError] = InvalidInput) -> BinaryIO:
    """Open ``path`` for reading if it is an ordinary file; never blocks on a named pipe or device.

    ``what`` names the file for people ("key file", "receipt"); ``error`` is the class raised."""
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise cannot_open(path, what, exc, error) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"'{shown(path)}' is a folder, not a file. Give the {what} itself.")
        if not stat.S_ISREG(mode):
            raise error(not_ordinary_message(path, what))
        os.set_blocking(fd, True)  # an ordinary file: read it the usual way from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_small_file(path: str | os.PathLike[str], *, limit: int, what: str,
                    error: type[EvidenceVaultError] = InvalidInput) -> bytes:
    """The bytes of the ordinary file ``path``, at most ``limit`` of them (else ``error``, before reading)."""
    with open_regular_file(path, what=what, error=error) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > limit else handle.read(limit + 1)
        except OSError as exc:
            raise cannot_open(path, what, exc, error) from None
    if size > limit or len(data) > limit:
        raise error(f"'{shown(path)}' is larger than any {what} can be ({size_text(max(size, len(data)))}; at "
                    f"most {size_text(limit)}). Check that you chose the right file.")
    return data


def not_ordinary_message(path: str | os.PathLike[str], what: str) -> str:
    return (f"'{shown(path)}' is not an ordinary file (it is a named pipe, a device or a socket), so it was not "
            f"read: reading it could wait forever. Give a {what} saved on a disk.")


def cannot_open(path: str | os.PathLike[str], what: str, exc: OSError,
                error: type[EvidenceVaultError] = InvalidInput) -> EvidenceVaultError:
    """The plain-sentence error for an ``OSError`` raised while opening or reading ``path``."""
    name = shown(path)
    detail = f"{name}: {exc}"
    if exc.errno == errno.ENOENT:
        return error(f"The {what} '{name}' cannot be read: it does not exist. Check the path.", debug_detail=detail)
    if exc.errno == errno.ENOTDIR:
        return error(f"The {what} '{name}' cannot be read: it does not exist (a part of that path is a file, not "
                     "a folder). Check the path.", debug_detail=detail)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return error(f"The {what} '{name}' cannot be read: you do not have permission to open it. Ask the "
                     "file's owner or your administrator for access, or use a copy you can read.",
                     debug_detail=detail)
    if exc.errno == errno.EISDIR:
        return error(f"'{name}' is a folder, not a file. Give the {what} itself.", debug_detail=detail)
    if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):  # a socket, or a device without its driver
        return error(not_ordinary_message(path, what), debug_detail=detail)
    reason = exc.strerror or type(exc).__name__
    return error(f"The {what} '{name}' cannot be read ({reason}). Check the path and the drive, then try again.",
                 debug_detail=detail)
