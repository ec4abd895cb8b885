"""Re-score video tracking and covering without detecting again: detections cached, tracks redrawn.

``benchmarks/faces_video.py`` runs the whole redaction (detection, tracking, encoding). Changing how
tracks are drawn (``app.redact.face_tracks``, padding in ``app.redact.video_analysis``) does not
change the detections, so this tool detects once per video (the first pass of
``app.redact.video_analysis.Analyser``, cached in ``--cache``), then on every run only redraws the
boxes and scores them the same way: exposed frames, masked share of the frame (mean, on the
dossier's key frames, worst frame, frames more than half masked) and flagged frames, per shot too,
next to the share the annotated faces themselves take (what covering only them would mask).

    nice -n 10 .venv/bin/python benchmarks/faces_video_replay.py [--only NAME ...] [--cache DIR] [--shots]

The generated motion clips are made (and cached) as ``faces_video.py`` makes them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

import faces_video as fv  # noqa: E402

from app.redact.centerface import CenterFaceModel  # noqa: E402
from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG, Analyser  # noqa: E402


def _video_and_truth(name: str, cache: Path) -> tuple[Path, dict[str, Any]]:
    truth = cache / f"{name}.truth.json"
    if name == "panzoom":
        return fv.VIDEO, json.loads(fv.ANNOTATIONS.read_text())
    video = fv.HAMILTON if name == "hamilton" else cache / f"{name}.mp4"
    if not truth.exists():
        if name == "hamilton":
            annotations = fv.reference_faces(video)
        else:  # motion_A, motion_B, or motion_A_v2 (faces_video.py --variant 2)
            _, half, *variant = name.split("_")
            annotations = fv.make_motion_clip(half, video, int(variant[0][1:]) if variant else 0)
        truth.write_text(json.dumps(annotations))
    return video, json.loads(truth.read_text())


def _analyser(video: Path, cache: Path, name: str, overrides: dict[str, Any] | None = None) -> Analyser:
    """The analyser after its first pass over ``video``: detections from the cache when there."""
    from app.media.ffmpeg_io import FrameReader, MediaInput, probe

    stored = cache / f"{name}.detections.npz"
    model = CenterFaceModel.shared()
    if stored.exists():
        data = np.load(stored)
        width, height, frame_count = (int(v) for v in data["size"])
        analyser = Analyser(width, height, dataclasses.replace(DEFAULT_VIDEO_CONFIG, **(overrides or {})), model)
        analyser.det_frames = [int(f) for f in data["det_frames"]]
        analyser.dets = np.split(data["dets"], np.cumsum(data["counts"])[:-1])
        analyser.shot_starts = [int(f) for f in data["shot_starts"]]
        analyser.frame_count = frame_count
        return analyser
    with MediaInput(video) as media_input:
        info = probe(media_input)
        analyser = Analyser(info.width, info.height, DEFAULT_VIDEO_CONFIG, model)
        with FrameReader(media_input, info=info) as reader:
            for index, frame in enumerate(reader):
                analyser.push(index, frame)
    analyser.finish()  # the last frame's detection
    analyser.config = dataclasses.replace(analyser.config, **(overrides or {}))
    np.savez(stored, size=np.array([analyser.width, analyser.height, analyser.frame_count]),
             det_frames=np.array(analyser.det_frames), counts=np.array([len(d) for d in analyser.dets]),
             dets=np.concatenate(analyser.dets).reshape(-1, 6), shot_starts=np.array(analyser.shot_starts))
    return analyser


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["panzoom", "hamilton", "motion_A", "motion_B"])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/faces_video_cache"))
    parser.add_argument("--shots", action="store_true", help="also print the masked share per shot")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="tracking or padding settings to try (VideoDetectorConfig fields; detections stay cached)")
    args = parser.parse_args()
    overrides = {k: type(getattr(DEFAULT_VIDEO_CONFIG, k))(v) for k, v in (item.split("=", 1) for item in args.set)}
    args.cache.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        video, truth = _video_and_truth(name, args.cache)
        analyser = _analyser(video, args.cache, name, overrides)
        frames, flags = analyser.finish()
        boxes = [[b.to_list() for b in f] for f in frames]
        row = fv.score(boxes, truth)
        flagged = sum(f.last_frame - f.first_frame + 1 for f in flags)
        print(f"{name:9s} exp>=24 {row['exposed24']:3d} exp>=48 {row['exposed48']:3d} cover {row['coverage']:.4f} "
              f"masked {row['masked']:6.1%} key {row['masked_key']:6.1%} max {row['masked_max']:6.1%} "
              f">50% {row['mostly_masked']:3d}/{len(frames)} flagged {flagged:3d}  exposed at {row['exposed_frames']}")
        if args.shots:
            from face_scoring import union_mask

            ends = [*analyser.shot_starts[1:], len(frames)]
            for start, after in zip(analyser.shot_starts, ends, strict=True):
                share = [float(union_mask(f, analyser.width, analyser.height).mean()) for f in boxes[start:after]]
                # what covering the faces alone would mask: the floor under the masked share
                faces = [float(union_mask(truth["frames"][str(i)]["boxes"], analyser.width, analyser.height).mean())
                         for i in range(start, after)]
                print(f"    shot {start:4d}-{after - 1:4d}: masked mean {np.mean(share):6.1%} "
                      f"max {max(share):6.1%} >50% {sum(s > 0.5 for s in share)}; "
                      f"the faces themselves {np.mean(faces):6.1%} (max {max(faces):6.1%})")


if __name__ == "__main__":
    main()
