import pytest

from app.ui.safe_text import parse_timestamp, plain, short_time, timestamp


def test_plain_neutralises_bidi_overrides_and_controls():
    shown = plain("photo\u202egpj.exe\x00\x1b[31m")
    assert "\u202e" not in shown and "\x00" not in shown and "\x1b" not in shown
    assert shown.startswith("photo\ufffd")


def test_plain_keeps_every_script():
    text = "ตัวอย่าง 证词 ឧទាហរណ៍ ဥပမာ Nguyễn"
    assert plain(text) == text


def test_timestamps_round_trip():
    assert timestamp(75.25) == "01:15.2"
    assert parse_timestamp("01:15.2") == 75.2
    assert parse_timestamp("1:00:00") == 3600
    assert short_time("2026-11-25T14:56:22.123456Z") == "2026-11-25 14:56 UTC"


@pytest.mark.parametrize(("stored", "full", "compact"), [
    ("2026-03-14T18:40:00+07:00", "2026-03-14 18:40 (UTC+07:00)", "2026-03-14 18:40 +07:00"),
    ("2026-03-14T18:40:09.123456Z", "2026-03-14 18:40 UTC", "2026-03-14 18:40 UTC"),
    ("2008-11-01T21:15:07", "2008-11-01 21:15 (camera local time)", "2008-11-01 21:15 local"),
    ("2026-03-14", "2026-03-14", "2026-03-14"),
    (None, "", ""),
])
def test_capture_time_keeps_its_zone_or_says_local(stored, full, compact):
    """An EXIF time without a zone is the camera's clock, not UTC; one with a zone keeps it."""
    from app.ui.safe_text import capture_time_text

    assert capture_time_text(stored) == full
    assert capture_time_text(stored, compact=True) == compact
