"""Character references (``&nbsp;``, ``&#7877;``, ``&#x65B0;``) decoded with an offset map.

Transcripts and notes arrive from subtitle editors and web pages that escape characters.  A
name written ``Đặng&nbsp;Thị&nbsp;Xuyến`` is on screen exactly the registered name, so matching
runs on the decoded text; each decoded character remembers the span of the original text it
came from, so a redaction replaces the whole reference.  Decoding repeats (up to
:data:`MAX_ROUNDS` times) because ``&amp;nbsp;`` is what a second escaping pass makes of
``&nbsp;``, and a reader sees through both.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_ROUNDS = 3
# Numeric references with or without the semicolon (HTML accepts both); named ones only with it,
# so ordinary text such as "R&D" or "&copy2024" is left alone.
_REFERENCE = re.compile(r"&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[A-Za-z][A-Za-z0-9]{1,31};)")


@dataclass(frozen=True)
class Decoded:
    """``text[i]`` came from ``original[starts[i]:ends[i]]``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _decode_once(text: str) -> tuple[str, list[int], list[int]] | None:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    changed = False
    for match in _REFERENCE.finditer(text):
        piece = match.group()
        decoded = html.unescape(piece)
        if decoded == piece:
            continue
        changed = True
        for index in range(cursor, match.start()):
            out.append(text[index])
            starts.append(index)
            ends.append(index + 1)
        for char in decoded:
            out.append(char)
            starts.append(match.start())
            ends.append(match.end())
        cursor = match.end()
    if not changed:
        return None
    for index in range(cursor, len(text)):
        out.append(text[index])
        starts.append(index)
        ends.append(index + 1)
    return "".join(out), starts, ends


def decode_references(text: str) -> Decoded:
    """``text`` with its character references decoded, and where each character came from."""
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    current = text
    for _ in range(MAX_ROUNDS):
        if "&" not in current:
            break
        step = _decode_once(current)
        if step is None:
            break
        current, step_starts, step_ends = step
        starts, ends = [starts[s] for s in step_starts], [ends[e - 1] for e in step_ends]
    return Decoded(current, tuple(starts), tuple(ends))
