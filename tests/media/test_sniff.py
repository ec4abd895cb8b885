"""sniff_kind: magic bytes decide, the extension is a fallback only."""

from __future__ import annotations

import struct

import pytest

from app.media.sniff import SNIFF_BYTES, extension_mismatch, sniff_kind
from tests.conftest import shared_data_path


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 64


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("photo", "image/jpeg")),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", ("photo", "image/png")),
        (b"GIF89a\x01\x00\x01\x00", ("photo", "image/gif")),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", ("photo", "image/webp")),
        (b"II*\x00\x08\x00\x00\x00", ("photo", "image/tiff")),
        (b"MM\x00*\x00\x00\x00\x08", ("photo", "image/tiff")),
        (_ftyp(b"heic", b"mif1", b"heic"), ("photo", "image/heic")),
        (_ftyp(b"mif1", b"heic"), ("photo", "image/heic")),
        (_ftyp(b"isom", b"isom", b"avc1"), ("video", "video/mp4")),
        (_ftyp(b"mp42", b"mp41"), ("video", "video/mp4")),
        (_ftyp(b"qt  ", b"qt  "), ("video", "video/quicktime")),
        (_ftyp(b"M4A ", b"isom"), ("audio", "audio/mp4")),
        (_ftyp(b"3gp5", b"3gp5"), ("video", "video/3gpp")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", ("video", "video/webm")),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", ("video", "video/x-matroska")),
        (b"RIFF\x00\x00\x00\x00AVI LIST", ("video", "video/x-msvideo")),
        (b"ID3\x04\x00\x00\x00\x00\x00\x22", ("audio", "audio/mpeg")),
        (b"\xff\xfb\x90\x64\x00", ("audio", "audio/mpeg")),
        (b"\xff\xf1\x50\x80\x02", ("audio", "audio/aac")),
        (b"fLaC\x00\x00\x00\x22", ("audio", "audio/flac")),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", ("audio", "audio/ogg")),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", ("audio", "audio/wav")),
        (b"%PDF-1.7\n", ("document", "application/pdf")),
        (b"\x00\x00\x00\x01\x67\x64\x00\x1e\xac", ("video", "video/h264")),
        (b"\x00\x00\x01\x09\x10\x00\x00\x00\x01\x67", ("video", "video/h264")),
        ("Plain statement, ພາສາລາວ ไทย\n".encode(), ("document", "text/plain")),
    ],
)
def test_magic(head: bytes, expected: tuple[str, str]) -> None:
    # The name says something else each time: content must win.
    assert sniff_kind(head, "misleading.bin") == expected


def test_png_named_mp4_is_a_photo_with_warning() -> None:
    head = shared_data_path("media", "png_rgb_face_astronaut.png").read_bytes()[:SNIFF_BYTES]
    assert sniff_kind(head, "video.mp4") == ("photo", "image/png")
    warning = extension_mismatch("video.mp4", "image/png")
    assert warning is not None and ".mp4" in warning and "PNG" in warning


def test_every_shared_file_sniffs_as_its_manifest_type() -> None:
    import json

    folder = shared_data_path("media")
    for entry in json.loads((folder / "manifest.json").read_text())["files"]:
        if entry["bytes"] == 0:
            continue
        head = (folder / entry["file"]).read_bytes()[:SNIFF_BYTES]
        assert sniff_kind(head, entry["file"])[1] == entry["kind"], entry["file"]


def test_extension_is_only_a_fallback() -> None:
    assert sniff_kind(b"", "empty.jpg") == ("photo", "image/jpeg")
    assert sniff_kind(b"\x00\x01\x02\x03" * 50, "unknown.mov") == ("video", "video/quicktime")
    assert sniff_kind(b"\x00\x01\x02\x03" * 50, "noext") == ("document", "application/octet-stream")
    # Binary junk named .txt is not text.
    assert sniff_kind(b"\x00\xff\x00\xfe" * 50, "notes.txt") == ("document", "application/octet-stream")


def test_no_mismatch_within_a_family() -> None:
    assert extension_mismatch("clip.mov", "video/mp4") is None
    assert extension_mismatch("voice.m4a", "video/mp4") is None
    assert extension_mismatch("photo.JPEG", "image/jpeg") is None
    assert extension_mismatch("unknown.xyz", "image/png") is None
    assert extension_mismatch("song.mp3", "audio/flac") is not None
