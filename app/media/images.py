"""Photos at ingest: dimensions, EXIF (camera, time, GPS, orientation) and a damage check.

Everything here treats the file as hostile.  Dimensions are read from the header first so a
decompression bomb is never decoded; the damage check decodes under a pixel limit; metadata is
made JSON-safe (see :func:`json_safe`).  Problems become warnings, never exceptions: the vault
keeps the evidence whatever state it is in.
"""

from __future__ import annotations

import math
import numbers
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pillow_heif
from PIL import ExifTags, Image

pillow_heif.register_heif_opener()

# Larger than any camera sensor (200 MP phones exist) by a wide margin: beyond this the
# header is lying or the file is a decompression bomb, and we never decode it.
IMPLAUSIBLE_PIXELS = 1_000_000_000
IMPLAUSIBLE_SIDE = 100_000
# Decoding is a full-resolution RGB buffer (JPEG is drafted at 1/8 scale, so allow more).
DECODE_PIXEL_LIMIT = 180_000_000
JPEG_DECODE_PIXEL_LIMIT = 800_000_000

DAMAGED_IMAGE = "The image is damaged or truncated; it was stored as received, but parts may not display."

# Pillow format names for each MIME we let Pillow open (restricts which parser sees the bytes).
_PIL_FORMATS = {
    "image/jpeg": ["JPEG", "MPO"], "image/png": ["PNG"], "image/gif": ["GIF"], "image/webp": ["WEBP"],
    "image/tiff": ["TIFF"], "image/x-adobe-dng": ["TIFF"], "image/bmp": ["BMP"],
    "image/heic": ["HEIF"], "image/heif": ["HEIF"], "image/avif": ["HEIF", "AVIF"],
}

_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_MAX_STRING = 2000
_MAX_ITEMS = 256
_MAX_BYTES_HEX = 64
# Control and bidi-override characters: untrusted text must not steer a terminal or a display.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


@dataclass
class PhotoReport:
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def clean_text(value: str) -> str:
    """Drop control characters and bidi overrides from an untrusted string; cap its length."""
    out = "".join(
        c for c in value if c not in _BIDI and (unicodedata.category(c) != "Cc" or c in "\t\n")
    )
    return out.strip()[:_MAX_STRING]


def json_safe(value: Any, depth: int = 0) -> Any:
    """Convert EXIF/ffprobe values into plain JSON: rationals become floats, long bytes are dropped."""
    if depth > 8:
        return None
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, numbers.Rational):  # Pillow's IFDRational and fractions
        return float(value) if value.denominator else None
    if isinstance(value, numbers.Real):
        as_float = float(value)
        return as_float if math.isfinite(as_float) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex() if len(value) <= _MAX_BYTES_HEX else None
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_ITEMS]
        return {clean_text(str(k)): json_safe(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value[:_MAX_ITEMS]]
    return clean_text(str(value))


def header_dimensions(fh: BinaryIO, mime: str) -> tuple[int, int] | None:
    """Width and height from the file header alone, without any decoding; None if unknown."""
    try:
        fh.seek(0)
        head = fh.read(64)
        if mime == "image/png" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if mime == "image/gif" and len(head) >= 10:
            return struct.unpack("<HH", head[6:10])
        if mime == "image/bmp" and len(head) >= 26:
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)
        if mime == "image/webp":
            return _webp_dimensions(head)
        if mime == "image/jpeg":
            return _jpeg_dimensions(fh)
    except (OSError, struct.error):
        return None
    return None


