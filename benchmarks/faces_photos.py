"""Photo face-redaction benchmark: Evidence Vault's FaceDetector against `deface` (same run).

Data: ../shared/data/faces (120 photos, 1,656 WIDER FACE boxes; see SOURCES.md there), split into
two halves stratified by WIDER event (``face_scoring.split_halves``); every table is printed per half.
Scoring (benchmarks/face_scoring.py):
- a ground-truth face is covered when >= 90% of its box lies inside the union of the boxes that
  would be redacted; WIDER "invalid" faces are left out of coverage;
- boxes mostly on a face (issue #10's precision): >= 30% of the redaction box's area lies on
  annotated faces; the old, looser rule (contains >= 50% of a face or IoU > 0.2) is printed too;
- redacted off-face area: pixels inside some redaction box and on no annotated face;
- seconds per megapixel of detection only (model loaded and warmed up, decoding excluded), for both.

The detector under test re-checks its small unsure candidates (app/redact/face_verify.py), so the
cross-validation replays need the photos as well as the raw-detection cache.

Two modes:
- default: the shipped settings, run live and timed in the same run as deface (before and after);
- ``--cross-validate``: settings chosen on half A by ``face_tuning.tune`` are reported on half B,
  and the other way round, next to the shipped settings and deface on the held-out half.

Baseline: `deface` 1.5 with its defaults (threshold 0.2, mask scale 1.3, full-resolution input),
run by benchmarks/deface_driver.py in a SEPARATE virtualenv (never the project's); installed
as below deface has no onnxruntime and uses its OpenCV DNN backend (printed in the output)::

    python3 -m venv /tmp/deface-venv
    /tmp/deface-venv/bin/pip install deface opencv-python-headless

Because the machine is shared, deface runs before AND after ours; its time is the mean of both.

    .venv/bin/python benchmarks/faces_photos.py [--cross-validate [--cache FILE]] [--limit N]
        [--deface-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from face_raw import RecheckCache, collect  # noqa: E402
from face_scoring import Tally, split_halves  # noqa: E402
from face_tuning import CANDIDATE_PASSES, PASS_SETS, describe, tune  # noqa: E402
from face_tuning import score as tuning_score  # noqa: E402

from app.redact.detection_memo import PHOTO_DETECTIONS  # noqa: E402
from app.redact.faces import DEFAULT_CONFIG, DetectorConfig, FaceDetector  # noqa: E402
from app.redact.photo import load_oriented_rgb  # noqa: E402

TARGETS = {"cover_ge24": 0.99, "cover_ge10": 0.90, "mostly_on_face": 0.60}
MAX_TIME_RATIO = 1.5
# The settings shipped before issue #10's cross-validation, and those shipped before the re-check
# (five full-photo passes, keep rule by score and agreement between passes), printed for comparison.
_FIVE = PASS_SETS["1,1m,1.5,0.5,0.75m180"]
FORMER = DetectorConfig(passes=_FIVE, threshold=0.2, low_threshold=0.1, min_support=3, recheck_below=0.0,
                        pad_side=0.3, pad_top=0.45, pad_bottom=0.3, min_mean_score=0.0, sure_threshold=1.0,
                        mean_rule_below_px=0.0)
BEFORE_RECHECK = DetectorConfig(passes=_FIVE, threshold=0.2, low_threshold=0.1, min_support=3, recheck_below=0.0,
                                pad_side=0.15, pad_top=0.2, pad_bottom=0.1, min_mean_score=0.06,
                                sure_threshold=0.5, mean_rule_below_px=32.0)


def run_deface(python: str, paths: list[Path]) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:  # holds only box coordinates, no image content
        out = Path(tmp) / "deface.json"
        subprocess.run(
            [python, str(PROJECT / "benchmarks" / "deface_driver.py"), str(out), *map(str, paths)],
            check=True, stdout=subprocess.DEVNULL,
        )
        results: dict[str, dict[str, Any]] = json.loads(out.read_text())
        return results


def run_ours(detector: FaceDetector, paths: list[Path]) -> dict[str, dict[str, Any]]:
    results = {}
    detector.detect(load_oriented_rgb(paths[0]))  # warm-up: model load and first-run allocations
    PHOTO_DETECTIONS.clear()  # ... and every photo below searched for real, the first one too
    for path in paths:
        rgb = load_oriented_rgb(path)
        start = time.perf_counter()
        boxes = detector.detect(rgb)
        seconds = time.perf_counter() - start
        results[str(path)] = {"boxes": [b.to_list() for b in boxes], "seconds": seconds}
    return results


def score(images: list[dict[str, Any]], folder: Path, results: dict[str, dict[str, Any]]) -> dict[str, float]:
    tally = Tally()
    for image in images:
        found = results[str(folder / image["file"])]
        tally.add(
            faces=image["faces"], ignore=image["ignore"], boxes=found["boxes"],
            width=image["width"], height=image["height"], seconds=found["seconds"],
        )
    return tally.summary()


ROWS = [
    ("faces >= 24 px covered", "cover_ge24", "{:.2%}"),
    ("faces 24-47 px covered", "cover_24to47", "{:.2%}"),
    ("faces >= 10 px covered", "cover_ge10", "{:.2%}"),
    ("all faces covered", "cover_all", "{:.2%}"),
    ("boxes mostly on a face (>=30%)", "mostly_on_face", "{:.1%}"),
    ("boxes touching a face (old rule)", "precision", "{:.1%}"),
    ("boxes", "boxes", "{}"),
    ("boxes on the face-free photos", "boxes_on_faceless_images", "{}"),
    ("redacted off-face area, MP", "outside_mpx", "{:.2f}"),
    ("redacted off-face, % of pixels", "outside_fraction", "{:.2%}"),
    ("seconds per megapixel", "s_per_mp", "{:.3f}"),
]


def print_table(title: str, columns: dict[str, dict[str, Any]]) -> None:
    print(title)
    print(f"{'':34s}" + "".join(f"{name:>16s}" for name in columns))
    for label, key, fmt in ROWS:
        print(f"{label:34s}" + "".join(f"{fmt.format(col[key]):>16s}" for col in columns.values()))


def verdict(ours: dict[str, Any], deface: dict[str, Any]) -> str:
    checks = [f"{key} {ours[key]:.2%} {'OK' if ours[key] >= goal else 'MISSED'} (>= {goal:.0%})"
              for key, goal in TARGETS.items()]
    area_ok = ours["outside_mpx"] <= deface["outside_mpx"]
    checks.append(f"off-face area {ours['outside_mpx']:.2f} vs deface {deface['outside_mpx']:.2f} MP "
                  f"{'OK' if area_ok else 'MISSED'}")
    ratio = ours["s_per_mp"] / deface["s_per_mp"]
    checks.append(f"time {ratio:.2f}x deface {'OK' if ratio <= MAX_TIME_RATIO else 'MISSED'} (<= {MAX_TIME_RATIO}x)")
    return "targets: " + "; ".join(checks)


def deface_both(
    python: str, paths: list[Path], before: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Second deface run after ours; its time is averaged with the first (shared machine)."""
    after = run_deface(python, paths)
    backend = str(before.pop("_backend"))
    after.pop("_backend")
    for key, value in before.items():  # boxes are identical in both runs; average the time
        value["seconds"] = (value["seconds"] + after[key]["seconds"]) / 2
    return before, backend


