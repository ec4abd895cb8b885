"""The matching form of a text ("skeleton") and the map back to the original text.

Text and names are compared as skeletons, built from the whole string in this order:

1. character references are decoded (``&nbsp;``, ``&#7877;``, ``&#x65B0;``; see
   :mod:`app.redact.charrefs`);
2. every character is compatibility-decomposed (NFKD, so NFC and NFD spellings agree), spaces,
   punctuation, controls and default-ignorable code points (zero-width characters, variation
   selectors) are dropped, and diacritics are dropped after Latin, Greek and Cyrillic letters
   ("Nguyễn Văn An" == "NGUYEN VAN AN");
3. the marks of each Thai, Lao, Burmese and Khmer cluster are put into one order
   (:mod:`app.redact.mark_order`), so a name typed with its marks in another order still
   matches;
4. letters are case-folded, look-alike letters fold to the Latin letter they imitate, Vietnamese
   đ -> d, and Traditional Chinese folds to Simplified (:mod:`app.redact.confusables`).

Each skeleton character remembers the span of the original text it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from app.redact.charrefs import Decoded, decode_references
from app.redact.confusables import ascii_lookalike, fold_han, fold_lookalike, is_ignorable
from app.redact.mark_order import reorder

# Letters that carry their "diacritic" in the base character and so survive NFKD.
_FOLD = {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "ŧ": "t", "ƀ": "b", "ɨ": "i",
         "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ŋ": "n"}
# Invisible characters that are not default-ignorable but never change a name either.
INVISIBLE = frozenset({"\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180e",
                       "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062",
                       "\u2063", "\u2064", "\ufeff", "\u3164", "\uffa0"})

# Titles that may precede a name; a registered "นายสนธิรัตน์ ..." also matches without "นาย".
TITLES: tuple[str, ...] = (
    # Thai (longest first so "นางสาว" wins over "นาง")
    "พล.อ.อ.", "พล.ร.อ.", "พล.ต.อ.", "พล.ต.ท.", "พล.ต.ต.", "พล.อ.", "พล.ท.", "พล.ต.", "พ.ต.อ.", "พ.ต.ท.",
    "ร.ต.อ.", "ด.ต.", "ดร.", "ศ.", "รศ.", "ผศ.", "นางสาว", "น.ส.", "นาย", "นาง", "ด.ช.", "ด.ญ.",
    "ประธานาธิบดี", "นายกรัฐมนตรี", "คุณ",
    # Khmer
    "សម្ដេច", "ឯកឧត្តម", "លោកស្រី", "អ្នកនាង", "លោក", "អ្នក", "កញ្ញា",
    # Burmese
    "ဦး", "ဒေါ်", "မောင်", "ကို", "ဒေါက်တာ",
    # Latin-script titles (matched case-insensitively, dot optional)
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "bapak", "pak", "ibu", "bu", "saudara", "sdr",
    "ông", "bà", "chị", "cô", "chú",
    # Burmese honorifics written in Latin letters (a name registered as "Daw Khin Mi Mi Lwin" is also
    # written "Khin Mi Mi Lwin" or "Ma Khin Mi Mi Lwin")
    "maung", "daw", "ma", "ko", "u",
)
# Forms of address that stand before a given name but are also ordinary words ("anh" is "brother"
# and "he"): never stripped from a registered name, only a cue that the next word is a name.
ADDRESS_TERMS: tuple[str, ...] = ("anh", "em", "bác", "dì", "cậu", "thầy", "kak", "mas", "mbak", "adik")
LATIN_TITLES = frozenset([*(t for t in TITLES if t.isascii() or t in ("ông", "bà", "chị", "cô", "chú")),
                          *ADDRESS_TERMS])

# Scripts that do not separate words with spaces: names in them match as substrings.
_SPACELESS_RANGES = (
    (0x0E00, 0x0EFF),   # Thai, Lao
    (0x1000, 0x109F),   # Myanmar
    (0x1780, 0x17FF),   # Khmer
    (0x19E0, 0x19FF),   # Khmer symbols
    (0xA9E0, 0xA9FF),   # Myanmar extended-B
    (0xAA60, 0xAA7F),   # Myanmar extended-A
    (0x2E80, 0x2FDF),   # CJK radicals
    (0x3040, 0x30FF),   # Hiragana, Katakana
    (0x3400, 0x4DBF),   # CJK extension A
    (0x4E00, 0x9FFF),   # CJK unified
    (0xF900, 0xFAFF),   # CJK compatibility
    (0x20000, 0x3FFFF),  # CJK extensions B+
)


@lru_cache(maxsize=8192)
def is_spaceless(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _SPACELESS_RANGES)


def strips_marks(base: str) -> bool:
    """Diacritics are dropped after Latin, Greek and Cyrillic letters only: in Thai, Khmer or
    Burmese the "marks" are vowels, and dropping them would make unrelated words collide."""
    code = ord(base)
    return code < 0x0530 or 0x1E00 <= code <= 0x1FFF or 0x2C60 <= code <= 0x2C7F or 0xA720 <= code <= 0xA7FF


def is_separator(char: str) -> bool:
    """Spaces, punctuation and controls: they end a word."""
    category = unicodedata.category(char)
    return category[0] in "ZP" or category == "Cc"


def dropped(char: str) -> bool:
    """Characters that never matter inside a name: separators, format characters, invisibles."""
    return char in INVISIBLE or is_separator(char) or unicodedata.category(char) == "Cf" or is_ignorable(char)


def _fold(piece: str) -> str:
    folded = "".join(_FOLD.get(c, c) for c in piece.casefold())
    if is_spaceless(piece):
        return fold_han(folded) if len(folded) == 1 else folded
    latin = ascii_lookalike(piece) if len(piece) == 1 else None
    if latin is not None:
        return latin
    return "".join(fold_lookalike(c) for c in folded).casefold()


@dataclass(frozen=True)
class Analysis:
    """A skeleton in the coordinates of the decoded text (``decoded.text``)."""

    decoded: Decoded
    chars: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    upper: tuple[bool, ...]  # the letter was a capital (for short names matched case-sensitively)

    def word_break(self, index: int) -> bool:
        """Whether a separator or a change of script stands just before skeleton char ``index``."""
        if index <= 0 or index >= len(self.chars):
            return True
        text = self.decoded.text
        if is_spaceless(self.chars[index - 1]) != is_spaceless(self.chars[index]):
            return True
        return any(is_separator(c) for c in text[self.ends[index - 1]:self.starts[index]])


# How one character enters the skeleton: (piece, is a mark, folded form, is a capital) per piece
# of its NFKD decomposition, None when the character is dropped.  Cached: text repeats characters.
_Piece = tuple[str, bool, str, bool]


@lru_cache(maxsize=16384)
def _pieces(char: str) -> tuple[_Piece, ...] | None:
    if dropped(char):
        return None
    out = []
    for piece in unicodedata.normalize("NFKD", char):
        if dropped(piece):
            continue
        out.append((piece, unicodedata.category(piece).startswith("M"), _fold(piece),
                    piece.isupper() or piece.istitle()))
    return tuple(out)


@lru_cache(maxsize=8192)
def _separator(char: str) -> bool:
    return is_separator(char)


def analyse(text: str) -> Analysis:
    decoded = decode_references(text)
    source = decoded.text
    items: list[tuple[str, int, int]] = []
    folded: dict[str, tuple[str, bool]] = {}
    marks = False
    base_strips = False  # whether the last letter seen drops the diacritics that follow it
    for index, original in enumerate(source):
        pieces = _pieces(original)
        if pieces is None:
            if _separator(original):
                base_strips = False
            continue
        for piece, is_mark, fold, capital in pieces:
            if is_mark:
                if base_strips and items:
                    # The diacritic belongs to the previous letter: so does its span.
                    char, start, _ = items[-1]
                    items[-1] = (char, start, index + 1)
                    continue
                marks = True
            else:
                base_strips = strips_marks(piece)
            folded[piece] = (fold, capital)
            items.append((piece, index, index + 1))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    upper: list[bool] = []
    for piece, start, end in reorder(items) if marks else items:
        fold, capital = folded[piece] if piece in folded else (_fold(piece), False)
        if len(fold) == 1:
            chars.append(fold)
            starts.append(start)
            ends.append(end)
            upper.append(capital)
            continue
        for out in fold:
            chars.append(out)
            starts.append(start)
            ends.append(end)
            upper.append(capital)
    return Analysis(decoded, "".join(chars), tuple(starts), tuple(ends), tuple(upper))


@dataclass(frozen=True)
class Skeleton:
    """Matching form of a text: ``chars[i]`` came from ``text[starts[i]:ends[i]]``."""

    chars: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def skeleton(text: str) -> Skeleton:
    analysis = analyse(text)
    decoded = analysis.decoded
    return Skeleton(analysis.chars, tuple(decoded.starts[s] for s in analysis.starts),
                    tuple(decoded.ends[e - 1] for e in analysis.ends))


def skeleton_text(text: str) -> str:
    """Just the matching form: what a checker compares ("Nguyễn Văn An" -> "nguyenvanan")."""
    return analyse(text).chars


def strip_title(name: str) -> str | None:
    """``name`` without a leading title (นาย, លោក, ဦး, Mr., Bapak...), or None if it has none."""
    stripped = unicodedata.normalize("NFC", name).strip()
    lowered = stripped.lower()  # lower(), not casefold(): keeps the length, so slicing stays aligned
    for title in TITLES:
        if not lowered.startswith(title):
            continue
        rest = stripped[len(title):]
        # Latin-script titles must be whole words: "Mr Yen", "Mr. Yen", not "Mrinal".
        if title in LATIN_TITLES and not rest.startswith((" ", ".", "\u00a0")):
            continue
        rest = rest.lstrip(" .\u00a0\u200b")
        if rest and len(skeleton_text(rest)) >= 2:
            return rest
    return None


def title_before(text: str, start: int) -> bool:
    """Whether a title (Mr, chị, นาย, លោក...) ends just before ``text[start]``, spaces and dots
    allowed between them."""
    index = start
    while index > 0 and dropped(text[index - 1]):
        index -= 1
    head = unicodedata.normalize("NFC", text[max(0, index - 16):index]).lower()
    for title in (*TITLES, *ADDRESS_TERMS):
        if not head.endswith(title.rstrip(".")):
            continue
        before = head[:len(head) - len(title.rstrip("."))]
        if before and before[-1].isalpha() and not is_spaceless(before[-1]):
            continue  # "Thanh" does not end in the title "anh", nor "Bapak" in "pak"
        if title in LATIN_TITLES and index == start:
            continue  # a Latin title is a word of its own
        return True
    return False
