"""Protected names in text: nothing may survive redaction, in any script."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field

import pytest

from app.redact.name_suggest import suggest_names
from app.redact.names import (
    REDACTED,
    NameRedactor,
    ProtectedName,
    redact_filename,
    redactor_from_persons,
    skeleton_text,
)
from tests.conftest import SHARED_DATA, shared_data_path


def _records() -> list[dict]:
    path = SHARED_DATA / "text" / "names_multilingual.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


RECORDS = _records()


def _checker_form(text: str) -> str:
    """Independent of the code under test: NFKD, casefold, marks removed, spaces removed."""
    decomposed = unicodedata.normalize("NFKD", text).casefold().replace("đ", "d")
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()
                   and c not in "\u200b\u200c\u200d\u2060\ufeff")


def _redactor(persons: list[str], mode: str = "redacted") -> NameRedactor:
    return NameRedactor([ProtectedName(i + 1, [name], f"Person {i + 1}") for i, name in enumerate(persons)],
                        mode=mode)


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_no_registered_name_survives(record: dict) -> None:
    shared_data_path("text", "names_multilingual.jsonl")
    for mode in ("redacted", "pseudonym"):
        out = _redactor(record["persons"], mode).redact(record["text"])
        for person in record["persons"]:
            assert _checker_form(person) not in _checker_form(out), (record["id"], person, out)
    if record["persons"]:
        assert out != record["text"]


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_find_returns_the_annotated_spans(record: dict) -> None:
    matches = _redactor(record["persons"]).find(record["text"])
    found = {(m.start, m.end) for m in matches}
    for start, end in record["spans"]:
        assert (start, end) in found, (record["id"], record["text"][start:end], matches)
    for m in matches:
        assert record["text"][m.start:m.end] == m.matched


@pytest.mark.parametrize("record", [r for r in RECORDS if r["persons"]], ids=lambda r: r["id"])
def test_survives_spacing_and_case_mangling(record: dict) -> None:
    """The same sentence with every name's spaces turned into odd separators, or uppercased."""
    redactor = _redactor(record["persons"])
    for separator in ("\u00a0", "  ", "\u200b", "\n", ""):
        text = record["text"]
        for person in record["persons"]:
            text = text.replace(person, person.replace(" ", separator))
        out = redactor.redact(text.upper())
        for person in record["persons"]:
            assert _checker_form(person) not in _checker_form(out), (separator, out)


VIET = ProtectedName(7, ["Nguyễn Văn An"], "Survivor A")


@pytest.mark.parametrize(
    "variant",
    [
        "Nguyễn Văn An", "Nguyen Van An", "NGUYỄN VĂN AN", "nguyen van an",
        unicodedata.normalize("NFD", "Nguyễn Văn An"), "Nguyễn  Văn   An", "Nguyễn\u00a0Văn\u00a0An",
        "Nguyễn\u200bVăn\u200dAn", "Nguyễn Văn\nAn", "Nguyễn Văn\r\n  An", "NguyễnVăn An", "NguyenVanAn",
        "Ｎｇｕｙｅｎ Ｖａｎ Ａｎ",  # full-width Latin
    ],
)
def test_vietnamese_variants(variant: str) -> None:
    text = f"Lời khai của {variant}, ngày 3."
    redactor = NameRedactor([VIET])
    out = redactor.redact(text)
    assert out == "Lời khai của Survivor A, ngày 3."


def test_plain_registration_matches_accented_text() -> None:
    redactor = NameRedactor([ProtectedName(1, ["Tran Thi Mai"], "P1")])
    assert redactor.redact("Bà Trần Thị Mai nói") == "Bà P1 nói"
    assert redactor.redact("TRẦN THỊ MAI") == "P1"


def test_latin_word_boundaries() -> None:
    redactor = NameRedactor([ProtectedName(1, ["An"], "P1")])
    assert redactor.redact("Anna and Ann met Dan in Annam.") == "Anna and Ann met Dan in Annam."
    assert redactor.redact("An said: An, an! (An) An.") == "P1 said: P1, an! (P1) P1."
    assert redactor.redact("#An2024 @An") == "#P12024 @P1"


