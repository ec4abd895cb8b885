"""A kept face on a reviewed video (the desktop path) against the same face kept without a review.

Same shot and measures as benchmarks/kept_faces_video.py (../shared/data/video/synthetic_panzoom.mp4,
annotated faces). Three runs in the same process:

1. baseline: ``redact_video(kept_faces=[face])`` -- the command line's path, no reviewed boxes;
2. reviewed, unchanged: the detector's proposal (``detect_video``) handed back as the reviewed
   ``frames_boxes`` with the same kept face -- must leave the face visible on exactly the same frames;
3. reviewed, with a reviewer's box over the kept face on ``--cover`` of the frames run 1 shows it
   on -- those frames must be covered and no longer recorded as visible, every other face still covered.

The first run also loads the face model: compare times over several runs, not one.

    nice -n 10 .venv/bin/python benchmarks/kept_faces_reviewed.py [--first 75 --last 149 --at 10 --cover 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.media.ffmpeg_io import read_frames
from app.redact.faces import Box
from app.redact.video import detect_video, redact_video
from benchmarks.kept_faces_video import DATA, _follow, _middle, extract_shot, kept_request


def _count(clip: Path, out: Path, kept_boxes: list[list[float]],
           other_boxes: list[list[float]]) -> tuple[set[int], int]:
    original, redacted = list(read_frames(clip)), list(read_frames(out))
    shown = {i for i in range(len(redacted))
             if np.abs(_middle(redacted[i], kept_boxes[i]) - _middle(original[i], kept_boxes[i])).mean() < 12}
    covered = sum(1 for i in range(len(redacted)) if _middle(redacted[i], other_boxes[i]).mean() < 12)
    return shown, covered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--first", type=int, default=75)
    parser.add_argument("--last", type=int, default=149)
    parser.add_argument("--at", type=int, default=10, help="frame of the clip where the kept face is named")
    parser.add_argument("--cover", type=int, default=5, help="visible frames the reviewer covers the kept face on")
    args = parser.parse_args()
    annotations = json.loads((DATA / "annotations.json").read_text())["frames"]
    kept_boxes, other_boxes = _follow(annotations, args.first, args.last, args.at)
    with tempfile.TemporaryDirectory(prefix="kept_reviewed_") as tmp:
        clip, out = Path(tmp) / "shot.mp4", Path(tmp) / "out.mp4"
        extract_shot(clip, args.first, args.last)
        request = kept_request(kept_boxes, args.at)

        began = time.perf_counter()
        baseline = redact_video(clip, out, kept_faces=[request])
        base_seconds = time.perf_counter() - began
        base_shown, base_covered = _count(clip, out, kept_boxes, other_boxes)
        n = baseline.frame_count

        began = time.perf_counter()
        proposal = detect_video(clip).frames
        detect_seconds = time.perf_counter() - began
        began = time.perf_counter()
        same = redact_video(clip, out, frames_boxes=proposal, kept_faces=[request])
        same_seconds = time.perf_counter() - began
        same_shown, same_covered = _count(clip, out, kept_boxes, other_boxes)

        # frames where the baseline shows the kept face: the reviewer covers the first ones after ``at``
        covered_frames = [f for f in sorted(baseline.kept_visible[0]) if f > args.at][:args.cover]
        reviewed = [list(boxes) for boxes in proposal]
        for i in covered_frames:
            kx, ky, kw, kh = kept_boxes[i]
            reviewed[i].append(Box(int(kx - 2), int(ky - 2), int(kw + 4), int(kh + 4)))
        edited = redact_video(clip, out, frames_boxes=reviewed, kept_faces=[request])
        edited_shown, edited_covered = _count(clip, out, kept_boxes, other_boxes)

    base_visible, same_visible = set(baseline.kept_visible[0]), set(same.kept_visible[0])
    edited_visible = set(edited.kept_visible[0])
    print(f"shot frames {args.first}-{args.last} ({n} frames), kept face named on clip frame {args.at}")
    print(f"1 baseline (no review):     recorded visible {len(base_visible)}/{n}, shown {len(base_shown)}/{n}, "
          f"other covered {base_covered}/{n}, {base_seconds:.1f} s")
    print(f"2 reviewed, unchanged:      recorded visible {len(same_visible)}/{n}, shown {len(same_shown)}/{n}, "
          f"other covered {same_covered}/{n}, {same_seconds:.1f} s (+ review detection {detect_seconds:.1f} s); "
          f"same visible frames as baseline: {same_visible == base_visible}")
    print(f"3 reviewer covers {len(covered_frames)} frames: recorded visible {len(edited_visible)}/{n}, "
          f"shown {len(edited_shown)}/{n}, other covered {edited_covered}/{n}; covered frames shown: "
          f"{len(edited_shown & set(covered_frames))}, recorded visible: {len(edited_visible & set(covered_frames))}; "
          f"other frames recorded as in 1: {edited_visible == base_visible - set(covered_frames)}")
    print(f"time ratio reviewed/baseline: {same_seconds / base_seconds:.2f}")


if __name__ == "__main__":
    main()