def live(args: argparse.Namespace, images: list[dict[str, Any]], paths: list[Path]) -> None:
    """The shipped defaults against deface, timed in the same run, on each half and on all photos."""
    detector = FaceDetector()
    deface_first = run_deface(args.deface_python, paths)
    ours = run_ours(detector, paths)
    deface, backend = deface_both(args.deface_python, paths, deface_first)
    half_a, half_b = split_halves([image["file"] for image in images])
    print(f"baseline: deface with its defaults, {backend} backend; times measured in this run")
    for label, names in (("half A", set(half_a)), ("half B", set(half_b)), ("all", None)):
        subset = [image for image in images if names is None or image["file"] in names]
        our_scores, deface_scores = score(subset, args.data, ours), score(subset, args.data, deface)
        print_table(f"-- {label}: {len(subset)} photos, {our_scores['n_ge24']} faces >= 24 px",
                    {"Evidence Vault": our_scores, "deface": deface_scores})
        print(verdict(our_scores, deface_scores))
    print("detector:", describe(detector.config))


def cross_validate(args: argparse.Namespace, images: list[dict[str, Any]], paths: list[Path]) -> None:
    """Settings chosen on one half, reported on the other, both ways round (see face_tuning)."""
    by_name = {image["file"]: image for image in images}
    deface = run_deface(args.deface_python, paths)
    backend = deface.pop("_backend")
    cache = args.cache or Path(tempfile.gettempdir()) / "evidence-vault-face-raw.json"
    print(f"raw detections of {len(CANDIDATE_PASSES)} candidate passes (cache: {cache}; box coordinates only)")
    raw = collect(paths, CANDIDATE_PASSES, overview_size=DEFAULT_CONFIG.overview_size, cache=cache)
    rechecks = RecheckCache(args.data)
    half_a, half_b = split_halves(list(by_name))
    print(f"baseline: deface with its defaults, {backend} backend. Our times: passes' seconds from the "
          "raw-detection run (the cache), deface's from this run -- a ratio across runs; the live mode "
          "(without --cross-validate) times both in one run.")
    for tuned_name, tuned, held_name, held in (("A", half_a, "B", half_b), ("B", half_b, "A", half_a)):
        deface_tuned = score([by_name[n] for n in tuned], args.data, deface)
        print(f"== tuning on half {tuned_name} ({len(tuned)} photos), reporting on half {held_name} ({len(held)})")
        config, _ = tune(raw, by_name, tuned, start=DEFAULT_CONFIG,
                         max_s_per_mp=MAX_TIME_RATIO * deface_tuned["s_per_mp"],
                         max_outside_mpx=deface_tuned["outside_mpx"], recheck_cache=rechecks, log=print)
        print(f"chosen on {tuned_name}: {describe(config)}")
        chosen = tuning_score(raw, by_name, held, config, rechecks)
        shipped = tuning_score(raw, by_name, held, DEFAULT_CONFIG, rechecks)
        former = tuning_score(raw, by_name, held, FORMER, rechecks)
        before = tuning_score(raw, by_name, held, BEFORE_RECHECK, rechecks)
        deface_held = score([by_name[n] for n in held], args.data, deface)
        print_table(f"-- held-out half {held_name}", {
            f"chosen on {tuned_name}": chosen, "shipped": shipped, "no re-check": before, "before #10": former,
            "deface": deface_held,
        })
        print(verdict(chosen, deface_held))


def main() -> None:
    parser = argparse.ArgumentParser(description="Photo face redaction: ours vs deface")
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "data" / "faces")
    parser.add_argument("--deface-python", default="/tmp/deface-venv/bin/python")
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (quick check)")
    parser.add_argument("--cross-validate", action="store_true",
                        help="choose settings on one half, report on the other (both ways round)")
    parser.add_argument("--cache", type=Path, help="raw-detection cache for --cross-validate")
    args = parser.parse_args()

    annotations = json.loads((args.data / "annotations.json").read_text())
    images = annotations["images"][: args.limit or None]
    paths = [args.data / image["file"] for image in images]
    print(f"{len(images)} photos, {sum(len(i['faces']) for i in images)} annotated faces")
    if args.cross_validate:
        cross_validate(args, images, paths)
    else:
        live(args, images, paths)


if __name__ == "__main__":
    main()
