"""Streaming video through ffmpeg: probe, decode to RGB frames, encode RGB frames back to MP4.

Memory stays flat whatever the length of the video: frames travel one at a time through pipes.

Inputs (:data:`Source`) are a filesystem path or a seekable binary file object such as
``Vault.open_original()`` returns.  Plaintext evidence must never reach the disk, so a file object
is given to ffmpeg in one of two ways:

* **stdin pipe** (the normal case): a writer thread copies the object into ffmpeg's stdin.  Used
  for every container that can be read front to back: Matroska/WebM, MPEG-TS, raw H.264/H.265,
  AVI, and MP4/MOV whose ``moov`` index comes before the media data ("fast start") or that are
  fragmented.  Memory cost: a few pipe buffers.
* **in-memory file** (``os.memfd_create``), for MP4/MOV with the ``moov`` index at the end, which
  ffmpeg must seek to.  The whole file is copied into anonymous memory and passed to ffmpeg as
  ``/proc/self/fd/N`` (``pass_fds``).  **Memory cost: the full size of the original, for as long
  as the operation runs** (a 2 GiB phone video needs 2 GiB of RAM).  memfd pages live in RAM and
  can only reach the disk through swap (use encrypted swap, or none, on field laptops).  Files
  larger than the memory currently available are refused with :class:`UnsupportedMedia` telling
  the user to re-save the video with "fast start".

Outputs (:data:`Sink`) are a path or a binary file object.  ffmpeg writes **fragmented MP4**
(``-movflags frag_keyframe+empty_moov+default_base_moof``) to its stdout, which a thread copies to
the sink, so nothing is held in memory or written to a temporary file.  Fragmented MP4 with an
empty ``moov`` plays in VLC, mpv, Chrome, Firefox, Edge, Safari and QtMultimedia (whose FFmpeg
backend reads it like any MP4); the cost compared with a "fast start" file is that some players
show the duration only after scanning, and seeking uses the fragments (one per keyframe, every
few seconds).  A path sink is written as ``<name>.partial`` and renamed when complete, so a
failed or cancelled run leaves no file; a file-object sink is truncated back to where it started
(when it supports ``truncate``) -- otherwise the caller must discard it.

Errors: a file ffmpeg cannot parse or decode raises :class:`CorruptMedia`, a file without a
picture track :class:`UnsupportedMedia`; ffmpeg's own messages go only into ``debug_detail``
(they may contain file names).  Child processes are terminated on every error and on cancel.
Inputs are restricted to the ``file`` and ``pipe`` protocols, so a crafted playlist inside a
video cannot make ffmpeg open a network connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.errors import CorruptMedia, DiskFull, MediaError, UnsupportedMedia
from app.media.ffmpeg_runner import FfmpegProcess, MediaTimeout, run
from app.progress import CancelToken

Source = Path | str | BinaryIO
Sink = Path | str | BinaryIO

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
_CHUNK = 1 << 20
_PROTOCOLS = ["-protocol_whitelist", "file,pipe"]
AUDIO_RATE = 48000  # the decoded audio handed from decoder to encoder is s16le at this rate


# --------------------------------------------------------------------------------------------
# Inputs


def _isobmff_needs_seek(stream: BinaryIO) -> bool:
    """True when an MP4/MOV stream has its ``moov`` box after the media data (needs seeking).

    Walks the top-level boxes with seeks only (no reading of media data).
    """
    stream.seek(0)
    pos = 0
    while True:
        stream.seek(pos)
        header = stream.read(16)
        if len(header) < 8:
            return True  # no moov found before the end: ffmpeg will need to look everywhere
        size = int.from_bytes(header[:4], "big")
        kind = header[4:8]
        if kind in (b"moov", b"moof"):
            return False
        if kind == b"mdat":
            return True
        if size == 1 and len(header) >= 16:
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            return True
        if size < 8:
            return True
        pos += size


def _looks_isobmff(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def _available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


class MediaInput:
    """A source made ready for ffmpeg; reuse one for several ffmpeg runs (probe, then decode).

    Use as a context manager (or call :meth:`close`): it owns the in-memory copy, if any.
    """

    def __init__(self, source: Source) -> None:
        self._stream: BinaryIO | None = None
        self._memfd: int | None = None
        self._path: Path | None = None
        if isinstance(source, str | Path):
            path = Path(source).resolve()
            if not path.is_file():
                raise CorruptMedia("The video file could not be found or opened.", debug_detail=str(path))
            self._path = path
            return
        if not (hasattr(source, "read") and hasattr(source, "seek")):
            raise UnsupportedMedia(debug_detail=f"not a path or seekable file object: {type(source)!r}")
        self._stream = source
        source.seek(0)
        head = source.read(16)
        source.seek(0)
        if not head:
            raise CorruptMedia("This video file is empty (0 bytes).")
        if _looks_isobmff(head) and _isobmff_needs_seek(source):
            self._load_into_memory(source)

    def _load_into_memory(self, source: BinaryIO) -> None:
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
        if size > _available_memory() * 0.8:
            raise UnsupportedMedia(
                "This video keeps its index at the end of the file and is too large to process in "
                "memory on this computer. Re-save it with 'fast start' (e.g. ffmpeg -movflags +faststart) "
                "on a secure machine, or free memory, and try again.",
                debug_detail=f"size {size}",
            )
        fd = os.memfd_create("evidence-vault-input", os.MFD_CLOEXEC)
        try:
            while True:
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            raise
        self._memfd = fd
        source.seek(0)

    @property
    def in_memory(self) -> bool:
        """True when the source was copied into an in-memory file (MP4 with index at the end)."""
        return self._memfd is not None

    @property
    def uses_stdin(self) -> bool:
        return self._stream is not None and self._memfd is None

    def url(self) -> str:
        if self._path is not None:
            return "file:" + str(self._path)  # "file:" so a name like "http:x" is never a protocol
        if self._memfd is not None:
            return f"file:/proc/self/fd/{self._memfd}"
        return "pipe:0"

    def pass_fds(self) -> tuple[int, ...]:
        return (self._memfd,) if self._memfd is not None else ()

    def feed_stream(self) -> BinaryIO | None:
        """The stream to copy into the child's stdin (``FfmpegProcess(feed=...)``), if any."""
        return self._stream if self.uses_stdin else None

    def close(self) -> None:
        if self._memfd is not None:
            os.close(self._memfd)
            self._memfd = None

    def __enter__(self) -> MediaInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _as_input(source: Source | MediaInput) -> Iterator[MediaInput]:
    if isinstance(source, MediaInput):
        yield source
    else:
        with MediaInput(source) as media_input:
            yield media_input


