"""Soak test: the crash and fuzz loops of tests/reliability/, longer and with fresh random choices.

    .venv/bin/python -m benchmarks.soak --minutes 3 [--seed N] [--keep]

Alternates kill -9 runs (redaction, export, checkpoint, passphrase change, recovery set-up, ingest of real
media, viewing) with batches of hostile inputs (mutated photos, videos/audio, transcripts, bundles) until
the time is up, then prints how many runs and inputs each got, and every failure.  Baseline, measured in
the same run: the median uninterrupted duration of each operation; the ratio printed is the median time
to reopen and fully check the vault after a kill (open + verify + orphan checks) against it.
Needs ../shared/data/media.  Exit status 1 when any run or input failed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from app.errors import EvidenceVaultError  # noqa: E402
from app.vault import db  # noqa: E402
from tests.conftest import SHARED_DATA, TEST_PASSPHRASE  # noqa: E402
from tests.reliability import crashkit, hostile  # noqa: E402
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER, OTHER_PASSPHRASE  # noqa: E402

MEDIA = SHARED_DATA / "media"
PHOTOS = ("jpeg_exif_gps_DSCN0010.jpg", "jpeg_exif_orientation_6.jpg", "png_rgb_face_astronaut.png",
          "heic_iphone_gps_IMG_5195.heic", "png_rgba_faces_32bit.png")
AV = ("video_h264_aac_hamilton.mp4", "video_h264_aac_hamilton_remux.mkv", "video_vp9_watershed.webm",
      "audio_speech_librispeech_116-288045-0000.flac", "audio_speech_librispeech_116-288045-0001.m4a",
      "audio_speech_librispeech_116-288045-0000.mp3", "video_raw_h264_elementary_MOT20-08.h264")


class Soak:
    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.runs: Counter[str] = Counter()
        self.killed: Counter[str] = Counter()
        self.inputs: Counter[str] = Counter()
        self.failures: list[str] = []
        self.baseline: dict[str, float] = {}
        self.recheck: defaultdict[str, list[float]] = defaultdict(list)
        self.passphrases = [TEST_PASSPHRASE, OTHER_PASSPHRASE]
        self.exports = 0
        self._setup()

    # -- the vault the workers use --------------------------------------------------------------
    def _setup(self) -> None:
        from app.vault.vault import Vault

        (self.root / "vault").mkdir()
        (self.root / "exports").mkdir()
        self.path = self.root / "vault" / "soak.vault"
        with Vault.create(self.path, TEST_PASSPHRASE, actor=ACTOR) as v:
            case = v.add_case("Soak")
            self.photo = v.ingest_file(MEDIA / PHOTOS[0], case_id=case).item_id
            self.audio = v.ingest_file(MEDIA / AV[4], case_id=case).item_id
            bulk = self.root / "bulk.bin"
            bulk.write_bytes(os.urandom(4 << 20))
            v.ingest_file(bulk)

    def _args(self, op: str) -> list[str]:
        if op == "redact":
            return [str(self.photo), str(self.rng.randrange(1 << 30))]
        if op == "export":
            self.exports += 1
            out = self.root / "exports" / f"e{self.exports}{self.rng.choice(['', '.zip', '.pdf'])}"
            return [str(out), str(self.photo), str(self.audio)]
        if op == "checkpoint":
            return ["15"]
        if op == "passwd":
            return [self.passphrases[1]]
        if op == "ingest":
            return [str(MEDIA / name) for name in self.rng.sample(PHOTOS + AV, 4)]
        if op == "view":
            return [str(self.photo), "40"]
        return []

    def crash(self, op: str) -> None:
        worker_op = op
        args = [worker_op, str(self.path), self.passphrases[0], *self._args(op)]
        try:
            if op not in self.baseline:
                self.baseline[op] = crashkit.full_run(*args)
                self._after(op, count=False)
                return
            result = crashkit.kill_after(self.rng.uniform(0, self.baseline[op]), *args)
            self.runs[op] += 1
            self.killed[op] += result.killed_during_work
            self._after(op, count=True)
        except Exception:
            self.failures.append(f"crash {op}: {traceback.format_exc(limit=3)}")

    def _after(self, op: str, *, count: bool) -> None:
        began = time.monotonic()
        vault, used = crashkit.open_either(self.path, *self.passphrases)
        with vault:
            crashkit.check_whole(vault)
        if count:
            self.recheck[op].append(time.monotonic() - began)
        if used != self.passphrases[0]:
            self.passphrases.reverse()
        for leftover in (self.root / "exports").iterdir():
            if leftover.name.endswith(".partial"):
                assert leftover.name.startswith("."), leftover
                if leftover.is_dir():
                    import shutil

                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()

    # -- hostile inputs ----------------------------------------------------------------------------
    def _classify(self, parser: str, call: Callable[[], object], limit: float = 60.0) -> None:
        began = time.monotonic()
        try:
            call()
        except EvidenceVaultError:
            pass
        except Exception:
            self.failures.append(f"{parser}: {traceback.format_exc(limit=3)}")
        if time.monotonic() - began > limit:
            self.failures.append(f"{parser}: took {time.monotonic() - began:.1f}s")
        self.inputs[parser] += 1

    def fuzz(self, kind: str, batch: int = 8) -> None:
        from app.media import ffmpeg_io, subtitles
        from app.media.probe import probe_file
        from app.redact import photo

        scratch = self.root / "fuzz"
        scratch.mkdir(exist_ok=True)
        for _ in range(batch):
            how = self.rng.choice(hostile.MUTATIONS)
            a, b = self.rng.randrange(1 << 31), self.rng.randrange(1 << 16)
            if kind == "photo":
                name = self.rng.choice(PHOTOS)
                data = hostile.mutate((MEDIA / name).read_bytes(), how, a, b)
                path = scratch / name
                path.write_bytes(data)
                self._classify("photo probe_file", lambda p=path: probe_file(p))
                self._classify("photo load_oriented_rgb", lambda d=data: photo.load_oriented_rgb(io.BytesIO(d)))
            elif kind == "av":
                name = self.rng.choice(AV)
                data = hostile.mutate((MEDIA / name).read_bytes(), how, a, b)
                path = scratch / name
                path.write_bytes(data)
                self._classify("video/audio probe_file", lambda p=path: probe_file(p))
                if a % 4 == 0:
                    def frames(d: bytes = data) -> int:
                        with ffmpeg_io.FrameReader(io.BytesIO(d)) as reader:
                            return sum(1 for _, __ in zip(range(5), reader, strict=False))
                    self._classify("video ffmpeg_io FrameReader", frames)
            elif kind == "transcript":
                base = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v Speaker>hello\n\n"
                        "2\n00:00:03,000 --> 00:00:04,000\nx\n")
                data = hostile.mutate(base.encode() * (1 + b % 20), how, a, b)
                self._classify("transcripts", lambda d=data: subtitles.parse_transcript_bytes(d, name="t.srt"))
            elif kind == "bundle":
                self._bundle(a, b)

    def _bundle(self, a: int, b: int) -> None:
        from app.export.bundle_verify import extract_bundle, verify_bundle
        from tests.export.test_bundle_support import build_bundle, raw_zip, zip_members
        from tests.reliability.test_hostile_bundles import ATTACKS, _attack

        if not hasattr(self, "_members"):
            folder = self.root / "bundle-seed"
            folder.mkdir()
            self._members = zip_members(build_bundle(folder, as_zip=True).path)
        data = raw_zip(self._members)
        attack = self.rng.choice(ATTACKS)
        data = _attack(self._members, attack, a, b)
        with tempfile.TemporaryDirectory(dir=self.root) as scratch:
            path = Path(scratch) / "h.zip"
            path.write_bytes(data)
            self._classify("bundles verify_bundle", lambda: verify_bundle(path))
            self._classify("bundles extract_bundle",
                           lambda: extract_bundle(path, Path(scratch) / "out", max_total_bytes=64 << 20))
            outside = set(os.listdir(scratch)) - {"h.zip", "out"}
            if outside:
                self.failures.append(f"bundle {attack}: wrote outside the target: {outside}")

    # -- report ------------------------------------------------------------------------------------
    def report(self, minutes: float) -> int:
        print(f"\nSoak test, {minutes:.1f} minutes")
        print("\nkill -9 runs survived (killed mid-operation) | baseline s | recheck after kill s | ratio")
        for op in sorted(self.baseline):
            median = statistics.median(self.recheck[op]) if self.recheck[op] else float("nan")
            print(f"  {op:<16} {self.runs[op]:>4} ({self.killed[op]:>3}) | {self.baseline[op]:8.2f} |"
                  f" {median:8.2f} | {median / self.baseline[op]:5.2f}")
        print(f"  TOTAL kill -9 runs survived: {sum(self.runs.values())}")
        print("\nhostile inputs tried per parser")
        for parser in sorted(self.inputs):
            print(f"  {parser:<32} {self.inputs[parser]:>6}")
        print(f"  TOTAL inputs: {sum(self.inputs.values())}")
        print(f"\nfailures: {len(self.failures)}")
        for failure in self.failures[:20]:
            print("  " + failure.replace("\n", "\n  "))
        return 1 if self.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not MEDIA.is_dir():
        print(f"soak: {MEDIA} is missing (see ../shared/data/SOURCES.md)", file=sys.stderr)
        return 2
    db._unsafe_kdf_iter_for_tests = FAST_KDF_ITER  # workers use the same test knob (crash_worker.py)
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"seed {seed}")
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(prefix="ev-soak-"))
    os.chdir(PROJECT_ROOT)
    soak = Soak(root, rng)
    deadline = time.monotonic() + args.minutes * 60
    tasks = [("crash", op) for op in ("redact", "export", "checkpoint", "passwd", "recovery-enable", "ingest",
                                      "view")] + [("fuzz", kind) for kind in ("photo", "av", "transcript", "bundle")]
    while time.monotonic() < deadline:
        for task, what in tasks:
            if time.monotonic() >= deadline:
                break
            if task == "crash":
                soak.crash(what)
            else:
                soak.fuzz(what, batch=20 if what == "transcript" else 6)
    code = soak.report(args.minutes)
    if args.keep:
        print(f"scratch folder kept: {root}")
    else:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