def _webp_dimensions(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_dimensions(fh: BinaryIO) -> tuple[int, int] | None:
    """Walk JPEG marker segments up to the first start-of-frame (SOFn) marker."""
    fh.seek(2)
    for _ in range(1000):  # a real header has a few dozen segments at most
        marker = fh.read(2)
        while len(marker) == 2 and marker[0] == 0xFF and marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + fh.read(1)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code in (0x01, *range(0xD0, 0xD8)):
            continue  # markers without a length
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            frame = fh.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        if code in (0xD9, 0xDA) or length < 2:
            return None
        fh.seek(length - 2, 1)
    return None


def implausible(width: int, height: int) -> bool:
    return width <= 0 or height <= 0 or width * height > IMPLAUSIBLE_PIXELS or max(width, height) > IMPLAUSIBLE_SIDE


def probe_photo(path: Path, mime: str) -> PhotoReport:
    """Describe a photo; decode it (bounded) only to find damage.  Never raises."""
    report = PhotoReport()
    with path.open("rb") as fh:
        dims = header_dimensions(fh, mime)
    if dims is not None:
        report.metadata.update(width=dims[0], height=dims[1])
        if implausible(*dims):
            report.warnings.append(
                f"Image dimensions {dims[0]}×{dims[1]} are implausible; the image was stored but not decoded."
            )
            return report
    try:
        with Image.open(path, formats=_PIL_FORMATS.get(mime)) as im:
            _describe(im, report)
            _check_decodes(path, im, mime, report)
    except Image.DecompressionBombError:
        size = f"{dims[0]}×{dims[1]} " if dims else ""
        report.warnings.append(
            f"Image dimensions {size}are too large to check safely; the image was stored but not decoded."
        )
    except Exception:  # hostile input may fail in any parser; report, don't crash
        report.warnings.append(DAMAGED_IMAGE)
    return report


def _describe(im: Image.Image, report: PhotoReport) -> None:
    meta = report.metadata
    meta.update(format=im.format, width=im.width, height=im.height, mode=im.mode)
    meta["frames"] = int(getattr(im, "n_frames", 1) or 1)
    meta["xmp_present"] = bool(im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"))
    meta["icc_profile_present"] = bool(im.info.get("icc_profile"))
    text_chunks = {k: v for k, v in im.info.items() if isinstance(v, str) and k not in ("xmp",)}
    if text_chunks:
        meta["text"] = json_safe(text_chunks)
    try:
        _read_exif(im, meta)
    except Exception:  # damaged EXIF must not lose the photo
        report.warnings.append("The photo's EXIF metadata is damaged; whatever could be read was kept.")
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if "gps" not in meta and xmp:
        gps = _xmp_gps(xmp)
        if gps:
            meta["gps"] = gps
    orientation = meta.get("orientation")
    swapped = orientation in (5, 6, 7, 8)
    meta["display_width"] = im.height if swapped else im.width
    meta["display_height"] = im.width if swapped else im.height


def _named(ifd: dict[int, Any], names: dict[int, str]) -> dict[str, Any]:
    return {names.get(tag, f"0x{tag:04x}"): value for tag, value in ifd.items()}


def _read_exif(im: Image.Image, meta: dict[str, Any]) -> None:
    exif = im.getexif()
    if not exif:
        return
    base = {k: v for k, v in exif.items() if k not in (_EXIF_IFD, _GPS_IFD, _INTEROP_IFD)}
    sub = dict(exif.get_ifd(_EXIF_IFD))
    gps_ifd = dict(exif.get_ifd(_GPS_IFD))
    thumb = exif.get_ifd(ExifTags.IFD.IFD1)
    dropped = [ExifTags.TAGS.get(t, f"0x{t:04x}") for t, v in {**base, **sub}.items()
               if isinstance(v, bytes) and len(v) > _MAX_BYTES_HEX]
    meta["exif"] = json_safe({**_named(base, ExifTags.TAGS), **_named(sub, ExifTags.TAGS)})
    if dropped:
        meta["exif_binary_dropped"] = dropped
    meta["exif_thumbnail_present"] = bool(thumb and (0x0201 in thumb or 0x0111 in thumb))
    orientation = base.get(0x0112)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        meta["orientation"] = orientation
    for key, tag, ifd in (("camera_make", 0x010F, base), ("camera_model", 0x0110, base),
                          ("software", 0x0131, base), ("datetime", 0x0132, base),
                          ("datetime_original", 0x9003, sub), ("offset_time_original", 0x9011, sub)):
        value = ifd.get(tag)
        if isinstance(value, str) and clean_text(value):
            meta[key] = clean_text(value)
    captured = _exif_time(meta.get("datetime_original") or meta.get("datetime"), meta.get("offset_time_original"))
    if captured:
        meta["captured_at"] = captured
    if gps_ifd:
        meta["gps"] = _gps(gps_ifd)


def _exif_time(value: str | None, offset: str | None) -> str | None:
    """'2008:11:01 21:15:07' -> '2008-11-01T21:15:07' (+ the EXIF offset when one is given)."""
    if not value:
        return None
    match = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", value.strip())
    if not match:
        return None
    y, mo, d, h, mi, s = match.groups()
    text = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    if offset and re.fullmatch(r"[+-]\d{2}:\d{2}", offset.strip()):
        text += offset.strip()
    return text


def _dms_to_degrees(value: Any) -> float | None:
    try:
        parts = [float(v) for v in value] if isinstance(value, list | tuple) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or not all(math.isfinite(p) for p in parts):
        return None
    return sum(p / 60.0**i for i, p in enumerate(parts[:3]))


def _ref(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").upper()[:1]


def _gps(gps_ifd: dict[int, Any]) -> dict[str, Any]:
    raw = json_safe(_named(gps_ifd, ExifTags.GPSTAGS))
    out: dict[str, Any] = {"raw": raw, "source": "exif"}
    lat = _dms_to_degrees(gps_ifd.get(2)) if 2 in gps_ifd else None
    lon = _dms_to_degrees(gps_ifd.get(4)) if 4 in gps_ifd else None
    if lat is not None and lon is not None:
        if _ref(gps_ifd.get(1)) == "S":
            lat = -lat
        if _ref(gps_ifd.get(3)) == "W":
            lon = -lon
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            out["latitude"] = round(lat, 7)
            out["longitude"] = round(lon, 7)
    altitude = json_safe(gps_ifd.get(6))
    if isinstance(altitude, float):
        out["altitude"] = -altitude if gps_ifd.get(5) in (1, b"\x01") else altitude
    return out


_XMP_COORD = re.compile(rb"exif:GPS(Latitude|Longitude)(?:=\"|>)\s*(\d+),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])")


def _xmp_gps(xmp: bytes | str) -> dict[str, Any] | None:
    """GPS written only in XMP ('43,28.0468N' or '43,28,2.8N')."""
    data = xmp.encode("utf-8", "replace") if isinstance(xmp, str) else bytes(xmp)
    found: dict[str, float] = {}
    for axis, deg, minutes, seconds, ref in _XMP_COORD.findall(data[:1_000_000]):
        value = float(deg) + float(minutes) / 60 + (float(seconds) / 3600 if seconds else 0.0)
        found[axis.decode().lower()] = -value if ref in (b"S", b"W") else value
    if "latitude" in found and "longitude" in found:
        return {"latitude": round(found["latitude"], 7), "longitude": round(found["longitude"], 7),
                "source": "xmp"}
    return None


def _check_decodes(path: Path, im: Image.Image, mime: str, report: PhotoReport) -> None:
    pixels = im.width * im.height
    limit = JPEG_DECODE_PIXEL_LIMIT if im.format in ("JPEG", "MPO") else DECODE_PIXEL_LIMIT
    if pixels > limit:
        report.warnings.append(
            f"Image dimensions {im.width}×{im.height} are too large to check safely; "
            "the image was stored but not decoded."
        )
        return
    try:
        if im.format == "PNG":
            # verify() checks every chunk CRC, which catches bit flips inside the compressed data.
            with Image.open(path, formats=["PNG"]) as again:
                again.verify()
        if im.format in ("JPEG", "MPO"):
            # Scaled decoding still walks all the entropy-coded data (so truncation shows)
            # at 1/64 of the memory.
            im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
        im.load()
    except Exception:  # any decoder failure means damage
        report.warnings.append(DAMAGED_IMAGE)
