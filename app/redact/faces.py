"""Face detection for photo redaction: the boxes a redaction must cover.

Recall comes first: a missed face can get someone hurt, an extra box only hides a bit of
background. :class:`FaceDetector` therefore runs the CenterFace model (``app.redact.centerface``)
several times per photo and fuses the results:

- passes at several scales (small faces need enlargement, very large faces a reduced copy) plus a
  horizontally mirrored pass (the model is not perfectly symmetric, profiles especially);
- large scaled images are cut into overlapping tiles, which bounds memory and lets a 50 MP photo be
  searched at full detail;
- detections from all passes are clustered; a cluster becomes one box (the union of its members)
  when its best score reaches ``threshold``, or when at least ``min_support`` separate passes saw
  it above ``low_threshold`` — weak evidence that several passes agree on is kept, while a
  weak one-off in one pass (usually texture) is dropped;
- small clusters the passes are unsure of get a second look (``app.redact.face_verify``): cropped,
  enlarged to the model's best face size and run again; a face then scores high, texture does not;
- each box is padded in proportion to the face (CenterFace boxes run brow to chin; hair, forehead
  and ears identify people too) and clipped to the image.

The figures behind every default are measured by ``benchmarks/faces_photos.py`` on 120 real photos.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from app.progress import CancelToken, ProgressCallback
from app.redact.centerface import MODEL_NAME, MODEL_SHA256, CenterFaceModel
from app.redact.detection_memo import PHOTO_DETECTIONS
from app.redact.face_fusion import fuse
from app.redact.face_pass import run_pass
from app.redact.face_regions import Near, run_near
from app.redact.face_sideways import recheck_sideways
from app.redact.face_verify import recheck, rechecked_clusters

# A second look at candidate boxes (N, 5): their re-check scores (N,) and re-check boxes (N, 4).
Recheck = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Box:
    """A rectangle to redact, in pixels of the image as a viewer sees it (EXIF orientation applied)."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0  # detector confidence 0..1; 1.0 for boxes a reviewer drew

    def to_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h, "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class Pass:
    """One detector pass: the image scaled by ``scale``, optionally mirrored, then rotated.

    ``rotate`` is counter-clockwise degrees (0, 90, 180, 270): faces upside down or lying on their
    side (a photo with lost orientation, people lying down) are invisible to the upright-trained model.
    """

    scale: float
    flip: bool = False
    rotate: int = 0
    # None: the whole photo. Otherwise only around the whole-photo passes' candidates (face_regions).
    near: Near | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"scale": self.scale, "flip": self.flip, "rotate": self.rotate}
        if self.near is not None:
            data["near"] = dataclasses.asdict(self.near)
        return data


