"""Find and replace the names of protected people in text, in any script.

A name left in a dossier can get someone hurt, so matching errs towards finding too much.  Text
and names are compared as *skeletons* (see :mod:`app.redact.name_skeleton`): character
references decoded, compatibility-decomposed, marks of Thai/Lao/Burmese/Khmer clusters in one
order, case-folded, diacritics removed from Latin/Greek/Cyrillic letters ("Nguyễn Văn An" ==
"NGUYEN VAN AN"), look-alike letters and Traditional Chinese folded, and every space,
zero-width character, variation selector, line break and punctuation mark dropped (so
"Nguyen  Van\\nAn", "NguyenVan An", "Nguyen\\u200bVan An" and "@nguyenvanan" all match).  Each
skeleton character remembers where it came from in the original text, so matches map back to
exact original offsets.

Names in scripts written without spaces (Thai, Lao, Khmer, Burmese, Chinese, Japanese) match as
substrings.  Names in other scripts must start and end at a word boundary in the original text,
so "An" does not match inside "Anna", but does match "An," "An2" or the "An" in "TranVanAn".
A Latin-script name of one or two letters ("An", "JK") matches only with the same capitals as
registered: "an" is an English word.  Overlapping candidates: the longest wins, then the leftmost.

Names are declined in many languages survivors speak.  Indonesian/Malay clitics ("Agusnya") stay
outside the replacement.  A name whose last word has 5 letters or more also matches with an ending of
up to 5 letters glued to it, and the whole word is replaced ("Mehmetin", "Yılmazlar", "Zainabot",
"Айгеримом" -> one replacement each); see ENDING_LETTERS.  Longer endings, endings after 4-letter
words and declined stems ("Натальей" for "Наталья") are reported as near matches instead.

Besides the registered names, forms derived from them are matched (parts of the name, other
orders, initials: :mod:`app.redact.name_variants`); a registered name always wins over a
derived form of someone else's.  A derived one-word part in a Latin-type script is matched only
where it starts with a capital, as names are written: Vietnamese "Anh" or Indonesian "Sari" as a
name part must not take every "anh" (brother, you) or "sari" (essence) with it.  Lowercase
occurrences of long parts are reported as near matches instead (:mod:`app.redact.name_warnings`).

Known limit: Burmese text in the legacy Zawgyi encoding does not match Unicode names.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.redact.name_skeleton import (
    INVISIBLE,
    TITLES,
    Analysis,
    Skeleton,
    analyse,
    is_spaceless,
    skeleton,
    skeleton_text,
    strip_title,
    title_before,
)
from app.redact.name_variants import derive, loose_key

__all__ = [
    "CLITICS", "ENDING_LETTERS", "INFLECTED_NAME_LETTERS", "REDACTED", "TITLES", "Mode", "NameForm", "NameMatch",
    "NameRedactor", "ProtectedName", "Skeleton", "filename_as_text", "is_spaceless", "loose_key", "redact_filename",
    "redactor_from_persons", "skeleton", "skeleton_text", "strip_title",
]

REDACTED = "[REDACTED]"
Mode = Literal["pseudonym", "redacted"]
SHORT_NAME_LETTERS = 2
# A name in a language that inflects it carries an ending: "Mehmetin", "Yılmazlar", "Zainabot",
# "Zainabem", "Aigerimning", "Айгеримом".  Where the name's last word has at least
# INFLECTED_NAME_LETTERS letters, a word that begins with it and goes on with 1 to ENDING_LETTERS
# letters is that name, and the whole word is replaced.  Five letters hold the case, number and
# possessive endings and most stacks of two (Turkish "-in", "-ler", "-den", "-ları", Finnish "-lle",
# "-ssa", Hungarian "-ot", "-ból", "-éknál", Czech "-ova", "-ovou", Uzbek "-ning", "-larga"); a longer
# run is as often a word of its own ("Grace" in "Gracefulness") and is only reported as a near match
# (app.redact.name_warnings), as are endings after a 4-letter word: many words begin with one, and
# "Agustus" (August) must not go with "Agus".  Measured with 20 protected names on the 50,000 most
# frequent words of 10 languages, each written with a capital: 0 to 6 more words redacted per
# language, 18 in Turkish (all "Demir..." for a protected "Ayşe Demir": "demir" is "iron").
INFLECTED_NAME_LETTERS = 5
ENDING_LETTERS = 5


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
    derived: bool = False  # found through a derived form (a part, another order), not as registered


@dataclass(frozen=True)
class NameForm:
    """One form matched for a person (for near-match reports): its skeleton and how many words."""

    person_id: int
    key: str
    word_keys: tuple[str, ...]  # the skeleton of each space-separated word
    spaceless: bool
    kind: str  # "name", "part", "title_part" or "common_part"


@dataclass(frozen=True)
class _Pattern:
    key: str
    person_id: int
    needs_boundary: bool
    prefix: str = ""  # punctuation the registered name starts with ("@", "#"), taken along if present
    suffix: str = ""
    capitals: tuple[bool, ...] | None = None  # short Latin names: the capitals must be the same
    capital_first: bool = False  # a derived one-word part: only where written with a capital
    needs_title: bool = False
    words: tuple[int, ...] = ()  # word lengths that must be separate in the text (initials)
    derived: bool = False
    last_word: int = 0  # letters of the name's last word when an ending may follow it, else 0


def _edge_punctuation(name: str) -> tuple[str, str]:
    core = name.strip()
    head = len(core) - len(core.lstrip("@#'\"‘“([{"))
    tail = len(core) - len(core.rstrip("'\"’”)]}."))
    return core[:head], core[len(core) - tail:] if tail else ""


def _is_short_latin(key: str) -> bool:
    return len(key) <= SHORT_NAME_LETTERS and key.isascii() and key.isalpha()


class NameRedactor:
    """Finds the registered names of protected people and replaces them consistently."""

    def __init__(self, protected: Sequence[ProtectedName], *, mode: Mode = "pseudonym") -> None:
        if mode not in ("pseudonym", "redacted"):
            raise ValueError(f"unknown redaction mode {mode!r}")
        self.mode: Mode = mode
        self.protected = tuple(protected)
        self._replacement = {p.person_id: p.replacement for p in self.protected}
        patterns: dict[str, _Pattern] = {}
        forms: dict[tuple[int, str], NameForm] = {}

        def add(text: str, person_id: int, *, kind: str, words: tuple[int, ...] = ()) -> None:
            analysis = analyse(text)
            key = analysis.chars
            if not key:
                return
            spaceless = any(is_spaceless(c) for c in key)
            word_keys = tuple(k for k in (skeleton_text(word) for word in text.split()) if k)
            forms.setdefault((person_id, key), NameForm(person_id, key, word_keys, spaceless, kind))
            if key in patterns or kind == "common_part":
                return  # the first person registered with a name keeps it
            prefix, suffix = _edge_punctuation(text)
            capitals = analysis.upper if _is_short_latin(key) else None
            inflects = not spaceless and capitals is None and not suffix and \
                bool(word_keys) and len(word_keys[-1]) >= INFLECTED_NAME_LETTERS
            last_word = len(word_keys[-1]) if inflects else 0
            patterns[key] = _Pattern(key, person_id, not spaceless, prefix, suffix, capitals,
                                     needs_title=kind == "title_part", words=words, derived=kind != "name",
                                     capital_first=kind == "part" and not spaceless, last_word=last_word)

        for person in self.protected:
            for name in person.names:
                for variant in (name, strip_title(name)):
                    if variant:
                        add(variant, person.person_id, kind="name")
        # Derived forms come after every registered name, and a part two people share is only
        # reported (see app.redact.name_variants).
        derived = [(person.person_id, v) for person in self.protected for name in person.names for v in derive(name)]
        owners: dict[str, set[int]] = {}
        for person_id, form in derived:
            if form.kind != "name":
                owners.setdefault(skeleton_text(form.text), set()).add(person_id)
        for person_id, form in derived:
            kind = form.kind
            if kind != "name" and len(owners[skeleton_text(form.text)]) > 1:
                kind = "common_part"
            add(form.text, person_id, kind=kind, words=form.words)
        # Longest first: a full name is preferred over an alias inside it.
        self._patterns = sorted(patterns.values(), key=lambda p: -len(p.key))
        self._forms = tuple(forms.values())

    def replacement_for(self, person_id: int) -> str:
        return REDACTED if self.mode == "redacted" else self._replacement[person_id]

    def name_forms(self) -> tuple[NameForm, ...]:
        """Every form matched or watched for, per person (registered, derived, common parts)."""
        return self._forms

    def find(self, text: str, *, analysis: Analysis | None = None) -> list[NameMatch]:
        """Every occurrence of a protected name, as non-overlapping spans of the original text.

        ``analysis`` (``analyse(text)``) may be passed by a caller that already has it."""
        if not self._patterns or not text:
            return []
        if analysis is None:
            analysis = analyse(text)
        decoded = analysis.decoded.text
        candidates: list[tuple[int, int, int, int, bool]] = []  # (-length, start, end, person, derived)
        for pattern in self._patterns:
            position = analysis.chars.find(pattern.key)
            while position != -1:
                span = self._accept(pattern, analysis, position)
                if span is not None:
                    start, end = span
                    candidates.append((-(end - start), start, end, pattern.person_id, pattern.derived))
                position = analysis.chars.find(pattern.key, position + 1)
        candidates.sort()
        taken = bytearray(len(decoded))  # 1 where a longer match already claimed the character
        chosen: list[NameMatch] = []
        starts, ends = analysis.decoded.starts, analysis.decoded.ends
        for _, start, end, person_id, was_derived in candidates:
            if any(taken[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            original_start, original_end = starts[start], ends[end - 1]
            chosen.append(NameMatch(original_start, original_end, person_id, text[original_start:original_end],
                                    was_derived))
        return sorted(chosen, key=lambda m: m.start)

    @staticmethod
    def _accept(pattern: _Pattern, analysis: Analysis, position: int) -> tuple[int, int] | None:
        """The span (in decoded text) of the match at skeleton ``position``, if it counts."""
        last = position + len(pattern.key)
        text = analysis.decoded.text
        # Marks may have moved within a cluster: the span covers every character involved.
        start, end = min(analysis.starts[position:last]), max(analysis.ends[position:last])
        if pattern.capital_first and not analysis.upper[position]:
            return None
        if pattern.capitals is not None and analysis.upper[position:last] != pattern.capitals:
            return None
        if pattern.words:
            cut = position
            for length in pattern.words[:-1]:
                cut += length
                if not analysis.word_break(cut):
                    return None
        if pattern.prefix and text[max(0, start - len(pattern.prefix)):start] == pattern.prefix:
            start -= len(pattern.prefix)
        if pattern.suffix and text[end:end + len(pattern.suffix)] == pattern.suffix:
            end += len(pattern.suffix)
        if pattern.needs_boundary:
            # An ending goes on a name word written whole, not on one pieced together from two words
            # ("Ölen Ada" holds "Olena" and "da").
            ending = pattern.last_word > 0 and \
                not any(analysis.word_break(i) for i in range(last - pattern.last_word + 1, last))
            word_end = _name_end(text, start, end, clitics=pattern.capitals is None, ending=ending)
            if word_end is None:
                return None
            end = word_end
        if pattern.needs_title and not title_before(text, start):
            return None
        return start, end

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

    def find_in_segments(self, texts: Sequence[str]) -> list[list[NameMatch]]:
        """The matches of consecutive texts (transcript segments, lines of a subtitle file) read as
        one text, given per text: a name split between two segments ("Nguyễn" | "Thị Lan", "赵" |
        "新民") is found in both pieces."""
        return [[match for match, _, _ in matches] for matches in self._segment_matches(texts)]

    def _segment_matches(self, texts: Sequence[str]) -> list[list[tuple[NameMatch, bool, bool]]]:
        """Per text, (match, whether it continues a name begun in an earlier text, whether the name
        crosses from one text into another)."""
        offsets: list[int] = []
        position = 0
        for text in texts:
            offsets.append(position)
            position += len(text) + 1
        per_text: list[list[tuple[NameMatch, bool, bool]]] = [[] for _ in texts]
        for match in self.find("\n".join(texts)):
            first = max(0, bisect.bisect_right(offsets, match.start) - 1)
            last = max(0, bisect.bisect_right(offsets, match.end - 1) - 1)
            for index in range(first, last + 1):
                base = offsets[index]
                start, end = max(match.start, base), min(match.end, base + len(texts[index]))
                if start < end:
                    per_text[index].append((NameMatch(start - base, end - base, match.person_id,
                                                      texts[index][start - base:end - base], match.derived),
                                            index != first, first != last))
        return per_text

    def join_segments(self, texts: Sequence[str], *, replacement: Callable[[int], str] | None = None) -> list[str]:
        """``texts`` with only the names that cross from one text into the next replaced: once, in the
        text where the name starts, and removed from the next one(s), so every text keeps its place
        (its times, its speaker).  What is left is for each text's own redaction."""
        replace = replacement or self.replacement_for
        texts = list(texts)
        if len(texts) < 2:
            return texts
        out: list[str] = []
        for text, matches in zip(texts, self._segment_matches(texts), strict=True):
            parts: list[str] = []
            cursor = 0
            for match, continued, crosses in matches:
                if not crosses:
                    continue
                parts.append(text[cursor:match.start])
                parts.append("" if continued else replace(match.person_id))
                cursor = match.end
            parts.append(text[cursor:])
            out.append("".join(parts))
        return out

    def redact_segments(self, texts: Sequence[str], *, replacement: Callable[[int], str] | None = None,
                        then: Callable[[str], str] | None = None) -> list[str]:
        """Each of ``texts`` redacted, the texts read as one (see :meth:`find_in_segments` and
        :meth:`join_segments`).  ``replacement`` (person id -> text) and ``then`` (the redaction each
        text gets afterwards) default to :meth:`replacement_for` and :meth:`redact`."""
        finish = then or self.redact
        return [finish(text) for text in self.join_segments(texts, replacement=replacement)]

    def _replace(self, text: str, matches: Sequence[NameMatch]) -> str:
        parts: list[str] = []
        cursor = 0
        for match in matches:
            parts.append(text[cursor:match.start])
            parts.append(self.replacement_for(match.person_id))
            cursor = match.end
        parts.append(text[cursor:])
        return "".join(parts)