def test_longest_match_wins_and_aliases() -> None:
    redactor = NameRedactor([
        ProtectedName(1, ["Nguyễn Văn An", "An"], "Survivor A"),
        ProtectedName(2, ["Văn"], "Witness B"),
    ])
    matches = redactor.find("Nguyen Van An saw Van; later An left.")
    assert [(m.matched, m.person_id) for m in matches] == [("Nguyen Van An", 1), ("Van", 2), ("An", 1)]
    assert redactor.redact("Nguyen Van An saw Van; later An left.") == \
        "Survivor A saw Witness B; later Survivor A left."


def test_offsets_map_back_through_normalisation() -> None:
    nfd = unicodedata.normalize("NFD", "Bà Nguyễn Văn An đến")
    text = f"\u200b{nfd}\u00a0x"
    match = NameRedactor([VIET]).find(text)[0]
    assert text[match.start:match.end] == unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert match.matched == text[match.start:match.end]
    # The diacritics of the last letter are inside the span: nothing dangles after redaction.
    out = NameRedactor([VIET]).redact(text)
    assert out == f"\u200b{unicodedata.normalize('NFD', 'Bà ')}Survivor A {unicodedata.normalize('NFD', 'đến')}\u00a0x"
    assert not any(unicodedata.combining(c) for c in out.split("Survivor A")[1][:1])


def test_consistent_replacement_and_modes() -> None:
    people = [ProtectedName(1, ["Somchai"], "Witness 1"), ProtectedName(2, ["Mai"], "Witness 2")]
    text = "Somchai told Mai; Mai told SOMCHAI."
    assert NameRedactor(people).redact(text) == "Witness 1 told Witness 2; Witness 2 told Witness 1."
    assert NameRedactor(people, mode="redacted").redact(text) == \
        f"{REDACTED} told {REDACTED}; {REDACTED} told {REDACTED}."
    with pytest.raises(ValueError):
        NameRedactor(people, mode="blur")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("สมชาย ใจดี", "เมื่อวานนายสมชาย ใจดีไปตลาด", "เมื่อวานนายP ไปตลาด"),       # Thai, glued
        ("นายสมชาย ใจดี", "เมื่อวานสมชาย ใจดีไปตลาด", "เมื่อวานPไปตลาด"),           # title registered, absent in text
        ("ជា ស៊ីម", "លោក ជា ស៊ីមនៅតែមាន", "លោក Pនៅតែមាន"),                         # Khmer, spaceless
        ("ခင်မီမီလွင်", "ဒေါ်ခင်မီမီလွင်သည်", "ဒေါ်Pသည်"),                         # Burmese
        ("赵新民", "我叫赵新民我也要吃", "我叫P我也要吃"),                                 # Chinese
    ],
)
def test_spaceless_scripts_match_as_substrings(name: str, text: str, expected: str) -> None:
    out = NameRedactor([ProtectedName(1, [name], "P")]).redact(text)
    if name == "สมชาย ใจดี":
        expected = "เมื่อวานนายPไปตลาด"
    assert out == expected


def test_thai_title_variant_in_text_with_different_spacing() -> None:
    redactor = NameRedactor([ProtectedName(1, ["พล.อ.ประยุทธ์ จันทร์โอชา"], "P")])
    assert redactor.redact("พล.อ. ประยุทธ์  จันทร์โอชา แถลง") == "P แถลง"
    assert redactor.redact("ประยุทธ์ จันทร์โอชา แถลง") == "P แถลง"


def test_thai_marks_are_not_dropped() -> None:
    # Vowel and tone marks are letters in Thai: "ตั้ง" must not match "ตง".
    assert skeleton_text("ตั้ง") != skeleton_text("ตง")
    assert NameRedactor([ProtectedName(1, ["ตั้ง"], "P")]).redact("ตงเต") == "ตงเต"


@dataclass
class FakePerson:
    id: int
    name: str
    aliases: list[str] = field(default_factory=list)
    pseudonym: str | None = None
    protected: bool = True


