"""Video face redaction benchmark: exposed frames on every shared video and on generated motion clips.

Measured per video (``face_scoring.coverage``): a ground-truth face is covered on a frame when
>= 90% of its area lies inside the union of that frame's redaction boxes; a frame is *exposed*
when a face >= 24 px tall (also reported: >= 48 px) is not covered. Target: 0 exposed frames.
What that costs the evidence: the masked share of the frame area (union of the boxes), as a mean
over all frames, over the dossier's key frames (the least covered frame of each of ``KEY_FRAMES``
equal slices, as ``app.export.keyframes`` takes them from a redacted copy), on the worst frame, and the
number of frames more than half masked. ``faces_video_replay.py`` re-scores tracking and padding changes
on cached detections.

Videos:
- ../shared/data/video/synthetic_panzoom.mp4 (exact boxes per frame, 4 hard cuts);
- ../shared/data/video/real_short_hamilton_clip.mp4 has no ground truth: its reference faces are
  what the photo detector (all passes) finds with score >= 0.5 on EVERY frame -- a proxy, printed
  as such;
- motion clips this benchmark makes itself, one per cross-validation half of ../shared/data/faces
  (``face_scoring.split_halves``): real face crops from that half's photos composited over the
  face-free photos, moving with a pan, a zoom, fast motion with motion blur, an entry from the
  frame edge and two faces crossing, separated by hard cuts; exact boxes per frame. Settings are
  never tuned on half B's clip and half A's in the same run: both are printed side by side.
  ``--variant K`` (K >= 1) makes other clips of the same kinds that no setting was chosen on: the
  half's next four faces (the 4K-th to the 4K+3-th by hash), paths, sizes, speeds, blur and
  backgrounds drawn from a generator seeded with K. Variant 0 is the clip the settings were chosen on.

deface (defaults, its own video pipeline) runs in its own virtualenv, never the project's::

    python3 -m venv /tmp/deface-venv && /tmp/deface-venv/bin/pip install deface opencv-python-headless

Usage::

    nice -n 10 .venv/bin/python benchmarks/faces_video.py [--no-deface] [--only NAME ...] [--keep DIR]
        [--variant K] [--rotate 90 270] [--set FIELD=VALUE ...] [--before FIELD=VALUE ...]

``--rotate``: the same clips turned sideways in the pixels (``rotated_material.py``), faces counted by
their own height. ``--before turned_size=0``: each video is also redacted without the turned passes,
just before, in the same run (time per frame and masked share before/after on a shared machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EVIDENCE_VAULT_TEST_DATA", PROJECT.parent / "shared" / "data"))
VIDEO = DATA / "video" / "synthetic_panzoom.mp4"
ANNOTATIONS = DATA / "video" / "annotations.json"
HAMILTON = DATA / "video" / "real_short_hamilton_clip.mp4"
DEFACE_PYTHON = Path(os.environ.get("DEFACE_VENV", "/tmp/deface-venv")) / "bin" / "python"
W, H, FPS = 1280, 720, 25
SEGMENT_FRAMES = 40
KEY_FRAMES = 9  # app.export.keyframes.DEFAULT_FRAMES: the frames a dossier shows of a video
BACKGROUNDS = ["neg_skimage_coffee.jpg", "neg_skimage_hubble_deep_field.jpg", "neg_skimage_retina.jpg",
               "neg_dlib_dogs.jpg", "neg_skimage_moon.jpg"]


def deface_driver(video: str, out_video: str, out_json: str) -> None:
    """Runs inside the deface venv: deface's video pipeline with defaults, boxes recorded."""
    from deface import deface as dd
    from deface.centerface import CenterFace

    threshold, mask_scale = 0.2, 1.3  # deface CLI defaults
    centerface = CenterFace(in_shape=None, backend="auto")
    frames: list[list[list[int]]] = []
    original = dd.anonymize_frame

    def recording_anonymize(dets, frame, mask_scale, *args, **kwargs):  # type: ignore[no-untyped-def]
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
    with open(out_json, "w") as out:
        json.dump({"frames": frames, "seconds": seconds, "backend": centerface.backend}, out)


# ---------------------------------------------------------------------------------------------
# Generated motion clips


