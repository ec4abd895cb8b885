"""The video pipeline's names in one import, for the redaction, review and export code.

Each job lives in its own module; import from there in new code:

* :mod:`app.media.media_input` -- handing a path or vault stream to ffmpeg (``MediaInput``);
* :mod:`app.media.probe` -- what the picture track is (``probe_video`` -> ``VideoInfo``);
* :mod:`app.media.audio_relay` -- decoded audio from decoder to encoder (``AudioRelay``);
* :mod:`app.media.frame_reader` -- decoding to upright RGB frames (``FrameReader``);
* :mod:`app.media.frame_writer` -- encoding frames to fragmented MP4 (``FrameWriter``);
* :mod:`app.media.ffmpeg_runner` -- starting, watching and reaping every ffmpeg/ffprobe child.
"""

from __future__ import annotations

from app.media.audio_relay import AUDIO_RATE, AudioRelay
from app.media.ffmpeg_runner import FFMPEG, FFPROBE, ffmpeg_version
from app.media.frame_reader import Frame, FrameReader, read_frames
from app.media.frame_writer import EncoderSettings, FrameWriter, Sink
from app.media.media_input import MediaInput, Source
from app.media.probe import VideoInfo
from app.media.probe import probe_video as probe

__all__ = [
    "AUDIO_RATE", "FFMPEG", "FFPROBE", "AudioRelay", "EncoderSettings", "Frame", "FrameReader", "FrameWriter",
    "MediaInput", "Sink", "Source", "VideoInfo", "ffmpeg_version", "probe", "read_frames",
]
