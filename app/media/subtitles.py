"""Parse transcripts brought in from outside: WebVTT, SRT or plain UTF-8 text.

The files are untrusted: size is capped, the encoding must be UTF-8 (with or without BOM),
and every problem is reported as a sentence naming the line.  Plain text may carry
timestamps and speakers as ``[00:01:23] Speaker: text`` or ``Speaker: text``; lines without a
timestamp get the previous segment's time.

WebVTT cue text is decoded as the WebVTT specification says: tags are removed first, then
character references (``&amp;``, ``&lt;``, ``&nbsp;``, ``&lrm;``, ``&#7877;``, ``&#x65B0;``...)
are decoded, so "Đặng&nbsp;Thị&nbsp;Xuyến" is stored as the name it shows (with U+00A0, which
name matching treats as a space).  SRT and plain text have no escaping rules and are stored as
written; name matching decodes references on its own (app.redact.charrefs).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InvalidInput

MAX_TRANSCRIPT_BYTES = 20 * 1024 * 1024
MAX_SPEAKER_CHARS = 80

_TIMESTAMP = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_CUE_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}")
_PLAIN_TIME = re.compile(r"^\s*\[(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?\]\s*")
_VOICE_TAG = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_ANY_TAG = re.compile(r"</?[^>]{0,200}>")
_SPEAKER_PREFIX = re.compile(r"^([^:：\n]{1,80})[:：]\s+(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ParsedSegment:
    start: float
    end: float
    speaker: str | None
    text: str
    language: str | None = None


def parse_transcript_file(path: Path, *, language: str | None = None) -> list[ParsedSegment]:
    size = path.stat().st_size
    if size > MAX_TRANSCRIPT_BYTES:
        raise InvalidInput(
            f"This transcript is {size // (1024 * 1024)} MB, far larger than any real transcript "
            f"(limit {MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MB). Check that you chose the right file."
        )
    with path.open("rb") as handle:
        raw = handle.read(MAX_TRANSCRIPT_BYTES + 1)
    return parse_transcript_bytes(raw, name=path.name, language=language)


def parse_transcript_bytes(raw: bytes, *, name: str = "", language: str | None = None) -> list[ParsedSegment]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            "This transcript is not UTF-8 text. Save it as UTF-8 in your editor and import it again.",
            debug_detail=str(error),
        ) from None
    if "\x00" in text:
        raise InvalidInput("This transcript contains binary data, not text. Check that you chose the right file.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    stripped = text.lstrip()
    if stripped.startswith("WEBVTT"):
        segments = _parse_cues(text, vtt=True)
    elif _looks_like_srt(stripped) or name.lower().endswith(".srt"):
        segments = _parse_cues(text, vtt=False)
    else:
        segments = _parse_plain(text)
    return [
        ParsedSegment(s.start, s.end, s.speaker, s.text, language) for s in segments if s.text.strip()
    ]


def _looks_like_srt(text: str) -> bool:
    lines = text.split("\n", 3)
    return len(lines) >= 2 and lines[0].strip().isdigit() and bool(_CUE_TIMING.match(lines[1]))


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    frac = (fraction or "0").ljust(3, "0")[:3]
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac) / 1000


def _parse_cues(text: str, *, vtt: bool) -> list[ParsedSegment]:
    segments: list[ParsedSegment] = []
    blocks = re.split(r"\n\s*\n", text)
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip() != ""]
        timing_index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_index is None:
            continue  # header, NOTE, STYLE, REGION blocks or a stray cue number
        match = _CUE_TIMING.match(lines[timing_index])
        if not match:
            raise InvalidInput(
                f"This transcript has a cue timing that cannot be read: '{lines[timing_index][:60]}'. "
                "Fix that line and import again."
            )
        start = _seconds(*match.group(1, 2, 3, 4))
        end = _seconds(*match.group(5, 6, 7, 8))
        if end < start:
            raise InvalidInput(
                f"A cue in this transcript ends before it starts ('{lines[timing_index][:60]}'). "
                "Fix that line and import again."
            )
        body = "\n".join(lines[timing_index + 1 :])
        speaker = None
        voice = _VOICE_TAG.search(body)
        if vtt and voice:
            speaker = html.unescape(voice.group(1)).strip()[:MAX_SPEAKER_CHARS]
        body = _ANY_TAG.sub("", body)
        if vtt:
            body = html.unescape(body)
        body = body.strip()
        if speaker is None:
            speaker, body = _split_speaker(body)
        segments.append(ParsedSegment(start, end, speaker, body))
    return segments


def _split_speaker(body: str) -> tuple[str | None, str]:
    match = _SPEAKER_PREFIX.match(body)
    if match and not match.group(1).strip().startswith(("http", "www")):
        return match.group(1).strip(), match.group(2).strip()
    return None, body


def _parse_plain(text: str) -> list[ParsedSegment]:
    segments: list[ParsedSegment] = []
    current_time = 0.0
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*\[\d)", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        match = _PLAIN_TIME.match(paragraph)
        if match:
            current_time = _seconds(*match.group(1, 2, 3, 4))
            paragraph = paragraph[match.end() :]
        speaker, body = _split_speaker(paragraph)
        segments.append(ParsedSegment(current_time, current_time, speaker, body))
    # A plain-text segment lasts until the next one starts.
    return [
        ParsedSegment(s.start, max(s.start, segments[i + 1].start) if i + 1 < len(segments) else s.start,
                      s.speaker, s.text)
        for i, s in enumerate(segments)
    ]