def _faces_of_half(half: str, variant: int = 0) -> list[tuple[np.ndarray, list[float]]]:
    """Face crops (with context) and the face box inside each crop, from one half's photos: the
    ``variant``-th four of its sharp, unoccluded faces >= 60 px (ordered by a hash of name and place)."""
    from face_scoring import split_halves
    from PIL import Image

    folder = DATA / "faces"
    images = {i["file"]: i for i in json.loads((folder / "annotations.json").read_text())["images"]}
    names = split_halves(sorted(images))[0 if half == "A" else 1]
    candidates = []
    for name in names:
        image = images[name]
        for (x, y, w, h), ignored, attrs in zip(image["faces"], image["ignore"], image["attrs"], strict=True):
            if not ignored and h >= 60 and attrs["occlusion"] == 0 and attrs["blur"] < 2:
                candidates.append((hashlib.sha256(f"{name}{x},{y}".encode()).hexdigest(), name, x, y, w, h))
    crops = []
    chosen = sorted(candidates)[4 * variant:4 * variant + 4]
    if len(chosen) < 4:
        raise SystemExit(f"half {half} has too few sharp faces for variant {variant}")
    for _, name, x, y, w, h in chosen:
        rgb = np.asarray(Image.open(folder / name).convert("RGB"))
        mx, my = 0.5 * w, 0.6 * h
        x1, y1 = int(max(0, x - mx)), int(max(0, y - my))
        x2, y2 = int(min(rgb.shape[1], x + w + mx)), int(min(rgb.shape[0], y + h + my))
        crops.append((rgb[y1:y2, x1:x2].copy(), [x - x1, y - y1, w, h]))
    return crops


def _paste(frame: np.ndarray, crop: np.ndarray, face: list[float], cx: float, cy: float, face_h: float,
           weight: float = 1.0) -> list[float]:
    """Composite ``crop`` so its face is ``face_h`` tall centred at (cx, cy); return the face box."""
    from PIL import Image

    scale = face_h / face[3]
    cw, ch = max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale))
    resized = np.asarray(Image.fromarray(crop).resize((cw, ch), Image.Resampling.BILINEAR)).astype(np.float32)
    fx, fy = (face[0] + face[2] / 2) * scale, (face[1] + face[3] / 2) * scale
    x0, y0 = round(cx - fx), round(cy - fy)
    yy, xx = np.mgrid[0:ch, 0:cw]
    alpha = np.clip(1.6 - 1.6 * np.hypot((xx - cw / 2) / (cw / 2), (yy - ch / 2) / (ch / 2)), 0, 1) * weight
    fx1, fy1, fx2, fy2 = max(0, x0), max(0, y0), min(W, x0 + cw), min(H, y0 + ch)
    if fx2 > fx1 and fy2 > fy1:
        region = (slice(fy1, fy2), slice(fx1, fx2))
        sub = (slice(fy1 - y0, fy2 - y0), slice(fx1 - x0, fx2 - x0))
        a = alpha[sub][:, :, None]
        frame[region] = frame[region] * (1 - a) + resized[sub] * a
    bx, by = x0 + face[0] * scale, y0 + face[1] * scale
    return [bx, by, face[2] * scale, face[3] * scale]


def _clip_box(box: list[float]) -> list[float] | None:
    x1, y1 = max(0.0, box[0]), max(0.0, box[1])
    x2, y2 = min(float(W), box[0] + box[2]), min(float(H), box[1] + box[3])
    return [x1, y1, x2 - x1, y2 - y1] if x2 > x1 and y2 > y1 else None


