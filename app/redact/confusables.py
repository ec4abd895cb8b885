"""Letters folded together for matching: look-alikes, Chinese variants, invisible selectors.

- Look-alike letters from other scripts ("Nguyеn" with a Cyrillic е, a Greek ο) fold to the
  Latin letter they imitate, following Unicode's confusables data (UTS #39, see
  :mod:`app.redact.confusables_table`).  Thai, Lao, Burmese, Khmer and Chinese letters are not
  folded: the table maps some of them to Latin look-alikes, which would only blur names there.
- Traditional Chinese characters fold to Simplified with OpenCC's ``t2s`` dictionary, one
  character at a time, so 林志穎 and 林志颖 match and every folded character keeps its place.
  A character with several Simplified forms folds to OpenCC's default one on both sides, which is
  all matching needs.
- Default-ignorable code points (variation selectors, Mongolian free variation selectors, tag
  characters, joiners, bidi controls...) are dropped: they change nothing a reader sees.
"""

from __future__ import annotations

from functools import lru_cache

import opencc

from app.redact.confusables_table import PAIRS


def _load() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in PAIRS.split():
        source, target = entry.split(":")
        table[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target.split("."))
    return table


LOOKALIKES = _load()

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt).
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


@lru_cache(maxsize=8192)
def is_ignorable(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


def fold_lookalike(char: str) -> str:
    """The Latin letters ``char`` imitates (case-folded), or ``char`` itself."""
    return LOOKALIKES.get(char, char)


@lru_cache(maxsize=8192)
def ascii_lookalike(char: str) -> str | None:
    """The plain Latin letters ``char`` imitates, or None.

    UTS #39 maps Cyrillic Т, К, Н, М to t, k, h, m but their lower case т, к, н, м to small
    capitals (ᴛ, ĸ, ʜ, ʍ): "Тhị" typed with a Cyrillic capital must match "Thị", and since matching
    ignores case, "тhị" must fold the same way.  A capital is folded as the capital it imitates:
    UTS #39 gives capital I's skeleton "l" (I and l look alike), so a capital whose skeleton is "l"
    (Cyrillic І, Greek Ι) imitates I and folds to "i", as Latin I does here."""
    def plain(form: str) -> str | None:
        target = LOOKALIKES.get(form) if len(form) == 1 else None
        return target if target is not None and target.isascii() and target.isalpha() else None

    if char.isupper():
        target = plain(char)
        if target == "l":  # I or L: the small letter tells (Cyrillic і is i, Polish ł is l)
            return plain(char.lower()) or target
        return target or plain(char.lower())
    return plain(char.casefold()) or plain(char.upper()) or plain(char)


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _simplified(char: str) -> str:
    converted = _t2s().convert(char)
    return converted if len(converted) == 1 else char


def fold_han(char: str) -> str:
    """The Simplified form of a Traditional Chinese character; other characters unchanged."""
    return _simplified(char) if _is_han(char) else char
