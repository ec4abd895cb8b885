"""Fuzzed and hostile inputs for every parser the app runs on untrusted files: photos (probe_file,
redact.photo.load_oriented_rgb / redact_image), video and audio (probe_file, ffmpeg_io.probe /
FrameReader), transcripts (media.subtitles).  Each input gives a result or a clear EvidenceVaultError,
never another exception, never a hang past the limit, never a file written outside where it should
(TMPDIR is an empty folder checked after every test; a sentinel folder must stay untouched).
Mutations are derived from the real files in ../shared/data/media plus generated traps."""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import EvidenceVaultError, MediaTooLarge
from app.media import ffmpeg_io, subtitles
from app.media.probe import MediaInfo, probe_file
from app.redact import photo
from tests.conftest import shared_data_path
from tests.reliability.figures import record
from tests.reliability.hostile import (
    MUTATIONS,
    Outcome,
    generated_media,
    gif_with_size,
    jpeg_with_size,
    mutate,
    png_bomb,
    png_text_bomb,
    png_with_size,
    tree_snapshot,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

IMAGES = ("jpeg_exif_gps_DSCN0010.jpg", "jpeg_exif_orientation_6.jpg", "png_rgb_face_astronaut.png",
          "heic_iphone_gps_IMG_5195.heic", "png_rgba_faces_32bit.png")
AV = ("video_h264_aac_hamilton.mp4", "video_h264_aac_hamilton_remux.mkv", "video_vp9_watershed.webm",
      "audio_speech_librispeech_116-288045-0000.flac", "audio_speech_librispeech_116-288045-0001.m4a",
      "audio_speech_librispeech_116-288045-0000.mp3", "video_raw_h264_elementary_MOT20-08.h264")
FUZZ = settings(deadline=None, derandomize=os.environ.get("EVIDENCE_VAULT_FUZZ_RANDOM") != "1", database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# benchmarks/soak.py raises the number of examples (and draws new ones) through these variables.
SCALE = float(os.environ.get("EVIDENCE_VAULT_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("EVIDENCE_VAULT_FUZZ_RANDOM") == "1"
PROBE_LIMIT = 60.0  # probe_file's own budget is 30 s; anything near this is a hang


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.sentinel = root / "sentinel"
        self.inputs = root / "inputs"
        for folder in (self.tmp, self.sentinel, self.inputs):
            folder.mkdir()
        (self.sentinel / "do-not-touch.txt").write_text("sentinel")
        self.snapshot = tree_snapshot(self.sentinel)
        self.counter = 0
        self.tmp_baseline: set[str] = set()

    def file(self, data: bytes, name: str) -> Path:
        self.counter += 1
        path = self.inputs / f"{self.counter:05d}-{name}"
        path.write_bytes(data)
        return path

    def check_clean(self) -> None:
        assert tree_snapshot(self.sentinel) == self.snapshot, "the sentinel folder was changed"
        left = set(os.listdir(self.tmp)) - self.tmp_baseline
        assert not left, f"files left in TMPDIR: {left}"
        stray = set(os.listdir(self.root)) - {"tmp", "sentinel", "inputs", "generated"}
        assert not stray, f"files written beside the inputs: {stray}"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path_factory.mktemp("hostile"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(workspace.tmp))
        patch.setattr(tempfile, "tempdir", str(workspace.tmp))
        yield workspace


@functools.cache
def seed_bytes(name: str) -> bytes:
    return shared_data_path("media", name).read_bytes()


@pytest.fixture(scope="module")
def detector(ws: Workspace):
    """One face detector for the module.  Anything its first inference leaves in TMPDIR is taken as the
    baseline here (test_face_detector_leaves_no_files_behind requires that to be nothing)."""
    import numpy as np

    from app.redact.faces import FaceDetector

    found = FaceDetector()
    found.detect(np.zeros((64, 64, 3), np.uint8))
    ws.tmp_baseline = set(os.listdir(ws.tmp))
    return found


def _check_probe(info: object, what: str) -> None:
    assert isinstance(info, MediaInfo), f"{what}: probe_file returned {info!r}"
    assert all(isinstance(w, str) and w for w in info.warnings)
    json.dumps(info.metadata, default=str)  # stored as JSON at ingest


BOMBS = {"png_100000x100000.png", "png_1x2147483647.png", "png_bomb_20000.png", "gif_65535x65535.gif",
         "jpeg_65500x65500.jpg"}


def _check_image(value: object, what: str) -> None:
    if isinstance(value, EvidenceVaultError):
        return
    assert isinstance(value, np.ndarray), f"{what}: {type(value)}"
    ok = value.dtype == np.uint8 and value.ndim == 3 and value.shape[2] == 3 and min(value.shape[:2]) > 0
    assert ok, f"{what}: array {value.dtype} {value.shape}"


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=max(1, int(examples * SCALE)))


# -- photos ------------------------------------------------------------------------------------

@fuzz(90)
@given(seed=st.sampled_from(IMAGES), how=st.sampled_from(MUTATIONS), a=st.integers(0, 2**31),
       b=st.integers(0, 2**16))
def test_fuzzed_photos(ws: Workspace, detector, seed: str, how: str, a: int,
                       b: int) -> None:
    data = mutate(seed_bytes(seed), how, a, b)
    path = ws.file(data, seed)
    outcome = Outcome(PROBE_LIMIT)
    _check_probe(outcome.run(lambda: probe_file(path), f"probe_file {seed} {how}"), seed)
    image = outcome.run(lambda: photo.load_oriented_rgb(io.BytesIO(data)), f"load {seed} {how}")
    _check_image(image, f"{seed} {how}")
    record("fuzz inputs: photo probe_file", 1)
    record("fuzz inputs: photo load_oriented_rgb", 1)
    if not isinstance(image, EvidenceVaultError) and image.shape[0] * image.shape[1] <= 2_000_000 and a % 4 == 0:
        out = io.BytesIO()
        outcome.run(lambda: photo.redact_image(io.BytesIO(data), out, [], detector=detector), "redact")
        record("fuzz inputs: photo redact_image", 1)
    path.unlink()
    ws.check_clean()


def test_bombs_and_absurd_dimensions(ws: Workspace) -> None:
    jpeg = seed_bytes("jpeg_exif_gps_DSCN0010.jpg")
    traps = {
        "png_100000x100000.png": png_with_size(100_000, 100_000),
        "png_1x2147483647.png": png_with_size(1, 2**31 - 1),
        "png_0x0.png": png_with_size(0, 0),
        "png_bomb_20000.png": png_bomb(20_000),  # 400 MP of zeros in ~400 KiB
        "gif_65535x65535.gif": gif_with_size(65_535, 65_535),
        "gif_0x0.gif": gif_with_size(0, 0),
        "jpeg_65500x65500.jpg": jpeg_with_size(jpeg, 65_500, 65_500),
        "jpeg_0x0.jpg": jpeg_with_size(jpeg, 0, 0),
        "jpeg_1x60000.jpg": jpeg_with_size(jpeg, 1, 60_000),
        "png_bytes_named.heic": png_with_size(8, 8),
        "png_ztxt_bomb.png": png_text_bomb(),  # 64 MiB of metadata text in ~64 KiB
    }
    for name in sorted(os.listdir(shared_data_path("media"))):
        if name.startswith("broken_"):
            traps[name] = shared_data_path("media", name).read_bytes()
    outcome = Outcome(PROBE_LIMIT)
    for name, data in traps.items():
        path = ws.file(data, name)
        _check_probe(outcome.run(lambda p=path: probe_file(p), name), name)
        value = outcome.run(lambda d=data: photo.load_oriented_rgb(io.BytesIO(d)), name)
        _check_image(value, name)
        if name in BOMBS:
            assert isinstance(value, MediaTooLarge), f"{name}: a decompression bomb must be refused, got {type(value)}"
        record("fuzz inputs: photo traps (bombs, absurd sizes, broken files)", 1)
        path.unlink()
    ws.check_clean()


# -- video and audio ---------------------------------------------------------------------------

@fuzz(18)
@given(seed=st.sampled_from(AV), how=st.sampled_from(MUTATIONS), a=st.integers(0, 2**31), b=st.integers(0, 2**16))
def test_fuzzed_video_and_audio(ws: Workspace, seed: str, how: str, a: int, b: int) -> None:
    data = mutate(seed_bytes(seed), how, a, b)
    path = ws.file(data, seed)
    outcome = Outcome(PROBE_LIMIT)
    _check_probe(outcome.run(lambda: probe_file(path), f"probe_file {seed} {how}"), seed)
    record("fuzz inputs: video/audio probe_file", 1)
    if a % 3 == 0:  # ffmpeg_io as the redaction pipeline uses it: probe, then decode a few frames
        def decode() -> int:
            with ffmpeg_io.FrameReader(io.BytesIO(data)) as reader:
                count = 0
                for frame in reader:
                    assert frame.ndim == 3 and frame.shape[2] == 3
                    count += 1
                    if count >= 5:
                        break
                return count
        outcome.run(decode, f"FrameReader {seed} {how}")
        record("fuzz inputs: video ffmpeg_io probe+FrameReader", 1)
    path.unlink()
    ws.check_clean()


def test_zero_duration_wrong_container_and_generated_media(ws: Workspace) -> None:
    made = generated_media(ws.root / "generated")
    assert "zero_frames.mp4" in made or "one_frame.mp4" in made, "ffmpeg could not generate test media"
    outcome = Outcome(PROBE_LIMIT)
    sources = dict(made)
    for name in ("broken_truncated_50pct_faststart.mp4", "broken_truncated_50pct_moov_at_end.mp4",
                 "broken_truncated_50pct.flac"):
        sources[name] = shared_data_path("media", name)
    for name, path in sorted(sources.items()):
        _check_probe(outcome.run(lambda p=path: probe_file(p), name), name)
        value = outcome.run(lambda p=path: ffmpeg_io.probe(io.BytesIO(p.read_bytes())), f"ffmpeg_io.probe {name}")
        if not isinstance(value, EvidenceVaultError):
            assert value.width > 0 and value.height > 0, f"{name}: {value!r}"

        def frames(p: Path = path) -> int:
            with ffmpeg_io.FrameReader(io.BytesIO(p.read_bytes())) as reader:
                return sum(1 for _ in reader)
        outcome.run(frames, f"FrameReader {name}")
        record("fuzz inputs: video/audio traps (zero duration, wrong container, truncated)", 1)
    ws.check_clean()


# -- transcripts -------------------------------------------------------------------------------

_TIME = st.builds(lambda h, m, s, ms, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}",
                  st.integers(0, 120), st.integers(0, 99), st.integers(0, 99), st.integers(0, 9999),
                  st.sampled_from([",", ".", ":", ""]))
_CUE = st.builds(lambda n, a, b, text, arrow: f"{n}\n{a}{arrow}{b}\n{text}\n",
                 st.integers(-5, 10**12), _TIME, _TIME, st.text(max_size=80),
                 st.sampled_from([" --> ", "-->", " -> ", " --> --> "]))
_DOCUMENT = st.one_of(
    st.lists(_CUE, max_size=8).map(lambda cues: "\n".join(cues)),
    st.lists(_CUE, max_size=8).map(lambda cues: "WEBVTT\n\n" + "\n".join(cues)),
    st.text(max_size=400),
)


@fuzz(400)
@given(document=_DOCUMENT, raw=st.one_of(st.none(), st.binary(max_size=300)),
       name=st.sampled_from(["t.srt", "t.vtt", "t.txt", ""]), bom=st.booleans())
def test_fuzzed_transcripts(ws: Workspace, document: str, raw: bytes | None, name: str, bom: bool) -> None:
    data = raw if raw is not None else (b"\xef\xbb\xbf" if bom else b"") + document.encode("utf-8", "surrogatepass")
    outcome = Outcome(10.0)
    value = outcome.run(lambda: subtitles.parse_transcript_bytes(data, name=name), "transcript")
    if not isinstance(value, EvidenceVaultError):
        for segment in value:
            assert isinstance(segment.text, str) and segment.text.strip()
            assert segment.start >= 0 and segment.end >= 0
            assert segment.start == segment.start and segment.end == segment.end  # no NaN
    record("fuzz inputs: transcripts (subtitles.parse_transcript_bytes)", 1)
    ws.check_clean()


def test_huge_and_binary_transcript_files(ws: Workspace) -> None:
    outcome = Outcome(30.0)
    cases = {
        "huge.srt": b"1\n00:00:01,000 --> 00:00:02,000\n" + b"A" * (subtitles.MAX_TRANSCRIPT_BYTES + 10),
        "nul.vtt": b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi\x00there\n",
        "latin1.srt": "1\n00:00:01,000 --> 00:00:02,000\ncaf\u00e9\n".encode("latin-1"),
        "million_cues.srt": b"".join(b"%d\n00:00:01,000 --> 00:00:02,000\nx\n\n" % i for i in range(200_000)),
    }
    for name, data in cases.items():
        path = ws.file(data, name)
        outcome.run(lambda p=path: subtitles.parse_transcript_file(p), name)
        record("fuzz inputs: transcripts (subtitles.parse_transcript_bytes)", 1)
        path.unlink()
    assert outcome.clear_errors >= 3
    ws.check_clean()


def test_face_detector_leaves_no_files_behind(tmp_path: Path) -> None:
    """onnxruntime 1.29+ writes telemetry (a device id, a queued-event database, a session file) under
    HOME and TMPDIR on first inference; the project pins an older version and opts out.  Guard it."""
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    code = ("import numpy as np\nfrom app.redact.faces import FaceDetector\n"
            "FaceDetector().detect(np.zeros((64, 64, 3), np.uint8))\n")
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache")}
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True, timeout=120)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [], written


def test_hostile_files_through_vault_ingest(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: mutated files and traps through Vault.ingest_file: each stored whole (with warnings)
    or refused with a clear error; the vault verifies afterwards and nothing is half-stored."""
    import hashlib
    import random

    from tests.reliability.crashkit import check_whole
    from tests.vault.vaultkit import new_vault, speed_up

    speed_up(monkeypatch)
    rng = random.Random(606)
    inputs: list[tuple[str, bytes]] = []
    for index in range(max(1, int(24 * SCALE))):
        seed = rng.choice(IMAGES + AV)
        how = rng.choice(MUTATIONS)
        inputs.append((f"{index}-{how}-{seed}", mutate(seed_bytes(seed), how, rng.randrange(1 << 31),
                                                       rng.randrange(1 << 16))))
    inputs += [("bomb.png", png_bomb(20_000)), ("absurd.gif", gif_with_size(65_535, 65_535)),
               ("empty.jpg", b""), ("png-named.mp4", png_with_size(8, 8)), ("nul\x01name.jpg", b"\xff\xd8\xff")]
    outcome = Outcome(PROBE_LIMIT)
    with new_vault(tmp_path) as vault:
        for name, data in inputs:
            path = ws.file(data, name.replace("/", "_"))
            value = outcome.run(lambda p=path: vault.ingest_file(p), name)
            if not isinstance(value, EvidenceVaultError):
                assert value.sha256 == hashlib.sha256(data).hexdigest() and value.size == len(data)
            record("fuzz inputs: vault ingest_file (end to end)", 1)
            path.unlink()
        check_whole(vault)
    assert outcome.results >= 10 and outcome.clear_errors >= 1  # most are stored with warnings; empty refused
    ws.check_clean()