@dataclass(frozen=True)
class DetectorConfig:
    """Every knob of photo-mode detection, measured by benchmarks/faces_photos.py on 120 WIDER FACE
    photos split into two halves A and B (``face_scoring.split_halves``), always next to deface.
    Every default was chosen on half A by ``--cross-validate`` and checked on half B (a setting that
    lost a face >= 24 px on the other half was not taken): docs/FACE_DETECTION.md has each choice,
    what else was tried, and the figures on both halves.
    """

    # 1.0 = the photo's own resolution. 1.5 finds small faces, 0.5 large ones, and the mirrored
    # upside-down pass finds faces turned over (a photo whose orientation was lost, people lying
    # down). Faces lying on their side need SIDEWAYS_PASSES (below; WIDER FACE, upright, shows no gain,
    # its photos turned 90/270 degrees do: docs/FACE_DETECTION.md), not on by default for their cost. The 1.5x
    # pass looks only around small candidates of the whole-photo passes, the upside-down one only
    # near any candidate (app.redact.face_regions): the same faces found in about 45% less time.
    passes: tuple[Pass, ...] = (
        Pass(1.0),
        Pass(1.0, flip=True),
        Pass(1.5, near=Near(min_score=0.2, margin=1.0, max_px=32.0)),
        Pass(0.5),
        Pass(0.75, flip=True, rotate=180, near=Near(min_score=0.1, margin=2.0)),
    )
    # When even the smallest pass sees a big photo at more than 1.5x this size, also run once on the
    # whole photo shrunk to fit this square: a face filling a 12 MP photo is far larger than anything
    # the model saw in training.
    overview_size: int = 640
    # A cluster of detections is a face when its best score >= threshold, or when >= min_support
    # different passes each saw it at >= low_threshold (agreement between passes; a weak one-off is
    # usually texture).
    threshold: float = 0.2
    low_threshold: float = 0.1
    min_support: int = 3
    # Detections overlapping this much (IoU) belong to one face; its box is their union.
    cluster_iou: float = 0.2
    # How a cluster becomes one box: "union" of the passes' boxes, or their score-weighted "mean".
    merge: str = "union"
    # (With the re-check on, the three mean-score settings below are not used: the re-check decides
    # the small unsure clusters they were made for.)
    # A cluster must also average this score over all passes (a pass that missed it counts 0).
    # Measured on both halves: 0.06 for boxes under 32 px drops about 7% of all boxes (mostly
    # texture) and loses no face >= 24 px on either half; on every size it cost faces >= 24 px.
    min_mean_score: float = 0.06
    # ... unless one pass is at least this sure (a face only one pass can see, e.g. upside down).
    sure_threshold: float = 0.5
    # ... and it applies only to detections shorter than this (px; 0 = any size): tiny weak boxes are
    # mostly texture.
    mean_rule_below_px: float = 32.0
    # (Re-checking the taller unsure clusters too, and dropping those the re-check finds no face in,
    # lost faces >= 24 px on both halves even at a re-check score of 0.02: A 98.6%, B 98.7%.)
    # Second look (app.redact.face_verify) at small unsure clusters (0 in recheck_below turns it off
    # and the rules above decide alone). Every cluster of detections >= low_threshold is a candidate:
    # one whose best score reaches recheck_below is kept; one at least recheck_size_px tall is kept
    # by the full-photo rule (best >= threshold, or >= min_support passes) with the union box; a
    # smaller one is cropped with recheck_context times its size around it, scaled so it is
    # recheck_face_px tall and run through the model again, and kept when that scores it
    # >= recheck_threshold -- with the re-check's own box (the face seen at the right size is boxed
    # far better than by the union of weak full-photo detections). A small face brought to the
    # model's best size scores high, texture stays low.
    recheck_below: float = 0.5
    recheck_threshold: float = 0.2
    recheck_size_px: float = 20.0
    recheck_face_px: float = 32.0
    recheck_context: float = 3.0
    # The box of a small cluster the re-check kept: the re-check's own ("recheck"), or that joined
    # with the union of the full-photo detections ("both").
    recheck_box: str = "recheck"
    # Every kept cluster the re-check did not box already (tall ones, small sure ones) is looked at
    # again the same way, for its box: where the re-check scores the face >= refine_confirm, the box is
    # the re-check's joined with the detections' score-weighted mean instead of the union of all
    # detections (0 = always the union). See face_verify.refined_boxes.
    refine_confirm: float = 0.7
    # Passes that shrink the photo (scale below 1, and the overview) drop detections smaller than this
    # at their own network resolution: the model boxes faces that small loosely, and the passes at the
    # photo's own resolution see them twice as large or more (0 = keep all).
    min_net_px: float = 12.0
    # And every pass but the most shrinking one of its rotation (the overview counts) drops detections
    # taller than this at its own network resolution: a face that fills the photo is boxed loosely and
    # off-centre by a pass that sees it larger than the faces the model learnt on, and the union of
    # those boxes doubled its area; the shrinking pass sees it at a size the model knows (0 = keep all).
    max_net_px: float = 320.0
    # Padding, as fractions of the detected face's width (sides) and height (top, bottom). CenterFace
    # boxes run brow to chin; the forehead and hair identify people too, hence more on top.
    # CenterFace boxes and WIDER FACE boxes agree in the median (measured: offsets < 1% of the box);
    # the padding absorbs the spread (90th percentile about 0.1 of the box on each side).
    pad_side: float = 0.15
    pad_top: float = 0.2
    pad_bottom: float = 0.1
    # Tiling of scaled images: tiles of at most tile_size px (network input) overlapping by
    # tile_overlap px, so any face up to tile_overlap px at that scale lies whole inside one tile
    # (bigger faces are found whole by the smaller-scale passes). Bounds memory for huge photos.
    tile_size: int = 1536
    tile_overlap: int = 256

    def __post_init__(self) -> None:
        if self.passes and all(p.near is not None for p in self.passes):
            raise ValueError("at least one pass must search the whole photo: the others look near its candidates")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["passes"] = [p.to_dict() for p in self.passes]
        return data


