"""Key frames of a face-redacted video: the least covered frame of each slice (issue 11).

A clip is generated here (numpy frames through ffmpeg): a face-like patch on a light background,
and in the top strip each frame's number written as a 7-bit barcode, so the frame a JPEG came from
can be read back.  It is stored in a real vault (SQLCipher file) and redacted through
``derive.redact_item`` with reviewer boxes: on most frames a box covers nearly the whole picture
below the strip (the slice's middle frame always), on one frame per slice only the face is covered.
The key frames of the copy are taken through real ffmpeg and decoded back: they must be those
frames, with their true times, and an original (no box record) keeps the evenly spread middle frames.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from app.export.exporter import export
from app.export.keyframes import extract_key_frames, item_key_frames, least_masked_frames
from app.redact import derive
from app.redact.faces import Box
from app.redact.video import boxes_from_runs, compact_boxes
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

W, H, FPS, FRAMES, SLICES = 320, 240, 10, 90, 9
STRIP = 24  # top rows: the frame-number barcode, never covered
BIT = 20  # width of one barcode cell
FACE = Box(140, 90, 48, 60)
BIG = Box(0, STRIP, W, H - STRIP)  # everything below the barcode
# per slice, the frame (offset from the slice's start) where only the face is covered; never the middle (5)
CLEAR = [0, 9, 2, 7, 1, 8, 3, 6, 4]
Clip = tuple[Vault, int, int]  # the vault, the original video, its redacted copy


def _frame(n: int) -> np.ndarray:
    frame = np.full((H, W, 3), (170, 200, 230), dtype=np.uint8)
    frame[FACE.y:FACE.y + FACE.h, FACE.x:FACE.x + FACE.w] = (224, 172, 140)  # the "face"
    frame[FACE.y + 15:FACE.y + 22, FACE.x + 10:FACE.x + 18] = (40, 30, 30)  # eyes
    frame[FACE.y + 15:FACE.y + 22, FACE.x + 30:FACE.x + 38] = (40, 30, 30)
    frame[:STRIP, :8 * BIT] = 255
    for bit in range(7):
        if n >> bit & 1:
            frame[4:STRIP - 4, bit * BIT + 4:(bit + 1) * BIT - 4] = 0
    return frame


def _frame_number(jpeg: bytes) -> int:
    image = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float64)
    scale = image.shape[1] / W
    number = 0
    for bit in range(7):
        x0, x1 = int((bit * BIT + 7) * scale), int(((bit + 1) * BIT - 7) * scale)
        cell = image[int(8 * scale):int((STRIP - 8) * scale), x0:x1]
        if cell.mean() < 128:
            number |= 1 << bit
    return number


def _black_share(jpeg: bytes) -> float:
    """Share of the picture below the barcode strip that is black (covered)."""
    image = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    below = image[int(STRIP * image.shape[0] / H) + 2:]
    return float((below < 40).mean())


def _reviewed_boxes() -> list[list[Box]]:
    boxes: list[list[Box]] = []
    for n in range(FRAMES):
        start = n // 10 * 10
        boxes.append([FACE] if n == start + CLEAR[n // 10] else [BIG, FACE])
    return boxes


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clip]:
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("keyframes")
    video = folder / "deck.mp4"
    raw = b"".join(_frame(n).tobytes() for n in range(FRAMES))
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
                    "-r", str(FPS), "-i", "pipe:0", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
                    str(video)], input=raw, check=True)
    vault = Vault.create(folder / "k.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    try:
        case_id = vault.add_case("Deck")
        original = vault.ingest_file(video, case_id=case_id, kind="video", title="On deck").item_id
        copy = derive.redact_item(vault, original, faces=True, names=False, frames_boxes=_reviewed_boxes()).item_id
        yield vault, original, copy
    finally:
        vault.close()
        mp.undo()


def test_the_generated_clip_reads_back_its_frame_numbers(clip: Clip) -> None:
    vault, original, _ = clip
    with vault.open_original(original) as stream:
        frames, times = extract_key_frames(stream, frame_indices=[0, 37, 89], fps=FPS)
    assert [_frame_number(f) for f in frames] == [0, 37, 89]
    assert times == [0.0, 3.7, 8.9]


def test_redacted_copy_shows_the_least_covered_frame_of_each_slice(clip: Clip) -> None:
    vault, _, copy = clip
    record = vault.get_item(copy).derivation
    choice = least_masked_frames(record)
    expected = [i * 10 + offset for i, offset in enumerate(CLEAR)]
    assert choice is not None and choice.indices == expected
    assert all(m < 0.05 for m in choice.masked) and all(m > 0.89 for m in choice.middle_masked)

    frames, times = item_key_frames(vault, copy, 9.0)
    assert [_frame_number(f) for f in frames] == expected  # the copy's own frames, exactly those
    assert times == [n / FPS for n in expected]  # their true times, not the slice middles
    shares = [_black_share(f) for f in frames]
    face_share = FACE.w * FACE.h / (W * (H - STRIP))
    assert all(share < face_share + 0.03 for share in shares), shares
    assert all(share > face_share - 0.03 for share in shares), shares  # the face stays covered

    # what the dossier showed before: the middle frames, nearly all black
    with vault.open_original(copy) as stream:
        before, before_times = extract_key_frames(stream, duration=9.0)
    assert before_times == [0.5 + i for i in range(SLICES)]
    assert all(_black_share(f) > 0.95 for f in before)


def test_an_original_keeps_the_evenly_spread_middle_frames(clip: Clip) -> None:
    vault, original, _ = clip
    assert least_masked_frames(vault.get_item(original).derivation) is None
    frames, times = item_key_frames(vault, original, 9.0)
    assert times == [0.5 + i for i in range(SLICES)]
    assert [_frame_number(f) for f in frames] == [i * 10 + 5 for i in range(SLICES)]
    assert all(_black_share(f) < 0.02 for f in frames)


def test_ties_go_to_the_frame_nearest_the_middle_and_overlaps_count_once() -> None:
    small, other = Box(0, 0, 10, 10), Box(50, 50, 10, 10)
    frames: list[list[Box]] = [[BIG] for _ in range(20)]
    for n in (0, 3, 7, 9):  # slice 0 (frames 0-9, middle 5): 3 and 7 tie at distance 2, the earlier wins
        frames[n] = [small]
    frames[16] = [small, Box(5, 5, 10, 10)]  # slice 1 (10-19, middle 15): union 175 px
    frames[12] = [small, other]  # 200 px
    runs = compact_boxes(frames)
    record: dict[str, Any] = {"media": "video", "width": W, "height": H, "fps": "10", "frames": 20, "boxes": runs}
    choice = least_masked_frames(record, count=2)
    assert choice is not None and choice.indices == [3, 16]
    assert choice.masked[1] == pytest.approx(175 / (W * H))
    assert boxes_from_runs(runs, 20) == frames


def test_records_without_boxes_keep_the_even_spread() -> None:
    base = {"media": "video", "width": W, "height": H, "fps": "30000/1001", "frames": 20}
    assert least_masked_frames({**base, "boxes": []}) is None  # a voice-only copy
    assert least_masked_frames({**base, "boxes": [[5, 40, [[0, 0, 1, 1]]]]}) is None  # run past the end
    assert least_masked_frames({"media": "photo", "boxes": [[0, 0, 1, 1]]}) is None
    assert least_masked_frames(None) is None
    choice = least_masked_frames({**base, "boxes": [[0, 19, [[0, 0, 1, 1]]]]}, count=9)
    assert choice is not None and len(choice.indices) == 9


def test_the_redacted_dossier_captions_the_true_times(clip: Clip, tmp_path: Path) -> None:
    vault, original, _ = clip
    out = tmp_path / "un.pdf"
    export(vault, item_ids=[original], audience="un", level="redacted", out=out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    captions = re.findall(r"at (\d:\d\d:\d\d\.\d)", text[text.index("Key frames"):])
    expected = [f"0:00:0{(i * 10 + offset) // 10}.{(i * 10 + offset) % 10}" for i, offset in enumerate(CLEAR)]
    assert captions[:SLICES] == expected
    # the pictures on the page: the face covered, the rest of the scene visible
    subprocess.run(["pdfimages", "-all", str(out), str(tmp_path / "img")], check=True)
    pictures = sorted(tmp_path.glob("img-*"))
    assert len(pictures) == SLICES
    face_share = FACE.w * FACE.h / (W * (H - STRIP))
    assert all(_black_share(p.read_bytes()) < face_share + 0.05 for p in pictures)
