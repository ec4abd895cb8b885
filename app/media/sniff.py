"""Recognise what an untrusted file really is from its first bytes.

The file name is chosen by whoever sent the file and is not trusted: magic bytes decide, the
extension is only a fallback when the content is not recognised.  :func:`sniff_kind` never
raises; it returns the item kind used by the vault (``photo``, ``video``, ``audio``,
``document``) and a MIME type.  :func:`extension_mismatch` explains when name and content
disagree (a PNG named ``.mp4`` is a photo, and the reviewer should know the name lied).
"""

from __future__ import annotations

import struct
from pathlib import PurePath

# How many leading bytes callers should pass; enough for every signature below.
SNIFF_BYTES = 4096

OCTET_STREAM = "application/octet-stream"

# ISO-BMFF (ftyp) brands.  Anything else with an ftyp box is treated as MP4 video.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QT_BRANDS = {b"qt  "}
_3GP_PREFIXES = (b"3gp", b"3gg", b"3gs", b"3ge", b"3g2")
# QuickTime files written before ftyp existed start with one of these atoms.
_OLD_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Extension -> (kind, mime), used only when the content is not recognised.
_EXTENSIONS: dict[str, tuple[str, str]] = {
    "jpg": ("photo", "image/jpeg"), "jpeg": ("photo", "image/jpeg"), "jpe": ("photo", "image/jpeg"),
    "jfif": ("photo", "image/jpeg"), "png": ("photo", "image/png"), "gif": ("photo", "image/gif"),
    "webp": ("photo", "image/webp"), "heic": ("photo", "image/heic"), "heif": ("photo", "image/heif"),
    "avif": ("photo", "image/avif"), "tif": ("photo", "image/tiff"), "tiff": ("photo", "image/tiff"),
    "dng": ("photo", "image/x-adobe-dng"), "bmp": ("photo", "image/bmp"),
    "mp4": ("video", "video/mp4"), "m4v": ("video", "video/mp4"), "mov": ("video", "video/quicktime"),
    "3gp": ("video", "video/3gpp"), "3g2": ("video", "video/3gpp2"), "mkv": ("video", "video/x-matroska"),
    "webm": ("video", "video/webm"), "avi": ("video", "video/x-msvideo"), "h264": ("video", "video/h264"),
    "264": ("video", "video/h264"), "h265": ("video", "video/h265"), "hevc": ("video", "video/h265"),
    "ts": ("video", "video/mp2t"), "mts": ("video", "video/mp2t"), "m2ts": ("video", "video/mp2t"),
    "mpg": ("video", "video/mpeg"), "mpeg": ("video", "video/mpeg"), "wmv": ("video", "video/x-ms-asf"),
    "flv": ("video", "video/x-flv"),
    "mp3": ("audio", "audio/mpeg"), "m4a": ("audio", "audio/mp4"), "aac": ("audio", "audio/aac"),
    "flac": ("audio", "audio/flac"), "ogg": ("audio", "audio/ogg"), "oga": ("audio", "audio/ogg"),
    "opus": ("audio", "audio/ogg"), "wav": ("audio", "audio/wav"), "amr": ("audio", "audio/amr"),
    "aif": ("audio", "audio/aiff"), "aiff": ("audio", "audio/aiff"), "wma": ("audio", "audio/x-ms-asf"),
    "pdf": ("document", "application/pdf"), "txt": ("document", "text/plain"),
    "md": ("document", "text/plain"), "csv": ("document", "text/csv"), "rtf": ("document", "application/rtf"),
    "docx": ("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "odt": ("document", "application/vnd.oasis.opendocument.text"),
    "zip": ("document", "application/zip"), "doc": ("document", "application/msword"),
    "xls": ("document", "application/vnd.ms-excel"),
}

# MIME -> container family; name and content "agree" when their families match.
_FAMILY: dict[str, str] = {
    "image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "image/heic": "heif", "image/heif": "heif", "image/avif": "heif", "image/tiff": "tiff",
    "image/x-adobe-dng": "tiff", "image/bmp": "bmp",
    "video/mp4": "isobmff", "video/quicktime": "isobmff", "video/3gpp": "isobmff", "video/3gpp2": "isobmff",
    "audio/mp4": "isobmff", "video/x-matroska": "matroska", "video/webm": "matroska",
    "audio/webm": "matroska", "video/x-msvideo": "avi", "video/h264": "h264", "video/h265": "h265",
    "video/mp2t": "mpegts", "video/mpeg": "mpegps", "video/x-ms-asf": "asf", "audio/x-ms-asf": "asf",
    "video/x-flv": "flv", "audio/mpeg": "mp3", "audio/aac": "aac", "audio/flac": "flac",
    "audio/ogg": "ogg", "video/ogg": "ogg", "audio/wav": "wav", "audio/amr": "amr", "audio/aiff": "aiff",
    "application/pdf": "pdf", "text/plain": "text", "text/csv": "text", "application/rtf": "rtf",
    "application/zip": "zip", "application/msword": "ole", "application/vnd.ms-excel": "ole",
    "application/x-ole-storage": "ole",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "zip",
    "application/vnd.oasis.opendocument.text": "zip",
}

_DESCRIPTION: dict[str, str] = {
    "jpeg": "a JPEG image", "png": "a PNG image", "gif": "a GIF image", "webp": "a WebP image",
    "heif": "a HEIC/HEIF image", "tiff": "a TIFF image", "bmp": "a BMP image",
    "isobmff": "an MP4/QuickTime file", "matroska": "a Matroska/WebM file", "avi": "an AVI video",
    "h264": "a raw H.264 video stream", "h265": "a raw H.265 video stream", "mpegts": "an MPEG-TS video",
    "mpegps": "an MPEG video", "asf": "a Windows Media file", "flv": "a Flash video", "mp3": "an MP3 recording",
    "aac": "an AAC recording", "flac": "a FLAC recording", "ogg": "an Ogg file", "wav": "a WAV recording",
    "amr": "an AMR recording", "aiff": "an AIFF recording", "pdf": "a PDF document", "text": "plain text",
    "rtf": "an RTF document", "zip": "a ZIP-based document", "ole": "an old Microsoft Office document",
}


def extension_of(name: str) -> str:
    """Lower-case extension without the dot ('' when there is none)."""
    return PurePath(name).suffix.lower().lstrip(".")


def sniff_kind(head: bytes, name: str) -> tuple[str, str]:
    """Return ``(kind, mime)`` for a file whose first bytes are ``head`` (pass >= SNIFF_BYTES).

    Content decides; the extension of ``name`` is used only when the content is unknown.
    Unknown content with an unknown extension is a ``document`` of type application/octet-stream.
    """
    found = _sniff_magic(head)
    if found is not None:
        return found
    by_ext = _EXTENSIONS.get(extension_of(name))
    if by_ext is not None and head:
        # Text files have no magic; trust ".txt" only if the bytes really are text.
        if by_ext[1].startswith("text/") and not _looks_like_text(head):
            return "document", OCTET_STREAM
        return by_ext
    if head and _looks_like_text(head):
        return "document", "text/plain"
    if by_ext is not None:  # empty file: the name is all there is
        return by_ext
    return "document", OCTET_STREAM


def recognised_by_content(head: bytes) -> bool:
    """True when the magic bytes (not the name) identified the type."""
    return _sniff_magic(head) is not None or (bool(head) and _looks_like_text(head))


def extension_mismatch(name: str, mime: str) -> str | None:
    """A plain-language warning when the file name suggests another type than the content."""
    ext = extension_of(name)
    expected = _EXTENSIONS.get(ext)
    if expected is None:
        return None
    name_family = _FAMILY.get(expected[1])
    content_family = _FAMILY.get(mime)
    if name_family is None or content_family is None or name_family == content_family:
        return None
    return (
        f"The file name ends in .{ext} but the file is really {_DESCRIPTION[content_family]}; "
        f"it was treated as {_DESCRIPTION[content_family]}."
    )


def _sniff_magic(h: bytes) -> tuple[str, str] | None:  # one flat table of signatures
    if h.startswith(b"\xff\xd8\xff"):
        return "photo", "image/jpeg"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "photo", "image/png"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "photo", "image/gif"
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "photo", "image/tiff"
    if h[:4] == b"RIFF" and len(h) >= 12:
        form = h[8:12]
        if form == b"WEBP":
            return "photo", "image/webp"
        if form == b"WAVE":
            return "audio", "audio/wav"
        if form == b"AVI ":
            return "video", "video/x-msvideo"
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "audio", "audio/aiff"
    if len(h) >= 12 and h[4:8] == b"ftyp":
        return _sniff_ftyp(h)
    if len(h) >= 8 and h[4:8] in _OLD_QT_ATOMS and struct.unpack(">I", h[:4])[0] >= 8:
        return "video", "video/quicktime"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        doctype_area = h[:64]
        if b"webm" in doctype_area:
            return "video", "video/webm"
        return "video", "video/x-matroska"
    if h.startswith(b"fLaC"):
        return "audio", "audio/flac"
    if h.startswith(b"OggS"):
        if b"\x80theora" in h[:512]:
            return "video", "video/ogg"
        return "audio", "audio/ogg"
    if h.startswith(b"ID3"):
        return "audio", "audio/mpeg"
    if h.startswith(b"#!AMR"):
        return "audio", "audio/amr"
    if h.startswith(b"%PDF-"):
        return "document", "application/pdf"
    if h.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video", "video/x-ms-asf"
    if h.startswith(b"FLV\x01"):
        return "video", "video/x-flv"
    if h.startswith(b"\x00\x00\x01\xba"):
        return "video", "video/mpeg"
    if len(h) >= 377 and h[0] == 0x47 and h[188] == 0x47 and h[376] == 0x47:
        return "video", "video/mp2t"
    annexb = _sniff_annexb(h)
    if annexb is not None:
        return annexb
    if len(h) >= 2 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0:
        layer = (h[1] >> 1) & 0x03
        if layer == 0 and (h[1] & 0xF0) == 0xF0:
            return "audio", "audio/aac"  # ADTS
        if layer != 0 and (h[1] >> 3) & 0x03 != 0x01:  # version bits 01 are reserved
            return "audio", "audio/mpeg"
    if h.startswith(b"BM") and len(h) >= 26 and struct.unpack("<I", h[14:18])[0] in (12, 40, 56, 64, 108, 124):
        return "photo", "image/bmp"
    if h.startswith(b"{\\rtf"):
        return "document", "application/rtf"
    if h.startswith(b"PK\x03\x04"):
        return "document", "application/zip"
    if h.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "document", "application/x-ole-storage"
    return None


def _sniff_ftyp(h: bytes) -> tuple[str, str]:
    box_size = struct.unpack(">I", h[:4])[0]
    major = h[8:12]
    end = min(len(h), box_size if 16 <= box_size <= 4096 else 64)
    brands = {major} | {h[i:i + 4] for i in range(16, end - 3, 4)}
    if major in _AVIF_BRANDS:
        return "photo", "image/avif"
    if major in _HEIF_BRANDS or (brands & _HEIF_BRANDS and not brands & {b"isom", b"mp41", b"mp42", b"qt  "}):
        return "photo", "image/heic" if brands & {b"heic", b"heix", b"heim", b"heis"} else "image/heif"
    if major in _M4A_BRANDS:
        return "audio", "audio/mp4"
    if major in _QT_BRANDS:
        return "video", "video/quicktime"
    if major.startswith(_3GP_PREFIXES):
        return "video", "video/3gpp2" if major.startswith(b"3g2") else "video/3gpp"
    return "video", "video/mp4"


def _sniff_annexb(h: bytes) -> tuple[str, str] | None:
    """Raw H.264/H.265 elementary streams start with a start code and a parameter-set NAL."""
    if h.startswith(b"\x00\x00\x00\x01"):
        nal = h[4:6]
    elif h.startswith(b"\x00\x00\x01"):
        nal = h[3:5]
    else:
        return None
    if len(nal) < 2 or nal[0] & 0x80:
        return None
    if nal[0] & 0x1F in (7, 9) or (nal[0] & 0x1F == 6 and b"\x00\x00\x01\x67" in h[:256]):
        return "video", "video/h264"
    if (nal[0] >> 1) & 0x3F in (32, 33, 35) and nal[1] & 0x07 == 1:
        return "video", "video/h265"
    return None


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte-order mark
    sample = head[:SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may cut a multi-byte character in half at its end.
        if exc.start < len(sample) - 3:
            return False
        text = sample[: exc.start].decode("utf-8")
    if not text:
        return False
    control = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    return control / len(text) < 0.02
