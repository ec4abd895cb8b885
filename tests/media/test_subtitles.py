from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.media.subtitles import MAX_TRANSCRIPT_BYTES, parse_transcript_bytes, parse_transcript_file

VTT = """WEBVTT

NOTE recorded in the field

1
00:00:01.000 --> 00:00:04.500
<v Interviewer>Where were you taken?</v>

2
00:01:05.250 --> 00:01:09.000
<v Witness>ពួកគេបានលក់ខ្ញុំទៅក្រុមហ៊ុនផ្សេង
"""

SRT = """1
00:00:01,000 --> 00:00:02,500
Interviewer: 你在哪里？

2
01:00:03,000 --> 01:00:04,000
他们把我卖了
"""


def test_webvtt_voice_tags_become_speakers() -> None:
    segments = parse_transcript_bytes(VTT.encode(), language="km")
    assert [(s.start, s.end, s.speaker) for s in segments] == [
        (1.0, 4.5, "Interviewer"),
        (65.25, 69.0, "Witness"),
    ]
    assert segments[1].text == "ពួកគេបានលក់ខ្ញុំទៅក្រុមហ៊ុនផ្សេង"
    assert all(s.language == "km" for s in segments)


def test_srt_with_speaker_prefix_and_hours() -> None:
    segments = parse_transcript_bytes(SRT.encode("utf-8-sig"), name="x.srt")
    assert segments[0].speaker == "Interviewer" and segments[0].text == "你在哪里？"
    assert segments[1].start == 3603.0 and segments[1].speaker is None


def test_plain_text_with_timestamps() -> None:
    text = "[00:00:05] สมชาย: ฉันถูกขาย\n[00:01:00] Q: When?\n\nNo time here."
    segments = parse_transcript_bytes(text.encode())
    assert [(s.start, s.speaker, s.text) for s in segments] == [
        (5.0, "สมชาย", "ฉันถูกขาย"),
        (60.0, "Q", "When?"),
        (60.0, None, "No time here."),
    ]
    assert segments[0].end == 60.0


def test_non_utf8_is_refused_with_advice() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8"):
        parse_transcript_bytes("Nguyễn".encode("utf-16"))


def test_binary_is_refused() -> None:
    with pytest.raises(InvalidInput, match="binary"):
        parse_transcript_bytes(b"abc\x00def")


def test_cue_ending_before_start_is_refused() -> None:
    with pytest.raises(InvalidInput, match="ends before it starts"):
        parse_transcript_bytes(b"WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nhi\n")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "huge.vtt"
    with big.open("wb") as handle:
        handle.truncate(MAX_TRANSCRIPT_BYTES + 1)
    with pytest.raises(InvalidInput, match="far larger"):
        parse_transcript_file(big)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_give_a_clear_error(data: bytes) -> None:
    try:
        segments = parse_transcript_bytes(data)
    except InvalidInput as error:
        assert error.user_message()
    else:
        assert all(s.end >= s.start >= 0 for s in segments)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1500))
def test_arbitrary_text_never_crashes(text: str) -> None:
    for prefix in ("", "WEBVTT\n\n", "1\n00:00:01,000 --> 00:00:02,000\n"):
        with contextlib.suppress(InvalidInput):
            parse_transcript_bytes((prefix + text).encode("utf-8", "surrogatepass"))


def test_webvtt_character_references_are_decoded_after_tags() -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Interviewer &amp; Co>Đặng&nbsp;Thị&nbsp;Xuyến said\n\n"
        "00:00:03.000 --> 00:00:04.000\nNguy&#7877;n &#x65B0;&#X6C11; &lt;b&gt;not a tag&lt;/b&gt; &amp;nbsp;\n\n"
        "00:00:05.000 --> 00:00:06.000\n&lrm;left&rlm; <i>&gt;</i>\n"
    )
    first, second, third = parse_transcript_bytes(vtt.encode())
    assert first.speaker == "Interviewer & Co"
    assert first.text == "Đặng\u00a0Thị\u00a0Xuyến said"
    # Tags are removed before decoding: an escaped "<b>" stays text; decoded once only.
    assert second.text == "Nguyễn 新民 <b>not a tag</b> &nbsp;"
    assert third.text == "\u200eleft\u200f >"


def test_decoded_webvtt_names_are_redacted() -> None:
    from app.redact.names import NameRedactor, ProtectedName

    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nĐặng&nbsp;Thị&nbsp;Xuyến và chị Xuy&#7871;n\n"
    (segment,) = parse_transcript_bytes(vtt.encode())
    redactor = NameRedactor([ProtectedName(1, ["Đặng Thị Xuyến"], "Survivor A")])
    assert redactor.redact(segment.text) == "Survivor A và chị Survivor A"


def test_srt_keeps_references_as_written() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nAT&amp;T &nbsp;\n"
    (segment,) = parse_transcript_bytes(srt.encode(), name="x.srt")
    assert segment.text == "AT&amp;T &nbsp;"