# --------------------------------------------------------------------------------------------
# Probe


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a video, in display orientation (rotation already applied)."""

    width: int
    height: int
    fps: Fraction
    frame_count: int  # estimate for progress; the decoder may deliver a few more or fewer
    duration: float | None
    rotation: int  # degrees clockwise the decoder turns the stored picture (0, 90, 180, 270)
    has_audio: bool
    audio_channels: int
    video_codec: str
    container: str

    @property
    def fps_float(self) -> float:
        return float(self.fps)


def _fraction(text: str | None) -> Fraction | None:
    if not text or text in ("0/0", "0/1"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(-float(side["rotation"])) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    if rotate is not None:
        with contextlib.suppress(ValueError):
            return int(float(rotate)) % 360
    return 0


def _parse_probe(data: dict) -> MediaInfo:
    streams = data.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    if not videos:
        raise UnsupportedMedia("This file has no video picture track, so there is nothing to redact as video.")
    video = videos[0]
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise CorruptMedia(debug_detail=f"video stream without size: {video}")
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    avg, real = _fraction(video.get("avg_frame_rate")), _fraction(video.get("r_frame_rate"))
    # avg_frame_rate is the honest one for variable-rate phone videos; r_frame_rate is a fallback
    # (it can be a timebase such as 90000/1 for odd files).
    fps = avg if avg is not None and avg <= 240 else real if real is not None and real <= 240 else Fraction(25)
    fps = fps.limit_denominator(1001)
    duration = None
    for text in (video.get("duration"), (data.get("format") or {}).get("duration")):
        with contextlib.suppress(TypeError, ValueError):
            duration = float(text)
            break
    frames_text = video.get("nb_frames")
    if frames_text and str(frames_text).isdigit() and int(frames_text) > 0:
        frame_count = int(frames_text)
    elif duration:
        frame_count = max(1, round(duration * float(fps)))
    else:
        frame_count = 0
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    return MediaInfo(
        width=width,
        height=height,
        fps=fps,
        frame_count=frame_count,
        duration=duration,
        rotation=rotation,
        has_audio=bool(audios),
        audio_channels=int(audios[0].get("channels") or 2) if audios else 0,
        video_codec=str(video.get("codec_name") or ""),
        container=str((data.get("format") or {}).get("format_name") or ""),
    )


def probe(source: Source | MediaInput) -> MediaInfo:
    """Read the size, frame rate, frame count, rotation and audio presence of a video.

    Raises :class:`CorruptMedia` when ffprobe cannot parse the file, :class:`UnsupportedMedia`
    when it has no video track.
    """
    with _as_input(source) as media_input:
        cmd = [FFPROBE, "-v", "error", *_PROTOCOLS, "-print_format", "json", "-show_format",
               "-show_streams", media_input.url()]
        # killed after 120 s: a probe reads headers only, so longer means a hostile or stuck input
        result = run(cmd, feed=media_input.feed_stream(), pass_fds=media_input.pass_fds(), time_limit=120)
        out, stderr = result.stdout, result.stderr
        if result.returncode != 0:
            raise CorruptMedia(debug_detail=stderr)
        try:
            data = json.loads(out.decode("utf-8", "replace") or "{}")
        except json.JSONDecodeError as exc:
            raise CorruptMedia(debug_detail=stderr) from exc
        if not data.get("streams"):
            raise CorruptMedia(debug_detail=stderr or "no streams")
        return _parse_probe(data)


# --------------------------------------------------------------------------------------------
# Process plumbing


class AudioRelay:
    """Carries decoded audio from the decoder process to the encoder process.

    Two OS pipes joined by an unbounded in-memory queue, so the decoder never blocks on audio
    while the encoder is still waiting for video frames (which would deadlock the pipeline).
    Memory is bounded by how far audio and video are apart in the source's interleaving
    (normally well under a second of PCM).
    """

    def __init__(self) -> None:
        self.decoder_fd_r, self.decoder_fd = os.pipe()  # decoder writes decoder_fd
        self.encoder_fd, self.encoder_fd_w = os.pipe()  # encoder reads encoder_fd
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._pump_in, name="audio-in", daemon=True),
            threading.Thread(target=self._pump_out, name="audio-out", daemon=True),
        ]
        self._started = False

    def start(self) -> None:
        """Call after both processes were spawned; closes the parent's copies of their ends."""
        for fd in (self.decoder_fd, self.encoder_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        for thread in self._threads:
            thread.start()
        self._started = True

    def _pump_in(self) -> None:
        try:
            while True:
                chunk = os.read(self.decoder_fd_r, 65536)
                if not chunk:
                    break
                self._queue.put(chunk)
        except OSError:
            pass
        finally:
            self._queue.put(None)
            with contextlib.suppress(OSError):
                os.close(self.decoder_fd_r)

    def _pump_out(self) -> None:
        broken = False
        while True:
            chunk = self._queue.get()
            if chunk is None:
                break
            view = memoryview(chunk)
            while view and not broken:
                try:
                    view = view[os.write(self.encoder_fd_w, view) :]
                except OSError:
                    broken = True  # encoder gone: keep draining so the decoder is not blocked
        with contextlib.suppress(OSError):
            os.close(self.encoder_fd_w)

    def close(self) -> None:
        if not self._started:
            for fd in (self.decoder_fd_r, self.decoder_fd, self.encoder_fd, self.encoder_fd_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            return
        for thread in self._threads:
            thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Decoding


class FrameReader:
    """Decodes a video into RGB frames (``numpy`` uint8, height x width x 3, writable).

    Iterate over it inside a ``with`` block. Frames come at a constant rate (``info.fps``):
    ffmpeg duplicates or drops frames of variable-rate sources, which keeps audio in sync with
    an encoder running at the same rate.  ``audio`` (an :class:`AudioRelay`) makes the same
    ffmpeg process also decode the first audio track to s16le PCM at ``AUDIO_RATE`` Hz with
    ``audio_channels`` channels, passed through ``audio_filter`` (an ffmpeg filter graph string).
    """

    def __init__(
        self,
        source: Source | MediaInput,
        *,
        info: MediaInfo | None = None,
        audio: AudioRelay | None = None,
        audio_channels: int = 2,
        audio_filter: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self._own_input = not isinstance(source, MediaInput)
        self._input = source if isinstance(source, MediaInput) else MediaInput(source)
        try:
            self.info = info or probe(self._input)
        except BaseException:
            if self._own_input:
                self._input.close()
            raise
        self._audio = audio
        self._audio_channels = audio_channels
        self._audio_filter = audio_filter
        self._cancel = cancel
        self._run: FfmpegProcess | None = None
        self.frames_read = 0

    @property
    def _proc(self) -> subprocess.Popen | None:
        return self._run.popen if self._run is not None else None

    def command(self) -> list[str]:
        info = self.info
        cmd = [FFMPEG, "-hide_banner", "-v", "error", "-xerror", *_PROTOCOLS,
               "-i", self._input.url(),
               "-map", "0:v:0", "-an", "-sn", "-dn",
               "-r", str(info.fps), "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
        if self._audio is not None:
            cmd += ["-map", "0:a:0", "-vn", "-sn", "-dn"]
            if self._audio_filter:
                cmd += ["-af", self._audio_filter]
            cmd += ["-ac", str(self._audio_channels), "-ar", str(AUDIO_RATE), "-c:a", "pcm_s16le",
                    "-f", "s16le", f"pipe:{self._audio.decoder_fd}"]
        return cmd

    def start(self) -> None:
        if self._run is not None:
            return
        fds = list(self._input.pass_fds())
        if self._audio is not None:
            fds.append(self._audio.decoder_fd)
        self._run = FfmpegProcess(self.command(), feed=self._input.feed_stream(), pass_fds=fds)
        self._run.start()

    def __iter__(self) -> Iterator[np.ndarray]:
        self.start()
        assert self._run is not None
        width, height = self.info.width, self.info.height
        frame_size = width * height * 3
        stdout = self._run.stdout
        while True:
            if self._cancel is not None:
                self._cancel.check()
            buffer = bytearray(frame_size)
            view = memoryview(buffer)
            got = 0
            while got < frame_size:
                n = stdout.readinto(view[got:])
                if not n:
                    break
                got += n
            if got == 0:
                break
            if got < frame_size:
                self._finish()
                raise CorruptMedia(debug_detail=f"partial frame ({got} of {frame_size} bytes)")
            self.frames_read += 1
            yield np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
        self._finish()

    def _finish(self) -> None:
        process = self._run
        if process is None:
            return
        try:
            returncode = process.wait(timeout=60)
        except MediaTimeout:
            returncode = -1
        stderr = process.stderr_tail()
        if returncode != 0:
            raise CorruptMedia(debug_detail=stderr)
        if self.frames_read == 0:
            raise CorruptMedia("This video contains no pictures that could be decoded.", debug_detail=stderr)

    def close(self) -> None:
        if self._run is not None:
            self._run.close()
        if self._own_input:
            self._input.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(source: Source | MediaInput, *, cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
    """Yield every frame of a video as RGB ``numpy`` arrays (convenience around :class:`FrameReader`)."""
    with FrameReader(source, cancel=cancel) as reader:
        yield from reader


# --------------------------------------------------------------------------------------------
# Encoding


@dataclass(frozen=True)
class EncoderSettings:
    """libx264 + AAC settings; fixed threads and bitexact flags make the output reproducible."""

    crf: int = 20
    preset: str = "veryfast"
    threads: int = 2  # x264 output depends on the thread count: fixed, never "auto"
    keyframe_seconds: float = 2.0
    audio_bitrate: str = "128k"

    def as_dict(self) -> dict:
        return {"video_codec": "libx264", "crf": self.crf, "preset": self.preset, "threads": self.threads,
                "keyframe_seconds": self.keyframe_seconds, "b_frames": 0, "pix_fmt": "yuv420p", "colorspace": "bt709",
                "audio_codec": "aac", "audio_bitrate": self.audio_bitrate, "audio_rate": AUDIO_RATE,
                "container": "mp4 (fragmented)", "bitexact": True, "sei_removed": True}


class _SinkWriter:
    """Copies ffmpeg's stdout into the sink on a thread; undoes partial output on failure."""

    def __init__(self, sink: Sink) -> None:
        self._final: Path | None = None
        self._own_file: BinaryIO | None = None
        if isinstance(sink, str | Path):
            self._final = Path(sink)
            self._partial = self._final.with_name(self._final.name + ".partial")
            self._own_file = open(self._partial, "wb")  # noqa: SIM115 - closed in finish/abort
            self._file: BinaryIO = self._own_file
            self._start = 0
        else:
            self._file = sink
            try:
                self._start = sink.tell()
            except (OSError, AttributeError):
                self._start = None
        self.error: BaseException | None = None
        self.bytes_written = 0
        self.hash = hashlib.sha256()  # of exactly the bytes given to the sink
        self._thread: threading.Thread | None = None

    def start(self, pipe: BinaryIO) -> None:
        def copy() -> None:
            try:
                for chunk in iter(lambda: pipe.read1(_CHUNK), b""):
                    self._file.write(chunk)
                    self.hash.update(chunk)
                    self.bytes_written += len(chunk)
            except BaseException as exc:  # reported by finish(); the thread must not die silently
                self.error = exc

        self._thread = threading.Thread(target=copy, name="ffmpeg-sink", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def commit(self) -> None:
        if self._own_file is not None:
            self._own_file.flush()
            os.fsync(self._own_file.fileno())
            self._own_file.close()
            os.replace(self._partial, self._final)
            self._own_file = None

    def abort(self) -> None:
        if self._own_file is not None:
            with contextlib.suppress(OSError):
                self._own_file.close()
            with contextlib.suppress(OSError):
                self._partial.unlink()
            self._own_file = None
        elif self._start is not None:
            with contextlib.suppress(OSError, AttributeError, ValueError, io.UnsupportedOperation):
                self._file.seek(self._start)
                self._file.truncate()


class FrameWriter:
    """Encodes RGB frames to H.264/AAC fragmented MP4 written to ``sink``.

    ``audio`` is the :class:`AudioRelay` whose other end a :class:`FrameReader` feeds; ``None``
    makes a file without an audio track.  No metadata, chapters, subtitles or data streams are
    written, and the x264 version banner (an SEI message) is stripped from the bitstream.
    Call :meth:`close` to finish, :meth:`abort` on error or cancel (both idempotent).
    """

    def __init__(
        self,
        sink: Sink,
        *,
        width: int,
        height: int,
        fps: Fraction,
        audio: AudioRelay | None = None,
        audio_channels: int = 2,
        settings: EncoderSettings | None = None,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.settings = settings or EncoderSettings()
        self._audio = audio
        self._audio_channels = audio_channels
        self._sink = _SinkWriter(sink)
        self._run: FfmpegProcess | None = None
        self._done = False
        self.frames_written = 0

    def command(self) -> list[str]:
        s = self.settings
        gop = max(1, round(float(self.fps) * s.keyframe_seconds))
        cmd = [FFMPEG, "-hide_banner", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
               "-framerate", str(self.fps), "-probesize", "32", "-i", "pipe:0"]
        if self._audio is not None:
            cmd += ["-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", str(self._audio_channels),
                    "-probesize", "32", "-analyzeduration", "0", "-i", f"pipe:{self._audio.encoder_fd}"]
        # even sizes for 4:2:0; bt709 matrix and tags so every player shows the same colours
        cmd += ["-map", "0:v:0"]
        if self._audio is not None:
            cmd += ["-map", "1:a:0"]
        cmd += [
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v", "libx264", "-preset", s.preset, "-crf", str(s.crf), "-threads", str(s.threads),
            # no B-frames: fragmented MP4 carries no edit list, so reordering delay would start the
            # video late (80 ms with x264's defaults) and put it out of sync with the sound
            "-bf", "0", "-g", str(gop), "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-color_range", "tv", "-flags:v", "+bitexact", "-bsf:v", "filter_units=remove_types=6",
        ]
        if self._audio is not None:
            cmd += ["-c:a", "aac", "-b:a", s.audio_bitrate, "-flags:a", "+bitexact"]
        cmd += ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"]
        return cmd

    def start(self) -> None:
        if self._run is not None:
            return
        fds = (self._audio.encoder_fd,) if self._audio is not None else ()
        run = FfmpegProcess(self.command(), stdin_pipe=True, pass_fds=fds)
        try:
            run.start()
        except UnsupportedMedia:
            self._sink.abort()
            raise
        self._run = run
        self._sink.start(run.stdout)

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of the bytes written to the sink; final after :meth:`close`."""
        return self._sink.hash.hexdigest()

    @property
    def bytes_written(self) -> int:
        return self._sink.bytes_written

    def write(self, frame: np.ndarray) -> None:
        self.start()
        assert self._run is not None
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype}, expected ({self.height}, {self.width}, 3) uint8")
        try:
            self._run.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError) as exc:
            detail = self._failure_detail()
            self.abort()
            raise self._error(detail) from exc
        self.frames_written += 1

    def _failure_detail(self) -> str:
        if self._run is None:
            return ""
        self._run.kill()
        return self._run.stderr_tail()

    def _error(self, detail: str) -> MediaError:
        sink_error = self._sink.error
        if isinstance(sink_error, OSError) and sink_error.errno == 28:
            return DiskFull(debug_detail=detail)
        return MediaError(
            "The redacted video could not be written. Check free disk space and try again.",
            debug_detail=f"{detail}\n{sink_error!r}" if sink_error else detail,
        )

    def close(self) -> None:
        """Finish the file: flush ffmpeg, wait for it, and commit the sink."""
        if self._done:
            return
        self.start()
        process = self._run
        assert process is not None
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()
        try:
            returncode = process.wait(timeout=600)
        except MediaTimeout:
            returncode = -1
        self._sink.join()
        detail = process.stderr_tail()
        if returncode != 0 or self._sink.error is not None:
            self.abort()
            raise self._error(detail)
        self._sink.commit()
        self._done = True
        process.close()

    def abort(self) -> None:
        """Stop ffmpeg and remove whatever was written so far."""
        if self._done:
            return
        self._done = True
        if self._run is not None:
            self._run.kill()
            with contextlib.suppress(OSError, ValueError):
                self._run.stdin.close()
        self._sink.join()
        self._sink.abort()
        if self._run is not None:
            self._run.close()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (recorded with redactions), or '' when unavailable."""
    exe = shutil.which(FFMPEG)
    if not exe:
        return ""
    try:
        out = run([exe, "-version"], time_limit=20).stdout
    except (MediaError, OSError):
        return ""
    return out.decode("utf-8", "replace").splitlines()[0] if out else ""
