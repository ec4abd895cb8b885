"""Forms of a registered name that people actually write, derived automatically.

A survivor registered as "Đặng Thị Xuyến" is also written "Xuyến", "chị Xuyến", "Xuyen Dang",
"Đặng Xuyến" or "Dang T. Xuyen".  From each registered name (title removed) this derives:

- **reorderings**, redacted like the name: family name last (Western order) or first, the
  whole name turned round, the first and last parts alone in either order, the middle parts
  dropped or reduced to initials ("Dang T. Xuyen" needs the initial to stand as a word of its own);
- **distinctive parts**, redacted wherever they stand alone;
- **short parts**, redacted only right after a title ("chị An", "Mr An", "លោក ស៊ីម");
- **common parts**, never redacted alone but reported as near matches after a title
  (:mod:`app.redact.name_warnings`).

The rule for a part (a space-separated word of the name, compared as a skeleton):

- Latin-type script: distinctive from 3 letters unless it is one of :data:`COMMON_PARTS` (the
  most frequent Vietnamese family and middle names, Chinese and Korean romanised surnames,
  Muhammad/Siti-type first names, and particles such as "van", "de", "bin"); 2 letters is short;
  a common part or a single letter is common.
- Scripts written without spaces (Thai, Khmer, Burmese): distinctive from 3 letters that are not
  combining marks (ស៊ីផាន, สนธิรัตน์), short with 2 (ស៊ីម), common with 1 (ជា, ស): as substrings,
  a one-syllable part would be found inside unrelated words, even after a title.
- Chinese names have no spaces: a 3- or 4-character name starting with a common surname gives its
  given name (2 characters, 新民 from 赵新民) as a distinctive part; the surname alone never.

A part shared by two protected people is only reported, never redacted: replacing it with one
person's pseudonym could attribute the other's words to them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from app.redact.name_skeleton import is_spaceless, skeleton_text, strip_title

Kind = Literal["name", "part", "title_part", "common_part"]


@dataclass(frozen=True)
class Variant:
    text: str
    kind: Kind
    # Skeleton lengths of the words that must stand apart in the text (initials), else empty.
    words: tuple[int, ...] = ()


COMMON_PARTS = frozenset((  # noqa: SIM905 - a word list reads better as text
    # Vietnamese family names (about 90% of the population) and middle names
    "nguyen ng tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dao doan lam trinh "
    "thi van huu duc dinh cong quang xuan ngoc minh thanh "
    # Chinese, Korean and Khmer romanised surnames
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo zheng kim lee park "
    "choi jung kang cho chea sok "
    # first names and particles shared by millions
    "muhammad mohammad mohammed muhammed mohamed ahmad ahmed abdul abdel siti nur nurul sri dewi putri "
    "de del della da das dos du von der den di la bin binti bint ibn abu al el ben mac mc st san "
    "aung maung kyaw htun tun win myint "
    "john mary maria jose james david"
).split())

CHINESE_SURNAMES_2 = frozenset(("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "司徒",
                                "歐陽", "司馬", "諸葛", "東方"))
CHINESE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤張劉陳楊黃趙吳孫"
    "馬羅鄭謝許韓馮鄧蕭葉蘇呂盧鍾譚陸賈韋鄒閆賀顧龔萬錢嚴湯龍"
)


def _letters(part: str) -> int:
    """Letters of a spaceless-script part that are not combining marks."""
    return sum(1 for c in unicodedata.normalize("NFC", part) if not unicodedata.category(c).startswith("M"))


def part_kind(part: str) -> Kind:
    key = skeleton_text(part)
    if any(is_spaceless(c) for c in key):
        letters = _letters(part)
        return "part" if letters >= 3 else "title_part" if letters == 2 else "common_part"
    if len(key) >= 3 and key not in COMMON_PARTS:
        return "part"
    if len(key) == 2 and key not in COMMON_PARTS:
        return "title_part"
    return "common_part"


def _is_han(text: str) -> bool:
    return bool(text) and all(0x3400 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFAFF for c in text)


def surname_of(name: str) -> str | None:
    """The surname of a Chinese name of 3 or 4 characters with a known surname (赵 of 赵新民), else None."""
    given = _chinese_given_name(name)
    return name[:len(name) - len(given)] if given else None


def _chinese_given_name(name: str) -> str | None:
    if not _is_han(name) or len(name) not in (3, 4):
        return None
    if len(name) == 4 and name[:2] in CHINESE_SURNAMES_2:
        return name[2:]
    if len(name) == 3 and name[0] in CHINESE_SURNAMES:
        return name[1:]
    return None


def _initial(part: str) -> str:
    return unicodedata.normalize("NFC", part)[0]


def derive(name: str) -> list[Variant]:
    """Every form of ``name`` worth matching, the registered text itself excluded."""
    core = strip_title(name) or name.strip()
    variants: list[Variant] = []
    given = _chinese_given_name(core)
    if given:
        return [Variant(given, "part")]
    parts = core.split()
    if len(parts) < 2:
        return variants
    latin = not any(is_spaceless(c) for c in core)
    first, last, middle = parts[0], parts[-1], parts[1:-1]
    orders = [[last, first], [first, last]]
    if middle:
        orders += [[*middle, last, first], [last, first, *middle], [*parts[1:], first], [last, *parts[:-1]],
                   # the whole name turned round ("Xuyến Thị Đặng", "Nhung Hồng Thị Phùng") and with
                   # only the family and given names swapped ("Nhung Thị Hồng Phùng")
                   [last, *middle[::-1], first], [last, *middle, first]]
        unique: list[list[str]] = []
        for words in orders:
            if words not in unique:
                unique.append(words)
        orders = unique
    if latin:
        for words in orders:
            variants.append(Variant(" ".join(words), "name"))
        if middle:
            initials = [_initial(m) for m in middle]
            keys = [len(skeleton_text(first)), *(len(skeleton_text(i)) for i in initials), len(skeleton_text(last))]
            variants.append(Variant(" ".join([first, *initials, last]), "name", tuple(keys)))
            variants.append(Variant(" ".join([last, first, *initials]), "name",
                                    (keys[-1], keys[0], *keys[1:-1])))
    for part in parts:
        variants.append(Variant(part, part_kind(part)))
    return variants


@lru_cache(maxsize=65536)
def loose_key(key: str) -> str:
    """A skeleton with doubled letters single and letters for the same sound merged ("ph"/"f",
    "y"/"i", "w"/"v", "c"/"k", "z"/"s"): how transliterations of one name differ."""
    merged = key.replace("ph", "f").replace("y", "i").replace("w", "v").replace("c", "k").replace("z", "s")
    out: list[str] = []
    for char in merged:
        if not out or out[-1] != char:
            out.append(char)
    return "".join(out)
