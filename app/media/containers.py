"""Reading container structure (box and chunk sizes) without decoding anything.

Two questions are answered here, by seeks and a few header bytes only: does an MP4/MOV need
seeking to be read (its ``moov`` index comes after the media data), and does a container claim
more data than the file holds (a truncated copy).  Both run on untrusted files, so every loop is
bounded and every size is checked before it is used.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

ISOBMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
_MAX_BOXES = 100_000  # a crafted file of millions of tiny boxes must not stall ingest


def looks_isobmff(head: bytes) -> bool:
    """True when the first bytes are an MP4/MOV/HEIC box header."""
    return len(head) >= 8 and head[4:8] in ISOBMFF_BOXES


def isobmff_needs_seek(stream: BinaryIO) -> bool:
    """True when an MP4/MOV stream has its ``moov`` box after the media data (ffmpeg must seek).

    Walks the top-level boxes with seeks only (no reading of media data)."""
    pos = 0
    for _ in range(_MAX_BOXES):
        stream.seek(pos)
        header = stream.read(16)
        if len(header) < 8:
            return True  # no moov found before the end: ffmpeg will need to look everywhere
        size = int.from_bytes(header[:4], "big")
        kind = header[4:8]
        if kind in (b"moov", b"moof"):
            return False
        if kind == b"mdat":
            return True
        if size == 1 and len(header) >= 16:
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            return True
        if size < 8:
            return True
        pos += size
    return True


def overrun_warning(path: Path, mime: str, size: int) -> str | None:
    """A plain sentence when the container declares more bytes than the file has, else None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
            if looks_isobmff(head) and head[4:8] != b"pnot":
                short = _isobmff_overrun(fh, size)
            elif head[:4] == b"RIFF" and len(head) >= 8:
                declared = struct.unpack("<I", head[4:8])[0]
                # Streaming writers leave 0 or 0xFFFFFFFF ("unknown"); some omit the final pad byte.
                short = declared not in (0, 0xFFFFFFFF) and 8 + declared > size + 1
            elif head[:4] == b"\x1a\x45\xdf\xa3":
                short = _matroska_overrun(fh, size)
            else:
                short = False
    except (OSError, struct.error):
        return None
    if not short:
        return None
    what = "image" if mime.startswith("image/") else "recording"
    return f"The {what} is truncated: the file ends before its data does (an incomplete copy or download)."


def _isobmff_overrun(fh: BinaryIO, size: int) -> bool:
    """True when a top-level box claims more bytes than the file has."""
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= size:
            return False
        fh.seek(offset)
        header = fh.read(16)
        if len(header) < 8:
            return True
        box_size: int = struct.unpack(">I", header[:4])[0]
        if box_size == 1:
            if len(header) < 16:
                return True
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:
            return False  # "to the end of the file"
        if box_size < 8:
            return False  # not a box structure we can judge; leave it to the decoders
        if offset + box_size > size:
            return True
        offset += box_size
    return False


def _read_vint(fh: BinaryIO, strip_marker: bool) -> int | None:
    first = fh.read(1)
    if not first or first[0] == 0:
        return None
    length = 9 - first[0].bit_length()
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = first[0] & (0xFF >> length) if strip_marker else first[0]
    for byte in rest:
        value = (value << 8) | byte
    if strip_marker and value == (1 << (7 * length)) - 1:
        return -1  # "unknown size" (live streams)
    return value


def _matroska_overrun(fh: BinaryIO, size: int) -> bool:
    fh.seek(0)
    if _read_vint(fh, strip_marker=False) != 0x1A45DFA3:
        return False
    header_size = _read_vint(fh, strip_marker=True)
    if header_size is None or header_size < 0:
        return False
    fh.seek(header_size, 1)
    if _read_vint(fh, strip_marker=False) != 0x18538067:  # Segment
        return False
    segment_size = _read_vint(fh, strip_marker=True)
    if segment_size is None or segment_size < 0:
        return False
    return fh.tell() + segment_size > size
