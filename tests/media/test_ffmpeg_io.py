"""The video pipeline against the real ffmpeg: probing, decoding from paths and file objects
(stdin pipe and in-memory file), the rotation convention checked on decoded pixels, encoding,
clean failure and clean-up."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from app.errors import Cancelled, CorruptMedia, UnsupportedMedia
from app.media.frame_reader import Frame, FrameReader, read_frames
from app.media.frame_writer import FrameWriter
from app.media.media_input import MediaInput
from app.media.probe import probe_file
from app.media.probe import probe_video as probe
from app.progress import CancelToken
from tests.conftest import shared_data_path


def _children() -> set[int]:
    """Live (or unreaped) child processes of this test process."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:  # that thread just ended
            continue
    return pids


def _make_clip(path: Path, *, seconds: float = 1.0, extra: tuple[str, ...] = (), size: str = "160x96") -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", *extra, str(path)],
        check=True,
    )
    return path


def _frames_digest(frames) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for frame in frames:
        digest.update(frame.tobytes())
        count += 1
    return count, digest.hexdigest()


def test_probe_real_video():
    info = probe(shared_data_path("media", "video_h264_aac_hamilton.mp4"))
    assert (info.width, info.height) == (640, 360)
    assert info.has_audio and info.audio_channels == 2
    assert abs(info.fps_float - 29.97) < 0.01
    assert info.frame_count == 275
    assert info.rotation == 0


