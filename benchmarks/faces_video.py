"""Video face redaction benchmark: Evidence Vault vs ``deface`` (defaults), measured in the same run.

On /work/shared/data/video/synthetic_panzoom.mp4 (375 frames, 1280x720, exact face boxes per frame):
- face-frames covered: a ground-truth face counts as covered on a frame when >= 90% of its area
  lies inside the union of the redaction boxes of that frame (``face_scoring.coverage``);
- frames exposing a face at least 24 px (and 48 px) tall;
- frames per second of the full redaction (decode, detect, redact, encode).

deface runs in its own virtualenv (never the project's .venv)::

    python3 -m venv /tmp/deface-venv && /tmp/deface-venv/bin/pip install deface opencv-python-headless

This file doubles as the driver run inside that venv (``--deface-driver``): it calls deface's own
``video_detect`` with its default settings and records the boxes deface blurs on every frame.

Usage::

    .venv/bin/python benchmarks/faces_video.py [--no-deface] [--frames-out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("EVIDENCE_VAULT_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VIDEO = DATA / "video" / "synthetic_panzoom.mp4"
ANNOTATIONS = DATA / "video" / "annotations.json"
HAMILTON = DATA / "video" / "real_short_hamilton_clip.mp4"
DEFACE_PYTHON = Path(os.environ.get("DEFACE_VENV", "/tmp/deface-venv")) / "bin" / "python"


def deface_driver(video: str, out_video: str, out_json: str) -> None:
    """Runs inside the deface venv: deface's video pipeline with defaults, boxes recorded."""
    import numpy as np
    from deface import deface as dd
    from deface.centerface import CenterFace

    threshold, mask_scale = 0.2, 1.3  # deface CLI defaults
    centerface = CenterFace(in_shape=None, backend="auto")
    frames: list[list[list[int]]] = []
    original = dd.anonymize_frame

    def recording_anonymize(dets, frame, mask_scale, *args, **kwargs):
        boxes = []
        for det in dets:
            x1, y1, x2, y2 = det[:4].astype(int)
            x1, y1, x2, y2 = dd.scale_bb(x1, y1, x2, y2, mask_scale)
            y1, y2 = max(0, y1), min(frame.shape[0] - 1, y2)
            x1, x2 = max(0, x1), min(frame.shape[1] - 1, x2)
            boxes.append([int(x1), int(y1), int(x2 - x1), int(y2 - y1)])
        frames.append(boxes)
        return original(dets, frame, mask_scale, *args, **kwargs)

    dd.anonymize_frame = recording_anonymize
    start = time.perf_counter()
    dd.video_detect(
        ipath=video, opath=out_video, centerface=centerface, threshold=threshold, enable_preview=False,
        cam=False, nested=False, replacewith="blur", mask_scale=mask_scale, ellipse=True, draw_scores=False,
        ffmpeg_config={"codec": "libx264"}, keep_audio=False,
    )
    seconds = time.perf_counter() - start
    _ = np
    with open(out_json, "w") as out:
        json.dump({"frames": frames, "seconds": seconds, "backend": centerface.backend}, out)


def score(frames_boxes: list[list[list[float]]], annotations: dict) -> dict:
    from benchmarks.face_scoring import coverage, union_mask

    width, height = annotations["width"], annotations["height"]
    total = covered = 0
    exposed24 = exposed48 = 0
    by_segment: dict[str, list[int]] = {}
    for index in range(annotations["n_frames"]):
        gt = annotations["frames"][str(index)]["boxes"]
        ours = frames_boxes[index] if index < len(frames_boxes) else []
        ok = coverage(gt, ours, width, height)
        total += len(ok)
        covered += sum(ok)
        if any(not c and box[3] >= 24 for box, c in zip(gt, ok, strict=True)):
            exposed24 += 1
        if any(not c and box[3] >= 48 for box, c in zip(gt, ok, strict=True)):
            exposed48 += 1
        for seg in annotations["segments"]:
            if seg["first_frame"] <= index <= seg["last_frame"]:
                stats = by_segment.setdefault(Path(seg["source"]).stem[:28], [0, 0])
                stats[0] += sum(ok)
                stats[1] += len(ok)
    masked = [float(union_mask(f, width, height).mean()) for f in frames_boxes]
    return {
        "face_frames": total,
        "covered": covered,
        "coverage": covered / total if total else float("nan"),
        "frames_exposing_ge24": exposed24,
        "frames_exposing_ge48": exposed48,
        "by_segment": {k: f"{v[0]}/{v[1]}" for k, v in by_segment.items()},
        "mean_masked_fraction": sum(masked) / len(masked) if masked else 0.0,
    }