def make_motion_clip(half: str, out: Path, variant: int = 0) -> dict[str, Any]:
    """Write the half's motion clip to ``out``; return annotations in the shared video format.
    ``variant`` 0 is the clip settings were chosen on; others draw new faces and motions."""
    from PIL import Image

    crops = _faces_of_half(half, variant)
    order = list(BACKGROUNDS)
    rng = np.random.default_rng(variant)
    if variant:
        rng.shuffle(order)
    backgrounds = [np.asarray(Image.open(DATA / "faces" / n).convert("RGB").resize((W, H))).astype(np.float32)
                   for n in order]
    n = SEGMENT_FRAMES
    # variant 0: the values below as first chosen; other variants draw each from a range around them
    pan_y, pan_h = (360, 90) if not variant else (rng.uniform(150, 570), rng.uniform(40, 140))
    zoom_x, zoom_y, zoom_top = (640, 380, 300) if not variant else (
        rng.uniform(300, 980), rng.uniform(250, 470), rng.uniform(200, 420))
    fast_fx, fast_fy, fast_h, blur_steps = (9.0, 6.3, 70, 5) if not variant else (
        rng.uniform(6, 12), rng.uniform(4, 9), rng.uniform(40, 110), int(rng.integers(3, 8)))
    enter_from_right = True if not variant else bool(rng.integers(0, 2))
    cross_ya, cross_yb = (330, 390) if not variant else (rng.uniform(200, 400), rng.uniform(300, 520))

    def ease(k: int) -> float:
        return k / (n - 1)

    # each: (name, background, [(crop index, position(t) -> (cx, cy, face height), motion blur)])
    def pan(t: float) -> tuple[float, float, float]:
        return -40 + t * (W + 80), pan_y, pan_h

    def zoom(t: float) -> tuple[float, float, float]:
        return zoom_x, zoom_y, 24 + zoom_top * (1 - abs(2 * t - 1))

    def fast(t: float) -> tuple[float, float, float]:
        return 640 + 520 * np.sin(t * fast_fx), 360 + 260 * np.sin(t * fast_fy + 1), fast_h

    def enter(t: float) -> tuple[float, float, float]:
        x = W + 60 - t * 500 if enter_from_right else -60 + t * 500
        return x, 200 + 260 * t * t, 120 + 80 * t

    def cross_a(t: float) -> tuple[float, float, float]:
        return 200 + t * 880, cross_ya, 80

    def cross_b(t: float) -> tuple[float, float, float]:
        return 1080 - t * 880, cross_yb, 100

    segments = [("pan", 0, [(0, pan, 0)]), ("zoom", 1, [(1, zoom, 0)]),
                ("fast_blur", 2, [(2, fast, blur_steps)]),
                ("enter_edge", 3, [(3, enter, 0)]), ("cross", 4, [(0, cross_a, 0), (3, cross_b, 0)])]
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{W}x{H}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "fast", "-crf", "21",
           "-pix_fmt", "yuv420p", str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    frames: dict[str, dict[str, list[list[float]]]] = {}
    seg_info = []
    index = 0
    for name, bg, actors in segments:
        seg_info.append({"source": f"generated {name} (half {half}, variant {variant})", "first_frame": index,
                         "last_frame": index + n - 1})
        for k in range(n):
            frame = backgrounds[bg].copy()
            boxes = []
            for crop_index, path, blur in actors:
                crop, face = crops[crop_index % len(crops)]
                t = ease(k)
                if blur:  # motion blur: the face at several instants of the frame's exposure
                    dt = 0.5 / (n - 1)
                    layer = frame.copy()
                    for j in range(blur):
                        cx, cy, fh = path(t - dt / 2 + dt * j / (blur - 1))
                        piece = frame.copy()
                        _paste(piece, crop, face, cx, cy, fh)
                        layer += (piece - frame) / blur
                    frame = layer
                    cx, cy, fh = path(t)
                    box = _paste(frame.copy(), crop, face, cx, cy, fh)
                else:
                    box = _paste(frame, crop, face, *path(t))
                visible = _clip_box(box)
                if visible is not None:
                    boxes.append(visible)
            proc.stdin.write(np.clip(frame, 0, 255).astype(np.uint8).tobytes())
            frames[str(index)] = {"boxes": boxes}
            index += 1
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("ffmpeg failed to encode the motion clip")
    return {"width": W, "height": H, "fps": FPS, "n_frames": index, "segments": seg_info, "frames": frames}


# ---------------------------------------------------------------------------------------------
# Scoring and running


