"""Names must match however their characters were typed: mark order, character references,
look-alike letters, Traditional/Simplified Chinese, invisible selectors."""

from __future__ import annotations

import itertools
import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.redact.charrefs import decode_references
from app.redact.names import NameRedactor, ProtectedName, skeleton, skeleton_text
from tests.conftest import SHARED_DATA, shared_data_path

_JOINING = {"\u17d2", "\u1039"}  # Khmer COENG, Burmese virama: they belong to the next consonant


def _records() -> list[dict]:
    path = SHARED_DATA / "text" / "names_multilingual.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _permute_marks(name: str) -> str:
    """The same name with the marks of every cluster reversed (where that keeps it readable:
    runs holding a COENG or virama stay as typed)."""
    out: list[str] = []
    run: list[str] = []
    for char in name + "\x00":
        if unicodedata.category(char).startswith("M"):
            run.append(char)
            continue
        out.extend(run if _JOINING & set(run) else reversed(run))
        run = []
        out.append(char)
    return "".join(out[:-1])


def _permutable(records: list[dict]) -> list[tuple[str, dict, str]]:
    cases = []
    for record in records:
        for person in record["persons"]:
            permuted = _permute_marks(person)
            if permuted != person and unicodedata.normalize("NFC", permuted) != unicodedata.normalize("NFC", person):
                cases.append((record["id"], record, person))
    return cases


CASES = _permutable(_records())


def test_the_shared_names_give_mark_order_cases() -> None:
    shared_data_path("text", "names_multilingual.jsonl")
    languages = {record["lang"] for _, record, _ in CASES}
    assert {"th", "km", "my"} <= languages, languages


@pytest.mark.parametrize(("case_id", "record", "person"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_marks_typed_in_another_order_still_match(case_id: str, record: dict, person: str) -> None:
    permuted = _permute_marks(person)
    text = record["text"].replace(person, permuted)
    start = text.index(permuted)
    # Registered as stored, typed permuted: the redaction span is exactly the typed name.
    matches = NameRedactor([ProtectedName(1, [person], "P")]).find(text)
    assert any(m.start <= start and start + len(permuted) <= m.end for m in matches), (case_id, matches)
    assert permuted not in NameRedactor([ProtectedName(1, [person], "P")]).redact(text)
    # And the other way round.
    assert person not in NameRedactor([ProtectedName(1, [permuted], "P")]).redact(record["text"])


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("น้ำ", "นำ\u0e49"),                # tone mark typed after SARA AM
        ("น้ำ", "น\u0e4d\u0e49\u0e32"),     # NIKHAHIT + tone + SARA AA
        ("ตั้ง", "ต\u0e49\u0e31ง"),          # tone before the upper vowel
        ("ကျွန်", "က\u103d\u103bန\u103a"),   # medial wa before medial ya
        ("ကို", "က\u102f\u102d"),            # lower vowel before upper vowel
        ("ស៊ីម", "ស\u17b8\u17caម"),          # vowel before the register shifter
        ("ស្រី", "ស\u17b8\u17d2រ"),          # vowel before the subscript
        ("ហើយ", "ហ\u17c1\u17b8យ"),           # two-part vowel typed as its halves
    ],
)
def test_script_specific_orders(stored: str, typed: str) -> None:
    assert skeleton_text(stored) == skeleton_text(typed)


def test_offsets_cover_moved_marks() -> None:
    name = "ជា ស៊ីម"
    typed = "ជា ស\u17b8\u17caម"
    text = f"លោក {typed}នៅតែមាន"
    match = NameRedactor([ProtectedName(1, [name], "P")]).find(text)[0]
    assert text[match.start:match.end] == typed
    assert NameRedactor([ProtectedName(1, [name], "P")]).redact(text) == "លោក Pនៅតែមាន"


def test_marks_still_distinguish_words() -> None:
    assert skeleton_text("ตั้ง") != skeleton_text("ตง")
    assert skeleton_text("ကို") != skeleton_text("က")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lời khai của Đặng&nbsp;Thị&nbsp;Xuyến hôm nay", "Lời khai của P hôm nay"),
        ("Đặng&#160;Thị&#xA0;Xuyến.", "P."),
        ("Đ&#7863;ng Th&#7883; Xuy&#7871;n", "P"),
        ("Đặng&amp;nbsp;Thị&amp;nbsp;Xuyến", "P"),  # escaped twice
        ("&lt;b&gt;Đặng Thị Xuyến&lt;/b&gt;", "&lt;b&gt;P&lt;/b&gt;"),
    ],
)
def test_character_references_in_raw_text(text: str, expected: str) -> None:
    assert NameRedactor([ProtectedName(1, ["Đặng Thị Xuyến"], "P")]).redact(text) == expected


def test_character_references_in_chinese() -> None:
    redactor = NameRedactor([ProtectedName(1, ["赵新民"], "P")])
    assert redactor.redact("我叫赵&#x65B0;民我也要吃") == "我叫P我也要吃"
    assert redactor.redact("我叫&#36213;&#26032;&#27665;。") == "我叫P。"


def test_decoded_offsets_map_to_the_reference() -> None:
    decoded = decode_references("a&nbsp;b&#7877;")
    assert decoded.text == "a\u00a0bễ"
    assert (decoded.starts[1], decoded.ends[1]) == (1, 7)
    assert (decoded.starts[3], decoded.ends[3]) == (8, 15)
    assert decode_references("R&D &copy2024").text == "R&D &copy2024"  # no semicolon: ordinary text
    assert skeleton("x&#7877;").ends == (1, 8)


