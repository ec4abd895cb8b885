"""Suggest words that look like personal names, for a reviewer to confirm.

Suggestions are NEVER applied automatically: they are shown to a person who decides whether to
register the name (and so have it redacted).  The heuristics favour recall in the scripts the
project works in, because a name nobody noticed is the dangerous case:

- a title or honorific before a name: Mr/Mrs/Dr, Bapak/Pak/Ibu/Bu (Indonesian), Ông/Bà/Chị
  (Vietnamese), นาย/นาง/นางสาว/พล.อ. (Thai), លោក/លោកស្រី/អ្នកនាង (Khmer), ဦး/ဒေါ်/မောင်/ကို
  (Burmese); and in Chinese a name before 先生/女士/小姐;
- a common Chinese surname followed by one or two Han characters;
- a Vietnamese family name (Nguyễn, Trần, Lê...) followed by capitalised syllables;
- capitalised Latin-script words that do not start a sentence, @handles and capitalised #tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.redact.names import NameRedactor


@dataclass(frozen=True)
class NameSuggestion:
    start: int
    end: int
    text: str
    reason: str


_UPPER = "A-ZÀ-ÖØ-ÞĀ-ſƠƯẠ-ỸĐ"
_LOWER = "a-zß-öø-ÿā-ſơưạ-ỹđ"
_CAP_WORD = rf"[{_UPPER}][{_LOWER}'’]+"

_LATIN_TITLES = (
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Madam", "Dear", "Bapak", "Pak", "Ibu", "Bu",
    "Saudara", "Saudari", "Sdr", "Ông", "Bà", "Chị", "Cô", "Chú", "Mrs", "Monsieur", "Madame",
)
_LATIN_TITLE_RE = re.compile(
    rf"\b(?P<title>{'|'.join(sorted(set(_LATIN_TITLES), key=len, reverse=True))})\.?\s+"
    rf"(?P<name>{_CAP_WORD}(?:\s+(?:[{_UPPER}]\.?\s+)?{_CAP_WORD}){{0,3}})"
)

_VIET_FAMILY = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý", "Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Vu", "Vo", "Dang", "Bui", "Do", "Ho",
    "Ngo", "Duong", "Ly",
)
_VIET_RE = re.compile(
    rf"\b(?:{'|'.join(sorted(_VIET_FAMILY, key=len, reverse=True))})(?:[ \u00a0]+[{_UPPER}][{_LOWER}]*){{1,3}}\b"
)

_THAI_TITLES = (
    "ประธานาธิบดี", "พล.อ.อ.", "พล.ร.อ.", "พล.ต.อ.", "พล.ต.ท.", "พล.ต.ต.", "พล.อ.", "พล.ท.",
    "พล.ต.", "พ.ต.อ.", "พ.ต.ท.", "ร.ต.อ.", "ด.ต.", "ดร.", "นางสาว", "น.ส.", "นาย", "นาง", "ด.ช.", "ด.ญ.", "คุณ",
)
# นาย inside นายก (prime minister, mayor) and นาง inside นางฟ้า are words, not titles.
_THAI_WORD = r"[\u0E01-\u0E4E]{2,}"
_THAI_RE = re.compile(
    rf"(?:{'|'.join(re.escape(t) for t in _THAI_TITLES)})(?!ก|ฟ้า|งาน)\s?{_THAI_WORD}(?:\s{_THAI_WORD})?"
)

_KHMER_TITLES = ("សម្ដេច", "សម្តេច", "ឯកឧត្តម", "លោកស្រី", "អ្នកនាង", "លោកជំទាវ", "កញ្ញា", "លោក", "អ្នក")
_KHMER_RE = re.compile(
    rf"(?:{'|'.join(_KHMER_TITLES)})\s(?P<name>[\u1780-\u17DD]+(?:\s[\u1780-\u17DD]+)?)"
)
# ကို and မောင် are also a grammatical particle and a word: only as a title at a word start.
_BURMESE_RE = re.compile(
    r"(?:ဒေါက်တာ|ဦး|ဒေါ်|(?<![\u1000-\u109F])(?:မောင်|ကို))\s?(?P<name>[\u1000-\u109F]+)"
)

def _words(text: str) -> list[str]:
    return text.split()


_CHINESE_SURNAMES = _words(
    "欧阳 司马 诸葛 上官 东方 慕容 令狐 司徒 歐陽 諸葛 王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 "
    "胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 于 "
    "蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 "
    "贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 "
    "毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 向 汤 張 劉 陳 楊 黃 趙 吳 孫 馬 羅 "
    "鄭 謝 許 韓 馮 鄧 蕭 葉 蘇 呂 盧 鍾 譚 陸 賈 韋 鄒 邱 閆 賀 顧 龔 萬 錢 "
    "嚴 湯 龍"
)
# Surnames that are also everyday words need a non-Han character (or a name cue) before them.
_AMBIGUOUS_SURNAMES = set(_words("于 高 马 方 白 金 石 向 万 余 史 江 夏 武 田 雷 龙 段 任 丁 付 严 孔 毛 汤 程 钱"))
_HAN = r"\u4e00-\u9fff\u3400-\u4dbf"
# Characters that end a Chinese name rather than continue it (particles, common verbs).
_HAN_STOP = set("的了是在也和与就都不我你他她们说被把对给向从为着过吗呢吧啊呀哈很太又还要会能去来到这那个有没")
_NAME_CUES = ("叫", "是", "@", "和", "与", "给", "对", "被", "向", "问", "找", "见", "跟")
_CHINESE_TITLE_RE = re.compile(rf"(?P<name>[{_HAN}]{{2,3}})(?:先生|女士|小姐|老师|同志|医生|律师|教授)")

_SENTENCE_END = re.compile(r"[.!?。！？\n]\s*$")
_CAP_SEQ_RE = re.compile(rf"(?<![\w@#])#?{_CAP_WORD}(?:[ \u00a0]+(?:[{_UPPER}]\.?[ \u00a0]+)?{_CAP_WORD}){{0,3}}")
_HANDLE_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,30}")
# Capitalised words that are rarely names (days, months, pronouns, common sentence openers).
_NOT_NAMES = set(_words(
    "I The A An And But Or If In On At Of To For With From By As This That These Those There Here It Its "
    "He She We They You Your My Our Their His Her Who What When Where Why How Monday Tuesday Wednesday "
    "Thursday Friday Saturday Sunday January February March April May June July August September October "
    "November December RT Happy Birthday Dear Please Thanks Thank Yes No Not God Hi Hello OK Ok "
    "Yang Dan Di Ke Dari Ini Itu Tapi Namun Saya Kami Kita Mereka Dia Ia Pada Untuk Dengan Ketua Wakil "
    "Presiden Menteri Komisi Bapak Ibu Pak Bu Mr Mrs Ms Dr Prof"
))


def _latin_title_hits(text: str) -> list[NameSuggestion]:
    return [NameSuggestion(m.start("name"), m.end("name"), m.group("name"), f"after the title '{m.group('title')}'")
            for m in _LATIN_TITLE_RE.finditer(text)]


def _vietnamese_hits(text: str) -> list[NameSuggestion]:
    return [NameSuggestion(m.start(), m.end(), m.group(), "Vietnamese family name followed by given names")
            for m in _VIET_RE.finditer(text)]


def _thai_hits(text: str) -> list[NameSuggestion]:
    return [NameSuggestion(m.start(), m.end(), m.group(), "Thai title followed by a name")
            for m in _THAI_RE.finditer(text)]


def _khmer_syllables(word: str, count: int) -> str:
    """The first ``count`` orthographic syllables of a Khmer run (a base consonant or independent
    vowel starts a syllable unless it follows a COENG sign)."""
    starts = [i for i, c in enumerate(word)
              if ("\u1780" <= c <= "\u17B3") and (i == 0 or word[i - 1] != "\u17D2")]
    if len(starts) <= count:
        return word
    return word[: starts[count]]


def _khmer_hits(text: str) -> list[NameSuggestion]:
    hits = []
    for m in _KHMER_RE.finditer(text):
        name = m.group("name")
        first, space, rest = name.partition(" ")
        # Words run together after the name: keep whole first word, at most 2 syllables after it.
        if space:
            name = f"{first} {_khmer_syllables(rest, 2)}"
        elif len(first) > 12:
            name = _khmer_syllables(first, 3)
        start = m.start("name")
        hits.append(NameSuggestion(start, start + len(name), name, "Khmer honorific followed by a name"))
    return hits


def _burmese_syllables(word: str, count: int) -> str:
    # A consonant starts a syllable unless it is killed (followed by asat U+103A) or stacked (after U+1039).
    starts = [i for i, c in enumerate(word)
              if "\u1000" <= c <= "\u102A" and (i == 0 or word[i - 1] != "\u1039")
              and not (i + 1 < len(word) and word[i + 1] == "\u103A")]
    return word if len(starts) <= count else word[: starts[count]]


def _burmese_hits(text: str) -> list[NameSuggestion]:
    hits = []
    for m in _BURMESE_RE.finditer(text):
        name = _burmese_syllables(m.group("name"), 3)
        start = m.start("name")
        hits.append(NameSuggestion(start, start + len(name), name, "Burmese honorific followed by a name"))
    return hits


def _chinese_hits(text: str) -> list[NameSuggestion]:
    hits = [NameSuggestion(m.start("name"), m.end("name"), m.group("name"), "Chinese name before a title")
            for m in _CHINESE_TITLE_RE.finditer(text)]
    for surname in _CHINESE_SURNAMES:
        for m in re.finditer(re.escape(surname), text):
            start = m.start()
            before = text[start - 1] if start else ""
            after_cue = any(text[max(0, start - 2):start].endswith(cue) for cue in _NAME_CUES)
            if surname in _AMBIGUOUS_SURNAMES and re.match(f"[{_HAN}]", before or " ") and not after_cue:
                continue
            end = m.end()
            while end < len(text) and end - m.end() < 2 and re.match(f"[{_HAN}]", text[end]) \
                    and text[end] not in _HAN_STOP:
                end += 1
            if end > m.end():
                hits.append(NameSuggestion(start, end, text[start:end], "common Chinese surname"))
    return hits


def _latin_capitalised_hits(text: str) -> list[NameSuggestion]:
    hits = [NameSuggestion(m.start(), m.end(), m.group(), "social-media handle")
            for m in _HANDLE_RE.finditer(text)]
    for m in _CAP_SEQ_RE.finditer(text):
        words = m.group().lstrip("#").split()
        start = m.start()
        # Drop leading words that are not names ("The", "Dear", "Ketua") and move the start.
        while words and words[0].strip(".") in _NOT_NAMES:
            start = text.index(words[0], start) + len(words[0])
            while start < len(text) and text[start] in " \u00a0":
                start += 1
            words = words[1:]
        if not words:
            continue
        before = text[max(0, start - 40):start]
        at_sentence_start = start == 0 or bool(_SENTENCE_END.search(before)) or (start <= 40 and not before.strip())
        if at_sentence_start and len(words) == 1:
            continue  # a single capitalised word starting a sentence is usually just a word
        hits.append(NameSuggestion(start, m.end(), text[start:m.end()], "capitalised words inside a sentence"))
    return hits


def suggest_names(text: str, *, known: NameRedactor | None = None) -> list[NameSuggestion]:
    """Likely personal names in ``text`` that are not registered yet, longest first per overlap.

    Offered to a reviewer; nothing here changes the text.
    """
    candidates: list[NameSuggestion] = []
    for finder in (_latin_title_hits, _vietnamese_hits, _thai_hits, _khmer_hits, _burmese_hits,
                   _chinese_hits, _latin_capitalised_hits):
        candidates.extend(h for h in finder(text) if h.end > h.start)
    blocked = [(m.start, m.end) for m in known.find(text)] if known is not None else []
    chosen: list[NameSuggestion] = []
    for hit in sorted(candidates, key=lambda h: (-(h.end - h.start), h.start)):
        spans = blocked + [(c.start, c.end) for c in chosen]
        if any(hit.start < e and s < hit.end for s, e in spans):
            continue
        chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
