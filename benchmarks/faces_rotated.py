"""Sideways faces in photos: coverage on the photos turned 90 and 270 degrees, and what passes cost.

Material: ``rotated_material.py`` (each half of ../shared/data/faces turned 90 and 270 degrees, boxes
turned too, under ``--material``). A turned face counts as >= 24 px by its own height, brow to chin
(its box's width): the same faces as on the upright photos.

Modes:
- default (replay): every candidate pass is run once per photo and cached (``face_raw.collect``,
  one cache per set under ``--material``); each setting is then scored on the turned photos of
  both halves (faces >= 24 and >= 48 px covered) and on the upright photos (the photo benchmark's
  figures: faces >= 24 / >= 10 px, boxes mostly on a face, seconds per megapixel from the passes'
  cached times). Settings are chosen on half A and reported on half B.
- ``--live``: the shipped detector and ``--config`` timed on the upright photos of both halves in the
  same run, photo by photo in turn (the machine is shared: alternating cancels most of its noise),
  and their boxes scored.

    nice -n 10 .venv/bin/python benchmarks/faces_rotated.py [--material /tmp/rot] [--live]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from face_raw import RecheckCache, collect, replay  # noqa: E402
from face_scoring import Tally, coverage, split_halves  # noqa: E402
from faces_video import DATA  # noqa: E402

from app.redact.detection_memo import PHOTO_DETECTIONS  # noqa: E402
from app.redact.face_sideways import recheck_sideways  # noqa: E402
from app.redact.faces import (  # noqa: E402
    DEFAULT_CONFIG,
    DetectorConfig,
    FaceDetector,
    Pass,
    sideways,
)
from app.redact.photo import load_oriented_rgb  # noqa: E402

TURNED_SCALES = (0.25, 0.375, 0.5, 0.625, 0.75, 1.0)
# The shipped passes without the rotated ones (whatever the default is now): the "before".
UPRIGHT_ONLY = dataclasses.replace(DEFAULT_CONFIG, passes=tuple(p for p in DEFAULT_CONFIG.passes
                                                                  if p.rotate not in (90, 270)))


def with_turned(scale: float, base: DetectorConfig = UPRIGHT_ONLY) -> DetectorConfig:
    return dataclasses.replace(base, passes=(*base.passes, Pass(scale, rotate=90), Pass(scale, rotate=270)))


SETTINGS: dict[str, DetectorConfig] = {"upright only": UPRIGHT_ONLY,
                                       **{f"+ 90/270 at {s:g}x": with_turned(s) for s in TURNED_SCALES}}


class SidewaysRecheckCache(RecheckCache):
    """``face_raw.RecheckCache`` with the detector's second look for configurations with turned passes:
    candidates wider than tall are looked at turned too (``app.redact.face_sideways``)."""

    def _look_kind(self, config: DetectorConfig) -> tuple[str, ...]:
        return ("sideways",) if sideways(config) else ()

    def _look(self, rgb: np.ndarray, candidates: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
        if not sideways(config):
            return super()._look(rgb, candidates, config)
        lowest = min(v for v in (config.recheck_threshold, config.refine_confirm, 1.0) if v > 0)
        return recheck_sideways(self.model, rgb, candidates, face_px=config.recheck_face_px,
                                context=config.recheck_context, threshold=lowest)


class SideTally:
    """Faces covered by size band, the size being the face's own height (box width when turned)."""

    def __init__(self) -> None:
        self.bands: dict[int, list[bool]] = {24: [], 48: []}
        self.seconds = 0.0
        self.megapixels = 0.0

    def add(self, image: dict[str, Any], boxes: list[list[int]], seconds: float) -> None:
        side = 2 if image.get("rotation", 0) in (90, 270) else 3
        covered = coverage(image["faces"], boxes, image["width"], image["height"])
        for face, ignored, ok in zip(image["faces"], image["ignore"], covered, strict=True):
            for band, values in self.bands.items():
                if not ignored and face[side] >= band:
                    values.append(ok)
        self.seconds += seconds
        self.megapixels += image["width"] * image["height"] / 1e6

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"cover_ge{b}": sum(v) / len(v) for b, v in self.bands.items()}
        out.update({f"n_ge{b}": len(v) for b, v in self.bands.items()})
        out["missed_ge24"] = len(self.bands[24]) - sum(self.bands[24])
        out["s_per_mp"] = self.seconds / self.megapixels
        return out


