"""Reading untrusted ZIP files without trusting them: bundle member names, limits, bounded reads.

A bundle arrives from outside (a USB stick, an e-mail).  Opening it must never write outside the folder
chosen for it (see :mod:`app.export.safe_extract`), never follow a link, and never let a small file make
us inflate gigabytes.  So, before
:mod:`zipfile` is allowed to parse anything, this module

- reads the end-of-central-directory record itself and refuses split archives, data glued before or
  after the archive (an archive comment included) and more than ``max_entries`` entries (counted by
  walking the raw central directory, so a 100,000-entry archive is refused without building 100,000
  objects);
- checks every raw member name: UTF-8 (flagged) or plain ASCII, no ``..``, no absolute paths, no
  backslashes or drive letters, no control or bidi-override characters, no Windows device names,
  depth and length limits (:func:`unsafe_name_reason`);
- refuses symlinks and other special entries, encrypted entries, compression other than stored or
  deflate, overlapping entries (the classic "zip bomb" trick of sharing compressed data), and
  implausible compression ratios;
- treats names that differ only by case or Unicode normalisation as duplicates (:func:`name_key`).

Per-entry problems are collected (so a verifier can name them all); problems with the archive as a
whole raise :class:`~app.errors.BundleError`.  Reading is streamed; every read is bounded by the
declared size, and zipfile checks the CRC at the end.
"""

from __future__ import annotations

import itertools
import os
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.errors import BundleError

