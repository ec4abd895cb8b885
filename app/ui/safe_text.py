"""Display untrusted text (file names, titles, metadata, names) safely.

Everything that came from an imported file or was typed by someone is untrusted: it may carry
control characters, bidi overrides that reorder what an investigator reads, or rich-text markup
that QLabel would interpret.  Show it only through :func:`plain` in plain-text widgets.
"""

from __future__ import annotations

import unicodedata

# Bidi embedding/override/isolate controls can disguise a file name (e.g. "gpj.exe" shown as
# "exe.jpg"); show them as visible replacement marks instead of obeying them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REPLACEMENT = "\ufffd"


def plain(untrusted: object, *, max_length: int = 2000, keep_newlines: bool = False) -> str:
    """Return ``untrusted`` as a single safe display string."""
    if untrusted is None:
        return ""
    text = str(untrusted)
    out: list[str] = []
    for char in text[: max_length + 1]:
        if keep_newlines and char == "\n":
            out.append(char)
        elif char in _BIDI_CONTROLS:
            out.append(_REPLACEMENT)
        elif unicodedata.category(char) == "Cc":
            out.append(" " if char in "\t\n\r" else _REPLACEMENT)
        else:
            out.append(char)
    result = "".join(out)
    if len(result) > max_length:
        result = result[: max_length - 1] + "…"
    return result


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def short_time(rfc3339: str | None) -> str:
    """'2026-11-25T14:56:22.123456Z' -> '2026-11-25 14:56 UTC' (dates stay unambiguous)."""
    if not rfc3339:
        return ""
    text = plain(rfc3339, max_length=40)
    if "T" in text:
        day, _, rest = text.partition("T")
        return f"{day} {rest[:5]} UTC"
    return text


def capture_time_text(value: str | None, *, compact: bool = False) -> str:
    """A capture time as recorded (EXIF or typed): its own zone, or said to be the camera's local time.

    '2026-03-14T18:40:00+07:00' -> '2026-03-14 18:40 (UTC+07:00)'; '…Z' -> '… UTC';
    '2026-03-14T18:40:00' -> '2026-03-14 18:40 (camera local time)'; a date stays a date.
    ``compact`` (list columns): '… +07:00', '… local'."""
    if not value:
        return ""
    text = plain(value, max_length=40)
    day, sep, rest = text.partition("T")
    if not sep:
        return text
    clock = rest[:5]
    zone = rest[8:].lstrip("0123456789.") if len(rest) > 8 else ""
    if zone in ("Z", "+00:00") or text.endswith("Z"):
        return f"{day} {clock} UTC"
    if zone.startswith(("+", "-")):
        return f"{day} {clock} {zone}" if compact else f"{day} {clock} (UTC{zone})"
    return f"{day} {clock} local" if compact else f"{day} {clock} (camera local time)"


def timestamp(seconds: float) -> str:
    """Seconds -> 'h:mm:ss.s' or 'mm:ss.s' for transcripts."""
    seconds = max(0.0, float(seconds))
    hours, rem = divmod(seconds, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}"
    return f"{int(minutes):02d}:{secs:04.1f}"


def parse_timestamp(text: str) -> float:
    """Inverse of :func:`timestamp`; accepts 'ss', 'mm:ss', 'h:mm:ss' with decimals."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise ValueError(text)
    total = 0.0
    for part in parts:
        value = float(part)
        if value < 0:
            raise ValueError(text)
        total = total * 60 + value
    return total


def ltr(text: str) -> str:
    """Keep numbers, sizes, dates and hashes in left-to-right order inside a right-to-left layout.

    Wraps the text in a Unicode left-to-right isolate (LRI … PDI) only when the application runs
    right-to-left, so copied text stays clean otherwise.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    if text and QGuiApplication.layoutDirection() == Qt.LayoutDirection.RightToLeft:
        return "\u2066" + text + "\u2069"
    return text
