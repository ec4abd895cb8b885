"""Raw CenterFace detections per photo and per pass, so detector settings can be cross-validated.

Fusion, thresholds and padding (``app.redact.faces.boxes_from_raw``) are cheap; the network passes
are not. This module runs every candidate pass once per photo at a low score threshold, keeps the
detections and the time each pass took, and rebuilds what :class:`FaceDetector` would output for
any :class:`DetectorConfig` whose passes are among the candidates -- by calling the same function
the detector calls, so the benchmark scores the shipped code path, not a copy of it.

Filtering cached detections by a higher score afterwards is exact: the model's NMS is greedy by
score, so whether a box above a threshold survives depends only on boxes above that threshold.

The cache holds box coordinates and seconds only (no image content); it lives in a temporary
folder by default.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.redact.centerface import CenterFaceModel
from app.redact.face_verify import recheck
from app.redact.faces import Box, DetectorConfig, Pass, boxes_from_raw, overview_runs, run_pass, run_pass_near
from app.redact.photo import load_oriented_rgb

RAW_THRESHOLD = 0.05  # lowest score any candidate setting may use
OVERVIEW = "overview"


def pass_key(p: Pass) -> str:
    return f"s{p.scale:g}{'f' if p.flip else ''}r{p.rotate}"


@dataclass
class RawPhoto:
    width: int
    height: int
    dets: dict[str, np.ndarray]  # pass key -> (N, 5)
    seconds: dict[str, float]


def collect(
    paths: list[Path],
    passes: list[Pass],
    *,
    overview_size: int,
    tile_size: int = 1536,
    tile_overlap: int = 256,
    cache: Path | None = None,
) -> dict[str, RawPhoto]:
    """Run each pass (and the whole-photo overview) on each photo; reuse ``cache`` entries."""
    stored: dict[str, Any] = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    model = CenterFaceModel.shared()
    warmed = False
    out: dict[str, RawPhoto] = {}
    for path in paths:
        entry = stored.setdefault(path.name, {"passes": {}})
        wanted = [p for p in passes if pass_key(p) not in entry["passes"]]
        need_overview = overview_size and OVERVIEW not in entry["passes"]
        if wanted or need_overview:
            rgb = load_oriented_rgb(path)
            entry["width"], entry["height"] = rgb.shape[1], rgb.shape[0]
            if not warmed:
                model.run(rgb, input_size=(640, 640), threshold=0.5)
                warmed = True
            for p in wanted:
                start = time.perf_counter()
                dets = run_pass(model, rgb, scale=p.scale, flip=p.flip, rotate=p.rotate, threshold=RAW_THRESHOLD,
                                tile_size=tile_size, tile_overlap=tile_overlap)
                entry["passes"][pass_key(p)] = {"dets": dets.round(2).tolist(),
                                                "seconds": time.perf_counter() - start}
            if need_overview:
                start = time.perf_counter()
                dets = model.run(rgb, input_size=(overview_size, overview_size), threshold=RAW_THRESHOLD)
                entry["passes"][OVERVIEW] = {"dets": dets.round(2).tolist(), "seconds": time.perf_counter() - start}
            if cache is not None:
                cache.write_text(json.dumps(stored))
        out[path.name] = RawPhoto(
            entry["width"], entry["height"],
            {k: np.asarray(v["dets"], dtype=np.float32).reshape(-1, 5) for k, v in entry["passes"].items()},
            {k: float(v["seconds"]) for k, v in entry["passes"].items()},
        )
    return out


class RecheckCache:
    """The detector's steps that need the photo itself, computed on demand and kept in memory:
    re-check results (``app.redact.face_verify``) per photo and candidate box, and the detections
    of passes that look only near candidates (``app.redact.face_regions``).

    A re-check's key is the photo, the re-check's crop settings and the candidate box rounded to a
    pixel; each entry keeps the score, the re-check's box and the seconds its share of the batch
    took. A near pass's key is the photo, the pass and the whole-photo passes that steer it; the
    entry keeps its detections and its seconds, measured in this run. Holds box coordinates only (no
    image content).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[tuple[Any, ...], tuple[float, np.ndarray, float]] = {}
        self.near_entries: dict[tuple[Any, ...], tuple[np.ndarray, float]] = {}
        self._image: tuple[str, np.ndarray] | None = None
        self.model = CenterFaceModel.shared()

    def _rgb(self, name: str) -> np.ndarray:
        if self._image is None or self._image[0] != name:
            self._image = (name, load_oriented_rgb(self.folder / name))
        return self._image[1]

    def for_photo(self, name: str, config: DetectorConfig) -> tuple[Any, list[float]]:
        """A ``recheck`` callable for ``boxes_from_raw`` and a list collecting the seconds it cost."""
        spent: list[float] = []

        def run(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            keys = [(name, *self._look_kind(config), config.recheck_face_px, config.recheck_context,
                     *np.round(c[:4]).astype(int).tolist()) for c in candidates]
            missing = [i for i, key in enumerate(keys) if key not in self.entries]
            if missing:
                start = time.perf_counter()
                scores, boxes = self._look(self._rgb(name), candidates[missing], config)
                each = (time.perf_counter() - start) / len(missing)
                for j, i in enumerate(missing):
                    self.entries[keys[i]] = (float(scores[j]), boxes[j].copy(), each)
            found = [self.entries[key] for key in keys]
            spent.append(sum(entry[2] for entry in found))
            return (np.asarray([e[0] for e in found], dtype=np.float32),
                    np.asarray([e[1] for e in found], dtype=np.float32).reshape(-1, 4))

        return run, spent

    def _look_kind(self, config: DetectorConfig) -> tuple[str, ...]:
        """What tells this cache's second look apart in its keys (nothing: the detector's own)."""
        return ()

    def _look(self, rgb: np.ndarray, candidates: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
        return recheck(self.model, rgb, candidates, face_px=config.recheck_face_px, context=config.recheck_context)

    def near_pass(
        self, name: str, p: Pass, steering: tuple[str, ...], candidates: np.ndarray, config: DetectorConfig
    ) -> tuple[np.ndarray, float]:
        """Detections (>= ``config.low_threshold``) and seconds of near pass ``p`` on photo ``name``,
        steered by ``candidates``: the raw detections of the whole-photo passes named in ``steering``."""
        key = (name, p, steering, config.low_threshold, config.tile_size, config.tile_overlap)
        if key not in self.near_entries:
            rgb = self._rgb(name)
            start = time.perf_counter()
            dets = run_pass_near(self.model, rgb, p, candidates, config)
            self.near_entries[key] = (dets, time.perf_counter() - start)
        return self.near_entries[key]


def replay(
    raw: RawPhoto, config: DetectorConfig, recheck_cache: RecheckCache | None = None, name: str = ""
) -> tuple[list[Box], float]:
    """The boxes ``FaceDetector(config).detect`` outputs for this photo, and the passes' time (plus
    the re-check's and the near passes'; ``recheck_cache`` is required when ``config`` has either)."""
    found: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    seconds = 0.0
    steering: list[str] = []
    for pass_id, p in enumerate(config.passes):
        if p.near is not None:
            continue
        if p.rotate % 180 == 0:  # as the detector: the near passes look upright or upside down only
            steering.append(pass_key(p))
        dets = raw.dets[pass_key(p)]
        seconds += raw.seconds[pass_key(p)]
        found.append(dets[dets[:, 4] >= config.low_threshold])
        ids.append(np.full(len(found[-1]), pass_id, dtype=np.int32))
    if overview_runs(config, raw.width, raw.height):
        steering.append(OVERVIEW)
        dets = raw.dets[OVERVIEW]
        seconds += raw.seconds[OVERVIEW]
        found.append(dets[dets[:, 4] >= config.low_threshold])
        ids.append(np.full(len(found[-1]), len(config.passes), dtype=np.int32))
    near = [(pass_id, p) for pass_id, p in enumerate(config.passes) if p.near is not None]
    if near:
        if recheck_cache is None:
            raise ValueError("this configuration has passes that look near candidates: pass a RecheckCache")
        candidates = np.concatenate([raw.dets[key] for key in steering]) if steering else np.empty((0, 5))
        for pass_id, p in near:
            dets, spent = recheck_cache.near_pass(name, p, tuple(steering), candidates, config)
            seconds += spent
            found.append(dets)
            ids.append(np.full(len(dets), pass_id, dtype=np.int32))
    dets_all = np.concatenate(found) if found else np.empty((0, 5), dtype=np.float32)
    ids_all = np.concatenate(ids) if ids else np.empty(0, dtype=np.int32)
    if config.recheck_below <= 0:
        return boxes_from_raw(dets_all, ids_all, raw.width, raw.height, config), seconds
    if recheck_cache is None:
        raise ValueError("this configuration re-checks candidates: pass a RecheckCache")
    run, spent = recheck_cache.for_photo(name, config)
    boxes = boxes_from_raw(dets_all, ids_all, raw.width, raw.height, config, recheck=run)
    return boxes, seconds + sum(spent)