def score(frames_boxes: list[list[list[int]]], annotations: dict[str, Any]) -> dict[str, Any]:
    from face_scoring import coverage, union_mask

    width, height = annotations["width"], annotations["height"]
    # A face's size is its own height, brow to chin: on a clip turned sideways (rotated_material.py)
    # that is its box's width, so the same faces count as >= 24 px as on the upright clip.
    side = 2 if annotations.get("rotation", 0) in (90, 270) else 3
    total = covered = exposed24 = exposed48 = 0
    exposed_frames: list[int] = []
    for index in range(annotations["n_frames"]):
        gt = annotations["frames"][str(index)]["boxes"]
        ours = frames_boxes[index] if index < len(frames_boxes) else []
        ok = coverage(gt, ours, width, height)
        total += len(ok)
        covered += sum(ok)
        if any(not c and box[side] >= 24 for box, c in zip(gt, ok, strict=True)):
            exposed24 += 1
            exposed_frames.append(index)
        if any(not c and box[side] >= 48 for box, c in zip(gt, ok, strict=True)):
            exposed48 += 1
    masked = [float(union_mask(f, width, height).mean()) for f in frames_boxes]
    # the dossier's contact sheet: the least covered frame of each of KEY_FRAMES equal slices
    # (app.export.keyframes.least_masked_frames)
    slices = [masked[k * len(masked) // KEY_FRAMES:(k + 1) * len(masked) // KEY_FRAMES] for k in range(KEY_FRAMES)]
    key = [min(part) for part in slices if part] or [0.0]
    return {"face_frames": total, "covered": covered, "coverage": covered / total if total else float("nan"),
            "exposed24": exposed24, "exposed48": exposed48, "exposed_frames": exposed_frames,
            "masked": sum(masked) / len(masked) if masked else 0.0,
            "masked_key": sum(key) / len(key), "masked_max": max(masked, default=0.0),
            "mostly_masked": sum(1 for m in masked if m > 0.5)}


def run_ours(video: Path, out_path: Path, config: Any = None) -> tuple[list[list[list[int]]], float, Any]:
    from app.redact.video import boxes_from_runs, redact_video
    from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG

    start = time.perf_counter()
    with open(out_path, "wb") as sink:
        result = redact_video(video, sink, audio="mute", config=config or DEFAULT_VIDEO_CONFIG)
    seconds = time.perf_counter() - start
    frames = [[b.to_list() for b in boxes] for boxes in boxes_from_runs(result.params["boxes"], result.frame_count)]
    return frames, seconds, result


def run_deface(video: Path, workdir: Path) -> tuple[list[list[list[int]]], float]:
    out_json = workdir / "deface.json"
    cmd = [str(DEFACE_PYTHON), str(Path(__file__).resolve()), "--deface-driver", str(video),
           str(workdir / "deface.mp4"), str(out_json)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(out_json.read_text())
    return data["frames"], data["seconds"]


def reference_faces(video: Path) -> dict[str, Any]:
    """Proxy ground truth for a clip without annotations: sure photo-detector faces on every frame."""
    from app.media.ffmpeg_io import read_frames
    from app.redact.face_fusion import fuse
    from app.redact.faces import FaceDetector

    detector = FaceDetector()
    frames: dict[str, dict[str, list[list[int]]]] = {}
    width = height = 0
    for index, rgb in enumerate(read_frames(video)):
        height, width = rgb.shape[:2]
        dets, ids = detector.raw_detections(rgb)
        cfg = detector.config
        fused = fuse(dets, ids, threshold=cfg.threshold, low_threshold=cfg.low_threshold,
                     min_support=cfg.min_support, cluster_iou=cfg.cluster_iou)
        frames[str(index)] = {"boxes": [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
                                        for x1, y1, x2, y2, s in fused if s >= 0.5]}
    return {"width": width, "height": height, "n_frames": len(frames), "frames": frames}


def _config(settings: list[str]) -> Any:
    """The shipped video settings with ``FIELD=VALUE`` changes."""
    from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG

    changes = {k: type(getattr(DEFAULT_VIDEO_CONFIG, k))(v) for k, v in (item.split("=", 1) for item in settings)}
    return dataclasses.replace(DEFAULT_VIDEO_CONFIG, **changes)


def _turned_jobs(jobs: list[tuple[str, Path, dict[str, Any], str]], angles: list[int],
                 material: Path) -> list[tuple[str, Path, dict[str, Any], str]]:
    """Each job's clip turned clockwise by each of ``angles`` (rotated_material.py's clips, made there when
    missing), with its boxes turned the same way (scored by the faces' own height)."""
    from rotated_material import turn_video, turn_video_annotations

    folder = material / "video"
    folder.mkdir(parents=True, exist_ok=True)
    turned = []
    for (name, video, boxes, truth), angle in itertools.product(jobs, angles):
        clip = folder / f"{name}_r{angle}.mp4"
        if not clip.exists():
            turn_video(video, clip, angle)
        turned.append((f"{name}_r{angle}", clip, turn_video_annotations(boxes, angle), truth))
    return turned


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--no-deface", action="store_true", help="skip the deface baseline")
    parser.add_argument("--only", nargs="*", help="panzoom, hamilton, motion_A, motion_B")
    parser.add_argument("--keep", type=Path, help="keep generated clips and outputs in this folder")
    parser.add_argument("--variant", type=int, default=0,
                        help="motion clips no setting was chosen on: other faces and motions (K >= 1)")
    parser.add_argument("--rotate", nargs="*", type=int, default=[], metavar="ANGLE",
                        help="the clips turned clockwise by 90 and/or 270 degrees (rotated_material.py makes them)")
    parser.add_argument("--material", type=Path, default=Path("/tmp/rot"), help="where rotated_material.py wrote")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="VideoDetectorConfig fields")
    parser.add_argument("--before", nargs="*", default=None, metavar="FIELD=VALUE",
                        help="also run these settings on each video just before ours (same run: before/after)")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    configs = {"": _config(args.set)}
    if args.before is not None:
        configs = {":before": _config(args.before), **configs}
    wanted = set(args.only or ["panzoom", "hamilton", "motion_A", "motion_B"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="faces_video_") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        jobs: list[tuple[str, Path, dict[str, Any], str]] = []
        if "panzoom" in wanted:
            jobs.append(("panzoom", VIDEO, json.loads(ANNOTATIONS.read_text()), "exact boxes"))
        for half in ("A", "B"):
            if f"motion_{half}" in wanted:
                label = f"motion_{half}" + (f"_v{args.variant}" if args.variant else "")
                clip = workdir / f"{label}.mp4"
                jobs.append((label, clip, make_motion_clip(half, clip, args.variant), "exact boxes"))
        if "hamilton" in wanted and HAMILTON.exists():
            jobs.append(("hamilton", HAMILTON, reference_faces(HAMILTON), "proxy: sure detections"))
        if args.rotate:
            jobs = _turned_jobs(jobs, args.rotate, args.material)
        for (name, video, annotations, truth), (suffix, config) in itertools.product(jobs, configs.items()):
            frames, seconds, result = run_ours(video, workdir / f"ours_{name}.mp4", config)
            ours = score(frames, annotations)
            flagged = sum(f.last_frame - f.first_frame + 1 for f in result.flags)
            row = {"video": name + suffix, "truth": truth, "frames": annotations["n_frames"], **ours,
                   "fps": annotations["n_frames"] / seconds, "flag_ranges": len(result.flags),
                   "flagged_frames": flagged, "cuts": result.params["detection"]["scene_cuts"]}
            if not args.no_deface and DEFACE_PYTHON.exists() and not suffix:
                base_frames, base_s = run_deface(video, workdir)
                base = score(base_frames, annotations)
                row["deface"] = {**{k: base[k] for k in ("coverage", "exposed24", "exposed48", "masked")},
                                 "fps": annotations["n_frames"] / base_s}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "exposed_frames"},
                             default=lambda o: o.item() if hasattr(o, "item") else str(o)), flush=True)
            if ours["exposed_frames"]:
                print(f"  exposed frames: {ours['exposed_frames']}")
    print()
    print(f"{'video':20s} {'truth':24s} {'frames':>6s} {'cover':>7s} {'exp>=24':>7s} {'exp>=48':>7s} "
          f"{'masked':>7s} {'m.key':>6s} {'m.max':>6s} {'>50%':>5s} {'fps':>5s} {'s/frame':>7s} {'flagged':>7s} | "
          f"deface: {'cover':>7s} {'exp>=24':>7s} {'masked':>7s} {'fps':>5s}")
    for r in rows:
        d = r.get("deface")
        tail = f"{d['coverage']:7.2%} {d['exposed24']:7d} {d['masked']:7.1%} {d['fps']:5.1f}" if d else "(not run)"
        print(f"{r['video']:20s} {r['truth']:24s} {r['frames']:6d} {r['coverage']:7.2%} {r['exposed24']:7d} "
              f"{r['exposed48']:7d} {r['masked']:7.1%} {r['masked_key']:6.1%} {r['masked_max']:6.1%} "
              f"{r['mostly_masked']:5d} {r['fps']:5.1f} {1 / r['fps']:7.3f} {r['flagged_frames']:7d} |         {tail}")
    total = sum(r["exposed24"] for r in rows)
    print(f"exposed frames (faces >= 24 px) over all videos: {total} (target 0)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--deface-driver":
        deface_driver(*sys.argv[2:])
    else:
        main()
