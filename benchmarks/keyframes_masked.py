"""How much of the dossier's key frames a face redaction covers: middle frames vs least covered frames.

For each shared video (../shared/data/video: the annotated synthetic_panzoom.mp4 and
real_short_hamilton_clip.mp4) the face detector's boxes (``app.redact.video.detect_video``, exactly
what ``redact_video`` applies and records without a review) are turned into the copy's box record
(``compact_boxes``), and the masked share of the key frames (union of the boxes / frame area) is
printed for the middle frame of each of the 9 slices (the rule before issue 11) and for the frames
``app.export.keyframes.least_masked_frames`` chooses.  Nothing is written.

    nice -n 10 .venv/bin/python benchmarks/keyframes_masked.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from app.export.keyframes import DEFAULT_FRAMES, least_masked_frames  # noqa: E402
from app.redact.video import compact_boxes, detect_video  # noqa: E402

DATA = Path(os.environ.get("EVIDENCE_VAULT_TEST_DATA", PROJECT.parent / "shared" / "data"))
VIDEOS = ["synthetic_panzoom.mp4", "real_short_hamilton_clip.mp4"]


def main() -> int:
    print(f"{'video':32s} {'frames':>6s} {'middle':>7s} {'least':>7s}  chosen frames (middle frames)")
    for name in VIDEOS:
        path = DATA / "video" / name
        if not path.exists():
            print(f"{name:32s} (not in {DATA / 'video'})")
            continue
        with path.open("rb") as stream:
            found = detect_video(stream)
        record = {"media": "video", "width": found.width, "height": found.height, "fps": found.params["fps"],
                  "frames": len(found.frames), "boxes": compact_boxes(found.frames)}
        choice = least_masked_frames(record, DEFAULT_FRAMES)
        if choice is None:
            print(f"{name:32s} {len(found.frames):6d} (no face boxes)")
            continue
        total = len(found.frames)
        middles = [min(max((2 * i + 1) * total // (2 * DEFAULT_FRAMES), i * total // DEFAULT_FRAMES),
                       (i + 1) * total // DEFAULT_FRAMES - 1) for i in range(DEFAULT_FRAMES)]
        before = sum(choice.middle_masked) / len(choice.middle_masked)
        after = sum(choice.masked) / len(choice.masked)
        print(f"{name:32s} {total:6d} {before:7.1%} {after:7.1%}  {choice.indices} ({middles})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
