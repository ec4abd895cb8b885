"""Handing a video to ffmpeg without putting plaintext evidence on the disk.

Inputs (:data:`Source`) are a filesystem path or a seekable binary file object such as
``Vault.open_original()`` returns.  A file object reaches ffmpeg in one of two ways:

* **stdin pipe** (the normal case): a writer thread copies the object into ffmpeg's stdin.  Used
  for every container that can be read front to back: Matroska/WebM, MPEG-TS, raw H.264/H.265,
  AVI, and MP4/MOV whose ``moov`` index comes before the media data ("fast start") or that are
  fragmented.  Memory cost: a few pipe buffers.
* **in-memory file** (``os.memfd_create``), for MP4/MOV with the ``moov`` index at the end, which
  ffmpeg must seek to.  The whole file is copied into anonymous memory and passed to ffmpeg as
  ``/proc/self/fd/N`` (``pass_fds``).  **Memory cost: the full size of the original, for as long
  as the operation runs** (a 2 GiB phone video needs 2 GiB of RAM).  memfd pages live in RAM and
  can only reach the disk through swap (use encrypted swap, or none, on field laptops).  Files
  larger than the memory currently available are refused with :class:`UnsupportedMedia` telling
  the user to re-save the video with "fast start".

Inputs are restricted to the ``file`` and ``pipe`` protocols (:data:`PROTOCOLS`), so a crafted
playlist inside a video cannot make ffmpeg open a network connection.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.errors import CorruptMedia, UnsupportedMedia
from app.media.containers import isobmff_needs_seek, looks_isobmff

Source = Path | str | BinaryIO
PROTOCOLS = ["-protocol_whitelist", "file,pipe"]
_CHUNK = 1 << 20


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


class MediaInput:
    """A source made ready for ffmpeg; reuse one for several ffmpeg runs (probe, then decode).

    Use as a context manager (or call :meth:`close`): it owns the in-memory copy, if any.
    """

    def __init__(self, source: Source) -> None:
        self._stream: BinaryIO | None = None
        self._memfd: int | None = None
        self._path: Path | None = None
        if isinstance(source, str | Path):
            path = Path(source).resolve()
            if not path.is_file():
                raise CorruptMedia("The video file could not be found or opened.", debug_detail=str(path))
            self._path = path
            return
        if not (hasattr(source, "read") and hasattr(source, "seek")):
            raise UnsupportedMedia(debug_detail=f"not a path or seekable file object: {type(source)!r}")
        self._stream = source
        source.seek(0)
        head = source.read(16)
        source.seek(0)
        if not head:
            raise CorruptMedia("This video file is empty (0 bytes).")
        if looks_isobmff(head) and isobmff_needs_seek(source):
            self._load_into_memory(source)

    def _load_into_memory(self, source: BinaryIO) -> None:
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
        if size > _available_memory() * 0.8:
            raise UnsupportedMedia(
                "This video keeps its index at the end of the file and is too large to process in "
                "memory on this computer. Re-save it with 'fast start' (e.g. ffmpeg -movflags +faststart) "
                "on a secure machine, or free memory, and try again.",
                debug_detail=f"size {size}",
            )
        fd = os.memfd_create("evidence-vault-input", os.MFD_CLOEXEC)
        try:
            while True:
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            raise
        self._memfd = fd
        source.seek(0)

    @property
    def in_memory(self) -> bool:
        """True when the source was copied into an in-memory file (MP4 with index at the end)."""
        return self._memfd is not None

    @property
    def uses_stdin(self) -> bool:
        return self._stream is not None and self._memfd is None

    def url(self) -> str:
        if self._path is not None:
            return "file:" + str(self._path)  # "file:" so a name like "http:x" is never a protocol
        if self._memfd is not None:
            return f"file:/proc/self/fd/{self._memfd}"
        return "pipe:0"

    def pass_fds(self) -> tuple[int, ...]:
        return (self._memfd,) if self._memfd is not None else ()

    def feed_stream(self) -> BinaryIO | None:
        """The stream to copy into the child's stdin (``FfmpegProcess(feed=...)``), if any."""
        return self._stream if self.uses_stdin else None

    def close(self) -> None:
        if self._memfd is not None:
            os.close(self._memfd)
            self._memfd = None

    def __enter__(self) -> MediaInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def as_input(source: Source | MediaInput) -> Iterator[MediaInput]:
    """Use ``source`` as is when it already is a :class:`MediaInput`, else open (and close) one."""
    if isinstance(source, MediaInput):
        yield source
    else:
        with MediaInput(source) as media_input:
            yield media_input
