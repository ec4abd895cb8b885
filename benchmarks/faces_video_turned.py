"""Sideways faces in video: where the turned passes run, at what size, from what score -- replayed.

``app.redact.video_analysis`` runs two *turned* passes (the frame turned 90 and 270 degrees, shrunk to
``turned_size`` px and at most ``turned_scale``) on every detection frame. This tool chose those
settings by measurement:

1. collect: each clip of ``rotated_material.py`` (upright, turned 90, turned 270) is decoded once; on
   every detection frame the upright passes run as shipped and the turned passes at every candidate
   size (``SIZES``, longest side in px), each timed. Raw detections go to ``--cache`` (box coordinates
   and seconds only).
2. replay: for each setting (size, score threshold; on every detection frame or on key frames only)
   the same fusion and tracking code (``Analyser.add_detections``, ``Analyser.finish``) draws the boxes,
   scored as ``faces_video.score`` scores them (exposed frames by the face's own height), and the
   network time per frame is the sum of the passes' measured seconds (noisy on a shared machine:
   compare within one run).

The motion clips are made from one half of the photos each: settings are chosen on motion_A's clips
(with panzoom and hamilton) and reported on motion_B's.

    nice -n 10 .venv/bin/python benchmarks/faces_video_turned.py [--material /tmp/rot] [--cache DIR]
        [--only NAME ...] [--sizes 320 480 ...] [--thresholds 0.3 0.5 ...] [--scale 0.5] [--key-only]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

import faces_video as fv  # noqa: E402
from rotated_material import ANGLES, VIDEOS  # noqa: E402

from app.redact.centerface import CenterFaceModel  # noqa: E402
from app.redact.faces import run_pass  # noqa: E402
from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG, TURNS, Analyser, VideoDetectorConfig  # noqa: E402

SIZES = (320, 480, 640, 960, 1280)  # cached: longest side of the turned frame (capped at the main pass's scale)
OFF = dataclasses.replace(DEFAULT_VIDEO_CONFIG, turned_size=0)


@dataclasses.dataclass
class DetFrame:
    index: int
    key: bool
    upright: list[np.ndarray]
    upright_s: float
    turned: dict[int, list[np.ndarray]]  # size -> [90, 270]
    turned_s: dict[int, float]


@dataclasses.dataclass
class Clip:
    width: int
    height: int
    frame_count: int
    shot_starts: list[int]
    frames: list[DetFrame]
    decode_s: float


class _Collector(Analyser):
    """The shipped analyser's detection schedule, recording every pass instead of fusing."""

    def __init__(self, width: int, height: int, sizes: tuple[int, ...]) -> None:
        super().__init__(width, height, OFF, CenterFaceModel.shared())
        self.sizes = sizes
        self.record: list[DetFrame] = []

    def _detect(self, index: int, frame: np.ndarray, *, key: bool) -> None:
        cfg, longest = self.config, max(self.width, self.height)
        start = time.perf_counter()
        passes = [run_pass(self.model, frame, scale=self._base_scale, threshold=cfg.crowd_threshold)]
        if self._overview_scale < self._base_scale * 0.8:
            passes.append(run_pass(self.model, frame, scale=self._overview_scale, threshold=cfg.crowd_threshold))
        if key and self._key_scale > self._base_scale * 1.2:
            passes.append(run_pass(self.model, frame, scale=self._key_scale, threshold=cfg.crowd_threshold))
        upright_s = time.perf_counter() - start
        turned, turned_s = {}, {}
        for size in self.sizes:
            scale = min(self._base_scale, size / longest)
            start = time.perf_counter()
            turned[size] = [run_pass(self.model, frame, scale=scale, rotate=a, threshold=cfg.crowd_threshold)
                            for a in TURNS]
            turned_s[size] = time.perf_counter() - start
        self.record.append(DetFrame(index, key, passes, upright_s, turned, turned_s))
        self._prev_detected = index


def collect(video: Path, sizes: tuple[int, ...]) -> Clip:
    from app.media.ffmpeg_io import FrameReader, MediaInput, probe

    with MediaInput(video) as media_input:
        info = probe(media_input)
        collector = _Collector(info.width, info.height, sizes)
        start = time.perf_counter()
        with FrameReader(media_input, info=info) as reader:
            for index, frame in enumerate(reader):
                collector.push(index, frame)
        collector.finish()
        total = time.perf_counter() - start
    spent = sum(f.upright_s + sum(f.turned_s.values()) for f in collector.record)
    return Clip(info.width, info.height, collector.frame_count, collector.shot_starts, collector.record,
                total - spent)


