"""Near matches: text that looks like a protected name but was not redacted.

Redaction only replaces registered names (and the variants :mod:`app.redact.name_variants`
derives from them).  A misspelling, a transliteration with doubled letters or a common family
name after a title slips through that, so before a redacted export completes the reviewer is
shown every near match with its place and must clear it.  A :class:`NearMatch` deliberately
carries no text: the report itself leaves the vault (it is recorded in the chain), and the found
text is exactly what must not.

What counts as near (all compared on matching skeletons, see :func:`app.redact.names.skeleton`):

- an edit distance of 1 for names of 5 to 7 skeleton letters, up to 2 from 8 letters on, word
  by word, words of 3 letters or fewer exact ("Dang Thi Xuyem" for "Đặng Thị Xuyến", but not
  "Nguyen Van Binh" for "Nguyễn Văn An"; "Xuyen Thi Dang" is redacted outright as a reordering);
- the same letters once doubled letters are single and y/i, ph/f, w/v, c/k, z/s are merged
  (common transliteration differences: "Nguyeen", "Phuong"/"Fuong");
- a part of a protected name, even a common one ("Nguyen", "Thi"), right after a title
  ("Mr Nguyen", "chị An" when "An" is not redacted);
- a part of 5 letters or more written without a capital ("xuyen"): parts are redacted only
  with one (see :mod:`app.redact.names`);
- a word of a protected name (4 letters or more, not a common part) with an ending the redactor
  does not take: after a 4-letter word ("Omarın", "Ivana"), after a longer one an ending of 6 to 8
  letters ("Mehmetlerden", "Zainabillekin") or one written without a capital ("zainabin");
- a word of a protected name of 5 letters or more whose last letter (from 8 letters on: last two)
  changed before an ending, at most 3 letters longer than the name's word ("Натальей", "Ивановой"
  for "Наталья Иванова", "Agnieszce" for "Agnieszka"): names decline that way in Slavic languages.

In Latin-type scripts only words written with a capital count as near by spelling ("Grade" may
be "Grace", "a grade" is not): a name is written with one, and every false alarm teaches the
reviewer to clear the report without looking.  Names of fewer than 5 letters are not compared by
distance: one letter away from "Mai" is half the dictionary.  Scripts written without spaces are
searched for approximate substrings instead of words.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from app.redact.name_skeleton import LATIN_TITLES, analyse, is_spaceless, skeleton_text
from app.redact.name_variants import loose_key, surname_of
from app.redact.names import CLITICS, ENDING_LETTERS, INFLECTED_NAME_LETTERS, NameRedactor

MIN_DISTANCE_LETTERS = 5
LONG_NAME_LETTERS = 8
SHORT_WORD_LETTERS = 3
# Endings (see app.redact.names.ENDING_LETTERS, which the redactor takes itself from 5-letter words
# on): reported from 4-letter name words on, up to REPORTED_ENDING_LETTERS letters (stacked Turkish
# and Finnish endings: "-lerinden", "-illekin").  4-letter words are not redacted with an ending
# because too many words begin with them ("Agus" in "Agustus", "Mark" in "Market").
MIN_ENDING_NAME_LETTERS = 4
REPORTED_ENDING_LETTERS = 8
# A stem change: all but the last letter of a name word of 5 to 7 letters (the last two from 8 on, as
# for misspellings), then an ending; the word at most STEM_EXTRA_LETTERS longer than the name's.
# Dropping two letters of a 6-letter word left "Dial" of "Diallo" and flagged "Dialogue".
STEM_EXTRA_LETTERS = 3


@dataclass(frozen=True)
class NearMatch:
    """Something in ``place`` between ``start`` and ``end`` that looks like a protected name."""

    person_id: int
    reason: str
    place: str
    start: int
    end: int


def _max_distance(length: int) -> int:
    if length < MIN_DISTANCE_LETTERS:
        return 0
    return 1 if length < LONG_NAME_LETTERS else 2


def bounded_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def approximate_occurrences(key: str, text: str, limit: int) -> list[tuple[int, int, int]]:
    """Sellers' approximate search: ``(distance, start, end)`` of the substrings of ``text``
    within ``limit`` edits of ``key``, the best of each overlapping group (for scripts written
    without spaces, where there are no words to compare)."""
    m = len(key)
    column = list(range(m + 1))  # distance of key[:i] to the best substring ending here
    origin = [0] * (m + 1)  # where that substring starts
    hits: list[tuple[int, int, int]] = []
    for j, char in enumerate(text, 1):
        new_column = [0]
        new_origin = [j]
        for i in range(1, m + 1):
            cost, start = min(
                (column[i - 1] + (key[i - 1] != char), origin[i - 1]),
                (column[i] + 1, origin[i]),
                (new_column[i - 1] + 1, new_origin[i - 1]),
            )
            new_column.append(cost)
            new_origin.append(start)
        column, origin = new_column, new_origin
        if column[m] <= limit:
            hit = (column[m], origin[m], j)
            if hits and hit[1] < hits[-1][2]:
                if hit[0] < hits[-1][0]:
                    hits[-1] = hit
                continue
            hits.append(hit)
    return hits


def _word_distance(words: list[str], name_words: tuple[str, ...], limit: int) -> int:
    """Edit distance word by word, ``limit + 1`` when over: short words (3 letters or fewer) must
    be exact, so "Nguyen Van Binh" is not near "Nguyen Van An" nor "Nguyen Van" near "Nguyen An";
    a name of several words needs one of them written exactly."""
    total = 0
    exact = 0
    for word, name_word in zip(words, name_words, strict=True):
        if word == name_word:
            exact += 1
            continue
        if len(name_word) <= SHORT_WORD_LETTERS:
            return limit + 1
        word_limit = min(limit, _max_distance(len(name_word)) or 1)
        distance = bounded_distance(word, name_word, word_limit)
        total += distance
        if distance > word_limit or total > limit:
            return limit + 1
    if len(name_words) > 1 and not exact:
        return limit + 1  # every word of the name misspelt: too weak a resemblance to report
    return total


def _pieces(key: str, limit: int) -> set[str]:
    """``limit + 1`` pieces of ``key``: within ``limit`` edits of it, one piece is intact."""
    size = len(key) // (limit + 1)
    return {key[i * size:(i + 1) * size] if i < limit else key[i * size:] for i in range(limit + 1)}


def _windows_holding_a_piece(key: str, limit: int, chars: str, word_starts: list[int], count: int,
                             total: int) -> list[int]:
    """Indices of the ``count``-word windows that contain a piece of ``key`` (the only ones that
    can be within ``limit`` edits of it)."""
    found: set[int] = set()
    for piece in _pieces(key, limit):
        position = chars.find(piece)
        while position != -1:
            word = bisect.bisect_right(word_starts, position) - 1
            found.update(i for i in range(max(0, word - count + 1), min(total, word + 1)))
            position = chars.find(piece, position + 1)
    return sorted(found)


def _spaceless_near(key: str, chars: str, limit: int) -> list[tuple[int, int, int]]:
    """Approximate occurrences of ``key`` (distance 1 to ``limit``), searched only around the
    places where one of ``limit + 1`` pieces of it occurs exactly: with at most ``limit`` edits
    one piece must be intact, so nothing is lost and long texts stay fast."""
    spans: list[list[int]] = []
    for piece in _pieces(key, limit):
        position = chars.find(piece)
        while position != -1:
            spans.append([max(0, position - len(key) - limit), min(len(chars), position + len(key) + limit)])
            position = chars.find(piece, position + 1)
    spans.sort()
    merged: list[list[int]] = []
    for span in spans:
        if merged and span[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span[1])
        else:
            merged.append(span)
    hits = []
    for low, high in merged:
        for distance, first, last in approximate_occurrences(key, chars[low:high], limit):
            if distance and any(is_spaceless(c) for c in chars[low + first:low + last]):
                hits.append((distance, low + first, low + last))
    return hits


_TITLE_KEYS = frozenset(skeleton_text(t) for t in LATIN_TITLES)


def _words(chars: str, breaks: list[bool]) -> list[tuple[int, int]]:
    """Words of the skeleton (start, end), split where the text had a separator."""
    words: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(chars) + 1):
        if index == len(chars) or breaks[index]:
            words.append((start, index))
            start = index
    return words


def _covered(start: int, end: int, redacted: list[tuple[int, int]], text: str) -> bool:
    """Whether every letter of ``text[start:end]`` lies inside a redacted span.  A near match that is
    only partly redacted ("Nguiễn Thị Lan" with the distinctive "Lan" replaced) is still reported:
    the rest of the name is left in the export."""
    inside = bytearray(end - start)
    for s, e in redacted:
        for index in range(max(s, start), min(e, end)):
            inside[index - start] = 1
    return all(inside[i - start] or not text[i].isalnum() for i in range(start, min(end, len(text))))


def _inflection(word: str, name_word: str, capital: bool) -> str | None:
    """Why ``word`` (a skeleton word of the text) may be ``name_word`` declined, or None.

    ``capital``: the word was written with a capital.  Only the rest after the shared beginning is
    compared, and it must be letters: "Zainab2" is the name and a number, redacted as such."""
    if word == name_word or len(name_word) < MIN_ENDING_NAME_LETTERS:
        return None
    if word.startswith(name_word):
        ending = word[len(name_word):]
        if not ending.isalpha():
            return None
        if capital and len(ending) <= REPORTED_ENDING_LETTERS:
            return "a protected name with an ending attached"
        if len(name_word) >= INFLECTED_NAME_LETTERS and len(ending) <= ENDING_LETTERS:
            return "a protected name with an ending attached, written without a capital"
        return None
    changed = _max_distance(len(name_word))  # letters the stem may lose; 0 below 5 letters
    if not capital or not changed or len(word) > len(name_word) + STEM_EXTRA_LETTERS:
        return None
    shared = next((i for i, (a, b) in enumerate(zip(word, name_word, strict=False)) if a != b),
                  min(len(word), len(name_word)))
    if shared < len(name_word) - changed or len(word) <= shared or not word[shared:].isalpha():
        return None
    return "a protected name declined (its last letters changed before an ending)"


# Forms of address written after (先生 "Mr") or before (老, 小) a Chinese surname, in matching form
# (Simplified: skeletons fold Traditional characters).
_CHINESE_AFTER = ("先生", "女士", "小姐", "太太", "夫人", "老师", "师傅", "阿姨", "同志", "老板", "大哥", "大姐",
                  "警官", "医生")
_CHINESE_BEFORE = ("老", "小", "阿")


def _chinese_near(key: str, chars: str) -> list[tuple[str, int, int]]:
    """Near matches of a Chinese name of a surname and a two-character given name (赵新民): the
    surname with a form of address (赵先生, 老赵), and the name with one given character changed
    (赵新明, a homophone).  Names of fewer than 5 letters are otherwise not compared by spelling."""
    surname = surname_of(key)
    if surname is None:
        return []
    given = key[len(surname):]
    found: list[tuple[str, int, int]] = []
    position = chars.find(surname)
    while position != -1:
        after = position + len(surname)
        if any(chars.startswith(title, after) for title in _CHINESE_AFTER) or \
                any(chars.endswith(title, 0, position) for title in _CHINESE_BEFORE):
            found.append(("a protected person's surname with a form of address", position, after))
        rest = chars[after:after + len(given)]
        if len(rest) == len(given) and rest != given and all(is_spaceless(c) for c in rest) and \
                sum(a == b for a, b in zip(rest, given, strict=True)) == len(given) - 1:
            found.append(("a protected name written with one character changed", position, after + len(given)))
        position = chars.find(surname, position + 1)
    return found


def find_near_matches(text: str, place: str, redactor: NameRedactor) -> list[NearMatch]:
    """Near matches of the protected names in ``text`` (spans of ``text``), leftmost first.

    Spans that ``redactor`` redacts whole are never reported; a span it redacts only in part is
    (what is left of it is still a name), so call this on the text *before* redaction."""
    if not text or not redactor.protected:
        return []
    analysis = analyse(text)
    redacted = [(m.start, m.end) for m in redactor.find(text, analysis=analysis)]
    chars = analysis.chars
    if not chars:
        return []
    decoded = analysis.decoded
    found: dict[tuple[int, int], NearMatch] = {}

    def span(first: int, last: int) -> tuple[int, int]:
        return decoded.starts[min(analysis.starts[first:last])], decoded.ends[max(analysis.ends[first:last]) - 1]

    def report(person_id: int, reason: str, first: int, last: int, name_from: int | None = None,
               name_to: int | None = None) -> None:
        start, end = span(first, last)
        if _covered(*span(first if name_from is None else name_from, last if name_to is None else name_to),
                    redacted, text):
            # Redacted whole (a title before it, a clitic after it are no name): nothing of it is left.
            return
        if (start, end) not in found:
            found[(start, end)] = NearMatch(person_id, reason, place, start, end)

    breaks = [analysis.word_break(i) for i in range(len(chars))]
    words = [(s, e) for s, e in _words(chars, breaks) if not any(is_spaceless(c) for c in chars[s:e])]
    spaceless_text = any(is_spaceless(c) for c in chars)
    word_starts = [start for start, _ in words]
    windows: dict[int, list[tuple[int, int, str]]] = {}  # word count -> (first, last, skeleton)
    by_sound: dict[int, dict[str, list[int]]] = {}  # word count -> loose key -> window indices
    for form in redactor.name_forms():
        limit = _max_distance(len(form.key))
        if form.spaceless:
            if limit and spaceless_text:
                for distance, first, last in _spaceless_near(form.key, chars, limit):
                    report(form.person_id, f"written {distance} letter(s) differently from a protected name",
                           first, last)
            continue
        if form.kind == "common_part":
            continue  # only after a title, below
        count = len(form.word_keys)
        if count not in windows:
            windows[count] = [(words[i][0], words[i + count - 1][1], chars[words[i][0]:words[i + count - 1][1]])
                              for i in range(len(words) - count + 1)]
            sounds: dict[str, list[int]] = {}
            for index, (_, _, candidate) in enumerate(windows[count]):
                sounds.setdefault(loose_key(candidate), []).append(index)
            by_sound[count] = sounds
        if limit:
            for index in _windows_holding_a_piece(form.key, limit, chars, word_starts, count, len(windows[count])):
                first, last, candidate = windows[count][index]
                if candidate == form.key or abs(len(candidate) - len(form.key)) > limit or not analysis.upper[first]:
                    continue
                distance = _word_distance([chars[s:e] for s, e in words[index:index + count]], form.word_keys, limit)
                if 0 < distance <= limit:
                    report(form.person_id, f"written {distance} letter(s) differently from a protected name",
                           first, last)
        if form.kind == "part" and len(form.key) >= MIN_DISTANCE_LETTERS:
            for index in by_sound[count].get(loose_key(form.key), ()):
                first, last, candidate = windows[count][index]
                if candidate == form.key and not analysis.upper[first]:
                    report(form.person_id, "a part of a protected name written without a capital", first, last)
        if len(form.key) >= 4:
            for index in by_sound[count].get(loose_key(form.key), ()):
                first, last, candidate = windows[count][index]
                if candidate != form.key and analysis.upper[first]:
                    report(form.person_id, "a protected name written with other letters for the same sounds",
                           first, last)
    # Declined names, word by word: the words of every form but the common parts (a common part
    # is only reported after a title, below).  Looked up by their first letters: one pass over the text.
    common = {(f.person_id, f.key) for f in redactor.name_forms() if f.kind == "common_part"}
    name_words: dict[str, set[tuple[int, str]]] = {}
    for form in redactor.name_forms():
        if form.spaceless or form.kind == "common_part":
            continue
        for key in form.word_keys:
            if len(key) >= MIN_ENDING_NAME_LETTERS and (form.person_id, key) not in common:
                name_words.setdefault(key[:MIN_ENDING_NAME_LETTERS], set()).add((form.person_id, key))
    for first, last in words:
        # A capital inside the word starts another one ("ZainabSmith"): the name is redacted up to it.
        last = next((i for i in range(first + 1, last) if analysis.upper[i] and not analysis.upper[i - 1]), last)
        word = chars[first:last]
        for person_id, key in sorted(name_words.get(word[:MIN_ENDING_NAME_LETTERS], ())):
            reason = _inflection(word, key, analysis.upper[first])
            if reason is not None:
                # A clitic stays outside the redaction ("[P1]nya"): then only the name must be covered.
                clitic = word[len(key):] in CLITICS and word.startswith(key)
                report(person_id, reason, first, last, name_to=first + len(key) if clitic else None)
                break
    parts = [f for f in redactor.name_forms() if f.kind in ("common_part", "title_part") and not f.spaceless]
    for index in range(1, len(words)):
        title = chars[words[index - 1][0]:words[index - 1][1]]
        if title not in _TITLE_KEYS:
            continue
        word = chars[words[index][0]:words[index][1]]
        for part in parts:
            if part.key == word:
                report(part.person_id, "a part of a protected name after a title", words[index - 1][0],
                       words[index][1], name_from=words[index][0])
                break
    if spaceless_text:
        for form in redactor.name_forms():
            for reason, first, last in _chinese_near(form.key, chars) if form.kind == "name" else ():
                report(form.person_id, reason, first, last)
    # One report per place: the longest of overlapping near matches.
    chosen: list[NearMatch] = []
    for match in sorted(found.values(), key=lambda m: (m.start - m.end, m.start)):
        if not any(match.start < c.end and c.start < match.end for c in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)