@pytest.mark.parametrize(
    "typed",
    [
        "Nguy\u0435n Van An",         # Cyrillic е
        "Ngu\u0443en Van An",         # Cyrillic у
        "Nguyen V\u0430n \u0391n",    # Cyrillic а, Greek Alpha
        "Ngu\u0443\u0435n V\u0251n An",  # Latin alpha
        "Nguyen Van A\u0578",         # Armenian vo looks like n
    ],
)
def test_confusable_letters_fold(typed: str) -> None:
    redactor = NameRedactor([ProtectedName(1, ["Nguyễn Văn An"], "P")])
    assert redactor.redact(f"Ông {typed} nói.") == "Ông P nói."


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("Đặng Thị Xuyến", "Đặng \u0422hị Xuyến"),      # Cyrillic capital Т (UTS #39 maps т to ᴛ)
        ("Đặng Thị Xuyến", "ĐẶNG \u0422HỊ XUYẾN"),
        ("Lương Văn Khải", "Lương Văn \u041ahải"),       # Cyrillic capital К (к maps to ĸ)
        ("Harry Potter", "\u041darry Potter"),           # Cyrillic capital Н (н maps to ʜ)
        ("Harry Potter", "\u0397arry Potter"),           # Greek capital Eta (η maps to n)
        ("Mulyani Sitompul", "\u041culyani Sitompul"),    # Cyrillic capital М (м maps to ʍ)
        ("Ivan Kozak", "\u0406van Kozak"),               # Cyrillic capital І is an I, not an l
    ],
)
def test_lookalike_capitals_fold_like_the_latin_capital(name: str, typed: str) -> None:
    redactor = NameRedactor([ProtectedName(1, [name], "P")])
    assert redactor.redact(f"Then {typed} spoke.") == "Then P spoke."


def test_lookalike_folding_ignores_case_and_keeps_l_apart_from_i() -> None:
    assert skeleton_text("Кузнецов") == skeleton_text("КУЗНЕЦОВ") == skeleton_text("кузнецов")
    assert skeleton_text("\u0406van") == skeleton_text("ivan") != skeleton_text("lvan")
    assert skeleton_text("\u0141ukasz") == skeleton_text("łukasz") == "lukasz"  # Polish Ł stays an L


def test_traditional_and_simplified_chinese_match() -> None:
    traditional = NameRedactor([ProtectedName(1, ["林志穎"], "P")])
    assert traditional.redact("林志颖说") == "P说"
    simplified = NameRedactor([ProtectedName(1, ["赵新民"], "P")])
    assert simplified.redact("趙新民說") == "P說"


@pytest.mark.parametrize("invisible", ["\ufe0f", "\ufe00", "\U000e0101", "\u180b", "\u00ad", "\u2064", "\u034f"])
def test_default_ignorables_are_dropped(invisible: str) -> None:
    chinese = NameRedactor([ProtectedName(1, ["赵新民"], "P")])
    assert chinese.redact(f"我叫赵{invisible}新民。") == "我叫P。"
    latin = NameRedactor([ProtectedName(1, ["Gorst"], "P")])
    assert latin.redact(f"Go{invisible}rst said") == "P said"


_ALPHABET = st.sampled_from(
    [*"AaNnXxuyeĐđ &;#x0123456789", "&nbsp;", "&#7877;", "&#x65B0;", "&amp;", "\u200b", "\ufe0f", "\u0301",
     *"ตั้งนำ\u0e49\u0e4d\u0e32ស\u17ca\u17b8\u17d2រ\u17c1ក\u1039\u103a\u1037\u103b\u103dမ赵新民穎"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_gives_valid_spans(text: str) -> None:
    from app.redact.name_warnings import find_near_matches

    redactor = NameRedactor([ProtectedName(1, ["Đặng Thị Xuyến", "An"], "P1"), ProtectedName(2, ["ស្រី ក"], "P2"),
                             ProtectedName(3, ["赵新民"], "P3"), ProtectedName(4, ["ตั้ง นำ"], "P4")])
    skel = skeleton(text)
    assert len(skel.chars) == len(skel.starts) == len(skel.ends)
    assert all(0 <= s < e <= len(text) for s, e in zip(skel.starts, skel.ends, strict=True))
    matches = redactor.find(text)
    assert all(0 <= m.start < m.end <= len(text) and text[m.start:m.end] == m.matched for m in matches)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    redactor.redact(text)
    for near in find_near_matches(text, "p", redactor):
        assert 0 <= near.start < near.end <= len(text)


def test_lookalike_table_holds_uts39_pairs_and_leaves_spaceless_scripts_alone() -> None:
    from app.redact.confusables import LOOKALIKES
    from app.redact.names import is_spaceless

    for source, target in {"\u0435": "e", "\u043e": "o", "\u0456": "i", "\u03bf": "o", "\u0251": "a",
                           "\u0440": "p", "\u0455": "s"}.items():
        assert LOOKALIKES[source] == target, source
    assert not any(is_spaceless(c) for c in LOOKALIKES)
    assert not any(c.isascii() for c in LOOKALIKES)
    assert all(target == target.casefold() for target in LOOKALIKES.values())
