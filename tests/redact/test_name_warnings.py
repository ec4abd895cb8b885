"""Near matches: what looks like a protected name but was not redacted is reported, with its place."""

from __future__ import annotations

import pytest

from app.redact.name_warnings import NearMatch, approximate_occurrences, bounded_distance, find_near_matches
from app.redact.names import NameRedactor, ProtectedName

REDACTOR = NameRedactor([
    ProtectedName(1, ["Đặng Thị Xuyến"], "Survivor A"),
    ProtectedName(2, ["Sakakibara"], "Witness B"),
    ProtectedName(3, ["ខាត់ សុរ៉ាវឌី"], "Witness C"),
    ProtectedName(4, ["สนธิรัตน์ สนธิจิรวงศ์"], "Witness D"),
], mode="redacted")


def _found(text: str) -> list[tuple[int, str]]:
    return [(m.person_id, text[m.start:m.end]) for m in find_near_matches(text, "exhibit 3", REDACTOR)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Then Dang Thi Xuyem spoke.", [(1, "Dang Thi Xuyem")]),       # one letter off
        ("Sakakibarra and Sakakiabra", [(2, "Sakakibarra"), (2, "Sakakiabra")]),
        ("The file of Mr. Dang.", [(1, "Mr. Dang")]),                   # a common part after a title
        ("Sakkakibara", [(2, "Sakkakibara")]),                           # doubled letter
        ("then xuyen came", [(1, "xuyen")]),                             # a part without its capital
        ("ខាត់ សុរ៉ាវឌ បាននិយាយ", [(3, "ខាត់ សុរ៉ាវឌ")]),                  # spaceless script, one letter off
        ("วันนี้สนธิรัตร์มา", [(4, "สนธิรัตร์")]),
    ],
)
def test_near_matches_are_reported(text: str, expected: list[tuple[int, str]]) -> None:
    assert _found(text) == expected


def test_the_report_names_the_place_and_a_reason_not_the_text() -> None:
    (match,) = find_near_matches("Then Dang Thi Xuyem spoke.", "exhibit 3, note 2", REDACTOR)
    assert isinstance(match, NearMatch)
    assert match.place == "exhibit 3, note 2" and match.person_id == 1
    assert "Xuyem" not in match.reason and "letter" in match.reason
    assert not hasattr(match, "text")


@pytest.mark.parametrize(
    "text",
    [
        "Đặng Thị Xuyến and Xuyen and Sakakibara were redacted.",   # exact: redacted, not "near"
        "Nguyen Van Binh, Dang Van Hai and Thi Mai spoke.",          # other people sharing common parts
        "Sakamoto and Kakimoto",                                     # too far
        "the sakakibarra file",                                      # no capital: a word, not a name
        "", "   ",
    ],
)
def test_no_false_reports(text: str) -> None:
    assert _found(text) == []


def test_same_answer_before_and_after_redaction() -> None:
    text = "Đặng Thị Xuyến met Sakakibarra."
    assert _found(text) == [(2, "Sakakibarra")]
    redacted = REDACTOR.redact(text)
    assert [(m.person_id, redacted[m.start:m.end]) for m in find_near_matches(redacted, "x", REDACTOR)] == \
        [(2, "Sakakibarra")]


def test_character_references_are_decoded_and_spans_map_back() -> None:
    text = "Dang&nbsp;Thi&nbsp;Xuy&#7879;m spoke"
    (match,) = find_near_matches(text, "x", REDACTOR)
    assert text[match.start:match.end] == "Dang&nbsp;Thi&nbsp;Xuy&#7879;m"


def test_distance_helpers() -> None:
    assert bounded_distance("kitten", "sitting", 3) == 3
    assert bounded_distance("kitten", "sitting", 1) == 2
    assert [h[0] for h in approximate_occurrences("abcdef", "xxabcxefyy", 1)] == [1]


def test_no_protected_people_no_report() -> None:
    assert find_near_matches("Dang Thi Xuyem", "x", NameRedactor([])) == []


def test_a_name_only_partly_redacted_is_still_reported() -> None:
    redactor = NameRedactor([ProtectedName(1, ["Nguyễn Thị Lan"], "P")], mode="redacted")
    text = "Hôm đó Nguiễn Thị Lan kể."  # "Lan" alone is redacted; "Nguiễn Thị" would be left
    assert [(m.start, m.end) for m in redactor.find(text)] == [(18, 21)]
    assert [(m.person_id, text[m.start:m.end]) for m in find_near_matches(text, "x", redactor)] == \
        [(1, "Nguiễn Thị Lan")]
    assert find_near_matches("Hôm đó Nguyễn Thị Lan kể.", "x", redactor) == []  # redacted whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我叫赵先生，我也要", [(1, "赵")]),          # the surname with a form of address
        ("老赵来了", [(1, "赵")]),
        ("趙女士說", [(1, "趙")]),                   # Traditional folds to Simplified
        ("赵新明说", [(1, "赵新明")]),               # one character changed (a homophone)
        ("夢想家林忘穎歲的", [(2, "林忘穎")]),
        ("赵新民先生", []),                         # redacted whole
        ("赵国强先生和他姓赵", []),                   # another Zhao
    ],
)
def test_chinese_surname_with_a_form_of_address_and_one_character_changed(
        text: str, expected: list[tuple[int, str]]) -> None:
    redactor = NameRedactor([ProtectedName(1, ["赵新民"], "P"), ProtectedName(2, ["林志穎"], "Q")])
    assert [(m.person_id, text[m.start:m.end]) for m in find_near_matches(text, "x", redactor)] == expected
