"""The one place that asks ffprobe what a file is, and the one reading of what it answers.

Two callers with two contracts:

* :func:`probe_file` (ingest) NEVER raises for bad media.  Damage, lies in the file name,
  decompression bombs and tools that time out all become plain-language ``warnings`` in its
  :class:`MediaInfo`; the storage layer keeps the original anyway, because a damaged recording is
  still evidence.
* :func:`probe_video` (redaction, review, export pipelines) describes the picture track the
  decoder will deliver (:class:`VideoInfo`) and raises :class:`CorruptMedia` or
  :class:`UnsupportedMedia` when there is none to work on.

Both read a stream's geometry through :func:`display_rotation` and :func:`frame_rate`, so a
rotated phone video gets the same rotation in the item's metadata and in the redaction record.

**Rotation convention**: degrees *clockwise* the stored frame must be turned to display upright
(0, 90, 180 or 270).  ffprobe reports the display matrix as ``rotation`` in the opposite sense
(``av_display_rotation_get``: counter-clockwise), so a phone held upright, whose matrix ffprobe
shows as ``-90``, is ``90`` here; the legacy ``rotate`` tag already means clockwise.  ffmpeg's
decoder applies the rotation (autorotate), so decoded frames are upright and ``VideoInfo``'s
width and height are those of the upright picture.

ffprobe at ingest only reads local files (``-protocol_whitelist file``) with a fixed list of
demuxers (``-format_whitelist``), so a playlist disguised as a video cannot make it open anything
else.  Truncation is found three ways, cheapest first (see ``_truncation_warning``):
1. container structure (:mod:`app.media.containers`): an MP4/MOV/HEIC box, a RIFF (WAV/AVI/WebP)
   chunk or a Matroska segment whose declared size runs past the end of the file;
2. for everything with a declared duration: ffprobe reads the packets of the last few seconds
   (a seek, not a full decode) and the data must reach the declared end;
3. JPEG entropy data: ``ffmpeg`` decodes the image and reports corrupt scan data, which Pillow
   silently accepts (a bit-flipped JPEG decodes "fine" with smeared pixels).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.errors import CorruptMedia, UnsupportedMedia
from app.media.containers import overrun_warning
from app.media.ffmpeg_runner import FFPROBE, MediaTimeout
from app.media.ffmpeg_runner import run as run_tool
from app.media.images import clean_text, json_safe, probe_photo
from app.media.media_input import PROTOCOLS, MediaInput, Source, as_input
from app.media.sniff import SNIFF_BYTES, extension_mismatch, sniff_kind

DAMAGED_RECORDING = "This recording is damaged or in an unknown format; it was stored as received."
TOO_SLOW = "Checking this file took too long; it was stored as received, without its technical details."
NOT_CHECKED = "There was not enough time to check this whole file for damage; it was stored as received."
NO_TOOL = "ffprobe is not installed, so this recording's details could not be read; it was stored as received."

# Demuxers ffprobe may use.  Anything else (playlists, concat lists, image sequences, network
# formats) is refused, whatever the bytes claim to be.
_DEMUXERS = ",".join([
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "mp3", "flac", "ogg", "wav",
    "aac", "h264", "hevc", "mpegts", "mpeg", "asf", "flv", "amr", "amrnb", "amrwb", "aiff", "w64", "caf",
])
_BASE = ["-hide_banner", "-protocol_whitelist", "file", "-format_whitelist", _DEMUXERS]
# Raw elementary streams declare no duration; count their packets only when that stays cheap.
_COUNT_PACKETS_MAX_BYTES = 256 * 1024 * 1024
_TAIL_SECONDS = 3.0
_DEVICE_TAGS = {
    "make": ("com.apple.quicktime.make", "make", "com.android.manufacturer", "manufacturer"),
    "model": ("com.apple.quicktime.model", "model", "com.android.model"),
    "software": ("com.apple.quicktime.software", "encoder", "software", "com.android.version"),
}
_LOCATION_TAGS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng", "xyz")
_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


@dataclass
class MediaInfo:
    kind: str
    mime: str
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def probe_file(path: Path, *, timeout: float = 30) -> MediaInfo:
    """Sniff, describe and check one file.  Never raises for corrupt or hostile media."""
    path = Path(path)
    # One budget for all the tools this file needs, not one per tool.
    deadline = time.monotonic() + timeout
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        kind, mime = sniff_kind(b"", path.name)
        return MediaInfo(kind, mime, {}, ["This file could not be read from the disk."])
    kind, mime = sniff_kind(head, path.name)
    info = MediaInfo(kind, mime, {"size": size})
    mismatch = extension_mismatch(path.name, mime) if head else None
    if mismatch:
        info.warnings.append(mismatch)
    if size == 0:
        info.warnings.append("The file is empty (0 bytes): there is nothing in it to keep.")
        return info
    try:
        if kind == "photo":
            report = probe_photo(path, mime)
            info.metadata.update(report.metadata)
            info.warnings.extend(report.warnings)
            _structure_checks(path, mime, size, info, deadline, decoded_cleanly=not report.warnings)
        elif kind in ("video", "audio"):
            _probe_av(path, info, deadline)
    except Exception:  # last line of defence: hostile input must never crash ingest
        info.warnings.append("This file could not be examined; it was stored as received.")
    return _dedupe(info)


def _dedupe(info: MediaInfo) -> MediaInfo:
    info.warnings = list(dict.fromkeys(info.warnings))
    return info


# --- container structure ----------------------------------------------------------------------

def _structure_checks(
    path: Path, mime: str, size: int, info: MediaInfo, deadline: float, *, decoded_cleanly: bool
) -> None:
    overrun = overrun_warning(path, mime, size)
    if overrun:
        info.warnings.append(overrun)
    if mime != "image/jpeg" or not decoded_cleanly:
        return
    errors = _jpeg_scan_errors(path, deadline)
    if errors is None:
        info.warnings.append(NOT_CHECKED)
    elif errors:
        info.warnings.append(
            "The image is damaged: its compressed picture data contains errors, so parts of it "
            "may show as smeared or shifted blocks. It was stored as received."
        )


def _run(cmd: list[str], deadline: float) -> subprocess.CompletedProcess[bytes]:
    """Run a tool; it is killed when the file's time budget is spent (TimeoutExpired)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise subprocess.TimeoutExpired(cmd, 0)
    try:
        result = run_tool(cmd, time_limit=remaining)
    except MediaTimeout as exc:
        raise subprocess.TimeoutExpired(cmd, remaining) from exc
    except UnsupportedMedia as exc:  # the tool could not be started: keep the OSError callers expect
        if isinstance(exc.__cause__, OSError):
            raise exc.__cause__ from None
        raise
    # stderr is the runner's bounded tail (it drains the pipe, so a chatty tool never blocks)
    return subprocess.CompletedProcess(cmd, result.returncode, result.stdout, result.stderr.encode("utf-8"))