def _sets(material: Path) -> dict[str, tuple[Path, list[dict[str, Any]]]]:
    """Set name -> (folder, its images): upright halves A and B, and each turned 90 and 270."""
    images = json.loads((DATA / "faces" / "annotations.json").read_text())["images"]
    halves = dict(zip("AB", split_halves([i["file"] for i in images]), strict=True))
    sets = {}
    for half, names in halves.items():
        sets[half] = (DATA / "faces", [i for i in images if i["file"] in set(names)])
        for angle in (90, 270):
            folder = material / "photos" / f"{half}_r{angle}"
            sets[f"{half}_r{angle}"] = (folder, json.loads((folder / "annotations.json").read_text())["images"])
    return sets


def replay_mode(material: Path) -> None:
    candidates = sorted({Pass(p.scale, p.flip, p.rotate) for c in SETTINGS.values() for p in c.passes
                         if p.near is None}, key=lambda p: (p.rotate, p.scale, p.flip))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for set_name, (folder, images) in _sets(material).items():
        paths = [folder / i["file"] for i in images]
        cache = material / f"photo_raw_{set_name}.json"
        print(f"{set_name}: raw detections of {len(candidates)} passes (cache {cache})", flush=True)
        raw = collect(paths, candidates, overview_size=DEFAULT_CONFIG.overview_size, cache=cache)
        rechecks = SidewaysRecheckCache(folder)
        for label, config in SETTINGS.items():
            side, upright = SideTally(), Tally()
            for image in images:
                boxes, seconds = replay(raw[image["file"]], config, rechecks, image["file"])
                found = [b.to_list() for b in boxes]
                side.add(image, found, seconds)
                if "_r" not in set_name:
                    upright.add(faces=image["faces"], ignore=image["ignore"], boxes=found, width=image["width"],
                                height=image["height"], seconds=seconds)
            row = side.summary()
            if "_r" not in set_name:
                row.update({f"upright_{k}": v for k, v in upright.summary().items()})
            rows.setdefault(label, {})[set_name] = row
            extra = (f"; >=10 {row['upright_cover_ge10']:.2%}, mostly on face {row['upright_mostly_on_face']:.1%}, "
                     f"off-face {row['upright_outside_mpx']:.2f} MP" if "_r" not in set_name else "")
            print(f"  {label:18s} >=24 {row['cover_ge24']:.2%} ({row['missed_ge24']} of {row['n_ge24']} missed) "
                  f">=48 {row['cover_ge48']:.2%} (n {row['n_ge48']}) {row['s_per_mp']:.3f} s/MP{extra}", flush=True)
    (material / "photo_rotated_results.json").write_text(json.dumps(rows, indent=1, default=float))


def live_mode(material: Path, scale: float, rounds: int) -> None:
    """Upright photos of both halves: the detector without and with the turned passes, photo by photo."""
    detectors = {"upright only": FaceDetector(UPRIGHT_ONLY),
                 f"+ 90/270 at {scale:g}x": FaceDetector(with_turned(scale))}
    sets = _sets(material)
    for half in ("A", "B"):
        folder, images = sets[half]
        tallies = {label: Tally() for label in detectors}
        first = load_oriented_rgb(folder / images[0]["file"])
        for detector in detectors.values():
            detector.detect(first)  # warm-up
        for image in images:
            rgb = load_oriented_rgb(folder / image["file"])
            for label, detector in detectors.items():
                spent, boxes = [], []
                for _ in range(rounds):
                    PHOTO_DETECTIONS.clear()  # searched for real every time
                    start = time.perf_counter()
                    boxes = detector.detect(rgb)
                    spent.append(time.perf_counter() - start)
                tallies[label].add(faces=image["faces"], ignore=image["ignore"], boxes=[b.to_list() for b in boxes],
                                   width=image["width"], height=image["height"], seconds=min(spent))
        for label, tally in tallies.items():
            s = tally.summary()
            print(f"half {half} {label:18s} >=24 {s['cover_ge24']:.2%} >=10 {s['cover_ge10']:.2%} "
                  f"mostly on face {s['mostly_on_face']:.1%} off-face {s['outside_mpx']:.2f} MP "
                  f"boxes {s['boxes']} {s['s_per_mp']:.3f} s/MP", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--material", type=Path, default=Path("/tmp/rot"))
    parser.add_argument("--live", action="store_true", help="time upright photos with and without turned passes")
    parser.add_argument("--scale", type=float, default=0.5, help="--live: scale of the turned passes")
    parser.add_argument("--rounds", type=int, default=1,
                        help="--live: runs per photo and detector (the fastest counts)")
    args = parser.parse_args()
    if args.live:
        live_mode(args.material, args.scale, args.rounds)
    else:
        replay_mode(args.material)


if __name__ == "__main__":
    main()
