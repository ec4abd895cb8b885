"""The first pass of video redaction: scene cuts, face detection, tracks per shot, review flags.

``app.redact.video`` decodes a video once through :class:`Analyser` (only detections and the
previous frame are kept), then draws the boxes it returns while re-encoding. Settings live in
:class:`VideoDetectorConfig`; every default is measured by ``benchmarks/faces_video.py``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import InvalidInput
from app.redact.centerface import MODEL_NAME, MODEL_SHA256, CenterFaceModel
from app.redact.face_fusion import fuse, fuse_clusters
from app.redact.face_pass import run_pass
from app.redact.face_tracks import (
    FLAG_LOST,
    FLAG_UNCERTAIN,
    ReviewFlag,
    TrackSettings,
    flag_ranges,
    iou_matrix,
    render_shot,
)
from app.redact.faces import Box
from app.redact.kept_video import KeptRequest, decide_shot, kept_flags, uncover
from app.redact.scene_cuts import CutSettings, SceneCutDetector


@dataclass(frozen=True)
class VideoDetectorConfig:
    """Video detection settings; every default is measured by benchmarks/faces_video.py."""

    stride: int = 2  # detect on every n-th frame; tracking fills the frames between
    detect_size: int = 1280  # longest side (network pixels) of the main pass (the frame's own size up to it)
    overview_size: int = 640  # a pass on the whole frame shrunk to this: faces filling the picture
    keyframe_every: int = 8  # every n-th detection frame also runs the enlarged pass
    keyframe_scale: float = 2.0  # enlargement of that pass (relative to the frame), tiled
    keyframe_max_side: int = 2560  # cap for the enlarged pass's longest side
    # Faces lying on their side (a person lying down, a phone held sideways, a wrong rotation flag) are
    # invisible to the upright passes: every detection frame also runs two passes on the frame turned 90
    # and 270 degrees, shrunk to this longest side and at most turned_scale (0 = off). Measured on the
    # turned clips (docs/VIDEO_REDACTION.md): on key frames only, a face seen between them went uncovered.
    turned_size: int = 480
    turned_scale: float = 0.5
    # They keep only faces they are sure of (texture turned sideways looks like faces to the model; their
    # weak detections raised the masked share of upright clips by up to 17 points and found no more).
    turned_threshold: float = 0.5
    threshold: float = 0.2  # a detection this sure is kept on its own
    low_threshold: float = 0.1  # ... this sure when two passes agree
    sure_threshold: float = 0.5  # kept on one pass below this: uncertain (covered, flagged for review)
    crowd_threshold: float = 0.05  # ... this sure when near a kept face of similar size (crowds)
    crowd_radius: float = 5.0  # "near": centres within this many face sizes
    crowd_face_max: float = 0.08  # crowd faces are at most this fraction of the frame height...
    crowd_min_faces: int = 3  # ... and there are at least this many sure ones
    # Tracking inside a shot (app.redact.face_tracks.TrackSettings)
    match_iou: float = 0.2
    link_gap: int = 25
    max_gap: int = 12  # frames unseen before a face counts as lost (flagged)
    motion_scale: float = 1.0
    extrapolate: int = 12
    growth: float = 0.02
    max_growth: float = 1.0
    weak_hold: int = 12
    fast_speed: float = 0.6  # face sizes per frame: faster faces get the region they can reach where unseen
    fast_gap: int = 4
    fast_steps: int = 2  # ... seen that fast this often (once: a crowd neighbour linked by mistake)
    min_hit_rate: float = 0.25  # ... as do faces found on fewer of a shot's detection frames than this
    speed_margin: float = 1.5  # their speed bound: the fastest observed between sightings x this ...
    elusive_speed: float = 2.0  # ... and at least this many face sizes per frame for an elusive face
    whole_share: float = 0.8  # a region over this share of the frame becomes the whole frame
    cut_threshold: float = CutSettings().thumb_threshold
    cut_hist_threshold: float = CutSettings().hist_threshold
    # Padding of the tracked face box. Video keeps the generous photo padding of before: no
    # precision target here, and motion blur smears a face beyond its detected box.
    pad_side: float = 0.3
    pad_top: float = 0.45
    pad_bottom: float = 0.3
    pad_min_px: int = 4
    edge_extra: float = 0.3  # extra padding (fraction of the face) along a frame edge the face touches

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def tracking(self) -> TrackSettings:
        return TrackSettings(match_iou=self.match_iou, link_gap=self.link_gap, max_gap=self.max_gap,
                             motion_scale=self.motion_scale, extrapolate=self.extrapolate, growth=self.growth,
                             max_growth=self.max_growth, weak_hold=self.weak_hold, fast_speed=self.fast_speed,
                             fast_gap=self.fast_gap, fast_steps=self.fast_steps, min_hit_rate=self.min_hit_rate,
                             speed_margin=self.speed_margin,
                             elusive_speed=self.elusive_speed, whole_share=self.whole_share)


DEFAULT_VIDEO_CONFIG = VideoDetectorConfig()
TURNS = (90, 270)  # counter-clockwise degrees of the turned passes (run_pass): faces lying either way


def near_similar(candidates: np.ndarray, kept: np.ndarray, radius: float) -> np.ndarray:
    """Weak detections whose centre lies within ``radius`` face sizes of a kept face of similar size.

    In a crowd the model scores many real faces low; next to faces it is sure of, at the same
    scale, a weak detection is far more likely a face than texture.
    """
    if len(candidates) == 0 or len(kept) == 0:
        return candidates[:0]
    kept_size = np.maximum(kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1])
    cand_size = np.maximum(candidates[:, 2] - candidates[:, 0], candidates[:, 3] - candidates[:, 1])
    kept_centre = (kept[:, :2] + kept[:, 2:4]) / 2
    cand_centre = (candidates[:, :2] + candidates[:, 2:4]) / 2
    distance = np.hypot(cand_centre[:, None, 0] - kept_centre[None, :, 0],
                        cand_centre[:, None, 1] - kept_centre[None, :, 1])
    ratio = cand_size[:, None] / np.maximum(kept_size[None, :], 1e-6)
    close = distance <= radius * np.maximum(cand_size[:, None], kept_size[None, :])
    similar = (ratio >= 0.5) & (ratio <= 2.0)
    return np.asarray(candidates[(close & similar).any(axis=1)])


def _solid(passes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All passes' detections (N, 5) and the pass each came from, without boxes clipped to nothing at the
    frame edge (clustering cannot measure a zero-area box)."""
    dets = np.concatenate([*passes, np.empty((0, 5), dtype=np.float32)])
    ids = np.concatenate([np.full(len(p), k, dtype=np.int32) for k, p in enumerate([*passes, dets[:0]])])
    solid = (dets[:, 2] - dets[:, 0] >= 1) & (dets[:, 3] - dets[:, 1] >= 1)
    return dets[solid], ids[solid]


