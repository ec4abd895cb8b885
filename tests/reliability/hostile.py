"""Hostile inputs for the fuzz tests: mutations of real files and generated traps (decompression
bombs, absurd dimensions, zero-length media, wrong containers)."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import EvidenceVaultError

MUTATIONS = ("truncate", "bitflip", "bitflips", "zero_run", "splice", "header_only", "duplicate_tail", "garbage_tail")


def mutate(data: bytes, how: str, a: int, b: int) -> bytes:
    """Deterministic damage to ``data`` chosen by ``how`` and two numbers (from hypothesis or a PRNG)."""
    n = len(data)
    if n == 0:
        return data
    at = a % n
    if how == "truncate":
        return data[: at]
    if how == "bitflip":
        out = bytearray(data)
        out[at] ^= 1 << (b % 8)
        return bytes(out)
    if how == "bitflips":
        out = bytearray(data)
        step = max(1, n // (1 + b % 64))
        for i in range(at % step, n, step):
            out[i] ^= 0xFF & (b | 1)
        return bytes(out)
    if how == "zero_run":
        length = 1 + b % 4096
        return data[:at] + bytes(min(length, n - at)) + data[at + length:]
    if how == "splice":
        other = (at + 1 + b) % n
        length = 1 + b % 2048
        return data[:at] + data[other: other + length] + data[at + length:]
    if how == "header_only":
        return data[: 16 + b % 512]
    if how == "duplicate_tail":
        return data + data[at:]
    if how == "garbage_tail":
        return data[:at] + hashlib.sha256(bytes([b % 256])).digest() * (1 + b % 64)
    raise ValueError(how)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_size(width: int, height: int, *, colour: int = 0, pixels: bytes | None = None) -> bytes:
    """A PNG whose header claims width x height; the pixel data is a short zlib stream (or ``pixels``)."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    idat = zlib.compress(pixels if pixels is not None else b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_bomb(side: int) -> bytes:
    """A real decompression bomb: side x side greyscale zeros, deflated (a few hundred KiB)."""
    row = b"\x00" * (side + 1)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(side)]
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(parts))
            + png_chunk(b"IEND", b""))


def gif_with_size(width: int, height: int) -> bytes:
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00\x3b")


def jpeg_with_size(real_jpeg: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0/1/2 of the main image, found by walking the segments, so
    not the EXIF thumbnail's) is rewritten to claim another size."""
    data = bytearray(real_jpeg)
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2: at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[at + 5: at + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        at += 2 + length
    raise ValueError("no frame header found")


def generated_media(folder: Path) -> dict[str, Path]:
    """Small media files made with ffmpeg for the traps real files do not cover."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    recipes: dict[str, list[str]] = {
        "zero_frames.mp4": ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "0", "-c:v", "libx264"],
        "one_frame.mp4": ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-frames:v", "1", "-c:v", "libx264"],
        "silence_zero.wav": ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0"],
        "tiny.mkv": ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=5", "-t", "1", "-c:v", "libx264"],
    }
    for name, args in recipes.items():
        target = folder / name
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, str(target)], check=False,
                       capture_output=True, timeout=60)
        if target.exists():
            made[name] = target
    if "tiny.mkv" in made:  # wrong container: Matroska bytes under an MP4 name, and MP4 under .webm
        (folder / "really_mkv.mp4").write_bytes(made["tiny.mkv"].read_bytes())
        made["really_mkv.mp4"] = folder / "really_mkv.mp4"
    if "one_frame.mp4" in made:
        (folder / "really_mp4.webm").write_bytes(made["one_frame.mp4"].read_bytes())
        made["really_mp4.webm"] = folder / "really_mp4.webm"
    (folder / "text_named.mp4").write_bytes(b"this is not a video at all\n" * 50)
    made["text_named.mp4"] = folder / "text_named.mp4"
    return made


class Outcome:
    """Runs one parser call and classifies it: result, clear error, or a failure to report."""

    def __init__(self, limit_seconds: float) -> None:
        self.limit = limit_seconds
        self.results = 0
        self.clear_errors = 0

    def run(self, call: Callable[[], Any], what: str) -> Any:
        began = time.monotonic()
        try:
            value = call()
        except EvidenceVaultError as exc:
            assert exc.user_message().strip(), what
            self.clear_errors += 1
            value = exc
        else:
            self.results += 1
        elapsed = time.monotonic() - began
        assert elapsed < self.limit, f"{what}: took {elapsed:.1f}s (limit {self.limit}s)"
        return value


def tree_snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    snap = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root, name)
            st = p.lstat()
            snap[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return snap


def png_text_bomb(expanded: int = 64 << 20) -> bytes:
    """A small valid PNG with a zTXt chunk that inflates to ``expanded`` bytes (metadata bomb)."""
    packer = zlib.compressobj(9)
    block = b"A" * (1 << 20)
    text = b"".join(packer.compress(block) for _ in range(expanded >> 20)) + packer.flush()
    image = png_with_size(4, 4, pixels=b"\x00" * (4 * 4 + 4))
    return image[:-12] + png_chunk(b"zTXt", b"Comment\x00\x00" + text) + image[-12:]