def _jpeg_scan_errors(path: Path, deadline: float) -> bool | None:
    """ffmpeg's JPEG decoder reports corrupt entropy-coded data that libjpeg/Pillow ignores.

    None when the check ran out of time."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return False
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-protocol_whitelist", "file", "-f", "jpeg_pipe",
           "-i", f"file:{path}", "-frames:v", "1", "-f", "null", "-"]
    try:
        result = _run(cmd, deadline)
    except subprocess.TimeoutExpired:
        return None
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    # "overread" only means the last bits of the scan were padding-short; Pillow's own load()
    # already decides real truncation.  Everything else at error level is corrupt data.
    return any(line.strip() and "overread" not in line for line in lines)


# --- audio and video --------------------------------------------------------------------------

def _ffprobe(args: list[str], path: Path, deadline: float) -> dict[str, Any]:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise FileNotFoundError("ffprobe")
    cmd = [ffprobe, *_BASE, "-v", "error", *args, "-of", "json", f"file:{path}"]
    result = _run(cmd, deadline)
    if result.returncode != 0:
        raise ValueError("ffprobe failed")
    data = json.loads(result.stdout.decode("utf-8", "replace") or "{}")
    if not isinstance(data, dict):
        raise ValueError("ffprobe returned no object")
    return data


def _probe_av(path: Path, info: MediaInfo, deadline: float) -> None:
    try:
        data = _ffprobe(["-show_format", "-show_streams"], path, deadline)
    except subprocess.TimeoutExpired:
        info.warnings.append(TOO_SLOW)
        return
    except FileNotFoundError:
        info.warnings.append(NO_TOOL)
        return
    except (ValueError, OSError):
        info.warnings.append(DAMAGED_RECORDING)
        overrun = overrun_warning(path, info.mime, info.metadata["size"])
        if overrun:
            info.warnings.append(overrun)
        return
    fmt = data.get("format") or {}
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    meta = info.metadata
    meta["container"] = clean_text(str(fmt.get("format_name", "")))
    meta["streams"] = [_stream_summary(s) for s in streams]
    video = [s for s in streams if s.get("codec_type") == "video" and not is_cover_art(s)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video and not audio:
        info.warnings.append(DAMAGED_RECORDING)
        return
    # The content decides: an "MP4" with only sound is audio; an "audio" file with pictures is video.
    info.kind = "video" if video else "audio"
    if info.kind == "audio" and info.mime.startswith("video/"):
        info.mime = "audio/" + info.mime.split("/", 1)[1]
    if video:
        first = _stream_summary(video[0])
        for key in ("width", "height", "fps", "rotation", "codec"):
            if first.get(key) is not None:
                meta[key if key != "codec" else "video_codec"] = first[key]
    if audio:
        meta["audio_codec"] = _stream_summary(audio[0]).get("codec")
    duration = _duration(fmt, streams)
    if duration is None and info.metadata["size"] <= _COUNT_PACKETS_MAX_BYTES:
        duration = _duration_by_counting(path, "v:0" if video else "a:0", deadline)
    meta["duration"] = duration
    tags = _all_tags(fmt, streams)
    meta["tags"] = json_safe(tags)
    _describe_tags(tags, meta)
    if duration is not None and duration <= 0:
        info.warnings.append("This recording has no length (duration 0); it may be empty or damaged.")
    elif duration is None and not (video and info.metadata["size"] > _COUNT_PACKETS_MAX_BYTES):
        info.warnings.append("The length of this recording could not be determined; it may be damaged.")
    truncated = overrun_warning(path, info.mime, info.metadata["size"])
    if truncated is None and duration:
        truncated = _tail_check(path, duration, deadline)
    if truncated:
        info.warnings.append(truncated)


# --- reading ffprobe's stream descriptions (both callers) -------------------------------------

def is_cover_art(stream: dict[str, Any]) -> bool:
    """An album cover or thumbnail stored as a one-picture "video" stream."""
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def display_rotation(stream: dict[str, Any]) -> int | None:
    """Degrees clockwise the stored frame must be turned to display upright; None when unsaid.

    ffprobe 5+ reports the display matrix as side data whose ``rotation`` is counter-clockwise
    (hence the minus); older files and demuxers carry a ``rotate`` tag that is already clockwise.
    """
    for side in stream.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            value = _number(side.get("rotation"))
            if value is not None:
                return round(-value) % 360
    value = _number((stream.get("tags") or {}).get("rotate"))
    return round(value) % 360 if value is not None else None


def _fraction(text: Any) -> Fraction | None:
    if not isinstance(text, str) or not text or text in ("0/0", "0/1"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def frame_rate(stream: dict[str, Any], *, at_most: int = 1000) -> Fraction | None:
    """Frames per second: ``avg_frame_rate`` (honest for variable-rate phone videos), else
    ``r_frame_rate``; a rate above ``at_most`` is a timebase (90000/1), not a frame rate."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = _fraction(stream.get(key))
        if rate is not None and rate <= at_most:
            return rate
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _stream_summary(stream: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": stream.get("index"),
        "type": clean_text(str(stream.get("codec_type", ""))),
        "codec": clean_text(str(stream.get("codec_name", ""))) or None,
    }
    if out["type"] == "video":
        out["width"] = stream.get("width") if isinstance(stream.get("width"), int) else None
        out["height"] = stream.get("height") if isinstance(stream.get("height"), int) else None
        fps = frame_rate(stream)
        out["fps"] = round(float(fps), 3) if fps is not None else None
        out["rotation"] = display_rotation(stream)
        out["cover_art"] = is_cover_art(stream)
    elif out["type"] == "audio":
        rate = _number(stream.get("sample_rate"))
        out["sample_rate"] = int(rate) if rate else None
        out["channels"] = stream.get("channels") if isinstance(stream.get("channels"), int) else None
    out["duration"] = _number(stream.get("duration"))
    return out


