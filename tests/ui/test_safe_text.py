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
