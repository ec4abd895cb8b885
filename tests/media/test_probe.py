"""probe_file against every real file in ../shared/data/media plus generated hostile files."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.media.images import clean_text
from app.media.probe import MediaInfo, probe_file
from tests.conftest import shared_data_path


def _manifest() -> dict[str, dict]:
    """The shared media files by name (skips the test, or fails it under CI, without the data)."""
    entries = json.loads(shared_data_path("media", "manifest.json").read_text())["files"]
    return {entry["file"]: entry for entry in entries}


KIND_OF_MIME = {"image": "photo", "video": "video", "audio": "audio"}

# Facts checked per good file: (width, height) for pictures, duration (s) for recordings.
EXPECTED_DIMENSIONS = {
    "jpeg_exif_gps_DSCN0010.jpg": (640, 480), "jpeg_exif_gps_DSCN0021.jpg": (640, 480),
    "jpeg_exif_orientation_6.jpg": (600, 450), "jpeg_exif_orientation_8.jpg": (450, 600),
    "heic_iphone_gps_IMG_5195.heic": (2566, 3313), "png_rgb_face_astronaut.png": (512, 512),
    "png_rgba_faces_32bit.png": (626, 1200), "broken_real_exif_corrupted_olympus.jpg": (3648, 2736),
    "broken_real_exif_invalid_image01088.jpg": (425, 120),
    "video_mot20_05_crowd_night.mp4": (826, 540), "video_raw_h264_elementary_MOT20-08.h264": (960, 366),
    "video_vp9_watershed.webm": (311, 259), "video_h264_aac_hamilton.mp4": (640, 360),
    "video_h264_aac_hamilton_remux.mkv": (640, 360),
}
EXPECTED_DURATION = {
    "audio_speech_librispeech_116-288045-0000.flac": 10.6, "audio_speech_librispeech_116-288045-0000.wav": 10.6,
    "audio_speech_librispeech_116-288045-0000.mp3": 10.6, "audio_speech_librispeech_116-288045-0000.ogg": 10.6,
    "audio_speech_librispeech_116-288045-0001.m4a": 8.6, "video_mot20_05_crowd_night.mp4": 5.1,
    "video_raw_h264_elementary_MOT20-08.h264": 127 / 25, "video_vp9_watershed.webm": 19.0,
    "video_h264_aac_hamilton.mp4": 10.0, "video_h264_aac_hamilton_remux.mkv": 10.0,
}
# manifest note GPS (degrees, minutes, seconds) converted to decimal degrees.
EXPECTED_GPS = {
    "jpeg_exif_gps_DSCN0010.jpg": (43 + 28 / 60 + 2.81 / 3600, 11 + 53 / 60 + 6.46 / 3600),
    "jpeg_exif_gps_DSCN0021.jpg": (43 + 28 / 60 + 1.49 / 3600, 11 + 53 / 60 + 4.34 / 3600),
    "heic_iphone_gps_IMG_5195.heic": (39 + 3 / 60, -(94 + 17 / 60)),
}
DAMAGE_WORDS = ("damaged", "truncated", "empty", "implausible", "really")


def _probe(name: str) -> MediaInfo:
    info = probe_file(shared_data_path("media", name), timeout=60)
    json.dumps(info.metadata, allow_nan=False)  # must be storable as JSON
    assert isinstance(info.warnings, list)
    return info


def test_manifest_covers_every_file() -> None:
    by_name = _manifest()
    folder = shared_data_path("media")
    on_disk = {p.name for p in folder.iterdir() if p.name != "manifest.json"}
    assert on_disk == set(by_name), "every shared media file must be listed (and tested) below"
    assert set(EXPECTED_DIMENSIONS) | set(EXPECTED_DURATION) | set(EXPECTED_GPS) <= set(by_name)


def _check_shared_file(name: str, entry: dict) -> None:
    info = _probe(name)
    assert info.kind == KIND_OF_MIME[entry["kind"].split("/")[0]]
    assert info.metadata.get("size", 0) == entry["bytes"]
    damage = [w for w in info.warnings if any(word in w for word in DAMAGE_WORDS)]
    if entry["broken"]:
        assert damage, f"{name} is broken on purpose but produced no warning"
    else:
        assert not damage, f"{name} is intact but was reported as damaged: {info.warnings}"
        assert info.mime == entry["kind"] or (entry["kind"], info.mime) == ("video/h264", "video/h264")
    if name in EXPECTED_DIMENSIONS and not entry["broken"]:
        assert (info.metadata["width"], info.metadata["height"]) == EXPECTED_DIMENSIONS[name]
    if name in EXPECTED_DURATION:
        assert info.metadata["duration"] == pytest.approx(EXPECTED_DURATION[name], abs=0.25)


def test_every_shared_file() -> None:
    """Every file of the manifest, each judged on its own; all failures are reported together."""
    failures = []
    for name, entry in sorted(_manifest().items()):
        try:
            _check_shared_file(name, entry)
        except AssertionError as failure:
            failures.append(f"{name}: {failure}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(EXPECTED_GPS))
def test_gps_is_extracted(name: str) -> None:
    gps = _probe(name).metadata["gps"]
    lat, lon = EXPECTED_GPS[name]
    # HEIC note gives whole minutes only: allow one minute of arc there.
    tolerance = 1 / 60 if name.endswith(".heic") else 1e-4
    assert gps["latitude"] == pytest.approx(lat, abs=tolerance)
    assert gps["longitude"] == pytest.approx(lon, abs=tolerance)
    assert gps["raw"], "the raw GPS tags are kept for the reviewer"


def test_camera_time_and_orientation() -> None:
    nikon = _probe("jpeg_exif_gps_DSCN0010.jpg").metadata
    assert nikon["camera_make"].upper().startswith("NIKON")
    assert "COOLPIX P6000" in nikon["camera_model"]
    assert nikon["datetime_original"] == "2008:11:01 21:15:07" or nikon["datetime"] == "2008:11:01 21:15:07"
    iphone = _probe("heic_iphone_gps_IMG_5195.heic").metadata
    assert iphone["camera_make"] == "Apple" and "iPhone 11 Pro Max" in iphone["camera_model"]
    assert iphone["captured_at"].startswith("2021-04-11T")
    six = _probe("jpeg_exif_orientation_6.jpg").metadata
    assert six["orientation"] == 6
    assert (six["display_width"], six["display_height"]) == (450, 600)
    assert _probe("jpeg_exif_orientation_8.jpg").metadata["orientation"] == 8


def test_png_named_jpg_is_a_photo_with_mismatch_warning() -> None:
    info = _probe("broken_png_bytes_named.jpg")
    assert (info.kind, info.mime) == ("photo", "image/png")
    assert any(".jpg" in w and "PNG" in w for w in info.warnings)


def test_zero_byte_file() -> None:
    info = _probe("broken_zero_bytes.jpg")
    assert info.metadata["size"] == 0
    assert any("empty" in w for w in info.warnings)


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("broken_bitflip_scan.jpg", "damaged"),       # Pillow decodes it silently; ffmpeg's decoder does not
        ("broken_truncated_30pct.heic", "truncated"),  # pillow-heif decodes it silently; box sizes give it away
        ("broken_truncated_50pct.flac", "truncated"),  # header says 10.6 s, data ends near 5 s
        ("broken_truncated_50pct_faststart.mp4", "truncated"),
        ("broken_truncated_50pct_moov_at_end.mp4", "damaged"),
    ],
)
def test_silent_corruption_is_detected(name: str, word: str) -> None:
    assert any(word in w for w in _probe(name).warnings)


def test_truncated_faststart_mp4_keeps_its_details() -> None:
    info = _probe("broken_truncated_50pct_faststart.mp4")
    assert info.kind == "video"
    assert (info.metadata["width"], info.metadata["height"]) == (1280, 720)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_not_decoded(tmp_path: Path) -> None:
    # 100000 x 100000 RGB declared; the compressed data is a few bytes of a zero stream.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 300_001)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    info = probe_file(path)
    assert info.kind == "photo"
    assert (info.metadata["width"], info.metadata["height"]) == (100_000, 100_000)
    assert any("100000×100000 are implausible" in w and "not decoded" in w for w in info.warnings)


def test_large_but_plausible_dimensions_beyond_pillow_limit(tmp_path: Path) -> None:
    # 20000 x 10000 = 200 MP: above Pillow's bomb limit, below "implausible".
    ihdr = struct.pack(">IIBBBBB", 20_000, 10_000, 8, 0, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                     + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 20_001)) + _png_chunk(b"IEND", b""))
    info = probe_file(path)
    assert info.metadata["width"] == 20_000
    assert any("not decoded" in w for w in info.warnings)


def test_bitflipped_png_is_detected(tmp_path: Path) -> None:
    data = bytearray(shared_data_path("media", "png_rgb_face_astronaut.png").read_bytes())
    data[len(data) // 2] ^= 0x55
    path = tmp_path / "flip.png"
    path.write_bytes(bytes(data))
    assert any("damaged" in w for w in probe_file(path).warnings)


def test_garbage_and_text_files(tmp_path: Path) -> None:
    garbage = tmp_path / "clip.mp4"
    garbage.write_bytes(bytes(range(256)) * 64)
    info = probe_file(garbage)
    assert info.kind == "video" and info.warnings  # named like a video; content unknown: warned
    text = tmp_path / "statement.txt"
    text.write_text("Témoignage — ស្ថានភាព 証言\n" * 10, encoding="utf-8")
    info = probe_file(text)
    assert (info.kind, info.mime, info.warnings) == ("document", "text/plain", [])


def test_playlist_disguised_as_video_opens_nothing(tmp_path: Path) -> None:
    # An HLS playlist would make an unrestricted ffprobe fetch other files or URLs.
    playlist = tmp_path / "movie.mp4"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n")
    info = probe_file(playlist)
    assert info.warnings
    assert "duration" not in info.metadata


def test_control_characters_are_stripped(tmp_path: Path) -> None:
    image = Image.new("RGB", (8, 8))
    exif = Image.Exif()
    exif[0x010F] = "Evil\x1b[31mCam"
    exif[0x0110] = "Model\x00\x07"
    path = tmp_path / "tags.jpg"
    image.save(path, exif=exif)
    meta = probe_file(path).metadata
    assert meta["camera_make"] == "Evil[31mCam"
    assert meta["camera_model"] == "Model"
    assert clean_text("a\u202eb\u2066c\x00d\r") == "abcd"  # bidi overrides and controls


def _ffmpeg() -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg is not installed")
    return ffmpeg


def test_video_location_rotation_and_device(tmp_path: Path) -> None:
    path = tmp_path / "phone.mp4"
    subprocess.run(
        [_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
         "-c:v", "libx264", "-metadata", "location=+39.0513-094.2888/",
         "-metadata", "creation_time=2024-03-01T10:00:00Z", "-metadata", "make=Apple",
         "-metadata", "model=iPhone 11 Pro Max", "-movflags", "use_metadata_tags", str(path)],
        check=True,
    )
    # Write a 90 degree display matrix into the track header, as phones do.
    data = bytearray(path.read_bytes())
    matrix_at = data.index(b"tkhd") + 4 + 40
    data[matrix_at:matrix_at + 36] = struct.pack(">9i", 0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))
    info = probe_file(path)
    assert info.warnings == []
    meta = info.metadata
    assert meta["gps"]["latitude"] == pytest.approx(39.0513)
    assert meta["gps"]["longitude"] == pytest.approx(-94.2888)
    assert meta["creation_time"] == "2024-03-01T10:00:00Z"
    assert (meta["device_make"], meta["device_model"]) == ("Apple", "iPhone 11 Pro Max")
    assert meta["rotation"] == 90  # clockwise to upright: ffprobe shows this matrix as -90
    assert meta["duration"] == pytest.approx(1.0, abs=0.1)


def test_zero_duration_recording_is_warned(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    # A valid WAV header whose data chunk is empty.
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
                     + b"data" + struct.pack("<I", 0))
    info = probe_file(path)
    assert info.kind == "audio"
    assert any("no length" in w or "damaged" in w for w in info.warnings)


def test_audio_only_mp4_is_audio(tmp_path: Path) -> None:
    path = tmp_path / "voice.mp4"
    subprocess.run(
        [_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac",
         str(path)],
        check=True,
    )
    info = probe_file(path)
    assert (info.kind, info.mime) == ("audio", "audio/mp4")
    assert info.warnings == []


@pytest.mark.parametrize("name", ["video_h264_aac_hamilton.mp4", "jpeg_exif_gps_DSCN0010.jpg"])
def test_exhausted_time_budget_is_a_warning_not_a_hang(name: str) -> None:
    info = probe_file(shared_data_path("media", name), timeout=0)
    assert info.kind in ("video", "photo")
    assert any("too long" in w or "not enough time" in w for w in info.warnings)


def test_truncated_wav_is_detected(tmp_path: Path) -> None:
    data = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.wav").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    info = probe_file(path)
    assert info.kind == "audio"
    assert any("truncated" in w for w in info.warnings)