def run_ours(video: Path, out_path: Path) -> tuple[list[list[list[int]]], float, dict]:
    from app.redact.video import redact_video

    start = time.perf_counter()
    with open(out_path, "wb") as sink:
        result = redact_video(video, sink, audio="keep")
    seconds = time.perf_counter() - start
    frames: list[list[list[int]]] = [[] for _ in range(result.frame_count)]
    for first, last, boxes in result.params["boxes"]:
        for index in range(first, last + 1):
            frames[index] = boxes
    return frames, seconds, result.params


def run_deface(video: Path, workdir: Path) -> tuple[list[list[list[int]]], float, str]:
    out_json = workdir / "deface.json"
    cmd = [str(DEFACE_PYTHON), str(Path(__file__).resolve()), "--deface-driver", str(video),
           str(workdir / "deface.mp4"), str(out_json)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(out_json.read_text())
    return data["frames"], data["seconds"], data["backend"]


def extract_frames(video: Path, frames: list[int], out_dir: Path, prefix: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for index in frames:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
                        "-frames:v", "1", str(out_dir / f"{prefix}_{index:04d}.png")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-deface", action="store_true", help="skip the deface baseline")
    parser.add_argument("--frames-out", type=Path, help="write sample output frames (PNG) here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    annotations = json.loads(ANNOTATIONS.read_text())
    n_frames = annotations["n_frames"]
    with tempfile.TemporaryDirectory(prefix="faces_video_") as tmp:
        workdir = Path(tmp)
        ours_frames, ours_s, params = run_ours(VIDEO, workdir / "ours.mp4")
        ours = score(ours_frames, annotations)
        ours["fps"] = n_frames / ours_s
        print(f"ours:   coverage {ours['coverage']:.2%} ({ours['covered']}/{ours['face_frames']}), "
              f"frames exposing a face >=24px {ours['frames_exposing_ge24']}, >=48px {ours['frames_exposing_ge48']}, "
              f"{ours['fps']:.1f} fps, masked {ours['mean_masked_fraction']:.1%} of the picture")
        print(f"        by segment {ours['by_segment']}")
        detection = params["detection"]
        print(f"        detection frames {detection['detection_frames']}, "
              f"enlarged passes {detection['enlarged_pass_frames']}, cuts {detection['scene_cuts']}")
        if args.frames_out:
            extract_frames(workdir / "ours.mp4", [10, 100, 190, 260, 340], args.frames_out, "panzoom")
        if not args.no_deface:
            if not DEFACE_PYTHON.exists():
                sys.exit(f"deface venv missing: {DEFACE_PYTHON} (see this file's docstring)")
            deface_frames, deface_s, backend = run_deface(VIDEO, workdir)
            base = score(deface_frames, annotations)
            base["fps"] = n_frames / deface_s
            print(f"deface: coverage {base['coverage']:.2%} ({base['covered']}/{base['face_frames']}), "
                  f"frames exposing a face >=24px {base['frames_exposing_ge24']}, "
                  f">=48px {base['frames_exposing_ge48']}, "
                  f"{base['fps']:.1f} fps ({backend} backend), masked {base['mean_masked_fraction']:.1%}")
            print(f"        by segment {base['by_segment']}")
            print(f"ratio ours/deface: coverage {ours['coverage'] / base['coverage']:.3f}, "
                  f"fps {ours['fps'] / base['fps']:.2f}")
        if HAMILTON.exists():
            start = time.perf_counter()
            from app.redact.video import redact_video

            out = workdir / "hamilton.mp4"
            with open(out, "wb") as sink:
                result = redact_video(HAMILTON, sink, audio="keep")
            seconds = time.perf_counter() - start
            boxed = sum(1 for first, last, _ in result.params["boxes"] for _ in range(first, last + 1))
            print(f"hamilton: {result.frame_count} frames, {result.frame_count / seconds:.1f} fps, "
                  f"{boxed} frames with boxes, cuts {result.params['detection']['scene_cuts']}")
            if args.frames_out:
                extract_frames(out, [0, 40, 90, 140, 200, 260], args.frames_out, "hamilton")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--deface-driver":
        deface_driver(*sys.argv[2:])
    else:
        main()