DEFAULT_CONFIG = DetectorConfig()
# Passes for faces lying on their side (turned 90 and 270 degrees), chosen on half A's photos turned
# that way. Not in the defaults: they cost about a fifth more time (docs/FACE_DETECTION.md); add them to
# ``passes`` where sideways faces are expected. The second look and the padding follow on their own.
SIDEWAYS_PASSES = (Pass(0.5, rotate=90), Pass(0.5, rotate=270))


@dataclass
class _Detections:
    boxes: list[np.ndarray] = field(default_factory=list)  # each (N, 5) x1 y1 x2 y2 score
    pass_ids: list[np.ndarray] = field(default_factory=list)

    def add(self, dets: np.ndarray, pass_id: int) -> None:
        if len(dets):
            self.boxes.append(dets)
            self.pass_ids.append(np.full(len(dets), pass_id, dtype=np.int32))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.boxes:
            return np.empty((0, 5), dtype=np.float32), np.empty(0, dtype=np.int32)
        return np.concatenate(self.boxes), np.concatenate(self.pass_ids)


def run_pass_near(
    model: CenterFaceModel,
    rgb: np.ndarray,
    p: Pass,
    candidates: np.ndarray,
    config: DetectorConfig,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Detections (N, 5) >= ``config.low_threshold`` of pass ``p`` (which has ``near`` set), run only
    around ``candidates`` (N, 5): the whole-photo passes' detections (see app.redact.face_regions)."""
    if p.near is None:
        raise ValueError("run_pass_near needs a pass that looks near candidates")

    def on_crop(crop: np.ndarray) -> np.ndarray:
        return run_pass(model, crop, scale=p.scale, flip=p.flip, rotate=p.rotate, threshold=config.low_threshold,
                        tile_size=config.tile_size, tile_overlap=config.tile_overlap, cancel=cancel)

    return run_near(rgb, candidates, p.near, p.scale, on_crop, cancel=cancel, flip=p.flip, rotate=p.rotate)


class FaceDetector:
    """Photo-mode face detector. ``detect(rgb)`` returns the padded boxes a redaction covers."""

    def __init__(self, config: DetectorConfig = DEFAULT_CONFIG, model: CenterFaceModel | None = None) -> None:
        self.config = config
        self.model = model or CenterFaceModel.shared()

    def raw_detections(
        self,
        rgb: np.ndarray,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """All passes' detections above ``low_threshold`` (unpadded) and the pass each came from."""
        cfg = self.config
        height, width = rgb.shape[:2]
        collected = _Detections()
        total = len(cfg.passes) + 1
        # Whole-photo passes keep detections down to the lowest score a near pass starts from.
        floor = min([cfg.low_threshold, *(p.near.min_score for p in cfg.passes if p.near is not None)])
        candidates = _Detections()
        done = 0
        for pass_id, p in enumerate(cfg.passes):
            if p.near is not None:
                continue
            if progress is not None:
                progress(done, total, "Looking for faces")
            dets = run_pass(
                self.model, rgb, scale=p.scale, flip=p.flip, rotate=p.rotate, threshold=floor,
                tile_size=cfg.tile_size, tile_overlap=cfg.tile_overlap, cancel=cancel,
            )
            if p.rotate % 180 == 0:  # the near passes look upright or upside down: sideways ones steer nothing
                candidates.add(dets, pass_id)
            collected.add(dets[dets[:, 4] >= cfg.low_threshold], pass_id)
            done += 1
        if overview_runs(cfg, width, height):
            overview = self.model.run(rgb, input_size=(cfg.overview_size, cfg.overview_size), threshold=floor)
            candidates.add(overview, len(cfg.passes))
            collected.add(overview[overview[:, 4] >= cfg.low_threshold], len(cfg.passes))
        seen, _ = candidates.arrays()
        for pass_id, p in enumerate(cfg.passes):
            if p.near is None:
                continue
            if progress is not None:
                progress(done, total, "Looking for faces")
            collected.add(run_pass_near(self.model, rgb, p, seen, cfg, cancel=cancel), pass_id)
            done += 1
        if progress is not None:
            progress(total, total, "Looking for faces")
        return collected.arrays()

    def detect(
        self,
        rgb: np.ndarray,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Box]:
        """Boxes to redact in an RGB (H x W x 3 uint8) image, padded and clipped, best first."""
        cfg = self.config
        height, width = rgb.shape[:2]

        def run() -> tuple[Box, ...]:
            dets, pass_ids = self.raw_detections(rgb, progress=progress, cancel=cancel)
            if cancel is not None:
                cancel.check()
            return tuple(boxes_from_raw(dets, pass_ids, width, height, cfg, recheck=self.rechecker(rgb)))

        # The same pixels give the same boxes: the check of a copy with nothing covered reuses them.
        return list(PHOTO_DETECTIONS.get_or_run((cfg, self.model), rgb, run))

    def rechecker(self, rgb: np.ndarray) -> Recheck:
        """The second look at candidates in ``rgb`` (see ``DetectorConfig.recheck_below``)."""
        cfg = self.config

        # A re-check score only counts from recheck_threshold or refine_confirm up, and suppression is greedy
        # by score, so weaker boxes in a crop need not be decoded at all.
        lowest = min(v for v in (cfg.recheck_threshold, cfg.refine_confirm, 1.0) if v > 0)

        # With passes that find faces lying on their side, such candidates are looked at turned too.
        look = recheck_sideways if sideways(cfg) else recheck

        def run(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return look(self.model, rgb, candidates, face_px=cfg.recheck_face_px, context=cfg.recheck_context,
                        threshold=lowest)

        return run

    def model_info(self) -> dict[str, Any]:
        """What produced the boxes, for the custody record."""
        return {
            "model": MODEL_NAME,
            "model_sha256": MODEL_SHA256,
            "runtime": "onnxruntime CPUExecutionProvider",
            "threshold": self.config.threshold,
            "scales": [p.scale for p in self.config.passes],
            "padding": {
                "side": self.config.pad_side, "top": self.config.pad_top, "bottom": self.config.pad_bottom,
            },
            "config": self.config.to_dict(),
        }

    def detect_image_file(
        self,
        src: BinaryIO | Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[int, int, list[Box]]:
        """Open a photo (EXIF orientation applied, as a viewer shows it); return (width, height, boxes).

        Raises MediaTooLarge / CorruptMedia / UnsupportedMedia like ``photo.load_oriented_rgb``.
        """
        from app.redact.photo import load_oriented_rgb  # photo.py imports this module

        rgb = load_oriented_rgb(src)
        return rgb.shape[1], rgb.shape[0], self.detect(rgb, progress=progress, cancel=cancel)


def sideways(config: DetectorConfig) -> bool:
    """Whether ``config`` has passes turned 90 or 270 degrees (faces lying on their side)."""
    return any(p.rotate % 180 == 90 for p in config.passes)


def overview_runs(config: DetectorConfig, width: int, height: int) -> bool:
    """Whether detection adds the whole-photo overview pass (the photo is big for the smallest pass)."""
    smallest = min((p.scale for p in config.passes), default=1.0)
    return bool(config.overview_size) and smallest * max(width, height) > 1.5 * config.overview_size


def boxes_from_raw(
    dets: np.ndarray,
    pass_ids: np.ndarray,
    width: int,
    height: int,
    config: DetectorConfig = DEFAULT_CONFIG,
    recheck: Recheck | None = None,
) -> list[Box]:
    """All passes' raw detections -> the padded boxes to redact (what :meth:`FaceDetector.detect` returns).

    ``recheck`` is the second look at unsure candidates (:meth:`FaceDetector.rechecker`); it is
    required when ``config.recheck_below`` is set. Separate from the network passes so
    ``benchmarks/faces_photos.py`` can score many settings on detections computed once.
    """
    dets, pass_ids = drop_out_of_range(dets, pass_ids, width, height, config)
    if config.recheck_below > 0:
        if recheck is None:
            raise ValueError("this detector configuration re-checks candidates: pass recheck")
        return pad_boxes(rechecked_clusters(dets, pass_ids, config, recheck), width, height, config)
    fused = fuse(
        dets, pass_ids, threshold=config.threshold, low_threshold=config.low_threshold,
        min_support=config.min_support, cluster_iou=config.cluster_iou, merge=config.merge,
        min_mean_score=config.min_mean_score, sure_threshold=config.sure_threshold,
        mean_rule_below_px=config.mean_rule_below_px,
        n_passes=len(config.passes) + int(overview_runs(config, width, height)),
    )
    return pad_boxes(fused, width, height, config)


def pass_scales(config: DetectorConfig, width: int, height: int) -> np.ndarray:
    """The network scale of each pass id: the configured passes, then the overview."""
    overview = config.overview_size / max(width, height, 1)
    return np.asarray([p.scale for p in config.passes] + [overview], dtype=np.float32)


def drop_out_of_range(
    dets: np.ndarray, pass_ids: np.ndarray, width: int, height: int, config: DetectorConfig = DEFAULT_CONFIG
) -> tuple[np.ndarray, np.ndarray]:
    """Detections without those a pass saw at a size it boxes badly: below ``config.min_net_px`` in a
    pass that shrinks the photo, above ``config.max_net_px`` in any pass but the most shrinking one of
    its rotation (which is how such a face is still found, whatever its size). Sizes are at each
    pass's own network resolution."""
    if len(dets) == 0 or (config.min_net_px <= 0 and config.max_net_px <= 0):
        return dets, pass_ids
    all_scales = pass_scales(config, width, height)
    scales = all_scales[pass_ids]
    rotations = [p.rotate % 360 for p in config.passes] + [0]
    # The face's own height, brow to chin: a pass turned 90 or 270 degrees sees it across the photo.
    across = np.isin(pass_ids, [i for i, r in enumerate(rotations) if r in (90, 270)])
    net_height = np.where(across, dets[:, 2] - dets[:, 0], dets[:, 3] - dets[:, 1]) * scales
    keep = np.ones(len(dets), dtype=bool)
    if config.min_net_px > 0:
        keep &= (scales >= 1.0) | (net_height >= config.min_net_px)
    if config.max_net_px > 0:
        running = [*range(len(config.passes)), *([len(config.passes)] if overview_runs(config, width, height) else [])]
        smallest = {min((i for i in running if rotations[i] == r), key=lambda i: all_scales[i])
                    for r in {rotations[i] for i in running}}
        keep &= np.isin(pass_ids, sorted(smallest)) | (net_height <= config.max_net_px)
    return dets[keep], pass_ids[keep]


def pad_boxes(dets: np.ndarray, width: int, height: int, config: DetectorConfig = DEFAULT_CONFIG) -> list[Box]:
    """Detections (N, 5) x1 y1 x2 y2 score -> padded integer :class:`Box` es clipped to the image."""
    boxes = []
    across = sideways(config)
    for x1, y1, x2, y2, score in dets:
        w, h = x2 - x1, y2 - y1
        side, top, bottom = config.pad_side, config.pad_top, config.pad_bottom
        if across and w > h:  # may be a face lying on its side: its forehead may be left or right
            side, bottom = max(side, top), max(bottom, side)
        bx1 = max(0, int(np.floor(x1 - side * w)))
        by1 = max(0, int(np.floor(y1 - top * h)))
        bx2 = min(width, int(np.ceil(x2 + side * w)))
        by2 = min(height, int(np.ceil(y2 + bottom * h)))
        if bx2 > bx1 and by2 > by1:
            boxes.append(Box(bx1, by1, bx2 - bx1, by2 - by1, float(score)))
    boxes.sort(key=lambda b: -b.score)
    return boxes


def boxes_from_lists(items: Sequence[Sequence[float]]) -> list[Box]:
    """[[x, y, w, h(, score)], ...] (e.g. from JSON) -> boxes."""
    return [Box(int(i[0]), int(i[1]), int(i[2]), int(i[3]), float(i[4]) if len(i) > 4 else 1.0) for i in items]