def replay(clip: Clip, config: VideoDetectorConfig, key_only: bool = False) -> tuple[list[list[list[int]]], int, float]:
    """Boxes per frame, flagged frames and network seconds of ``config`` on the cached detections
    (``key_only``: the turned passes on key frames only, as first proposed)."""
    analyser = Analyser(clip.width, clip.height, config, CenterFaceModel.shared())
    longest = max(clip.width, clip.height)
    # the cached size the analyser's turned scale comes from
    size = next((k for k in SIZES if abs(min(analyser._base_scale, k / longest) - analyser._turned_scale) < 1e-6), 0)
    if config.turned_size and not size:
        raise SystemExit(f"no cached turned pass at scale {analyser._turned_scale:g}")
    seconds = 0.0
    for f in clip.frames:
        seconds += f.upright_s
        turned: list[np.ndarray] = []
        if size and (f.key or not key_only):
            # cached from the crowd threshold up; a higher score filter is exact (NMS is greedy by score)
            turned = [p[p[:, 4] >= config.turned_threshold] for p in f.turned[size]]
            seconds += f.turned_s[size]
        analyser.add_detections(f.index, f.upright, turned)
    analyser.shot_starts = clip.shot_starts
    analyser.frame_count = clip.frame_count
    frames, flags = analyser.finish()
    flagged = sum(g.last_frame - g.first_frame + 1 for g in flags)
    return [[b.to_list() for b in boxes] for boxes in frames], flagged, seconds


def clip_names(only: list[str] | None) -> list[str]:
    names = [n for base in VIDEOS for n in (base, *(f"{base}_r{a}" for a in ANGLES))]
    return [n for n in names if not only or n in only]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--material", type=Path, default=Path("/tmp/rot"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rot/turned_cache"))
    parser.add_argument("--only", nargs="*", help="clip names (panzoom, panzoom_r90, panzoom_r270, ...)")
    parser.add_argument("--sizes", nargs="*", type=int, default=[320, 480, 640, 960])
    parser.add_argument("--thresholds", nargs="*", type=float, default=[0.2, 0.3, 0.4, 0.5])
    parser.add_argument("--scale", type=float, default=1.0, help="cap of the turned passes' scale (turned_scale)")
    parser.add_argument("--key-only", action="store_true", help="the turned passes on key frames only")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    sizes = tuple(args.sizes)
    results: list[dict[str, Any]] = []
    for name in clip_names(args.only):
        video = args.material / "video" / f"{name}.mp4"
        truth = json.loads((args.material / "video" / f"{name}.truth.json").read_text())
        stored = args.cache / f"{name}.pkl"
        if stored.exists():
            clip: Clip = pickle.loads(stored.read_bytes())
        else:
            clip = collect(video, sizes)
            stored.write_bytes(pickle.dumps(clip))
        settings: list[tuple[str, VideoDetectorConfig]] = [("off", OFF)]
        for size in sizes:
            for threshold in args.thresholds:
                on = dataclasses.replace(DEFAULT_VIDEO_CONFIG, turned_size=size, turned_scale=args.scale,
                                         turned_threshold=threshold)
                settings.append((f"{size}px/{args.scale:g}x from {threshold:g}", on))
        settings.append(("shipped", DEFAULT_VIDEO_CONFIG))
        for label, config in settings:
            boxes, flagged, seconds = replay(clip, config, args.key_only)
            row = fv.score(boxes, truth)
            result = {"clip": name, "setting": label, "exposed24": row["exposed24"], "exposed48": row["exposed48"],
                      "coverage": row["coverage"], "masked": row["masked"], "masked_key": row["masked_key"],
                      "flagged": flagged, "s_per_frame": seconds / clip.frame_count,
                      "exposed_frames": row["exposed_frames"]}
            results.append(result)
            print(f"{name:14s} {label:22s} exp>=24 {row['exposed24']:4d} exp>=48 {row['exposed48']:4d} "
                  f"cover {row['coverage']:.4f} masked {row['masked']:6.1%} key {row['masked_key']:6.1%} "
                  f"flagged {flagged:4d} net s/frame {seconds / clip.frame_count:.4f}", flush=True)
    (args.cache / "results.json").write_text(json.dumps(results, default=float))


if __name__ == "__main__":
    main()
