"""One storage order for the marks of a Thai, Lao, Burmese or Khmer cluster.

The same syllable can be typed with its marks in several orders that render identically (a Thai
tone mark before or after an upper vowel, a Burmese medial ya after medial wa, a Khmer vowel
before a subscript consonant).  Unicode normalisation does not unify them: most of these marks
have canonical combining class 0, so NFC keeps whatever order was typed.  Names and text are
therefore put into one order before they are compared:

- Thai and Lao: below vowels, upper vowels, tone marks and other signs, then NIKHAHIT and the
  SARA AA that NFKD splits SARA AM into (a tone typed after SARA AM moves in front of it, as in
  the standard spelling of น้ำ);
- Burmese: Unicode's recommended storage order (UTN #11): asat of a kinzi, stacked consonant,
  medials ya, ra, wa, ha, vowel sign E, upper vowels, lower vowels, AA, anusvara, dot below,
  asat, visarga;
- Khmer: robat, subscript consonants (COENG RO last), register shifters, vowels, signs; the
  two-part vowels typed as two signs (េ + ី, េ + ា) become their single character.

Other marks are put into canonical order (by combining class), which is what NFC does.

Items are ``(char, start, end)``: the reordered sequence keeps every character's span.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

Item = tuple[str, int, int]

_LAST = 99


def _thai_lao_rank(char: str) -> int | None:
    code = ord(char)
    if code in (0x0E38, 0x0E39, 0x0E3A, 0x0EB8, 0x0EB9, 0x0EBA, 0x0EBC):
        return 1  # below vowels (and the Lao subscript LO)
    if code in (0x0E31, 0x0E34, 0x0E35, 0x0E36, 0x0E37, 0x0E47, 0x0EB1, 0x0EB4, 0x0EB5, 0x0EB6, 0x0EB7, 0x0EBB):
        return 2  # upper vowels, MAITAIKHU
    if 0x0E48 <= code <= 0x0E4C or 0x0EC8 <= code <= 0x0ECC:
        return 3  # tone marks, THANTHAKHAT
    if code in (0x0E4D, 0x0ECD):
        return 4  # NIKHAHIT (first half of SARA AM)
    if code in (0x0E4E, 0x0ECE):
        return 6
    return None


_BURMESE_RANKS = {
    0x1039: 2,  # virama before a stacked consonant (the consonant travels with it)
    0x103B: 3, 0x105E: 3, 0x105F: 3, 0x103C: 4, 0x103D: 5, 0x1082: 5, 0x103E: 6, 0x1060: 6,
    0x1031: 7, 0x1084: 7,
    0x102D: 8, 0x102E: 8, 0x1032: 8, 0x1033: 8, 0x1034: 8, 0x1035: 8, 0x1071: 8, 0x1072: 8, 0x1073: 8, 0x1074: 8,
    0x102F: 9, 0x1030: 9,
    0x102B: 10, 0x102C: 10, 0x1062: 10, 0x1083: 10,
    0x1036: 11, 0x1037: 12, 0x103A: 13, 0x1038: 14,
}

_KHMER_SIGNS = {0x17C6: 7, 0x17CB: 7, 0x17CD: 7, 0x17CE: 7, 0x17CF: 7, 0x17D0: 7, 0x17D1: 7, 0x17D3: 7,
                0x17DD: 7, 0x17C7: 8, 0x17C8: 8}
_KHMER_COMPOSE = {("\u17c1", "\u17b8"): "\u17be", ("\u17c1", "\u17b6"): "\u17c4"}


def _khmer_rank(unit: list[Item]) -> int | None:
    code = ord(unit[0][0])
    if code == 0x17CC:
        return 1  # ROBAT
    if code == 0x17D2:
        return 3 if len(unit) > 1 and unit[1][0] == "\u179a" else 2  # COENG, COENG RO last
    if code in (0x17C9, 0x17CA):
        return 4  # register shifters
    if 0x17B6 <= code <= 0x17C5:
        return 5  # dependent vowels
    return _KHMER_SIGNS.get(code)


@lru_cache(maxsize=4096)
def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    code = ord(char)
    if 0x0E00 <= code <= 0x0EFF:
        return "thai"
    if 0x1000 <= code <= 0x109F or 0xA9E0 <= code <= 0xA9FF or 0xAA60 <= code <= 0xAA7F:
        return "burmese"
    if 0x1780 <= code <= 0x17FF:
        return "khmer"
    return ""


def _units(items: list[Item], start: int, script: str) -> tuple[list[list[Item]], int]:
    """The marks after the base at ``start``, grouped into units that move together, and the
    index just past the cluster."""
    units: list[list[Item]] = []
    index = start + 1
    while index < len(items):
        char = items[index][0]
        if char == "\u103a" and index + 2 < len(items) and items[index + 1][0] == "\u1039":
            units.append(items[index:index + 3])  # kinzi: asat + virama + the stacked consonant
            index += 3
            continue
        joins_next = script in ("khmer", "burmese") and char in ("\u17d2", "\u1039")
        if joins_next and index + 1 < len(items) and not _is_mark(items[index + 1][0]):
            units.append([items[index], items[index + 1]])  # COENG/virama + consonant
            index += 2
            continue
        if script == "thai" and char in ("\u0e32", "\u0eb2") and units and units[-1][0][0] in ("\u0e4d", "\u0ecd"):
            units.append([items[index]])  # SARA AA completing SARA AM: rank 5
            index += 1
            continue
        if not _is_mark(char):
            break
        units.append([items[index]])
        index += 1
    return units, index


def _rank(unit: list[Item], script: str) -> int:
    char = unit[0][0]
    if script == "thai":
        if char in ("\u0e32", "\u0eb2"):
            return 5
        rank = _thai_lao_rank(char)
    elif script == "burmese":
        rank = 1 if len(unit) == 3 else _BURMESE_RANKS.get(ord(char))
    else:
        rank = _khmer_rank(unit)
    return _LAST if rank is None else rank


def _canonical(marks: list[Item]) -> list[Item]:
    """Canonical ordering: a stable sort by combining class within runs of non-zero classes."""
    out: list[Item] = []
    run: list[Item] = []
    for item in marks:
        if unicodedata.combining(item[0]):
            run.append(item)
            continue
        out.extend(sorted(run, key=lambda i: unicodedata.combining(i[0])))
        run = []
        out.append(item)
    out.extend(sorted(run, key=lambda i: unicodedata.combining(i[0])))
    return out


def _compose_khmer(units: list[list[Item]]) -> list[list[Item]]:
    out: list[list[Item]] = []
    for unit in units:
        if out and len(unit) == 1 and len(out[-1]) == 1:
            composed = _KHMER_COMPOSE.get((out[-1][0][0], unit[0][0]))
            if composed:
                first = out[-1][0]
                out[-1] = [(composed, min(first[1], unit[0][1]), max(first[2], unit[0][2]))]
                continue
        out.append(unit)
    return out


def reorder(items: list[Item]) -> list[Item]:
    """``items`` with the marks of every cluster in one order (see the module description)."""
    if not any(_is_mark(char) for char, _, _ in items):
        return items
    out: list[Item] = []
    index = 0
    while index < len(items):
        base = items[index]
        script = _script(base[0])
        if not script:
            end = index + 1
            while end < len(items) and _is_mark(items[end][0]):
                end += 1
            out.append(base)
            out.extend(_canonical(items[index + 1:end]))
            index = end
            continue
        units, end = _units(items, index, script)
        if script == "khmer":
            units = _compose_khmer(sorted(units, key=lambda u: _rank(u, script)))
        out.append(base)
        for unit in sorted(units, key=lambda u: _rank(u, script)):
            out.extend(unit)
        index = end
    return out