# Indonesian/Malay clitics: glued onto a name ("Agusnya") they are left after the replacement.
CLITICS = frozenset({"nya", "lah", "kah", "pun", "tah", "ku", "mu"})


def _is_word_char(char: str) -> bool:
    """A neighbour that glues onto a Latin-script name (digits and other scripts do not)."""
    category = unicodedata.category(char)
    if category[0] not in "LM" or char in INVISIBLE:
        return False
    return not is_spaceless(char)


def _camel(left: str, right: str) -> bool:
    """A lower-case letter followed by a capital: a word boundary in "TranVanAn", "@NguyenVanAn"."""
    return left.islower() and right.isupper()


def _ending_end(text: str, end: int) -> int | None:
    """Where a run of 1 to ENDING_LETTERS letters starting at ``text[end]`` ends, if it is the rest
    of a word ("in" after "Mehmet" in "Mehmetin"); None when the run is longer or absent.  Combining
    marks ride along without counting ("Zainabé" typed decomposed)."""
    index, letters = end, 0
    while index < len(text) and _is_word_char(text[index]):
        if index > end and _camel(text[index - 1], text[index]):
            break  # "MehmetinYilmaz": the next word of a run-together name begins here
        if not unicodedata.category(text[index]).startswith("M"):
            letters += 1
            if letters > ENDING_LETTERS:
                return None
        index += 1
    return index if letters else None


