"""Find and replace the names of protected people in text, in any script.

A name left in a dossier can get someone hurt, so matching errs towards finding too much.  Text
and names are compared as *skeletons* (see :func:`skeleton`): compatibility-decomposed,
case-folded, diacritics removed from Latin/Greek/Cyrillic letters ("Nguyễn Văn An" ==
"NGUYEN VAN AN"), Vietnamese đ -> d, and every space, zero-width character, line break and
punctuation mark dropped (so "Nguyen  Van\\nAn", "NguyenVan An", "Nguyen\\u200bVan An" and
"@nguyenvanan" all match).  Each skeleton character remembers where it came from in the
original text, so matches map back to exact original offsets.

Names in scripts written without spaces (Thai, Lao, Khmer, Burmese, Chinese, Japanese) match as
substrings.  Names in other scripts must start and end at a word boundary in the original text,
so "An" does not match inside "Anna", but does match "An," "An2" or the "An" in "TranVanAn".
Overlapping candidates: the longest wins, then the leftmost.

Known limits: Traditional and Simplified Chinese are different characters here (register both
spellings as aliases); Burmese text in the legacy Zawgyi encoding does not match Unicode names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

REDACTED = "[REDACTED]"
Mode = Literal["pseudonym", "redacted"]

# Letters that carry their "diacritic" in the base character and so survive NFKD.
_FOLD = {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "ŧ": "t", "ƀ": "b", "ɨ": "i",
         "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th", "ŋ": "n"}
# Zero-width and invisible characters that may sit inside a name without changing it.
_INVISIBLE = {"\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180e",
              "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062",
              "\u2063", "\u2064", "\ufeff", "\u3164", "\uffa0"}

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
)

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


def is_spaceless(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _SPACELESS_RANGES)


def _strips_marks(base: str) -> bool:
    """Diacritics are dropped after Latin, Greek and Cyrillic letters only: in Thai, Khmer or
    Burmese the "marks" are vowels, and dropping them would make unrelated words collide."""
    code = ord(base)
    return code < 0x0530 or 0x1E00 <= code <= 0x1FFF or 0x2C60 <= code <= 0x2C7F or 0xA720 <= code <= 0xA7FF


def _dropped(char: str) -> bool:
    """Separators that never matter inside a name: spaces, punctuation, controls, invisibles."""
    if char in _INVISIBLE:
        return True
    category = unicodedata.category(char)
    return category[0] in "ZP" or category in ("Cc", "Cf")


@dataclass(frozen=True)
class Skeleton:
    """Matching form of a text: ``chars[i]`` came from ``text[starts[i]:ends[i]]``."""

    chars: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def skeleton(text: str) -> Skeleton:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    base = ""  # the last letter seen, to decide whether a following mark is a diacritic
    for index, original in enumerate(text):
        if _dropped(original):
            base = ""
            continue
        for piece in unicodedata.normalize("NFKD", original):
            if _dropped(piece):
                continue
            if unicodedata.category(piece).startswith("M"):
                if base and _strips_marks(base):
                    # The diacritic belongs to the previous letter: so does its span.
                    ends[-1] = index + 1
                    continue
            else:
                base = piece
            folded = piece.casefold()
            folded = "".join(_FOLD.get(c, c) for c in folded)
            for out in folded:
                chars.append(out)
                starts.append(index)
                ends.append(index + 1)
    return Skeleton("".join(chars), tuple(starts), tuple(ends))


def skeleton_text(text: str) -> str:
    """Just the matching form: what a checker compares ("Nguyễn Văn An" -> "nguyenvanan")."""
    return skeleton(text).chars


def strip_title(name: str) -> str | None:
    """``name`` without a leading title (นาย, លោក, ဦး, Mr., Bapak...), or None if it has none."""
    stripped = unicodedata.normalize("NFC", name).strip()
    lowered = stripped.lower()  # lower(), not casefold(): keeps the length, so slicing stays aligned
    for title in TITLES:
        if not lowered.startswith(title):
            continue
        rest = stripped[len(title):]
        latin_title = title.isascii() or title in ("ông", "bà", "chị", "cô", "chú")
        # Latin-script titles must be whole words: "Mr Yen", "Mr. Yen", not "Mrinal".
        if latin_title and not rest.startswith((" ", ".", "\u00a0")):
            continue
        rest = rest.lstrip(" .\u00a0\u200b")
        if rest and len(skeleton_text(rest)) >= 2:
            return rest
    return None


@dataclass(frozen=True)
class ProtectedName:
    person_id: int
    names: Sequence[str]
    replacement: str


@dataclass(frozen=True)
class NameMatch:
    start: int
    end: int
    person_id: int
    matched: str


@dataclass(frozen=True)
class _Pattern:
    key: str
    person_id: int
    needs_boundary: bool
    prefix: str = ""  # punctuation the registered name starts with ("@", "#"), taken along if present
    suffix: str = ""


def _edge_punctuation(name: str) -> tuple[str, str]:
    core = name.strip()
    head = len(core) - len(core.lstrip("@#'\"‘“([{"))
    tail = len(core) - len(core.rstrip("'\"’”)]}."))
    return core[:head], core[len(core) - tail:] if tail else ""


class NameRedactor:
    """Finds the registered names of protected people and replaces them consistently."""

    def __init__(self, protected: Sequence[ProtectedName], *, mode: Mode = "pseudonym") -> None:
        if mode not in ("pseudonym", "redacted"):
            raise ValueError(f"unknown redaction mode {mode!r}")
        self.mode: Mode = mode
        self.protected = tuple(protected)
        self._replacement = {p.person_id: p.replacement for p in self.protected}
        patterns: dict[str, _Pattern] = {}
        for person in self.protected:
            for name in person.names:
                for variant in (name, strip_title(name)):
                    if not variant:
                        continue
                    key = skeleton_text(variant)
                    if not key or key in patterns:
                        continue  # the first person registered with a name keeps it
                    needs_boundary = not any(is_spaceless(c) for c in key)
                    prefix, suffix = _edge_punctuation(variant)
                    patterns[key] = _Pattern(key, person.person_id, needs_boundary, prefix, suffix)
        # Longest first: a full name is preferred over an alias inside it.
        self._patterns = sorted(patterns.values(), key=lambda p: -len(p.key))

    def replacement_for(self, person_id: int) -> str:
        return REDACTED if self.mode == "redacted" else self._replacement[person_id]

    def find(self, text: str) -> list[NameMatch]:
        """Every occurrence of a protected name, as non-overlapping spans of the original text."""
        if not self._patterns or not text:
            return []
        skel = skeleton(text)
        candidates: list[tuple[int, int, int, int]] = []  # (-length, start, end, person)
        for pattern in self._patterns:
            position = skel.chars.find(pattern.key)
            while position != -1:
                last = position + len(pattern.key) - 1
                start, end = skel.starts[position], skel.ends[last]
                if pattern.prefix and text[max(0, start - len(pattern.prefix)):start] == pattern.prefix:
                    start -= len(pattern.prefix)
                if pattern.suffix and text[end:end + len(pattern.suffix)] == pattern.suffix:
                    end += len(pattern.suffix)
                if not pattern.needs_boundary or _at_boundaries(text, start, end):
                    candidates.append((-(end - start), start, end, pattern.person_id))
                position = skel.chars.find(pattern.key, position + 1)
        candidates.sort()
        taken = bytearray(len(text))  # 1 where a longer match already claimed the character
        chosen: list[NameMatch] = []
        for _, start, end, person_id in candidates:
            if any(taken[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            chosen.append(NameMatch(start, end, person_id, text[start:end]))
        return sorted(chosen, key=lambda m: m.start)

    def redact(self, text: str) -> str:
        """Replace every protected name by its pseudonym (or ``[REDACTED]``)."""
        # A second pass catches a name that only appears once a neighbouring one is replaced
        # (e.g. "AnAn"): stop when nothing is left, which is what matters.
        for _ in range(4):
            matches = self.find(text)
            if not matches:
                return text
            text = self._replace(text, matches)
        return text

    def _replace(self, text: str, matches: Sequence[NameMatch]) -> str:
        parts: list[str] = []
        cursor = 0
        for match in matches:
            parts.append(text[cursor:match.start])
            parts.append(self.replacement_for(match.person_id))
            cursor = match.end
        parts.append(text[cursor:])
        return "".join(parts)


_CLITICS = frozenset({"nya", "lah", "kah", "pun", "tah", "ku", "mu"})


def _is_word_char(char: str) -> bool:
    """A neighbour that glues onto a Latin-script name (digits and other scripts do not)."""
    category = unicodedata.category(char)
    if category[0] not in "LM" or char in _INVISIBLE:
        return False
    return not is_spaceless(char)


def _at_boundaries(text: str, start: int, end: int) -> bool:
    if start > 0:
        before, first = text[start - 1], text[start]
        camel = before.islower() and first.isupper()
        if _is_word_char(before) and not camel:
            return False
    # Indonesian/Malay clitics glue onto names ("Agusnya", "Priyolah"): still the name.
    for length in (3, 2):
        if text[end:end + length].casefold() in _CLITICS:
            end += length
            break
    if end < len(text):
        after, last = text[end], text[end - 1]
        camel = last.islower() and after.isupper()
        # A trailing combining mark would already be inside the match (see skeleton()).
        if _is_word_char(after) and not camel:
            return False
    return True


def redactor_from_persons(persons: Iterable[Any], *, mode: Mode = "pseudonym") -> NameRedactor:
    """Build a redactor from vault ``Person`` records (duck-typed): only ``protected`` ones."""
    protected = []
    for person in persons:
        if not getattr(person, "protected", False):
            continue
        names = [person.name, *(getattr(person, "aliases", None) or ())]
        pseudonym = getattr(person, "pseudonym", None)
        replacement = pseudonym.strip() if isinstance(pseudonym, str) and pseudonym.strip() else None
        protected.append(ProtectedName(
            person_id=person.id,
            names=[n for n in names if isinstance(n, str) and n.strip()],
            replacement=replacement or f"Person {person.id}",
        ))
    return NameRedactor(protected, mode=mode)


_FILENAME_SEPARATORS = "_-.+~"


def redact_filename(name: str, redactor: NameRedactor) -> str:
    """Names in file names ("interview_Nguyen_Van_An.mp4") replaced; the rest is kept.

    Underscores, dashes, dots and plus signs act as spaces.  The extension gets no special
    treatment on purpose: callers also pass stems, and "Nguyen.Van.An" must not keep "An" as
    an "extension".  The replacement's spaces become underscores.
    """
    spaced = "".join(" " if c in _FILENAME_SEPARATORS else c for c in name)
    parts: list[str] = []
    cursor = 0
    for match in redactor.find(spaced):
        parts.append(name[cursor:match.start])
        replacement = redactor.replacement_for(match.person_id)
        parts.append("".join("_" if c.isspace() or c in "/\\:" else c for c in replacement))
        cursor = match.end
    parts.append(name[cursor:])
    return "".join(parts).replace("/", "_").replace("\\", "_")