def _duration(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> float | None:
    duration = _number(fmt.get("duration"))
    if duration is None:
        candidates = [d for d in (_number(s.get("duration")) for s in streams) if d is not None]
        duration = max(candidates) if candidates else None
    return round(duration, 3) if duration is not None else None


def _duration_by_counting(path: Path, stream: str, deadline: float) -> float | None:
    """Raw H.264/H.265 streams have no duration: count packets (demuxing only, no decoding)."""
    try:
        data = _ffprobe(["-count_packets", "-select_streams", stream, "-show_entries",
                         "stream=nb_read_packets,avg_frame_rate,r_frame_rate"], path, deadline)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        return None
    streams = data.get("streams") or [{}]
    packets = _number(streams[0].get("nb_read_packets"))
    if packets == 0:
        return 0.0
    fps = frame_rate(streams[0])
    if not packets or fps is None or stream.startswith("a"):
        return None
    return round(packets / float(fps), 3)


def _tail_check(path: Path, duration: float, deadline: float) -> str | None:
    """Read (not decode) the packets of the last seconds: their end must reach the declared duration."""
    start = max(0.0, duration - _TAIL_SECONDS)
    try:
        data = _ffprobe(["-read_intervals", f"{start:.3f}%", "-show_entries",
                         "packet=pts_time,dts_time,duration_time"], path, deadline)
    except subprocess.TimeoutExpired:
        return NOT_CHECKED
    except (ValueError, OSError):
        return None  # no seeking possible (raw streams): nothing to compare
    ends = []
    for packet in data.get("packets") or []:
        when = _number(packet.get("pts_time"))
        if when is None:
            when = _number(packet.get("dts_time"))
        if when is not None:
            ends.append(when + (_number(packet.get("duration_time")) or 0.0))
    reached = max(ends) if ends else 0.0
    tolerance = max(1.0, 0.05 * duration)
    if reached + tolerance >= duration:
        return None
    return (
        f"The recording is truncated: it should last {duration:.1f} s but its data ends at "
        f"{reached:.1f} s. It was stored as received."
    )


def _all_tags(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> dict[str, Any]:
    tags: dict[str, Any] = {}
    for stream in streams:
        for key, value in (stream.get("tags") or {}).items():
            tags.setdefault(f"stream{stream.get('index')}:{key}", value)
    tags.update(fmt.get("tags") or {})
    return tags


def _tag(tags: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lowered = {str(k).lower(): v for k, v in tags.items()}
    for name in names:
        value = lowered.get(name.lower())
        if isinstance(value, str) and clean_text(value):
            return clean_text(value)
    return None


def _describe_tags(tags: dict[str, Any], meta: dict[str, Any]) -> None:
    stream_tags = {k.split(":", 1)[1]: v for k, v in tags.items() if k.startswith("stream")}
    merged = {**stream_tags, **{k: v for k, v in tags.items() if not k.startswith("stream")}}
    for key, names in _DEVICE_TAGS.items():
        value = _tag(merged, names)
        if value:
            meta[f"device_{key}"] = value
    created = _tag(merged, ("com.apple.quicktime.creationdate", "creation_time", "date"))
    if created:
        meta["creation_time"] = created
    location = _tag(merged, _LOCATION_TAGS)
    if location:
        gps: dict[str, Any] = {"raw": location, "source": "container"}
        match = _ISO6709.match(location.replace(" ", ""))
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                gps.update(latitude=round(lat, 7), longitude=round(lon, 7))
            if match.group(3):
                gps["altitude"] = float(match.group(3))
        meta["gps"] = gps


# --- the picture track a pipeline will decode -------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    """The first picture track as the decoder delivers it: upright (rotation already applied)."""

    width: int
    height: int
    fps: Fraction
    frame_count: int  # estimate for progress; the decoder may deliver a few more or fewer
    duration: float | None
    rotation: int  # degrees clockwise the stored frame is turned to display upright (0, 90, 180, 270)
    has_audio: bool
    audio_channels: int
    video_codec: str
    container: str

    @property
    def fps_float(self) -> float:
        return float(self.fps)


def parse_video_info(data: dict[str, Any]) -> VideoInfo:
    """:class:`VideoInfo` from ffprobe's ``-show_format -show_streams`` JSON."""
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    videos = [s for s in streams if s.get("codec_type") == "video" and not is_cover_art(s)]
    if not videos:
        raise UnsupportedMedia("This file has no video picture track, so there is nothing to redact as video.")
    video = videos[0]
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise CorruptMedia(debug_detail=f"video stream without size: {video}")
    rotation = display_rotation(video) or 0
    if rotation in (90, 270):
        width, height = height, width
    # 240 fps at most: a higher "rate" is a timebase, and -r with it would duplicate frames by the million
    fps = (frame_rate(video, at_most=240) or Fraction(25)).limit_denominator(1001)
    fmt = data.get("format") or {}
    duration = _number(video.get("duration"))
    if duration is None:
        duration = _number(fmt.get("duration"))
    frames_text = video.get("nb_frames")
    if frames_text and str(frames_text).isdigit() and int(frames_text) > 0:
        frame_count = int(frames_text)
    elif duration:
        frame_count = max(1, round(duration * float(fps)))
    else:
        frame_count = 0
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    return VideoInfo(
        width=width, height=height, fps=fps, frame_count=frame_count, duration=duration, rotation=rotation,
        has_audio=bool(audios), audio_channels=int(audios[0].get("channels") or 2) if audios else 0,
        video_codec=str(video.get("codec_name") or ""), container=str(fmt.get("format_name") or ""),
    )


def probe_video(source: Source | MediaInput) -> VideoInfo:
    """Size, frame rate, frame count, rotation and audio of the video a pipeline will decode.

    Raises :class:`CorruptMedia` when ffprobe cannot parse the file, :class:`UnsupportedMedia`
    when it has no picture track or ffprobe is not installed."""
    with as_input(source) as media_input:
        cmd = [FFPROBE, "-v", "error", *PROTOCOLS, "-print_format", "json", "-show_format",
               "-show_streams", media_input.url()]
        # killed after 120 s: a probe reads headers only, so longer means a hostile or stuck input
        result = run_tool(cmd, feed=media_input.feed_stream(), pass_fds=media_input.pass_fds(), time_limit=120)
        if result.returncode != 0:
            raise CorruptMedia(debug_detail=result.stderr)
        try:
            data = json.loads(result.stdout.decode("utf-8", "replace") or "{}")
        except json.JSONDecodeError as exc:
            raise CorruptMedia(debug_detail=result.stderr) from exc
        if not isinstance(data, dict) or not data.get("streams"):
            raise CorruptMedia(debug_detail=result.stderr or "no streams")
        return parse_video_info(data)
