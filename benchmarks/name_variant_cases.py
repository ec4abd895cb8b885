"""The names and the written variants of benchmarks/name_variants.py (issues #10 and #14).

Two halves:

- **tuned**: the names the matching rules were developed and tested against (the earlier 52-variant
  matrix of issue #14 and the names in tests/): Indonesian, English, Chinese, Thai, Khmer and Burmese
  records of ../shared/data/text/names_multilingual.jsonl, and two Vietnamese names of the tests;
- **held-out**: names nobody looked at while writing the rules: the other records of the same file
  (its Thai, Khmer, Burmese, Chinese, English and Indonesian persons) and Vietnamese and Indonesian
  names written for this benchmark (the shared data has no Vietnamese), in real-looking sentences.

Each name says which word is the given and the family name (people, not code, know that), whether
the family name is distinctive (a family name alone is only expected to be redacted when it is), its
Latin transliteration (registered as an alias for the "transliteration" class, as investigators are
told to do) and the titles people put before it.  Variants are generated per class from that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Name:
    half: str  # "tuned" or "held-out"
    script: str  # column of the matrix
    name: str  # as registered (and as written in the sentence)
    given: str
    family: str = ""
    middle: tuple[str, ...] = ()
    family_distinctive: bool = False
    translit: str = ""  # Latin transliteration, registered as an alias for that class
    titles: tuple[str, ...] = ()  # written before the name (a space is added for Latin titles)
    latin_titles: tuple[str, ...] = ()  # written before the transliteration (Burmese U, Daw, ...)
    record: str = ""  # the record of names_multilingual.jsonl holding the sentence
    sentence: str = ""  # or a sentence of our own holding ``name``
    after_titles: tuple[str, ...] = field(default=())  # Chinese 先生/女士 after the family name


# As the record has it (dot below after asat), which the editor may not show as typed.
MYAT = "\u1019\u103c\u1010\u103a\u1021\u102d\u1014\u1039\u1012\u103c\u1031\u101e\u102d\u1019\u103a\u1037"
VI_SENTENCE = "Hôm đó {} kể rằng mình bị giữ trên tàu cá suốt mười bốn tháng."
ID_SENTENCE = "Menurut keterangan polisi, {} dibawa ke kapal itu pada bulan Maret."
BURMESE_TITLES = ("ဦး", "ဒေါ်", "မ", "ကို", "မောင်")
BURMESE_LATIN_TITLES = ("U", "Daw", "Ma", "Ko", "Maung")
THAI_TITLES = ("นาย", "นาง", "คุณ")
KHMER_TITLES = ("លោក", "លោកស្រី", "អ្នកនាង")
VI_TITLES = ("ông", "bà", "anh", "chị")

NAMES: tuple[Name, ...] = (
    # --- tuned ------------------------------------------------------------------------------------
    Name("tuned", "Indonesian", "Aziz Syamsuddin", "Aziz", "Syamsuddin", family_distinctive=True,
         titles=("Bapak", "Pak"), record="id-091"),
    Name("tuned", "Indonesian", "Benny K Harman", "Benny", "Harman", ("K",), family_distinctive=True,
         titles=("Bapak",), record="id-091"),
    Name("tuned", "English", "Harry Potter", "Harry", "Potter", family_distinctive=True, titles=("Mr",),
         record="en-119"),
    Name("tuned", "Vietnamese", "Đặng Thị Xuyến", "Xuyến", "Đặng", ("Thị",), titles=VI_TITLES,
         sentence=VI_SENTENCE.format("Đặng Thị Xuyến")),
    Name("tuned", "Vietnamese", "Nguyễn Thị Lan", "Lan", "Nguyễn", ("Thị",), titles=VI_TITLES,
         sentence=VI_SENTENCE.format("Nguyễn Thị Lan")),
    Name("tuned", "Chinese", "赵新民", "新民", "赵", translit="Zhao Xinmin", record="zh-086",
         after_titles=("先生",)),
    Name("tuned", "Chinese", "林志穎", "志穎", "林", translit="Lin Zhiying", record="zh-079",
         after_titles=("先生",)),
    Name("tuned", "Thai", "นายสนธิรัตน์ สนธิจิรวงศ์", "สนธิรัตน์", "สนธิจิรวงศ์", family_distinctive=True,
         translit="Sonthirat Sonthijirawong", titles=THAI_TITLES, record="th-012"),
    Name("tuned", "Thai", "ตั้ง อาชีวะ", "ตั้ง", "อาชีวะ", family_distinctive=True, translit="Tang Achiwa",
         titles=THAI_TITLES, record="th-009"),
    Name("tuned", "Khmer", "ខាត់ សុរ៉ាវឌី", "សុរ៉ាវឌី", "ខាត់", translit="Khat Soravady",
         titles=KHMER_TITLES, record="km-049"),
    Name("tuned", "Khmer", "ជា ស៊ីម", "ស៊ីម", "ជា", translit="Chea Sim", titles=KHMER_TITLES, record="km-038"),
    Name("tuned", "Burmese", MYAT, MYAT, translit="Myat Eindray Theint",
         titles=BURMESE_TITLES, latin_titles=BURMESE_LATIN_TITLES, record="my-031"),
    # --- held-out ---------------------------------------------------------------------------------
    Name("held-out", "English", "Patasse", "Patasse", titles=("Mr",), record="en-133"),
    Name("held-out", "English", "Matsushita", "Matsushita", titles=("Mr",), record="en-139"),
    Name("held-out", "Indonesian", "Hasyim", "Hasyim", titles=("Bapak", "Pak"), record="id-092"),
    Name("held-out", "Indonesian", "Rahmat Hidayat Siregar", "Rahmat", "Siregar", ("Hidayat",),
         family_distinctive=True, titles=("Bapak", "Pak"), sentence=ID_SENTENCE.format("Rahmat Hidayat Siregar")),
    Name("held-out", "Indonesian", "Yohana Sitompul", "Yohana", "Sitompul", family_distinctive=True,
         titles=("Ibu", "Bu"), sentence=ID_SENTENCE.format("Yohana Sitompul")),
    Name("held-out", "Vietnamese", "Lương Văn Khải", "Khải", "Lương", ("Văn",), titles=VI_TITLES,
         sentence=VI_SENTENCE.format("Lương Văn Khải")),
    Name("held-out", "Vietnamese", "Phùng Thị Hồng Nhung", "Nhung", "Phùng", ("Thị", "Hồng"), titles=VI_TITLES,
         sentence=VI_SENTENCE.format("Phùng Thị Hồng Nhung")),
    Name("held-out", "Vietnamese", "Quách Tuấn Kiệt", "Kiệt", "Quách", ("Tuấn",), family_distinctive=True,
         titles=VI_TITLES, sentence=VI_SENTENCE.format("Quách Tuấn Kiệt")),
    Name("held-out", "Chinese", "李霄鹏", "霄鹏", "李", translit="Li Xiaopeng", record="zh-077",
         after_titles=("先生",)),
    Name("held-out", "Chinese", "延参", "延参", translit="Yan Can", record="zh-076"),
    Name("held-out", "Thai", "พล.อ.ประยุทธ์ จันทร์โอชา", "ประยุทธ์", "จันทร์โอชา", family_distinctive=True,
         translit="Prayut Chan-o-cha", titles=THAI_TITLES, record="th-004"),
    Name("held-out", "Thai", "นายพุทธิพงษ์ ปุณณกันต์", "พุทธิพงษ์", "ปุณณกันต์", family_distinctive=True,
         translit="Puttipong Punnakan", titles=THAI_TITLES, record="th-004"),
    Name("held-out", "Thai", "นายเจฟฟ์ เซสชันส์", "เจฟฟ์", "เซสชันส์", family_distinctive=True,
         translit="Jeff Sessions", titles=THAI_TITLES, record="th-001"),
    Name("held-out", "Khmer", "ផៃ ស៊ីផាន", "ស៊ីផាន", "ផៃ", translit="Phay Siphan", titles=KHMER_TITLES,
         record="km-044"),
    Name("held-out", "Khmer", "ជា ប៉ូច", "ប៉ូច", "ជា", translit="Chea Poch", titles=KHMER_TITLES, record="km-041"),
    Name("held-out", "Burmese", "ခင်မီမီလွင်", "ခင်မီမီလွင်", translit="Khin Mi Mi Lwin", titles=BURMESE_TITLES,
         latin_titles=BURMESE_LATIN_TITLES, record="my-021"),
    Name("held-out", "Burmese", "မေရီ", "မေရီ", translit="Mary", titles=BURMESE_TITLES,
         latin_titles=BURMESE_LATIN_TITLES, record="my-026"),
)


@dataclass(frozen=True)
class Case:
    """One written variant: ``pieces`` are (text before, variant piece, text after) written in separate
    texts (two for a name split across transcript segments), ``aliases`` registered besides the name."""

    cls: str
    pieces: tuple[tuple[str, str], ...]  # (title written before the piece, the piece)
    aliases: tuple[str, ...] = ()
    suffix: str = ""  # written right after the last piece (Chinese 先生)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _spaceless(text: str) -> bool:
    return any(0x0E00 <= ord(c) <= 0x0EFF or 0x1000 <= ord(c) <= 0x109F or 0x1780 <= ord(c) <= 0x17FF
               or 0x3400 <= ord(c) <= 0x9FFF for c in text)


def _core(n: Name) -> str:
    """The name without a title written inside it (พล.อ., นาย)."""
    parts = [n.given, *n.middle, n.family] if n.family else [n.given]
    if n.script in ("Chinese",):
        return n.family + n.given
    if n.script in ("Indonesian", "English") or not n.family:
        return " ".join(p for p in [n.given, *n.middle, n.family] if p) if n.family else n.given
    if n.script == "Vietnamese":
        return " ".join([n.family, *n.middle, n.given])
    if n.script == "Khmer":
        return f"{n.family} {n.given}"
    return " ".join(parts)  # Thai: given family


def _cut(text: str) -> int:
    """A place near the middle of ``text`` between two clusters (never before a combining mark)."""
    middle = len(text) // 2
    for offset in range(len(text)):
        for index in (middle + offset, middle - offset):
            if 0 < index < len(text) and not _is_mark(text[index]) and text[index] != " " and text[index - 1] != " " \
                    and text[index - 1] not in "\u1039\u17d2":
                return index
    return middle


_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
_LOOKALIKE = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "y": "\u0443",
              "i": "\u0456", "H": "\u041d", "K": "\u041a", "M": "\u041c", "T": "\u0422"}


def _strip_diacritics(text: str) -> str:
    out = "".join(c for c in unicodedata.normalize("NFD", text) if not _is_mark(c))
    return unicodedata.normalize("NFC", out.replace("Đ", "D").replace("đ", "d"))


def _swap_marks(text: str) -> str | None:
    """The first two successive combining marks swapped (same look, another stored order)."""
    for index in range(1, len(text) - 1):
        first, second = text[index], text[index + 1]
        if _is_mark(first) and _is_mark(second) and first != second and not _is_mark(text[index - 1]):
            return text[:index] + second + first + text[index + 2:]
    return None


def _misspell(text: str) -> str:
    """One letter of the longest word changed (a vowel for Latin, the next letter of the script else)."""
    words = text.split()
    longest = max(words, key=len)
    chars = list(longest)
    for index in range(len(chars) - 2, 0, -1):
        char = chars[index]
        if _spaceless(char):
            if not _is_mark(char) and unicodedata.category(chr(ord(char) + 1)) == "Lo":
                chars[index] = chr(ord(char) + 1)
                break
        elif char.lower() in "aeiou":
            chars[index] = {"a": "e", "e": "a", "i": "e", "o": "u", "u": "o"}[char.lower()]
            break
    return text.replace(longest, "".join(chars), 1)


def _sound_variant(text: str) -> str | None:
    """How transliterations of one name differ: a doubled consonant, y/i, ph/f."""
    for old, new in (("y", "i"), ("ph", "f"), ("i", "y"), ("ss", "s")):
        if old in text[1:]:
            return text[0] + text[1:].replace(old, new, 1)
    for index in range(len(text) - 2, 0, -1):
        if text[index].isalpha() and text[index].lower() not in "aeiou" and text[index - 1].lower() in "aeiou":
            return text[:index] + text[index] + text[index:]
    return None


def cases(n: Name) -> Iterator[Case]:
    """Every applicable variant class of ``n``."""
    core = _core(n)
    spaceless = _spaceless(core)
    words = core.split()
    one: Callable[[str, str], Case] = lambda cls, text: Case(cls, (("", text),))  # noqa: E731
    yield one("as registered", n.name)
    if len(words) > 1:
        yield one("split across lines", "\n".join(words))
        yield Case("split across segments", (("", " ".join(words[:len(words) // 2])),
                                             ("", " ".join(words[len(words) // 2:]))))
        yield one("extra spaces", "  ".join(words).replace(" ", "   ", 1))
        yield one("missing spaces", "".join(words))
        yield one("zero-width characters", "\u200b".join(words))
    else:
        cut = _cut(core)
        yield one("split across lines", core[:cut] + "\n" + core[cut:])
        yield Case("split across segments", (("", core[:cut]), ("", core[cut:])))
        if spaceless:
            yield one("extra spaces", core[:cut] + " " + core[cut:])
        yield one("zero-width characters", core[:cut] + "\u200b" + core[cut:] if spaceless
                  else core[:cut] + "\u200d" + core[cut:])
    if n.script == "Chinese":
        yield one("written with spaces (Chinese/Vietnamese)", " ".join(core))
    if n.script == "Vietnamese":
        yield one("written without spaces (Chinese/Vietnamese)", "".join(words))
    if not spaceless:
        yield one("full-width letters", "".join(_FULLWIDTH.get(c, c) for c in core))
        yield one("upper case", core.upper())
        yield one("lower case", core.lower())
        if _strip_diacritics(core) != core:
            yield one("diacritics removed", _strip_diacritics(core))
        else:
            vowel = next(i for i, c in enumerate(core) if c.lower() in "aeiou")
            yield one("diacritics added", core[:vowel] + core[vowel] + "\u0301" + core[vowel + 1:])
        yield one("look-alike letters (Cyrillic)", "".join(_LOOKALIKE.get(c, c) for c in core))
        variant = _sound_variant(core)
        if variant:
            yield one("transliteration spelling (y/i, ph/f, doubled)", variant)
    yield one("decomposed (NFD)", unicodedata.normalize("NFD", core))
    yield one("character references", core.replace(" ", "&nbsp;") if " " in core
              else f"&#{ord(core[0])};{core[1:]}")
    yield one("variation selector", core[0] + "\ufe0f" + core[1:])
    swapped = _swap_marks(core)
    if swapped and swapped != core:
        yield one("marks in another order", swapped)
    yield one("misspelt by one letter", _misspell(core))
    if n.family:
        yield one("given name alone", n.given)
        if n.family_distinctive:
            yield one("family name alone (distinctive)", n.family)
        if n.script not in ("Chinese", "Thai", "Khmer", "Burmese"):
            reordered = " ".join([n.given, *n.middle, n.family]) if n.script == "Vietnamese" \
                else " ".join([n.family, n.given, *n.middle])
            yield one("other order (Western/Eastern)", reordered)
        if n.middle:
            yield one("middle name dropped", core.replace(" ".join(n.middle) + " ", ""))
            initials = " ".join(m[0] + "." for m in n.middle)
            yield one("middle name initialled", core.replace(" ".join(n.middle), initials))
    for title in n.titles:
        gap = " " if not _spaceless(title) else ""
        yield Case(f"title {title} + given name", ((title + gap, n.given),))
        if n.family and n.family_distinctive:
            yield Case(f"title {title} + family name", ((title + gap, n.family),))
    for title in n.after_titles:
        yield Case(f"family name + {title}", (("", n.family),), suffix=title)
    if n.script == "Chinese":
        from opencc import OpenCC  # the benchmark writes the other form with the converter itself

        other = OpenCC("s2t").convert(core)
        if other == core:
            other = OpenCC("t2s").convert(core)
        if other != core:
            yield one("Traditional/Simplified", other)
    if n.translit:
        yield Case("Latin transliteration (alias)", (("", n.translit),), aliases=(n.translit,))
        for title in n.latin_titles:
            yield Case(f"honorific {title} + transliteration (alias)", ((title + " ", n.translit),),
                       aliases=(n.translit,))
        if n.latin_titles:
            # The alias registered with one honorific ("Daw Khin Mi Mi Lwin"), written with another or none.
            registered = f"{n.latin_titles[1]} {n.translit}"
            yield Case("alias registered with Daw, written without honorific", (("", n.translit),),
                       aliases=(registered,))
            for title in n.latin_titles:
                if title != n.latin_titles[1]:
                    yield Case(f"alias registered with Daw, written with {title}", ((title + " ", n.translit),),
                               aliases=(registered,))
