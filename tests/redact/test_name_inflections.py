"""Protected names with a grammatical ending attached (Russian, Turkish, Finnish, Hungarian, Czech, Uzbek)
are redacted as whole words, or stop a redacted export for review when the stem changed too (audit
scenario 4: "с Натальей", "Mehmetin", "Yılmazlar", "Zainabot" left a redacted export)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypdf
import pytest

from app.export.dossier_files import NameLeak, check_no_protected_names
from app.export.exporter import export
from app.export.near_matches import NearMatchesFound
from app.redact.name_warnings import find_near_matches
from app.redact.names import ENDING_LETTERS, REDACTED, NameRedactor, ProtectedName
from app.vault import db, keys
from app.vault.models import Segment
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

REDACTOR = NameRedactor([
    ProtectedName(1, ["Наталья Иванова"], "Witness N"),
    ProtectedName(2, ["Mehmet Yılmaz"], "Witness M"),
    ProtectedName(3, ["Zainab Okonkwo"], "Witness Z"),
    ProtectedName(4, ["Aigerim"], "Witness A"),
    ProtectedName(5, ["Agus"], "Witness G"),
    ProtectedName(6, ["Ali"], "Witness L"),
    ProtectedName(7, ["Νίκος Παπαδόπουλος"], "Witness P"),
], mode="redacted")


def _near(text: str) -> list[tuple[int, str]]:
    return [(m.person_id, text[m.start:m.end]) for m in find_near_matches(text, "x", REDACTOR)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mehmetin kardeşi ve Yılmazlar oradaydı.", "[REDACTED] kardeşi ve [REDACTED] oradaydı."),
        ("Mehmetten haber yok.", "[REDACTED] haber yok."),
        ("Zainabin veli sanoi, että Zainabot is látták.", "[REDACTED] veli sanoi, että [REDACTED] is látták."),
        ("Zainabova sestra, se Zainabem.", "[REDACTED] sestra, se [REDACTED]."),
        ("Aigerimning uyi.", "[REDACTED] uyi."),
        ("ZAINABIN veli", "[REDACTED] veli"),                                    # capitals throughout
        ("Zainabé vint.", "[REDACTED] vint."),                                   # an accented ending
        ("Zaina\u0301bin veli", "[REDACTED] veli"),                              # a diacritic inside the name
        ("Yi\u0307lmazların evi", "[REDACTED] evi"),                             # decomposed, Turkish İ/i
        ("Mehmet Yılmazlar geldi.", "[REDACTED] geldi."),                        # the full name with an ending
    ],
)
def test_an_ending_after_a_latin_name_is_redacted_with_the_word(text: str, expected: str) -> None:
    assert REDACTOR.redact(text) == expected
    assert _near(text) == []


CYRILLIC = NameRedactor([ProtectedName(1, ["Айгерим Сейтова"], "P1"), ProtectedName(2, ["Олег Петров"], "P2"),
                         ProtectedName(3, ["Пётр Семёнов"], "P3")], mode="redacted")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Мы говорили с Айгеримом.", "Мы говорили с [REDACTED]."),
        ("У Айгерим и Айгериму.", "У [REDACTED] и [REDACTED]."),
        ("Дом Петрова и Петровых.", "Дом [REDACTED] и [REDACTED]."),
        ("Письмо Олегу Петрову.", "Письмо Олегу [REDACTED]."),     # "Олег" (4 letters) is not extended
        ("Семёнову и Семенову", "[REDACTED] и [REDACTED]"),          # ё written as е
    ],
)
def test_an_ending_after_a_cyrillic_name_is_redacted_with_the_word(text: str, expected: str) -> None:
    assert CYRILLIC.redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Мы вместе работали с Натальей на фабрике.", [(1, "Натальей")]),
        ("Дом семьи Ивановой стоит у реки.", [(1, "Ивановой")]),
        ("Το σπίτι του Παπαδόπουλου.", [(7, "Παπαδόπουλου")]),    # Greek genitive of "-ος"
        ("Zainabillekin oli kiire.", [(3, "Zainabillekin")]),     # an ending of 7 letters: reported, not redacted
        ("Mehmetlerden biri.", [(2, "Mehmetlerden")]),
        ("Omarın kardeşi, Agustina.", [(5, "Agustina")]),           # a 4-letter name with an ending
        ("then zainabin came", [(3, "zainabin")]),                 # a part with an ending, no capital
    ],
)
def test_a_changed_stem_or_a_long_ending_stops_the_export_for_review(text: str,
                                                                    expected: list[tuple[int, str]]) -> None:
    assert _near(text) == expected


def test_the_ending_is_at_most_five_letters() -> None:
    assert ENDING_LETTERS == 5
    assert REDACTOR.redact("Zainablarda") == REDACTED       # 5 letters after the name
    assert REDACTOR.redact("Zainablardan") == "Zainablardan"  # 6: another word, reported instead
    assert _near("Zainablardan") == [(3, "Zainablardan")]
    assert REDACTOR.redact("Zainabsomethingelse") == "Zainabsomethingelse"


def test_short_names_are_not_extended() -> None:
    # "Ali" (3 letters): "Alice", "Alina" and "Alibi" are other words and names.
    assert REDACTOR.redact("Ali, Alice, Alina and an alibi.") == "[REDACTED], Alice, Alina and an alibi."
    assert _near("Alice and Alina") == []
    # "Agus" (4 letters) is not redacted with an ending ("Agustus" is August): it is reported instead.
    assert REDACTOR.redact("bukan Agustus") == "bukan Agustus"
    assert _near("bukan Agustus") == [(5, "Agustus")]


def test_indonesian_clitics_still_stay_outside_the_replacement() -> None:
    redactor = NameRedactor([ProtectedName(1, ["Agus"], "P1"), ProtectedName(2, ["Zainab Okonkwo"], "P2")])
    text = "Rumah Agusnya dan Aguslah, Zainabnya dan Zainabmu."
    assert redactor.redact(text) == "Rumah P1nya dan P1lah, P2nya dan P2mu."
    assert find_near_matches(text, "x", redactor) == []  # the name is redacted, the clitic is no name


def test_camel_case_still_splits_names() -> None:
    assert REDACTOR.redact("#ZainabOkonkwo @MehmetYılmaz") == "#[REDACTED] @[REDACTED]"
    assert REDACTOR.redact("MehmetinYılmaz") == "[REDACTED][REDACTED]"
    # A capital after the name starts another word: the name alone is redacted, not reported again.
    assert REDACTOR.redact("ZainabSmith") == "[REDACTED]Smith"
    assert _near("ZainabSmith") == []


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("สมชาย", "คุณสมชายมา"),
        ("阮氏兰", "阮氏兰说"),
        ("ស៊ីម", "លោកស៊ីមបាន"),
    ],
)
def test_spaceless_scripts_are_unaffected(name: str, text: str) -> None:
    redactor = NameRedactor([ProtectedName(1, [name], "P")], mode="redacted")
    assert redactor.redact(text) == text.replace(name, REDACTED)
    assert find_near_matches(text, "x", redactor) == []


def test_the_exporters_last_leak_check_catches_an_ending() -> None:
    with pytest.raises(NameLeak):
        check_no_protected_names("Mehmetin kardeşi", REDACTOR, "dossier text")
    check_no_protected_names("[Witness M] kardeşi", REDACTOR, "dossier text")


SEGMENTS = [
    "Mehmetin kardeşi ve Yılmazlar oradaydı.",
    "Zainabin veli sanoi, että Zainabot is látták.",
    "Zainabova sestra, Aigerimning uyi, Mehmetten haber yok.",
]
LEAKED = ["Mehmet", "Yılmaz", "Zainab", "Aigerim", "Натал", "Иванов"]


def test_a_redacted_pdf_holds_no_inflected_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speech = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac")
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    vault = Vault.create(tmp_path / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    try:
        case_id = vault.add_case("Case C")
        people = [vault.add_person(name=name, pseudonym=f"Witness {name[0]}", role="survivor", protected=True)
                  for name in ("Наталья Иванова", "Mehmet Yılmaz", "Zainab Okonkwo", "Aigerim Bekova")]
        for person in people:
            vault.add_consent(person, scopes="court,un,ngo,media")
        item = vault.ingest_file(speech, case_id=case_id, kind="interview", title="Interview").item_id
        for person in people:
            vault.link(item, person)
        vault.set_transcript(item, [Segment(start=2.0 * i, end=2.0 * i + 2, speaker="Interviewer", language="tr",
                                            text=text) for i, text in enumerate(SEGMENTS)])
        pdf = tmp_path / "redacted.pdf"
        export(vault, case_id=case_id, audience="media", level="redacted", out=pdf)
        pages = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(pdf)).pages)
        shown = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                               check=True).stdout.decode("utf-8")
        for text in (pages, shown):
            assert "kardeşi" in text and "[Witness M]" in text
            for name in LEAKED:
                assert name not in text

        # A declined Russian name (the stem changed) stops the export until a reviewer clears it.
        vault.set_transcript(item, [Segment(start=0.0, end=2.0, speaker="Interviewer", language="ru",
                                            text="Мы вместе работали с Натальей на фабрике.")])
        stopped = tmp_path / "stopped.pdf"
        with pytest.raises(NearMatchesFound) as found:
            export(vault, case_id=case_id, audience="media", level="redacted", out=stopped)
        assert not stopped.exists()
        assert "Натальей" not in found.value.user_message()
    finally:
        vault.close()
