"""Line breaking for scripts written without spaces, and Paragraph markup for untrusted text.

reportlab breaks lines only at spaces.  A Khmer or Burmese sentence (no spaces) is one "word"
wider than the page, which reportlab cuts at an arbitrary character *after* shaping — that
tears subscripts and vowel signs from their consonants.  So we break such text ourselves,
before reportlab sees it, at the word boundaries ICU finds (:mod:`app.export.pdf.linebreak`;
Chinese between characters), measuring the *shaped* width, and hand reportlab lines that
already fit, joined by ``<br/>`` (no zero-width spaces reach the text layer).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.pdfbase import ttfonts
from reportlab.pdfbase.pdfmetrics import stringWidth

from app.export.pdf.fonts import CJK, KHMER, LATIN, MYANMAR, THAI, ensure_fonts, script_of, split_runs
from app.export.pdf.linebreak import line_segments

# shaped widths can differ a little from the sum of syllable widths (kerning across a boundary)
_SAFETY = 0.97
_NO_LINE_START = set("、。，．：；？！）」』】〕〉》｝〗〙〛・ー…‥,.;:!?)]}។៕ៗ။၊ๆฯ")
_NO_LINE_END = set("（「『【〔〈《｛〖〘〚([{")
_COENG = "\u17d2"
_MY_STACK = "\u1039"
_MY_ASAT = "\u103a"


@lru_cache(maxsize=200_000)
def _run_width_1000(run: str, font: str) -> float:
    """Width of a run in points at size 1000, shaped when the font shapes it."""
    shaped = ttfonts.shapeStr(run, font, 1000)
    data = getattr(shaped, "__shapeData__", None)
    if data:
        return float(sum(d.x_advance for d in data))
    return stringWidth(run, font, 1000)


def shaped_width(text: str, size: float, *, bold: bool = False) -> float:
    fonts = ensure_fonts()
    total = 0.0
    for script, run in split_runs(text):
        font = fonts[script].bold if bold else fonts[script].regular
        total += _run_width_1000(run, font)
    return total * size / 1000.0


def _break_before(text: str, i: int) -> bool:
    """May a line start at text[i] in the middle of a space-less word?"""
    if i <= 0:
        return False
    ch, prev = text[i], text[i - 1]
    if ch in _NO_LINE_START or prev in _NO_LINE_END:
        return False
    if unicodedata.category(ch).startswith("M") or ch in "\u200c\u200d" or prev in "\u200c\u200d":
        return False
    script, prev_script = script_of(ch), script_of(prev)
    if script != prev_script:
        return script is not None and prev_script is not None
    if script == CJK:
        return True
    if script == KHMER:
        return "\u1780" <= ch <= "\u17b3" and prev != _COENG
    if script == MYANMAR:
        nxt = text[i + 1] if i + 1 < len(text) else ""
        starts = "\u1000" <= ch <= "\u102a" or "\u1040" <= ch <= "\u1049"
        return starts and prev != _MY_STACK and nxt not in (_MY_ASAT, _MY_STACK)
    if script == THAI:
        leading_vowel = "\u0e40" <= prev <= "\u0e44"
        return ("\u0e01" <= ch <= "\u0e2e" or "\u0e40" <= ch <= "\u0e44") and not leading_vowel
    # Latin words (URLs, hashes) split anywhere, but only when they are too long for a line.
    return script == LATIN or script is None


def _pieces(word: str) -> list[str]:
    """Cut a space-less word at every allowed break."""
    out, start = [], 0
    for i in range(1, len(word)):
        if _break_before(word, i):
            out.append(word[start:i])
            start = i
    out.append(word[start:])
    return out


def break_lines(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Greedy line breaking of one paragraph (no newlines) into lines that fit ``width`` points.

    Lines end only at ICU's break opportunities (:mod:`app.export.pdf.linebreak`); only a piece
    wider than a whole line (a hash, a URL) is cut further, at syllables or characters."""
    limit = width * _SAFETY
    space = stringWidth(" ", ensure_fonts()[LATIN].regular, size)
    lines: list[str] = []
    line, line_w = "", 0.0
    pending = ""  # the spaces after the last piece, written only if another piece follows on the line
    for segment in line_segments(text):
        token = segment.rstrip(" ")
        if not token:  # spaces at the start of the paragraph
            pending += segment
            continue
        joiner = pending if line else ""
        pending = segment[len(token):]
        w = shaped_width(token, size, bold=bold)
        extra = len(joiner) * space + w
        if line_w + extra <= limit:
            line, line_w = line + joiner + token, line_w + extra
            continue
        if w <= limit:  # starts a new line whole
            if line:
                lines.append(line)
            line, line_w = token, w
            continue
        # a piece wider than a line: cut at syllable/character boundaries
        for piece in _pieces(token):
            pw = shaped_width(piece, size, bold=bold)
            sep = len(joiner) * space if line else 0.0
            if line and line_w + sep + pw > limit:
                lines.append(line)
                line, line_w, sep, joiner = "", 0.0, 0.0, ""
            line = line + (joiner if line else "") + piece
            line_w += sep + pw
            joiner = ""
    if line or not lines:
        lines.append(line)
    return lines


MARK_COLOUR = "#9b0000"


def markup(text: str, *, width: float | None = None, size: float = 9.0, bold: bool = False,
           marks: Sequence[str] = ()) -> str:
    """Paragraph markup for untrusted text: XML-escaped, one ``<font>`` per script run, newlines
    kept, and — when ``width`` is given — broken into lines that fit (needed for Khmer, Burmese,
    Thai and Chinese; see the module docstring).  Each of ``marks`` (redaction marks such as
    ``[Survivor S-1]``) is drawn in a distinct style: dark red and underlined."""
    fonts = ensure_fonts()
    shown_marks = [escape(mark) for mark in marks]  # once per text, not once per script run
    out_lines: list[str] = []
    for paragraph in str(text).replace("\r\n", "\n").split("\n"):
        lines = break_lines(paragraph, width, size, bold=bold) if width else [paragraph]
        for line in lines:
            parts = []
            for script, run in split_runs(line):
                font = fonts[script].bold if bold else fonts[script].regular
                escaped = escape(run)
                for shown in shown_marks:
                    if shown in escaped:
                        escaped = escaped.replace(shown, f'<font color="{MARK_COLOUR}"><u>{shown}</u></font>')
                parts.append(f'<font name="{font}">{escaped}</font>')
            out_lines.append("".join(parts))
    return "<br/>".join(out_lines)


__all__ = ["break_lines", "markup", "shaped_width"]