def test_redactor_from_persons() -> None:
    persons = [
        FakePerson(1, "Nguyễn Văn An", ["Anh Hai"], "Survivor A"),
        FakePerson(2, "Somchai", [], None),
        FakePerson(3, "Public Official", [], None, protected=False),
    ]
    redactor = redactor_from_persons(persons)
    out = redactor.redact("Anh Hai and Somchai met Public Official.")
    assert out == "Survivor A and Person 2 met Public Official."
    assert redactor_from_persons(persons, mode="redacted").redact("Somchai") == REDACTED


def test_redact_filename() -> None:
    redactor = NameRedactor([VIET, ProtectedName(2, ["Somchai"], "Witness 2")])
    assert redact_filename("interview_Nguyen_Van_An.mp4", redactor) == "interview_Survivor_A.mp4"
    assert redact_filename("2024-03-01-nguyen-van-an-somchai.JPG", redactor) == \
        "2024-03-01-Survivor_A-Witness_2.JPG"
    assert redact_filename("NguyenVanAn", redactor) == "Survivor_A"
    assert redact_filename("notes_Anna.txt", redactor) == "notes_Anna.txt"


def test_suggestions_are_offered_not_applied() -> None:
    text = "Yesterday Mr. Tran Van Binh met Ibu Sari and Nguyễn Thị Lan near the port."
    suggestions = suggest_names(text)
    found = {s.text for s in suggestions}
    assert {"Tran Van Binh", "Sari", "Nguyễn Thị Lan"} <= found
    for s in suggestions:
        assert text[s.start:s.end] == s.text and s.reason
    known = NameRedactor([ProtectedName(1, ["Sari"], "P")])
    assert "Sari" not in {s.text for s in suggest_names(text, known=known)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("วันนี้นางสาวสุดา มีสุข ให้การ", "นางสาวสุดา มีสุข"),
        ("ប៉ុន្តែលោក ផៃ ស៊ីផានអ្នកនាំពាក្យ", "ផៃ ស៊ីផា"),
        ("ဦးမြင့်ဆွေ", "မြင့်ဆွေ"),
        ("我叫赵新民我也要吃", "赵新民"),
        ("王先生来了", "王"),
    ],
)
def test_suggestions_in_other_scripts(text: str, expected: str) -> None:
    assert any(expected in s.text or s.text in expected for s in suggest_names(text))


def test_suggestion_recall_on_annotated_sentences() -> None:
    shared_data_path("text", "names_multilingual.jsonl")
    total = found = 0
    for record in RECORDS:
        suggestions = suggest_names(record["text"])
        for start, end in record["spans"]:
            total += 1
            found += any(s.start < end and start < s.end for s in suggestions)
    recall = found / total
    print(f"name suggestion recall (any overlap): {found}/{total} = {recall:.2f}")
    assert recall >= 0.6  # measured 0.67 when written; a drop means a heuristic broke


def test_indonesian_clitics_do_not_hide_a_name() -> None:
    redactor = NameRedactor([ProtectedName(1, ["Agus"], "P1")])
    assert redactor.redact("Rumah Agusnya dan Aguslah yang pergi, bukan Agustus.") == \
        "Rumah P1nya dan P1lah yang pergi, bukan Agustus."


def test_redact_filename_stems_and_dots() -> None:
    redactor = NameRedactor([VIET, ProtectedName(2, ["ជា ស៊ីម"], "Witness 2")])
    assert redact_filename("Nguyen.Van.An", redactor) == "Survivor_A"  # a stem: no "extension" kept
    assert redact_filename("photo.Nguyen-Van-An.jpg", redactor) == "photo.Survivor_A.jpg"
    assert redact_filename("សម្ភាសន៍_ជា_ស៊ីម.wav", redactor) == "សម្ភាសន៍_Witness_2.wav"
    red = NameRedactor([VIET], mode="redacted")
    assert redact_filename("a/b_Nguyen_Van_An", red) == "a_b_[REDACTED]"
