"""Photo face-redaction benchmark: Evidence Vault's FaceDetector against `deface` (same run).

Data: ../shared/data/faces (120 photos, 1,656 WIDER FACE boxes; see SOURCES.md there).
Scoring (benchmarks/face_scoring.py):
- a ground-truth face is covered when >= 90% of its box lies inside the union of the boxes that
  would be redacted; WIDER "invalid" faces are left out of coverage;
- precision = fraction of redaction boxes on a face: the box contains >= 50% of some ground-truth
  face (ignored ones included) or has IoU > 0.2 with one;
- seconds per megapixel of detection only (model loaded and warmed up, decoding excluded), for both.

Baseline: `deface` 1.5 with its defaults (threshold 0.2, mask scale 1.3, full-resolution input),
run by benchmarks/deface_driver.py in a SEPARATE virtualenv (never the project's); installed
as below deface has no onnxruntime and uses its OpenCV DNN backend (printed in the output)::

    python3 -m venv /tmp/deface-venv
    /tmp/deface-venv/bin/pip install deface opencv-python-headless

Because the machine is shared, deface runs before AND after ours; its time is the mean of both.

    .venv/bin/python benchmarks/faces_photos.py [--limit N] [--deface-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from face_scoring import Tally  # noqa: E402

from app.redact.faces import FaceDetector  # noqa: E402
from app.redact.photo import load_oriented_rgb  # noqa: E402

TARGETS = {"cover_ge24": 0.99, "cover_ge10": 0.90, "precision": 0.60}
MAX_TIME_RATIO = 3.0


def run_deface(python: str, paths: list[Path]) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:  # holds only box coordinates, no image content
        out = Path(tmp) / "deface.json"
        subprocess.run(
            [python, str(PROJECT / "benchmarks" / "deface_driver.py"), str(out), *map(str, paths)],
            check=True, stdout=subprocess.DEVNULL,
        )
        return json.loads(out.read_text())


def run_ours(detector: FaceDetector, paths: list[Path]) -> dict[str, dict]:
    results = {}
    detector.detect(load_oriented_rgb(paths[0]))  # warm-up: model load and first-run allocations
    for path in paths:
        rgb = load_oriented_rgb(path)
        start = time.perf_counter()
        boxes = detector.detect(rgb)
        seconds = time.perf_counter() - start
        results[str(path)] = {"boxes": [b.to_list() for b in boxes], "seconds": seconds}
    return results


def score(images: list[dict], folder: Path, results: dict[str, dict]) -> dict[str, float]:
    tally = Tally()
    for image in images:
        found = results[str(folder / image["file"])]
        tally.add(
            faces=image["faces"], ignore=image["ignore"], boxes=found["boxes"],
            width=image["width"], height=image["height"], seconds=found["seconds"],
        )
    return tally.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description="Photo face redaction: ours vs deface")
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "data" / "faces")
    parser.add_argument("--deface-python", default="/tmp/deface-venv/bin/python")
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (quick check)")
    args = parser.parse_args()

    annotations = json.loads((args.data / "annotations.json").read_text())
    images = annotations["images"][: args.limit or None]
    paths = [args.data / image["file"] for image in images]
    print(f"{len(images)} photos, {sum(len(i['faces']) for i in images)} annotated faces")

    detector = FaceDetector()
    deface_first = run_deface(args.deface_python, paths)
    ours = run_ours(detector, paths)
    deface_second = run_deface(args.deface_python, paths)
    backend = deface_first.pop("_backend")
    deface_second.pop("_backend")
    megapixels = sum(image["width"] * image["height"] for image in images) / 1e6
    deface_runs = [sum(v["seconds"] for v in run.values()) / megapixels for run in (deface_first, deface_second)]
    for key, value in deface_first.items():  # boxes are identical in both runs; average the time
        value["seconds"] = (value["seconds"] + deface_second[key]["seconds"]) / 2

    our_scores = score(images, args.data, ours)
    deface_scores = score(images, args.data, deface_first)
    rows = [
        ("faces >= 24 px covered", "cover_ge24", "{:.2%}"),
        ("faces 24-47 px covered", "cover_24to47", "{:.2%}"),
        ("faces >= 10 px covered", "cover_ge10", "{:.2%}"),
        ("all faces covered", "cover_all", "{:.2%}"),
        ("boxes on a face (precision)", "precision", "{:.2%}"),
        ("boxes", "boxes", "{}"),
        ("boxes on the 7 face-free photos", "boxes_on_faceless_images", "{}"),
        ("seconds per megapixel", "s_per_mp", "{:.3f}"),
    ]
    print(f"baseline: deface with its defaults, {backend} backend")
    print(f"{'':34s} {'Evidence Vault':>15s} {'deface':>10s}")
    for label, key, fmt in rows:
        print(f"{label:34s} {fmt.format(our_scores[key]):>15s} {fmt.format(deface_scores[key]):>10s}")
    print(
        f"(faces counted: {our_scores['n_ge24']} >= 24 px, {our_scores['n_24to47']} 24-47 px, "
        f"{our_scores['n_ge10']} >= 10 px; deface s/MP before ours {deface_runs[0]:.3f}, "
        f"after {deface_runs[1]:.3f})"
    )
    ratio = our_scores["s_per_mp"] / deface_scores["s_per_mp"]
    print(f"time ratio (ours / deface): {ratio:.2f}x  (target <= {MAX_TIME_RATIO}x)")
    verdicts = [f"{key} {our_scores[key]:.2%} {'OK' if our_scores[key] >= goal else 'MISSED'} (>= {goal:.0%})"
                for key, goal in TARGETS.items()]
    verdicts.append(f"time {ratio:.2f}x {'OK' if ratio <= MAX_TIME_RATIO else 'MISSED'}")
    print("targets: " + "; ".join(verdicts))
    print("detector:", json.dumps(detector.model_info()["config"]))


if __name__ == "__main__":
    main()
