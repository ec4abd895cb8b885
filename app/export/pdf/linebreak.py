"""Where a line may break: the Unicode line-breaking algorithm (UAX #14) as ICU implements it.

Thai, Khmer, Burmese and Lao are written without spaces between words; ICU's line break iterator
finds word boundaries in them with its dictionaries, and handles Chinese, punctuation and spaces
by the UAX #14 rules.  A break inside a syllable (ក្រសាំ|ង, หลายค|รั้ง) tears vowel signs and
subscripts from their consonants, so the dossier only ever breaks where ICU says it may.

ICU comes from the ``icu4py`` wheel (ICU4C bundled: no system library, no compiler).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

from icu4py.breakers import LineBreaker

# ICU's dictionaries treat these repetition/closing marks as word-like, but a line must not start
# with them (they belong to the word before).
NO_LINE_START = frozenset("ៗๆฯ")


@lru_cache(maxsize=20_000)
def _segments(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(LineBreaker(text, "").segments())


def break_positions(text: str) -> list[int]:
    """Offsets ``i`` (0 < i < len(text)) at which a new line may start with ``text[i]``."""
    out = []
    for start, _ in _segments(text):
        if 0 < start < len(text) and text[start] not in NO_LINE_START:
            out.append(start)
    return out


def line_segments(text: str) -> list[str]:
    """``text`` cut at every break opportunity; each piece keeps the spaces that follow it."""
    cuts = [0, *break_positions(text), len(text)]
    return [text[a:b] for a, b in pairwise(cuts) if b > a]


__all__ = ["NO_LINE_START", "break_positions", "line_segments"]
