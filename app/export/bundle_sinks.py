"""Where a bundle's files are written: a ZIP file or a folder, created new, streamed, hashed while written
and synced to disk (app.export.bundle decides what goes in; these only store it)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from app.durable import sync_folder

_ZIP64_FROM = 0x7FFF0000
DeflateRule = Callable[[str, int | None], bool]  # (name, size hint) -> store the entry deflated?


def open_exclusive(path: Path) -> BinaryIO:
    """Create a new file (never an existing one, never through a link).  Tests swap this to inject faults."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    return os.fdopen(fd, "wb")


class Sink:
    """Where bundle files go: a ZIP file or a folder.  ``add`` streams and returns (sha256, size)."""

    def add(self, name: str, chunks: Iterable[bytes], size_hint: int | None) -> tuple[str, int]:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class ZipSink(Sink):
    def __init__(self, temp: Path, stamp: tuple[int, int, int, int, int, int], deflate: DeflateRule) -> None:
        self.temp = temp
        self.stamp = stamp
        self.deflate = deflate
        self.raw = open_exclusive(temp)
        try:
            self.zip = zipfile.ZipFile(self.raw, "w", allowZip64=True)
        except BaseException:
            self.raw.close()
            temp.unlink(missing_ok=True)
            raise

    def add(self, name: str, chunks: Iterable[bytes], size_hint: int | None) -> tuple[str, int]:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if self.deflate(name, size_hint) else zipfile.ZIP_STORED
        info.create_system = 3  # Unix, so the mode below (regular file, rw-r--r--) is honoured
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        digest, size = hashlib.sha256(), 0
        force64 = size_hint is None or size_hint >= _ZIP64_FROM
        with self.zip.open(info, "w", force_zip64=force64) as entry:
            for chunk in chunks:
                digest.update(chunk)
                entry.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def finish(self) -> None:
        self.zip.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()

    def abort(self) -> None:
        for closer in (self.zip.close, self.raw.close):
            with contextlib.suppress(OSError, ValueError):  # the file is being deleted anyway
                closer()
        self.temp.unlink(missing_ok=True)


class FolderSink(Sink):
    def __init__(self, temp: Path) -> None:
        self.temp = temp
        temp.mkdir(mode=0o777)

    def add(self, name: str, chunks: Iterable[bytes], size_hint: int | None) -> tuple[str, int]:
        target = self.temp.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open_exclusive(target) as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size

    def finish(self) -> None:
        for folder, _, _ in os.walk(self.temp):
            sync_folder(Path(folder))

    def abort(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)

