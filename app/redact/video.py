"""Face redaction for videos, streamed through ffmpeg one frame at a time.

Recall comes first: a face shown in a single frame is a face shown.  So:

- the video is decoded twice.  The first pass finds scene cuts (``app.redact.scene_cuts``) and
  runs the detector (CenterFace, ``app.redact.centerface``) on every ``stride``-th frame at the
  video's own resolution; every ``keyframe_every``-th detection frame -- and both sides of every
  cut -- also on an enlarged copy (tiled), which finds faces down to ~10 px;
- per shot, detections are linked into tracks forward and backward (``app.redact.face_tracks``):
  boxes are interpolated between sightings, widened by the face's motion, and held (growing) up
  to the shot's first and last frame, so a face seen anywhere in a shot is covered throughout;
- frames where a face was lost for a while, or is covered on an uncertain detection only, come
  back as review flags (``VideoRedaction.flags``): covered meanwhile, checked by a reviewer;
- in a crowd (at least 3 sure small faces), weak detections near a sure face of similar size
  count too; every box is padded in proportion to the face plus a few pixels (more along a frame
  edge the face touches), then filled black (or pixelated) in the picture itself, in the second
  pass, which also encodes.

Memory holds the detections and boxes, never more than two decoded frames.
The output is H.264 + AAC in fragmented MP4 with no metadata (see ``app.media.ffmpeg_io``),
reproducible byte for byte from the same original and parameters (fixed x264 threads, bitexact
muxing; verified by tests/redact/test_video.py).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
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
from app.redact.centerface import CenterFaceModel
from app.redact.face_tracks import ReviewFlag
from app.redact.faces import Box
from app.redact.kept_video import KeptRequest, kept_flags, merge_reviewed
from app.redact.video_analysis import DEFAULT_VIDEO_CONFIG, Analyser, VideoDetectorConfig

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




@dataclass
class VideoDetection:
    width: int
    height: int
    fps: float
    frames: list[list[Box]]  # redaction boxes (padded, clipped) per frame, tracking applied
    params: dict[str, Any] = field(default_factory=dict)
    flags: list[ReviewFlag] = field(default_factory=list)  # frames a reviewer must look at

    @property
    def needs_review(self) -> bool:
        return bool(self.flags)


@dataclass
class VideoRedaction:
    width: int
    height: int
    fps: float
    frame_count: int
    output_sha256: str
    output_size: int
    params: dict[str, Any]  # exactly what was done, for the custody record
    # Frames where tracking lost a face or only an uncertain detection covered one: redacted
    # (covered meanwhile), but a reviewer must look at them before the copy is released.
    flags: list[ReviewFlag] = field(default_factory=list)
    kept_visible: list[list[int]] = field(default_factory=list)  # per kept face: frames it was left visible on

    @property
    def needs_review(self) -> bool:
        return bool(self.flags)


def _progress(progress: ProgressCallback | None, done: int, total: int, message: str) -> None:
    if progress is not None and (done % 10 == 0 or done == total):
        progress(done, max(total, done), message)


def _analyse(media_input: MediaInput, info: Any, config: VideoDetectorConfig,
             progress: ProgressCallback | None, cancel: CancelToken | None, kept: Sequence[KeptRequest] = (),
             visible: list[list[int]] | None = None, plain: list[list[Box]] | None = None,
             ) -> tuple[list[list[Box]], list[ReviewFlag], dict[str, Any]]:
    """Decode the whole video once for detection; boxes per frame, review flags, parameters.

    With ``kept`` faces, ``visible`` receives the frames each was left visible on, and ``plain``
    (when given) the boxes without any kept face (the same detections tracked again, no decoding)."""
    analyser = Analyser(info.width, info.height, config, CenterFaceModel.shared())
    with FrameReader(media_input, info=info, cancel=cancel) as reader:
        for index, frame in enumerate(reader):
            analyser.push(index, frame)
            _progress(progress, index + 1, info.frame_count, "Finding faces")
    if plain is not None:
        plain[:] = analyser.finish()[0]
    frames, flags = analyser.finish(kept)
    if visible is not None:
        visible[:] = analyser.kept_visible
    return frames, flags, analyser.params(flags)


def _merge_review(media_input: MediaInput, info: Any, config: VideoDetectorConfig,
                  progress: ProgressCallback | None, cancel: CancelToken | None, kept: Sequence[KeptRequest],
                  visible: list[list[int]], reviewed: Sequence[Sequence[Box]],
                  ) -> tuple[list[list[Box]], list[ReviewFlag], dict[str, Any]]:
    """Reviewed boxes and kept faces: analyse again with the kept faces, then merge the review in."""
    plain: list[list[Box]] = []
    frames, flags, detection = _analyse(media_input, info, config, progress, cancel, kept, visible, plain)
    merged = merge_reviewed(reviewed, plain, frames, visible)
    visible[:] = merged.visible
    flags = sorted(flags + kept_flags(merged.covered, 0), key=lambda f: (f.first_frame, f.reason))
    detection = {**detection, "source": "analysed again with the kept faces; the reviewed frames_boxes merged in",
                 "reviewed": merged.record, "review_flags": [f.to_dict() for f in flags]}
    return merged.frames, flags, detection


def detect_video(
    source: Source,
    *,
    stride: int | None = None,
    config: VideoDetectorConfig = DEFAULT_VIDEO_CONFIG,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> VideoDetection:
    """Find the boxes to redact on every frame of a video (for review before redacting).

    ``flags`` of the result name the frames a reviewer must check (a face lost by tracking, or
    covered on an uncertain detection); those frames are covered all the same.
    """
    if stride is not None:
        config = dataclasses.replace(config, stride=stride)
    _check_config(config)
    with MediaInput(source) as media_input:
        info = probe(media_input)
        frames, flags, params = _analyse(media_input, info, config, progress, cancel)
    return VideoDetection(info.width, info.height, float(info.fps), frames,
                          params={**params, "fps": str(info.fps)}, flags=flags)


def _check_config(config: VideoDetectorConfig) -> None:
    if config.stride < 1 or config.max_gap < config.stride or config.link_gap < config.stride:
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


def boxes_from_runs(runs: Sequence[Sequence[Any]], frame_count: int) -> list[list[Box]]:
    """Inverse of :func:`compact_boxes`: per-frame boxes from a custody record's ``boxes``.

    Redacting with these (``frames_boxes=``) reproduces the recorded output byte for byte,
    whatever the face model would find today.
    """
    frames: list[list[Box]] = [[] for _ in range(frame_count)]
    for first, last, boxes in runs:
        for index in range(first, last + 1):
            frames[index] = [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes]
    return frames


def compact_boxes(frames: Sequence[Sequence[Box]]) -> list[list[Any]]:
    """Per-frame boxes as runs: ``[[first_frame, last_frame, [[x, y, w, h], ...]], ...]``.

    Consecutive frames with identical boxes share one run; frames without boxes are left out.
    """
    runs: list[list[Any]] = []
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


def disguise_filter(seed: int) -> tuple[str, dict[str, Any]]:
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
    kept_faces: Sequence[KeptRequest] = (),
) -> VideoRedaction:
    """Write a redacted copy of ``source`` to ``sink`` (H.264/AAC fragmented MP4, no metadata).

    ``frames_boxes``: boxes per frame (e.g. a reviewed :func:`detect_video` result); ``None``
    detects faces in the same decoding pass.  ``extra_boxes`` are reviewer-added boxes over a time
    range.  ``method``: "fill" (black, the safe default) or "pixelate".  ``audio``: "keep",
    "mute" (no audio track at all) or "disguise" (pitch and formant shift).  On error or cancel
    the ffmpeg processes are stopped and nothing is left in ``sink``.

    ``kept_faces`` (frame and box) are faces reviewers decided to leave visible: each is followed
    through its shot by the face tracks and its boxes are left off where that is certain
    (``app.redact.kept_video``); ``VideoRedaction.kept_visible`` lists those frames per face. They
    need the detector's tracks: with ``frames_boxes`` too, the video is analysed again and the review
    merged in (``app.redact.kept_video.merge_reviewed``: a reviewer's own boxes are always drawn).
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
        flags: list[ReviewFlag] = []
        kept_visible: list[list[int]] = []
        detection: dict[str, Any] = {"source": "frames_boxes given"}
        if frames_boxes is None:
            # Analyse the whole video first: a face seen late in a shot is covered from the shot's
            # first frame, which a single pass with a short delay line cannot do.
            frames_boxes, flags, detection = _analyse(media_input, info, config, progress, cancel, kept_faces,
                                                      kept_visible)
        elif kept_faces:
            frames_boxes, flags, detection = _merge_review(media_input, info, config, progress, cancel, kept_faces,
                                                           kept_visible, frames_boxes)
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
                if index >= len(frames_boxes):
                    raise InvalidInput(_MISMATCH)  # frames without boxes would go out unredacted
                output(index, frame, list(frames_boxes[index]))
            if cancel is not None:
                cancel.check()
            if len(frames_boxes) != len(applied):
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
        "detection": detection,
        "padding": {"side": config.pad_side, "top": config.pad_top, "bottom": config.pad_bottom,
                    "min_px": config.pad_min_px},
        "stride": config.stride,
        "encoder": {**encoder.as_dict(), "ffmpeg": ffmpeg_version()},
        "metadata": "removed (map_metadata -1, map_chapters -1, only video and audio kept, bitexact)",
    }
    return VideoRedaction(info.width, info.height, fps, len(applied), writer.sha256, writer.bytes_written, params,
                          flags=flags, kept_visible=kept_visible)