class Analyser:
    """First pass over a video: scene cuts and detections; then tracks per shot -> boxes per frame.

    Only detections and the previous frame are kept while decoding, so memory does not grow with
    the length of the video beyond the boxes themselves.
    """

    def __init__(self, width: int, height: int, config: VideoDetectorConfig, model: CenterFaceModel) -> None:
        self.width, self.height = width, height
        self.config = config
        self.model = model
        self.cut_detector = SceneCutDetector(CutSettings(config.cut_threshold, config.cut_hist_threshold))
        self.shot_starts: list[int] = [0]
        self.det_frames: list[int] = []
        self.dets: list[np.ndarray] = []  # (N, 6): x1 y1 x2 y2 score sure
        self._prev: tuple[int, np.ndarray] | None = None
        self._prev_detected = -1
        self._detections_since_key = 0
        self.frame_count = 0
        self.keyframe_count = 0
        self.kept_visible: list[list[int]] = []  # per kept face given to finish(): frames left visible
        longest = max(width, height)
        self._base_scale = min(1.0, config.detect_size / longest)
        self._key_scale = min(config.keyframe_scale, config.keyframe_max_side / longest)
        self._overview_scale = min(1.0, config.overview_size / longest)
        self._turned_scale = min(self._base_scale, config.turned_scale, config.turned_size / longest)

    def _detect(self, index: int, frame: np.ndarray, *, key: bool) -> None:
        cfg = self.config
        passes = [run_pass(self.model, frame, scale=self._base_scale, threshold=cfg.crowd_threshold)]
        if self._overview_scale < self._base_scale * 0.8:
            passes.append(run_pass(self.model, frame, scale=self._overview_scale, threshold=cfg.crowd_threshold))
        if key and self._key_scale > self._base_scale * 1.2:
            passes.append(run_pass(self.model, frame, scale=self._key_scale, threshold=cfg.crowd_threshold))
            self.keyframe_count += 1
        turned = [run_pass(self.model, frame, scale=self._turned_scale, rotate=angle, threshold=cfg.turned_threshold)
                  for angle in TURNS] if self._turned_scale > 0 else []
        self.add_detections(index, passes, turned)

    def add_detections(self, index: int, passes: Sequence[np.ndarray], turned: Sequence[np.ndarray] = ()) -> None:
        """Fuse one detection frame's upright ``passes`` and ``turned`` passes (raw (N, 5) each, frame
        coordinates) into faces for tracking."""
        cfg = self.config
        if turned:
            passes = [*passes, *self._turned_news(passes, turned)]
        dets, ids = _solid(passes)
        kept, support = fuse_clusters(dets, ids, threshold=cfg.threshold, low_threshold=cfg.low_threshold,
                                      min_support=2, cluster_iou=0.3)
        # Sure: two passes agree, or one is confident. Otherwise the passes disagree: cover and flag.
        sure = ((support >= 2) | (kept[:, 4] >= cfg.sure_threshold)).astype(np.float32)
        found = [np.concatenate([kept, sure[:, None]], axis=1)]
        max_face = cfg.crowd_face_max * self.height
        small = kept[np.maximum(kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]) <= max_face]
        if len(small) >= cfg.crowd_min_faces:
            weak = fuse(dets, ids, threshold=cfg.crowd_threshold, low_threshold=cfg.crowd_threshold,
                        min_support=len(passes) + 1, cluster_iou=0.3)
            weak = weak[np.maximum(weak[:, 2] - weak[:, 0], weak[:, 3] - weak[:, 1]) <= max_face]
            if len(weak):
                weak = weak[iou_matrix(weak[:, :4], kept[:, :4]).max(axis=1) < 0.3]  # not a kept face again
            crowd = near_similar(weak, small, cfg.crowd_radius)
            # a crowd face next to sure ones of its size is confirmed by its neighbours
            found.append(np.concatenate([crowd, np.ones((len(crowd), 1), dtype=np.float32)], axis=1))
        self.det_frames.append(index)
        self.dets.append(np.concatenate(found))
        self._prev_detected = index

    def _turned_news(self, upright: Sequence[np.ndarray], turned: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The turned passes' detections without those an upright pass sees at least as surely (and at
        least at ``threshold``): that face is the upright passes' (the turned passes box it differently, and
        the union would only widen it), as is the texture both happen to score."""
        seen = np.concatenate([*upright, np.empty((0, 5), dtype=np.float32)])
        seen = seen[seen[:, 4] >= self.config.threshold]
        out = []
        for dets in turned:
            if len(dets) and len(seen):
                overlap = iou_matrix(dets[:, :4], seen[:, :4]) >= 0.3
                surer = overlap & (seen[None, :, 4] >= dets[:, None, 4])
                dets = dets[~surer.any(axis=1)]
            out.append(dets)
        return out

    def push(self, index: int, frame: np.ndarray) -> None:
        cfg = self.config
        is_cut = self.cut_detector.push(frame) and index > 0
        if is_cut:
            # the last frame of the old shot gets a detection too: its tracks end there
            if self._prev is not None and self._prev_detected != self._prev[0]:
                self._detect(self._prev[0], self._prev[1], key=True)
            self.shot_starts.append(index)
        if is_cut or index == 0 or index - self._prev_detected >= cfg.stride:
            key = is_cut or index == 0 or self._detections_since_key + 1 >= cfg.keyframe_every
            self._detections_since_key = 0 if key else self._detections_since_key + 1
            self._detect(index, frame, key=key)
        self._prev = (index, frame)
        self.frame_count = index + 1

    def finish(self, kept: Sequence[KeptRequest] = ()) -> tuple[list[list[Box]], list[ReviewFlag]]:
        """Boxes for every frame pushed, and the review flags.

        ``kept``: faces reviewers decided to leave visible (``app.redact.kept_video``); the frames each
        was left visible on are then in ``self.kept_visible`` (one list per request, in order)."""
        for request in kept:
            if not 0 <= request.frame < self.frame_count:
                raise InvalidInput(f"Frame {request.frame} is not in this video (it has {self.frame_count} frames, "
                                   f"numbered from 0). Give the frame where the face to keep is seen.")
        self.kept_visible = [[] for _ in kept]
        if self._prev is not None and self._prev_detected != self._prev[0]:
            self._detect(self._prev[0], self._prev[1], key=True)  # the last frame is always checked
        self._prev = None
        frames: list[list[Box]] = []
        flags: list[ReviewFlag] = []
        ends = [*self.shot_starts[1:], self.frame_count]
        settings = self.config.tracking()
        for start, after in zip(self.shot_starts, ends, strict=True):
            if after <= start:
                continue
            lo = bisect.bisect_left(self.det_frames, start)
            hi = bisect.bisect_left(self.det_frames, after)
            shot = render_shot(start, after - 1, self.det_frames[lo:hi], self.dets[lo:hi],
                               self.width, self.height, settings)
            requests = [(k, r) for k, r in enumerate(kept) if start <= r.frame < after]
            decision = decide_shot(shot, requests)
            for k, visible in decision.visible.items():
                self.kept_visible[k] = visible
            for i, (items, owners, shown) in enumerate(zip(decision.boxes, decision.owners, decision.shown,
                                                           strict=True)):
                faces = [shot.tracks[owner].face[i] for owner in owners]
                frames.append(uncover(self._pad(items, faces), shown))
            flags += flag_ranges(shot.lost, FLAG_LOST, start) + flag_ranges(shot.uncertain, FLAG_UNCERTAIN, start)
            flags += kept_flags(decision.covered, start)
        flags.sort(key=lambda f: (f.first_frame, f.reason))
        return frames, flags

    def _pad(self, raw: Iterable[tuple[np.ndarray, float]], faces: Iterable[np.ndarray]) -> list[Box]:
        """Drawn boxes padded in proportion to their face's own size (``faces``: width, height), not the
        box's: an interpolated, held or region box has already grown by where the face can have moved."""
        cfg = self.config
        boxes = []
        for ((x1, y1, x2, y2), score), (w, h) in zip(raw, faces, strict=True):
            side, top, bottom = cfg.pad_side * w, cfg.pad_top * h, cfg.pad_bottom * h
            # A face cut by the frame edge is only partly seen and the model places its box less
            # well: pad it more along that edge (measured: faces sliding in at the edge).
            if x1 - side <= 0 or x2 + side >= self.width:
                top, bottom = top + cfg.edge_extra * h, bottom + cfg.edge_extra * h
            if y1 - top <= 0 or y2 + bottom >= self.height:
                side += cfg.edge_extra * w
            bx1 = max(0, int(np.floor(x1 - side - cfg.pad_min_px)))
            by1 = max(0, int(np.floor(y1 - top - cfg.pad_min_px)))
            bx2 = min(self.width, int(np.ceil(x2 + side + cfg.pad_min_px)))
            by2 = min(self.height, int(np.ceil(y2 + bottom + cfg.pad_min_px)))
            if bx2 > bx1 and by2 > by1:
                boxes.append(Box(bx1, by1, bx2 - bx1, by2 - by1, round(float(score), 4)))
        return boxes

    def params(self, flags: Sequence[ReviewFlag]) -> dict[str, Any]:
        return {
            "model": MODEL_NAME,
            "model_sha256": MODEL_SHA256,
            "runtime": "onnxruntime CPUExecutionProvider",
            "detector": self.config.to_dict(),
            "detection_frames": len(self.det_frames),
            "enlarged_pass_frames": self.keyframe_count,
            "scene_cuts": self.shot_starts[1:],
            "review_flags": [f.to_dict() for f in flags],
        }