def _name_end(text: str, start: int, end: int, *, clitics: bool = True, ending: bool = False) -> int | None:
    """The end of the name matched at ``text[start:end]`` if it stands at word boundaries, else None.

    Usually ``end`` itself.  Indonesian/Malay clitics glue onto names ("Agusnya", "Priyolah") and
    stay outside the match ("P1nya").  With ``ending`` (a long enough name word, see
    ENDING_LETTERS) a grammatical ending is part of the name and the whole word is matched
    ("Mehmetin", "Zainabot"): what is left of the word would otherwise stand next to the mark."""
    if start > 0:
        before, first = text[start - 1], text[start]
        if _is_word_char(before) and not _camel(before, first):
            return None
    if clitics:
        for length in (3, 2):
            if text[end:end + length].casefold() in CLITICS and _boundary_after(text, end + length):
                return end
    if _boundary_after(text, end):
        return end
    if ending:
        word_end = _ending_end(text, end)
        if word_end is not None and _boundary_after(text, word_end):
            return word_end
    return None


def _boundary_after(text: str, end: int) -> bool:
    """Whether the word ends just before ``text[end]`` (a camelCase capital starts a new one)."""
    if end >= len(text):
        return True
    # A trailing combining mark would already be inside the match (see skeleton()).
    return not _is_word_char(text[end]) or _camel(text[end - 1], text[end])


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


def filename_as_text(name: str) -> str:
    """``name`` as file names are matched: its separators (underscores, dashes, dots, plus signs,
    tildes) as spaces, one for one, so offsets in it are offsets in ``name``."""
    return "".join(" " if c in _FILENAME_SEPARATORS else c for c in name)


def redact_filename(name: str, redactor: NameRedactor) -> str:
    """Names in file names ("interview_Nguyen_Van_An.mp4") replaced; the rest is kept.

    Underscores, dashes, dots and plus signs act as spaces.  The extension gets no special
    treatment on purpose: callers also pass stems, and "Nguyen.Van.An" must not keep "An" as
    an "extension".  The replacement's spaces become underscores.
    """
    parts: list[str] = []
    cursor = 0
    for match in redactor.find(filename_as_text(name)):
        parts.append(name[cursor:match.start])
        replacement = redactor.replacement_for(match.person_id)
        parts.append("".join("_" if c.isspace() or c in "/\\:" else c for c in replacement))
        cursor = match.end
    parts.append(name[cursor:])
    return "".join(parts).replace("/", "_").replace("\\", "_")
