"""Targeted face redaction on a real annotated video: keep one face, cover the other, count frames.

Takes one shot of ../shared/data/video/synthetic_panzoom.mp4 (default: the couple, frames 75-149,
two annotated faces per frame), cut to a temporary clip, names the left face on one frame as kept,
redacts, decodes the output and counts per frame (using the exact annotated boxes):

- kept face shown: the middle of its annotated box is as in the original (mean difference < 12);
- other face covered: the middle of its annotated box is black (mean < 12).

    nice -n 10 .venv/bin/python benchmarks/kept_faces_video.py [--first 75 --last 149 --at 10] [--no-keep]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.media.ffmpeg_io import read_frames
from app.redact.faces import Box
from app.redact.kept_video import KeptRequest
from app.redact.video import redact_video

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"


def _middle(frame: np.ndarray, box: list[float]) -> np.ndarray:
    x, y, w, h = box
    x1, y1 = int(x + w * 0.25), int(y + h * 0.25)
    x2, y2 = int(x + w * 0.75), int(y + h * 0.75)
    return frame[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)].astype(np.int16)


def _follow(frames: dict[str, dict], first: int, last: int, at: int) -> tuple[list[list[float]], list[list[float]]]:
    """The kept (left on frame ``at``) and the other face's annotated box on every frame, by nearest centre."""
    start = sorted(frames[str(first + at)]["boxes"], key=lambda b: b[0])
    kept, other = [start[0]], [start[1]]
    for track in (kept, other):
        for step in (range(at - 1, -1, -1), range(at + 1, last - first + 1)):
            previous = track[0] if step.step < 0 else track[-1]
            for i in step:
                boxes = frames[str(first + i)]["boxes"]
                centre = np.array([previous[0] + previous[2] / 2, previous[1] + previous[3] / 2])
                best = min(boxes, key=lambda b: float(np.hypot(*(np.array([b[0] + b[2] / 2, b[1] + b[3] / 2])
                                                                  - centre))))
                if step.step < 0:
                    track.insert(0, best)
                else:
                    track.append(best)
                previous = best
    return kept, other


def extract_shot(clip: Path, first: int, last: int) -> None:
    """Frames ``first``..``last`` of the annotated panzoom video as a clip of their own."""
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(DATA / "synthetic_panzoom.mp4"), "-vf",
                    f"select='between(n,{first},{last})',setpts=N/25/TB", "-an", "-c:v", "libx264",
                    "-crf", "12", "-r", "25", str(clip)], check=True)


def kept_request(kept_boxes: list[list[float]], at: int) -> KeptRequest:
    """Keep the face annotated at frame ``at``, named with a box a little larger than the annotation."""
    x, y, w, h = kept_boxes[at]
    return KeptRequest(at, Box(int(x - w * 0.2), int(y - h * 0.2), int(w * 1.4), int(h * 1.4)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--first", type=int, default=75)
    parser.add_argument("--last", type=int, default=149)
    parser.add_argument("--at", type=int, default=10, help="frame of the clip where the kept face is named")
    parser.add_argument("--no-keep", action="store_true", help="the baseline: every face covered")
    args = parser.parse_args()
    annotations = json.loads((DATA / "annotations.json").read_text())["frames"]
    kept_boxes, other_boxes = _follow(annotations, args.first, args.last, args.at)
    with tempfile.TemporaryDirectory(prefix="kept_faces_") as tmp:
        clip, out = Path(tmp) / "shot.mp4", Path(tmp) / "out.mp4"
        extract_shot(clip, args.first, args.last)
        request = kept_request(kept_boxes, args.at)
        began = time.perf_counter()
        result = redact_video(clip, out, kept_faces=[] if args.no_keep else [request])
        seconds = time.perf_counter() - began
        original, redacted = list(read_frames(clip)), list(read_frames(out))
    n = len(redacted)
    shown = sum(1 for i in range(n) if np.abs(_middle(redacted[i], kept_boxes[i])
                                              - _middle(original[i], kept_boxes[i])).mean() < 12)
    covered = sum(1 for i in range(n) if _middle(redacted[i], other_boxes[i]).mean() < 12)
    black = sum(1 for frame in redacted if frame.mean() < 12)
    print(f"shot frames {args.first}-{args.last} ({n} frames), kept face named on clip frame {args.at}")
    print(f"kept face left visible (recorded): {sum(len(v) for v in result.kept_visible)}/{n}")
    print(f"kept face shown as in the original (measured): {shown}/{n}")
    print(f"other face covered (measured): {covered}/{n}")
    print(f"frames almost entirely black: {black}/{n}")
    print(f"review flags: {[f.to_dict() for f in result.flags]}")
    print(f"redaction time: {seconds:.1f} s")


if __name__ == "__main__":
    main()
