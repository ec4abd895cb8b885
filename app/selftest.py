"""`evidence-vault --self-test`: proves an installation works end to end, without any evidence.

Creates a temporary vault, stores a generated image and a generated video (made in memory;
nothing readable is written to disk), reads both back, runs the full verification, and exits 0
only when every step succeeded.  Usable inside the PyInstaller bundle.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SELF_TEST_ACTOR = "self-test"


def _generated_image() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (30, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 280, 200), outline=(250, 250, 250), width=4)
    draw.text((60, 100), "Evidence Vault self-test", fill=(255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _generated_video() -> bytes:
    from app.media.ffmpeg_runner import FFMPEG, run

    command = [
        FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "frag_keyframe+empty_moov", "-f", "mp4", "pipe:1",
    ]
    # the runner raises UnsupportedMedia (install ffmpeg) when it is missing, MediaTimeout when stuck
    result = run(command, time_limit=120)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError("ffmpeg could not generate the test video: " + result.stderr[-300:])
    return result.stdout


def run_self_test(report: Callable[[str], None] | None = None) -> int:
    say = report or (lambda line: print(line, file=sys.stderr))
    from app.vault.vault import Vault

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ev-selftest-") as folder:
        path = Path(folder) / "self-test.vault"
        passphrase = secrets.token_urlsafe(24)
        try:
            vault = Vault.create(path, passphrase, actor=SELF_TEST_ACTOR)
            try:
                case_id = vault.add_case("Self-test")
                stored_ids: list[int] = []
                for name, kind, data in (
                    ("self-test.png", "photo", _generated_image()),
                    ("self-test.mp4", "video", _generated_video()),
                ):
                    result = vault.ingest_stream(io.BytesIO(data), name=name, kind=kind, case_id=case_id)
                    with vault.open_original(result.item_id) as stream:
                        read_back = hashlib.sha256(stream.read()).hexdigest()
                    if read_back != hashlib.sha256(data).hexdigest() or read_back != result.sha256:
                        say(f"FAIL: {name} read back differently from what was stored")
                        return 1
                    stored_ids.append(result.item_id)
                    say(f"ok: stored and read back {name} ({len(data)} bytes)")
                from app.redact.faces import FaceDetector

                detector = FaceDetector()
                with vault.open_original(stored_ids[0]) as stream:
                    _, _, boxes = detector.detect_image_file(stream)
                say(f"ok: face model {detector.model_info().get('model', '?')} ran ({len(boxes)} face areas)")
                verification = vault.verify()
                if not verification.ok:
                    say("FAIL: verification: " + "; ".join(p.message for p in verification.problems))
                    return 1
                say(f"ok: verified {verification.items_checked} items, {verification.events_checked} events")
                say("ok: checkpoint " + vault.checkpoint().splitlines()[0])
            finally:
                vault.close()
            Vault.open(path, passphrase, actor=SELF_TEST_ACTOR).close()
            say("ok: reopened the vault with its passphrase")
        except Exception as error:  # a self-test reports every failure as a failure, whatever it is
            say(f"FAIL: {type(error).__name__}: {error}")
            return 1
    say(f"Self-test passed in {time.monotonic() - started:.1f} s.")
    return 0