def _marked_clip(path: Path) -> Path:
    """96x48 stored frames, black with a red 16x16 square in the stored top-left corner."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:size=96x48:rate=5:duration=1",
         "-vf", "drawbox=x=0:y=0:w=16:h=16:color=red:t=fill", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         str(path)],
        check=True,
    )
    return path


def _with_display_matrix(plain: Path, out: Path, matrix: tuple[int, ...]) -> Path:
    """A copy of ``plain`` whose track header carries ``matrix`` (a, b, u, c, d, v, x, y, w)."""
    data = bytearray(plain.read_bytes())
    at = data.index(b"tkhd") + 4 + 40  # version-0 tkhd: the matrix follows 40 bytes of fields
    data[at:at + 36] = struct.pack(">9i", *matrix)
    out.write_bytes(bytes(data))
    return out


def _red_corner(frame: Frame) -> str:
    """Which corner of a decoded frame holds the red square."""
    red = (frame[..., 0] > 150) & (frame[..., 1] < 100) & (frame[..., 2] < 100)
    ys, xs = np.nonzero(red)
    assert len(ys) > 100, "the red square was not found in the decoded frame"
    height, width = red.shape
    vertical = "top" if ys.mean() < height / 2 else "bottom"
    horizontal = "left" if xs.mean() < width / 2 else "right"
    return f"{vertical}-{horizontal}"


# (a, b, c, d) of the display matrix -> rotation (degrees clockwise to display upright) and
# where the stored top-left corner lands once displayed.  (0, 1, -1, 0) is what a phone held
# upright writes; ffprobe shows it as "rotation": -90.
ROTATIONS = {
    (0, 1, -1, 0): (90, "top-right"),
    (-1, 0, 0, -1): (180, "bottom-right"),
    (0, -1, 1, 0): (270, "bottom-left"),
}


@pytest.mark.parametrize("abcd", sorted(ROTATIONS))
def test_rotation_is_clockwise_to_upright_and_frames_come_upright(tmp_path: Path, abcd: tuple[int, ...]) -> None:
    a, b, c, d = abcd
    rotation, corner = ROTATIONS[abcd]
    plain = _marked_clip(tmp_path / "plain.mp4")
    rotated = _with_display_matrix(plain, tmp_path / "rotated.mp4",
                                   (a * 65536, b * 65536, 0, c * 65536, d * 65536, 0, 0, 0, 1 << 30))
    stored = next(iter(read_frames(plain)))
    assert stored.shape == (48, 96, 3) and _red_corner(stored) == "top-left"
    info = probe(rotated)
    assert info.rotation == rotation
    # ingest metadata and the pipeline share the one convention
    assert probe_file(rotated).metadata["rotation"] == rotation
    assert (info.width, info.height) == ((48, 96) if rotation in (90, 270) else (96, 48))
    frame = next(iter(read_frames(rotated)))
    assert frame.shape == (info.height, info.width, 3)
    assert _red_corner(frame) == corner
    # the decoded picture is the stored one turned `rotation` degrees clockwise (np.rot90 turns
    # counter-clockwise for positive k)
    expected = np.rot90(stored, k=-rotation // 90)
    assert np.abs(frame.astype(int) - expected.astype(int)).mean() < 4


def test_rotate_tag_written_by_ffmpeg_follows_the_same_convention(tmp_path: Path) -> None:
    """ffmpeg's own ``rotate`` metadata (turned into a display matrix by its muxer): whatever angle
    it records, the frames decode as the stored picture turned that many degrees clockwise."""
    plain = _marked_clip(tmp_path / "plain.mp4")
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(rotated)], check=True)
    info = probe(rotated)
    assert info.rotation in (90, 270)  # ffmpeg versions disagree on the sign of this tag
    assert (info.width, info.height) == (48, 96)
    stored = next(iter(read_frames(plain)))
    frame = next(iter(read_frames(rotated)))
    assert frame.shape == (96, 48, 3)
    assert _red_corner(frame) == {90: "top-right", 270: "bottom-left"}[info.rotation]
    assert np.abs(frame.astype(int) - np.rot90(stored, k=-info.rotation // 90).astype(int)).mean() < 4


def test_file_object_pipe_and_memfd_match_path(tmp_path, monkeypatch):
    """Fast-start MP4 goes through stdin, moov-at-end through memfd; frames are identical; no temp files."""
    empty_tmp = tmp_path / "tmpdir"
    empty_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(empty_tmp))
    moov_end = _make_clip(tmp_path / "end.mp4")
    faststart = _make_clip(tmp_path / "fast.mp4", extra=("-movflags", "+faststart"))
    expected = _frames_digest(read_frames(moov_end))
    assert expected[0] == 25
    for path, in_memory in ((moov_end, True), (faststart, False)):
        data = io.BytesIO(path.read_bytes())
        with MediaInput(data) as media_input:
            assert media_input.in_memory is in_memory
            assert probe(media_input).frame_count == 25
            assert _frames_digest(read_frames(media_input)) == expected
    mkv = tmp_path / "clip.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(moov_end), "-c", "copy", str(mkv)], check=True)
    with MediaInput(io.BytesIO(mkv.read_bytes())) as media_input:
        assert not media_input.in_memory
        # (Matroska shifts the video start by the audio priming: one more frame at a constant rate)
        assert _frames_digest(read_frames(media_input)) == _frames_digest(read_frames(mkv))
    assert list(empty_tmp.iterdir()) == []


@pytest.mark.parametrize("name", ["broken_truncated_50pct_faststart.mp4", "broken_truncated_50pct_moov_at_end.mp4",
                                  "broken_zero_bytes.jpg"])
def test_broken_video_is_corrupt_media(name):
    path = shared_data_path("media", name)
    with pytest.raises(CorruptMedia) as caught:
        for _ in read_frames(path):
            pass
    # ffmpeg's own text stays out of the message shown to people
    assert "ffmpeg" not in caught.value.user_message().lower()
    with pytest.raises(CorruptMedia), open(path, "rb") as stream:
        for _ in read_frames(stream):
            pass
    assert not _children()


def test_audio_only_file_is_unsupported():
    with pytest.raises(UnsupportedMedia):
        probe(shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac"))


def test_cancel_stops_decoder(tmp_path):
    clip = _make_clip(tmp_path / "clip.mp4", seconds=4)
    token = CancelToken()
    with pytest.raises(Cancelled), FrameReader(clip, cancel=token) as reader:
        for index, _ in enumerate(reader):
            if index == 3:
                token.cancel()
    assert reader._proc.poll() is not None
    assert not _children()


def test_writer_roundtrip_and_abort(tmp_path):
    frames = [np.full((64, 96, 3), value, dtype=np.uint8) for value in (0, 128, 255)]
    out = tmp_path / "out.mp4"
    with FrameWriter(out, width=96, height=64, fps=Fraction(25)) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    decoded = list(read_frames(out))
    assert len(decoded) == 3
    assert [abs(int(f.mean()) - v) <= 3 for f, v in zip(decoded, (0, 128, 255), strict=True)] == [True] * 3

    aborted = tmp_path / "aborted.mp4"
    writer = FrameWriter(aborted, width=96, height=64, fps=Fraction(25))
    writer.write(frames[0])
    writer.abort()
    assert not aborted.exists()
    assert not list(tmp_path.glob("*.partial"))
    sink = io.BytesIO(b"keep")
    sink.seek(4)
    writer = FrameWriter(sink, width=96, height=64, fps=Fraction(25))
    for frame in frames * 20:
        writer.write(frame)
    writer.abort()
    assert sink.getvalue() == b"keep"
    assert not _children()