MAX_ENTRIES = 20_000
MAX_NAME_BYTES = 1024
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 16
MAX_RATIO = 200  # our writer deflates only text; a higher ratio means a crafted entry
RATIO_CHECK_FROM = 1 << 20  # small files may legitimately compress very well
CHUNK = 1 << 20

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_FLAG_ENCRYPTED = 0x0001
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_UTF8 = 0x0800
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
# Bidi embedding/override/isolate marks can make "gpj.exe" display as "exe.jpg".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class BundleProblem:
    """One thing wrong with a bundle: the file (or part, e.g. ``"custody/proofs.json"``) and a sentence."""

    file_or_part: str
    message: str

    def __str__(self) -> str:
        return f"{self.file_or_part}: {self.message}"


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` is not acceptable as a bundle member path, or None when it is.

    Accepted names are relative POSIX paths of at most MAX_DEPTH components, in Unicode NFC, that
    mean the same file on Linux, macOS and Windows.  A trailing ``/`` (directory entry) is allowed.
    """
    if not name or name == "/":
        return "has an empty name"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "has a name that is not valid UTF-8"
    if "\\" in name:
        return "has a backslash in its name (a Windows path separator)"
    if name.startswith("/"):
        return "is an absolute path"
    if ":" in name:
        return "has a colon in its name (a drive letter or alternate data stream)"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        return "has a control character in its name"
    if any(c in _BIDI_CONTROLS for c in name):
        return "has a text-direction control character in its name (it can disguise the file type)"
    if unicodedata.normalize("NFC", name) != name:
        return "has a name that is not in Unicode normal form C"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"has a name longer than {MAX_NAME_BYTES} bytes"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if len(parts) > MAX_DEPTH:
        return f"is nested more than {MAX_DEPTH} folders deep"
    for part in parts:
        if part in ("", ".", ".."):
            return "has an empty, '.' or '..' path component (it could point outside the bundle)"
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            return f"has a path component longer than {MAX_COMPONENT_BYTES} bytes"
        if part[-1] in " .":
            return "has a path component ending in a dot or space (Windows would change its name)"
        if part.split(".")[0].rstrip(" ").lower() in _WINDOWS_DEVICES:
            return "uses a reserved Windows device name (CON, NUL, COM1, ...)"
    return None


def name_key(name: str) -> str:
    """The key under which two names count as the same file on some system: case-folded NFKC."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def find_duplicates(names: list[str]) -> dict[str, str]:
    """Map each name that clashes with an earlier one (same :func:`name_key`) to that earlier name.

    Also catches a file clashing with a folder of the same name (``a`` and ``a/b``)."""
    seen: dict[str, str] = {}
    clashes: dict[str, str] = {}
    for name in names:
        key = name_key(name.rstrip("/"))
        if key in seen:
            clashes[name] = seen[key]
        else:
            seen[key] = name
    files = {name_key(n): n for n in names if not n.endswith("/")}
    for name in names:
        parts = name.rstrip("/").split("/")
        for depth in range(1, len(parts)):
            folder_key = name_key("/".join(parts[:depth]))
            if folder_key in files and name not in clashes:
                clashes[name] = files[folder_key]
    return clashes


@dataclass(frozen=True)
class ZipMember:
    name: str
    size: int  # uncompressed size declared in the central directory
    info: zipfile.ZipInfo


@dataclass
class _RawEntry:
    raw_name: bytes
    flags: int
    method: int
    compress_size: int
    size: int
    header_offset: int
    made_by_system: int
    external_attr: int


@dataclass
class SafeZipReader:
    """An untrusted ZIP archive, checked on opening.  Use as a context manager.

    ``files`` holds the entries that passed every check (name -> :class:`ZipMember`), ``folders`` the
    accepted directory entries, ``problems`` one :class:`BundleProblem` per refused entry.  Refused
    entries are never read.  Raises BundleError when the archive as a whole is unreadable or hostile.
    """

    path: Path
    max_entries: int = MAX_ENTRIES
    max_ratio: int = MAX_RATIO
    files: dict[str, ZipMember] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    problems: list[BundleProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        try:
            self._fp: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise BundleError(
                f"The bundle {self.path.name} cannot be opened: {exc.strerror}.", debug_detail=str(exc)
            ) from exc
        try:
            raw = self._scan_central_directory()
            try:
                self._zip = zipfile.ZipFile(self._fp)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, NotImplementedError) as exc:
                raise BundleError(
                    "This bundle is not a readable ZIP file (it is damaged or not a ZIP).",
                    debug_detail=str(exc),
                ) from exc
            infos = self._zip.infolist()
            if len(infos) != len(raw):
                raise BundleError(
                    "This bundle's ZIP directory is inconsistent; it is damaged or was crafted.",
                    debug_detail=f"{len(infos)} parsed vs {len(raw)} raw entries",
                )
            self._check_layout(raw, infos)
            self._classify(raw, infos)
        except BaseException:
            self._fp.close()
            raise

    def __enter__(self) -> SafeZipReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if hasattr(self, "_zip"):
            self._zip.close()
        self._fp.close()

    # -- structure -------------------------------------------------------------------------------

    def _scan_central_directory(self) -> list[_RawEntry]:
        fp = self._fp
        end = fp.seek(0, os.SEEK_END)
        tail_len = min(end, _EOCD.size + 0xFFFF)
        fp.seek(end - tail_len)
        tail = fp.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or pos + _EOCD.size > len(tail):
            raise BundleError("This bundle is not a ZIP file, or it is truncated.")
        (_, disk, cd_disk, disk_entries, total, cd_size, cd_offset, comment) = _EOCD.unpack_from(tail, pos)
        if comment or pos + _EOCD.size != len(tail):
            # Bytes after the archive (or in its comment) are covered by no hash or signature, yet some
            # tools show or run them (self-extracting stubs, polyglot files): refused like data before it.
            raise BundleError(
                "This bundle has extra data after the end of its ZIP archive; it was altered or crafted."
            )
        eocd_at = end - tail_len + pos
        cd_end = eocd_at
        if 0xFFFF in (disk, cd_disk, disk_entries, total) or 0xFFFFFFFF in (cd_size, cd_offset):
            loc_at = eocd_at - _EOCD64_LOCATOR.size
            if loc_at < 0:
                raise BundleError("This bundle's ZIP64 directory is missing; the file is damaged.")
            fp.seek(loc_at)
            sig, _, eocd64_at, disks = _EOCD64_LOCATOR.unpack(fp.read(_EOCD64_LOCATOR.size))
            if sig != b"PK\x06\x07" or disks > 1 or eocd64_at > loc_at - _EOCD64.size:
                raise BundleError("This bundle's ZIP64 directory is damaged.")
            fp.seek(eocd64_at)
            (sig, _, _, _, disk, cd_disk, disk_entries, total, cd_size, cd_offset) = _EOCD64.unpack(
                fp.read(_EOCD64.size)
            )
            if sig != b"PK\x06\x06":
                raise BundleError("This bundle's ZIP64 directory is damaged.")
            cd_end = eocd64_at
        if disk or cd_disk or disk_entries != total:
            raise BundleError("This bundle is a split (multi-part) ZIP archive, which is not supported.")
        if total > self.max_entries:
            raise BundleError(
                f"This bundle has {total:,} entries, more than the {self.max_entries:,} allowed; "
                "it is not a bundle made by Evidence Vault and was not opened."
            )
        if cd_offset + cd_size != cd_end:
            raise BundleError(
                "This bundle has extra data before or inside its ZIP directory; it was altered or crafted."
            )
        fp.seek(cd_offset)
        directory = fp.read(cd_size)
        entries: list[_RawEntry] = []
        offset = 0
        while offset < len(directory):
            if len(entries) >= self.max_entries or offset + _CENTRAL.size > len(directory):
                raise BundleError(
                    f"This bundle's ZIP directory has more than the {self.max_entries:,} entries allowed, "
                    "or is damaged; it was not opened."
                )
            fields = _CENTRAL.unpack_from(directory, offset)
            if fields[0] != b"PK\x01\x02":
                raise BundleError("This bundle's ZIP directory is damaged.")
            name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
            start = offset + _CENTRAL.size
            entries.append(
                _RawEntry(
                    raw_name=directory[start : start + name_len],
                    flags=fields[3],
                    method=fields[4],
                    compress_size=fields[8],
                    size=fields[9],
                    header_offset=fields[16],
                    made_by_system=fields[1] >> 8,
                    external_attr=fields[15],
                )
            )
            if fields[3] & _FLAG_UTF8:
                try:
                    entries[-1].raw_name.decode("utf-8")
                except UnicodeDecodeError as exc:  # zipfile itself would fail on it
                    shown = entries[-1].raw_name.decode("utf-8", "backslashreplace")
                    raise BundleError(
                        f"The ZIP entry '{shown}' has a name that is not valid UTF-8; the bundle was not opened."
                    ) from exc
            offset = start + name_len + extra_len + comment_len
        if len(entries) != total:
            raise BundleError("This bundle's ZIP directory does not match its entry count; it is damaged.")
        return entries

    def _check_layout(self, raw: list[_RawEntry], infos: list[zipfile.ZipInfo]) -> None:
        """Each entry's data must lie in its own byte range: overlapping entries are a zip-bomb trick."""
        spans: list[tuple[int, int, str]] = []
        cd_start = self._zip.start_dir
        for entry, info in zip(raw, infos, strict=True):
            self._fp.seek(info.header_offset)
            header = self._fp.read(_LOCAL.size)
            if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
                raise BundleError(f"The ZIP entry {info.filename!r} has no valid header; the bundle is damaged.")
            fields = _LOCAL.unpack(header)
            local_name = self._fp.read(fields[9])
            if local_name != entry.raw_name or (fields[2] & _FLAG_ENCRYPTED) != (entry.flags & _FLAG_ENCRYPTED):
                raise BundleError(
                    f"The ZIP entry {info.filename!r} has different names or flags in its two headers; "
                    "the bundle was crafted to confuse tools."
                )
            data_start = info.header_offset + _LOCAL.size + fields[9] + fields[10]
            spans.append((info.header_offset, data_start + info.compress_size, info.filename))
        spans.sort()
        for (_, end, name), (next_start, _, next_name) in itertools.pairwise(spans):
            if end > next_start:
                raise BundleError(
                    f"The ZIP entries {name!r} and {next_name!r} share data (a zip-bomb technique); "
                    "the bundle was not opened."
                )
        if spans and spans[-1][1] > cd_start:
            raise BundleError("A ZIP entry runs into the ZIP directory; the bundle is damaged or crafted.")

    def _classify(self, raw: list[_RawEntry], infos: list[zipfile.ZipInfo]) -> None:
        accepted: list[tuple[str, _RawEntry, zipfile.ZipInfo]] = []
        for entry, info in zip(raw, infos, strict=True):
            shown = info.filename if entry.flags & _FLAG_UTF8 else entry.raw_name.decode("ascii", "backslashreplace")
            reason = self._entry_reason(entry, info)
            if reason:
                self.problems.append(BundleProblem(shown, reason))
            else:
                accepted.append((info.filename, entry, info))
        clashes = find_duplicates([name for name, _, _ in accepted])
        for name, first in clashes.items():
            self.problems.append(
                BundleProblem(
                    name,
                    f"appears more than once in the bundle (it clashes with {first!r}; names differing "
                    "only in case or Unicode form count as the same file); neither copy was trusted",
                )
            )
        refused = set(clashes) | set(clashes.values())
        for name, entry, info in accepted:
            if name in refused:
                continue
            if name.endswith("/"):
                self.folders.add(name.rstrip("/"))
            else:
                self.files[name] = ZipMember(name=name, size=entry.size, info=info)

    def _entry_reason(self, entry: _RawEntry, info: zipfile.ZipInfo) -> str | None:
        if entry.flags & _FLAG_UTF8:
            name = entry.raw_name.decode("utf-8")  # checked in _scan_central_directory
        elif entry.raw_name.isascii():
            name = entry.raw_name.decode("ascii")
        else:
            return "has a name that is not marked as UTF-8 (its meaning depends on the computer)"
        reason = unsafe_name_reason(name)
        if reason:
            return reason
        if name != info.filename:  # e.g. a NUL byte: zipfile cuts the name there, other tools may not
            return "has a name that ZIP tools read differently"
        if entry.flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
            return "is encrypted; bundles never contain encrypted entries"
        mode = entry.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "is a symbolic link; bundles never contain links"
        is_folder = info.filename.endswith("/")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR) or (kind == stat.S_IFDIR and not is_folder):
            return "is a special file (device, pipe or socket), not a regular file"
        if is_folder and (entry.size or entry.compress_size):
            return "is a folder entry that carries data"
        if entry.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return f"uses an unsupported compression method ({entry.method})"
        if entry.method == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            return "is stored uncompressed but its two sizes differ"
        if info.file_size >= RATIO_CHECK_FROM and info.file_size > self.max_ratio * max(info.compress_size, 1):
            return (
                f"is compressed implausibly well ({info.file_size:,} bytes from {info.compress_size:,}); "
                "it may be a decompression bomb and was not read"
            )
        return None

    # -- reading -----------------------------------------------------------------------------------

    def iter_chunks(self, name: str, *, limit: int) -> Iterator[bytes]:
        """Yield the content of an accepted file in chunks; raises BundleError when it is damaged
        (CRC or length error) or longer than ``limit`` bytes."""
        member = self.files[name]
        read = 0
        try:
            with self._zip.open(member.info) as stream:
                while chunk := stream.read(min(CHUNK, limit - read + 1)):
                    read += len(chunk)
                    if read > limit:
                        raise BundleError(f"{name} is longer than allowed ({limit:,} bytes); it was not read.")
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise BundleError(
                f"{name} is damaged inside the ZIP (its data fails the ZIP checksum or cannot be "
                "decompressed).",
                debug_detail=str(exc),
            ) from exc
