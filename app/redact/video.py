"""Face redaction for videos, streamed through ffmpeg one frame at a time.

Recall comes first: a face shown in a single frame is a face shown.  So:

- the detector (CenterFace, ``app.redact.centerface``) runs on every ``stride``-th frame at the
  video's own resolution, and every ``keyframe_every``-th detection frame -- and on both sides of
  every scene cut -- also on an enlarged copy (tiled), which finds faces down to ~10 px;
- a scene cut is found by comparing tiny thumbnails of consecutive frames;
- detections are linked into tracks (``app.redact.tracking``): boxes are interpolated between
  sightings, held for ``hold`` frames before the first and after the last sighting, and widened
  by the face's motion;
- every box is padded in proportion to the face (same rule as photos, ``app.redact.faces``) plus
  a few pixels, then filled black (or pixelated) in the picture itself.

- in a crowd (at least 3 sure small faces), weak detections near a sure face of similar size
  count too; faces cut by the frame edge get extra padding along that edge.

``redact_video`` decodes once: frames wait in a short delay line (``max(hold, max_gap) + 2``
frames: 14 by default, 87 MB at 1080p) until every detection that can affect them is known,
then are redacted and encoded.
The output is H.264 + AAC in fragmented MP4 with no metadata (see ``app.media.ffmpeg_io``),
reproducible byte for byte from the same original and parameters (fixed x264 threads, bitexact
muxing; verified by tests/redact/test_video.py).
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.errors import InvalidInput, MediaError
from app.media.ffmpeg_io import (
    FFMPEG,
    AudioRelay,
    EncoderSettings,
    FrameReader,
    FrameWriter,
    MediaInput,
    Sink,
    Source,
    ffmpeg_version,
    probe,
)
from app.media.ffmpeg_runner import run as run_ffmpeg
from app.progress import CancelToken, ProgressCallback
from app.redact.centerface import MODEL_NAME, MODEL_SHA256, CenterFaceModel
from app.redact.faces import DEFAULT_CONFIG, Box, fuse, run_pass
from app.redact.tracking import FaceTracks, iou_matrix

METHODS = ("fill", "pixelate")
_MISMATCH = ("The face boxes do not belong to this video (their number of frames differs). "
             "Run face detection on this video again.")
AUDIO_MODES = ("keep", "mute", "disguise")


@dataclass(frozen=True)
class TimedBox:
    """A box a reviewer added, shown from ``start_s`` to ``end_s`` (seconds, inclusive)."""

    start_s: float
    end_s: float
    box: Box


@dataclass(frozen=True)
class VideoDetectorConfig:
    """Video detection settings; every default is measured by benchmarks/faces_video.py."""

    stride: int = 2  # detect on every n-th frame; tracking fills the frames between
    detect_size: int = 1280  # longest side (network pixels) of the main pass (the frame's own size up to it)
    overview_size: int = 640  # a pass on the whole frame shrunk to this: faces filling the picture
    keyframe_every: int = 8  # every n-th detection frame also runs the enlarged pass
    keyframe_scale: float = 2.0  # enlargement of that pass (relative to the frame), tiled
    keyframe_max_side: int = 2560  # cap for the enlarged pass's longest side
    threshold: float = 0.2  # a detection this sure is kept on its own
    low_threshold: float = 0.1  # ... this sure when two passes agree
    crowd_threshold: float = 0.05  # ... this sure when near a kept face of similar size (crowds)
    crowd_radius: float = 5.0  # "near": centres within this many face sizes
    crowd_face_max: float = 0.08  # crowd faces are at most this fraction of the frame height...
    crowd_min_faces: int = 3  # ... and there are at least this many sure ones
    hold: int = 12  # frames a box stays before/after it was seen
    max_gap: int = 12  # frames between sightings still interpolated
    motion_scale: float = 1.0
    cut_threshold: float = 18.0  # mean abs difference (0..255) of 32x18 thumbnails
    pad_side: float = DEFAULT_CONFIG.pad_side
    pad_top: float = DEFAULT_CONFIG.pad_top
    pad_bottom: float = DEFAULT_CONFIG.pad_bottom
    pad_min_px: int = 4
    edge_extra: float = 0.3  # extra padding (fraction of the face) along a frame edge the face touches

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def delay(self) -> int:
        return max(self.hold, self.max_gap, self.stride)


DEFAULT_VIDEO_CONFIG = VideoDetectorConfig()


@dataclass
class VideoDetection:
    width: int
    height: int
    fps: float
    frames: list[list[Box]]  # redaction boxes (padded, clipped) per frame, persistence applied
    params: dict = field(default_factory=dict)


@dataclass
class VideoRedaction:
    width: int
    height: int
    fps: float
    frame_count: int
    output_sha256: str
    output_size: int
    params: dict  # exactly what was done, for the custody record


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """32x18 block means of the grey picture: cheap, and insensitive to noise and small motion."""
    height, width = frame.shape[:2]
    gray = frame[: height - height % 18 or height, : width - width % 32 or width].mean(axis=2)
    h, w = gray.shape
    if h < 18 or w < 32:
        return gray.astype(np.float32)
    return gray.reshape(18, h // 18, 32, w // 32).mean(axis=(1, 3)).astype(np.float32)


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
    return candidates[(close & similar).any(axis=1)]


class _OnlineDetector:
    """Detection + tracking over a stream of frames, emitting final boxes after a fixed delay."""

    def __init__(self, width: int, height: int, config: VideoDetectorConfig, model: CenterFaceModel,
                 keep_frames: bool) -> None:
        self.width, self.height = width, height
        self.config = config
        self.model = model
        self.keep_frames = keep_frames
        self.tracks = FaceTracks(hold=config.hold, max_gap=config.max_gap)
        self._pending: deque[tuple[int, np.ndarray | None]] = deque()
        self._prev: tuple[int, np.ndarray] | None = None  # last frame seen, kept for cut handling
        self._prev_thumb: np.ndarray | None = None
        self._prev_detected = -1
        self._detections_since_key = 0
        self.next_out = 0
        self.detection_count = 0
        self.keyframe_count = 0
        longest = max(width, height)
        self._base_scale = min(1.0, config.detect_size / longest)
        self._key_scale = min(config.keyframe_scale, config.keyframe_max_side / longest)
        self._overview_scale = min(1.0, config.overview_size / longest)

    def _detect(self, index: int, frame: np.ndarray, *, key: bool) -> None:
        cfg = self.config
        passes = [run_pass(self.model, frame, scale=self._base_scale, threshold=cfg.crowd_threshold)]
        if self._overview_scale < self._base_scale * 0.8:
            passes.append(run_pass(self.model, frame, scale=self._overview_scale, threshold=cfg.crowd_threshold))
        if key and self._key_scale > self._base_scale * 1.2:
            passes.append(run_pass(self.model, frame, scale=self._key_scale, threshold=cfg.crowd_threshold))
            self.keyframe_count += 1
        dets = np.concatenate(passes)
        ids = np.concatenate([np.full(len(p), k, dtype=np.int32) for k, p in enumerate(passes)])
        # boxes clipped to nothing at the frame edge: faces.fuse cannot cluster a zero-area box
        solid = (dets[:, 2] - dets[:, 0] >= 1) & (dets[:, 3] - dets[:, 1] >= 1)
        dets, ids = dets[solid], ids[solid]
        kept = fuse(dets, ids, threshold=cfg.threshold, low_threshold=cfg.low_threshold,
                    min_support=2, cluster_iou=0.3)
        crowd = kept[:0]
        max_face = cfg.crowd_face_max * self.height
        small = kept[np.maximum(kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]) <= max_face]
        if len(small) >= cfg.crowd_min_faces:
            weak = fuse(dets, ids, threshold=cfg.crowd_threshold, low_threshold=cfg.crowd_threshold,
                        min_support=len(passes) + 1, cluster_iou=0.3)
            weak = weak[np.maximum(weak[:, 2] - weak[:, 0], weak[:, 3] - weak[:, 1]) <= max_face]
            if len(weak):
                weak = weak[iou_matrix(weak[:, :4], kept[:, :4]).max(axis=1) < 0.3]  # not a kept face again
            crowd = near_similar(weak, small, cfg.crowd_radius)
        self.tracks.add(index, np.concatenate([kept, crowd]) if len(crowd) else kept)
        self.detection_count += 1
        self._prev_detected = index

    def push(self, index: int, frame: np.ndarray) -> list[tuple[int, np.ndarray | None, list[Box]]]:
        cfg = self.config
        thumb = _thumbnail(frame)
        is_cut = (self._prev_thumb is not None
                  and float(np.abs(thumb - self._prev_thumb).mean()) > cfg.cut_threshold)
        self._prev_thumb = thumb
        if is_cut:
            # the last frame of the old scene gets a detection too, then the tracks end there
            if self._prev is not None and self._prev_detected != self._prev[0]:
                self._detect(self._prev[0], self._prev[1], key=True)
            self.tracks.cut(index)
        if is_cut or index == 0 or index - self._prev_detected >= cfg.stride:
            key = is_cut or index == 0 or self._detections_since_key + 1 >= cfg.keyframe_every
            self._detections_since_key = 0 if key else self._detections_since_key + 1
            self._detect(index, frame, key=key)
        self._prev = (index, frame)
        self._pending.append((index, frame if self.keep_frames else None))
        # one frame more than the delay: the frame before a cut is only detected once the cut is seen
        return self._emit(index - cfg.delay - 1)

    def finish(self) -> list[tuple[int, np.ndarray | None, list[Box]]]:
        if self._prev is not None and self._prev_detected != self._prev[0]:
            self._detect(self._prev[0], self._prev[1], key=True)  # the last frame is always checked
        return self._emit(None)

    def _emit(self, upto: int | None) -> list[tuple[int, np.ndarray | None, list[Box]]]:
        ready = []
        while self._pending and (upto is None or self._pending[0][0] <= upto):
            index, frame = self._pending.popleft()
            raw = self.tracks.boxes_at(index, motion_scale=self.config.motion_scale)
            ready.append((index, frame, self._pad(raw)))
            self.next_out = index + 1
        if ready:
            self.tracks.drop_before(self.next_out)
        return ready

    def _pad(self, raw: Iterable[tuple[np.ndarray, float]]) -> list[Box]:
        cfg = self.config
        boxes = []
        for (x1, y1, x2, y2), score in raw:
            w, h = x2 - x1, y2 - y1
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

    def params(self) -> dict:
        return {
            "model": MODEL_NAME,
            "model_sha256": MODEL_SHA256,
            "runtime": "onnxruntime CPUExecutionProvider",
            "detector": self.config.to_dict(),
            "detection_frames": self.detection_count,
            "enlarged_pass_frames": self.keyframe_count,
            "scene_cuts": list(self.tracks.cuts),
        }


def _progress(progress: ProgressCallback | None, done: int, total: int, message: str) -> None:
    if progress is not None and (done % 10 == 0 or done == total):
        progress(done, max(total, done), message)


def detect_video(
    source: Source,
    *,
    stride: int | None = None,
    config: VideoDetectorConfig = DEFAULT_VIDEO_CONFIG,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> VideoDetection:
    """Find the boxes to redact on every frame of a video (for review before redacting)."""
    if stride is not None:
        config = dataclasses.replace(config, stride=stride)
    _check_config(config)
    model = CenterFaceModel.shared()
    with MediaInput(source) as media_input:
        info = probe(media_input)
        detector = _OnlineDetector(info.width, info.height, config, model, keep_frames=False)
        frames: list[list[Box]] = []
        with FrameReader(media_input, info=info, cancel=cancel) as reader:
            for index, frame in enumerate(reader):
                for _, _, boxes in detector.push(index, frame):
                    frames.append(boxes)
                _progress(progress, index + 1, info.frame_count, "Finding faces")
            for _, _, boxes in detector.finish():
                frames.append(boxes)
    return VideoDetection(info.width, info.height, float(info.fps), frames,
                          params={**detector.params(), "fps": str(info.fps)})


def _check_config(config: VideoDetectorConfig) -> None:
    if config.stride < 1 or config.hold < 0 or config.max_gap < config.stride:
        raise InvalidInput("Face detection settings are not valid (stride must be at least 1 and at most max_gap).")


# -------------------------------------------------------------------------------------------
# Drawing


def redact_frame(frame: np.ndarray, boxes: Sequence[Box], method: str = "fill") -> None:
    """Hide ``boxes`` in ``frame`` in place: solid black, or coarse pixelation (about 6 blocks/face)."""
    height, width = frame.shape[:2]
    for box in boxes:
        x1, y1 = max(0, box.x), max(0, box.y)
        x2, y2 = min(width, box.x + box.w), min(height, box.y + box.h)
        if x2 <= x1 or y2 <= y1:
            continue
        region = frame[y1:y2, x1:x2]
        if method == "fill":
            region[:] = 0
            continue
        block = max(4, -(-max(x2 - x1, y2 - y1) // 6))
        for by in range(0, y2 - y1, block):
            for bx in range(0, x2 - x1, block):
                cell = region[by : by + block, bx : bx + block]
                cell[:] = cell.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)


def _timed_boxes_for(index: int, fps: float, extra: Sequence[TimedBox]) -> list[Box]:
    # A frame is shown from index/fps to (index+1)/fps: any overlap with the range counts.
    start, end = index / fps, (index + 1) / fps
    return [t.box for t in extra if t.start_s < end and t.end_s >= start]


def boxes_from_runs(runs: Sequence[Sequence], frame_count: int) -> list[list[Box]]:
    """Inverse of :func:`compact_boxes`: per-frame boxes from a custody record's ``boxes``.

    Redacting with these (``frames_boxes=``) reproduces the recorded output byte for byte,
    whatever the face model would find today.
    """
    frames: list[list[Box]] = [[] for _ in range(frame_count)]
    for first, last, boxes in runs:
        for index in range(first, last + 1):
            frames[index] = [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes]
    return frames


def compact_boxes(frames: Sequence[Sequence[Box]]) -> list[list]:
    """Per-frame boxes as runs: ``[[first_frame, last_frame, [[x, y, w, h], ...]], ...]``.

    Consecutive frames with identical boxes share one run; frames without boxes are left out.
    """
    runs: list[list] = []
    for index, boxes in enumerate(frames):
        lists = [b.to_list() for b in boxes]
        if not lists:
            continue
        if runs and runs[-1][1] == index - 1 and runs[-1][2] == lists:
            runs[-1][1] = index
        else:
            runs.append([index, index, lists])
    return runs


# -------------------------------------------------------------------------------------------
# Audio


def _has_filter(name: str) -> bool:
    try:
        out = run_ffmpeg([FFMPEG, "-hide_banner", "-filters"], time_limit=20)
    except MediaError:
        return False
    return any(line.split()[1:2] == [name] for line in out.stdout.decode("utf-8", "replace").splitlines())


def disguise_filter(seed: int) -> tuple[str, dict]:
    """ffmpeg audio filter that lowers pitch and formants by a seed-chosen factor, band-limited.

    A deterrent, not anonymity: whoever knows the factor can shift the pitch back.  The band
    limit (telephone band) does discard detail for good.
    """
    factor = round(0.74 + 0.08 * random.Random(seed).random(), 3)  # 4 to 5 semitones down
    if _has_filter("rubberband"):
        chain = f"rubberband=pitch={factor}:formant=shifted"
        engine = "rubberband"
    else:
        # resample trick: play slower (pitch and formants drop), then restore the tempo
        chain = f"asetrate={48000 * factor:.0f},aresample=48000,atempo={1 / factor:.6f}"
        engine = "asetrate"
    chain = "aresample=48000," + chain + ",highpass=f=200,lowpass=f=3800"
    return chain, {"engine": engine, "pitch_factor": factor, "band_hz": [200, 3800], "filter": chain}


# -------------------------------------------------------------------------------------------
# Redaction


def redact_video(
    source: Source,
    sink: Sink,
    *,
    frames_boxes: Sequence[Sequence[Box]] | None = None,
    extra_boxes: Sequence[TimedBox] = (),
    method: str = "fill",
    audio: str = "keep",
    seed: int = 0,
    config: VideoDetectorConfig = DEFAULT_VIDEO_CONFIG,
    encoder: EncoderSettings | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> VideoRedaction:
    """Write a redacted copy of ``source`` to ``sink`` (H.264/AAC fragmented MP4, no metadata).

    ``frames_boxes``: boxes per frame (e.g. a reviewed :func:`detect_video` result); ``None``
    detects faces in the same decoding pass.  ``extra_boxes`` are reviewer-added boxes over a time
    range.  ``method``: "fill" (black, the safe default) or "pixelate".  ``audio``: "keep",
    "mute" (no audio track at all) or "disguise" (pitch and formant shift).  On error or cancel
    the ffmpeg processes are stopped and nothing is left in ``sink``.
    """
    if method not in METHODS:
        raise InvalidInput(f"Unknown redaction method {method!r}; choose one of {', '.join(METHODS)}.")
    if audio not in AUDIO_MODES:
        raise InvalidInput(f"Unknown audio choice {audio!r}; choose one of {', '.join(AUDIO_MODES)}.")
    _check_config(config)
    encoder = encoder or EncoderSettings()
    with MediaInput(source) as media_input:
        info = probe(media_input)
        fps = float(info.fps)
        audio_filter, audio_params = None, {"mode": audio}
        if audio != "mute" and not info.has_audio:
            audio_params["note"] = "the original has no audio track"
        use_audio = audio != "mute" and info.has_audio
        if use_audio and audio == "disguise":
            audio_filter, disguise = disguise_filter(seed)
            audio_params.update(disguise)
        channels = 1 if info.audio_channels == 1 else 2
        relay = AudioRelay() if use_audio else None
        detector = None
        if frames_boxes is None:
            detector = _OnlineDetector(info.width, info.height, config, CenterFaceModel.shared(), keep_frames=True)
        reader = FrameReader(media_input, info=info, audio=relay, audio_channels=channels,
                             audio_filter=audio_filter, cancel=cancel)
        writer = FrameWriter(sink, width=info.width, height=info.height, fps=info.fps, audio=relay,
                             audio_channels=channels, settings=encoder)
        applied: list[list[Box]] = []
        try:
            reader.start()
            writer.start()
            if relay is not None:
                relay.start()

            def output(index: int, frame: np.ndarray, boxes: list[Box]) -> None:
                boxes = list(boxes) + _timed_boxes_for(index, fps, extra_boxes)
                redact_frame(frame, boxes, method)
                writer.write(frame)
                applied.append(boxes)
                _progress(progress, index + 1, info.frame_count, "Redacting video")

            for index, frame in enumerate(reader):
                if detector is None:
                    if index >= len(frames_boxes):
                        raise InvalidInput(_MISMATCH)  # frames without boxes would go out unredacted
                    output(index, frame, list(frames_boxes[index]))
                else:
                    for out_index, out_frame, boxes in detector.push(index, frame):
                        output(out_index, out_frame, boxes)
            if detector is not None:
                for out_index, out_frame, boxes in detector.finish():
                    output(out_index, out_frame, boxes)
            if cancel is not None:
                cancel.check()
            if frames_boxes is not None and len(frames_boxes) != len(applied):
                raise InvalidInput(_MISMATCH)
            writer.close()
        except BaseException:
            writer.abort()
            reader.close()
            if relay is not None:
                relay.close()
            raise
        reader.close()
        if relay is not None:
            relay.close()
    params: dict[str, Any] = {
        "kind": "video_face_redaction",
        "method": method,
        "seed": seed,
        "audio": audio_params,
        "width": info.width,
        "height": info.height,
        "fps": str(info.fps),
        "frames": len(applied),
        "rotation_applied": info.rotation,
        "boxes": compact_boxes(applied),
        "box_format": "[first_frame, last_frame, [[x, y, w, h], ...]] in output pixels",
        "extra_boxes": [{"start_s": t.start_s, "end_s": t.end_s, "box": t.box.to_list()} for t in extra_boxes],
        "detection": detector.params() if detector is not None else {"source": "frames_boxes given"},
        "padding": {"side": config.pad_side, "top": config.pad_top, "bottom": config.pad_bottom,
                    "min_px": config.pad_min_px},
        "stride": config.stride,
        "encoder": {**encoder.as_dict(), "ffmpeg": ffmpeg_version()},
        "metadata": "removed (map_metadata -1, map_chapters -1, only video and audio kept, bitexact)",
    }
    return VideoRedaction(info.width, info.height, fps, len(applied), writer.sha256, writer.bytes_written, params)
