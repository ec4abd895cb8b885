"""The redacted export's last line of defence: protected names hidden in escaped or undecodable bytes of a
legacy encoding are still found; a short Latin alias follows the redactor's own rules (whole word, case)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.export.dossier_files import NameLeak, check_no_protected_names
from app.export.exporter import export
from app.export.legacy_text import legacy_readings, strip_escaped
from app.export.pdf.inspect import extract_everything
from app.redact.names import redactor_from_persons
from app.vault import db, keys
from app.vault.ingest import safe_name
from app.vault.models import Person
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

REDACTOR = redactor_from_persons([
    Person(1, "赵新民", ("趙新民",), "Survivor S-9", "survivor", True),
    Person(2, "สมชาย ใจดี", ("สมชาย",), "Witness W-7", "witness", True),
    Person(3, "許功蓋", (), "Witness W-8", "witness", True),
    Person(4, "山田太郎", (), "Witness W-9", "witness", True),
    Person(5, "김민수", (), "Witness W-10", "witness", True),
    Person(6, "Đặng Thị Xuyến", (), "Witness W-11", "witness", True),
])


def stored(name: str, encoding: str, tail: bytes = b"_photo.jpg") -> str:
    """The file name as the vault stores it after ingesting the legacy bytes."""
    text, original_hex = safe_name(os.fsdecode(name.encode(encoding) + tail))
    assert original_hex is not None and "\\x" in text
    return text


@pytest.mark.parametrize(("name", "encoding", "person"), [
    ("赵新民", "gbk", 1), ("趙新民", "big5", 1), ("สมชาย", "cp874", 2), ("สมชาย", "tis-620", 2),
    ("許功蓋", "big5", 3),  # trail bytes 0x5c (a backslash) and 0x5c again: kept as they are by safe_name
    ("山田太郎", "shift_jis", 4),
    ("김민수", "euc-kr", 5),  # \xce\xbc inside it is valid UTF-8: stored as "μ" between escapes
    ("Đă\u0323ng Thi\u0323 Xuyê\u0301n", "cp1258", 6),  # cp1258 writes tones as combining marks
])
def test_escaped_names_in_every_legacy_encoding_are_found(name: str, encoding: str, person: int) -> None:
    text = f"File: {stored(name, encoding)} (image/jpeg, 1,024 bytes)"
    assert REDACTOR.find(text) == []  # what the plain check saw before
    with pytest.raises(NameLeak) as caught:
        check_no_protected_names(text, REDACTOR, "dossier text")
    assert caught.value.people == [person]
    assert name not in caught.value.user_message() and "\\x" not in caught.value.user_message()


def test_raw_undecodable_bytes_are_read_too() -> None:
    raw = os.fsdecode("赵新民".encode("gbk") + b".jpg")  # surrogate escapes: how Python holds such bytes
    assert any("赵新民" in reading for reading in legacy_readings(raw))
    with pytest.raises(NameLeak):
        check_no_protected_names(raw, REDACTOR, "bundle's file names")


def test_a_name_cut_in_the_middle_of_a_character_is_still_read() -> None:
    cut = "".join(f"\\x{b:02x}" for b in ("x赵新民".encode("gbk")[2:]))  # starts on a trail byte
    assert any("新民" in reading for reading in legacy_readings(cut))


def test_escapes_are_removed_from_exported_text_and_harmless_text_passes() -> None:
    text = f"Exhibit {stored('赵新民', 'gbk', b' interview.mp4')}"
    assert strip_escaped(text) == "Exhibit [?] interview.mp4"
    check_no_protected_names(strip_escaped(text), REDACTOR, "dossier text")
    check_no_protected_names("Path C:\\xampp and \\x41 are not names.", REDACTOR, "dossier text")


def test_the_dossier_text_guard_removes_escaped_bytes_before_redacting() -> None:
    from app.export.dossier_builder import TextGuard

    guard = TextGuard(REDACTOR)
    for encoding, name in (("gbk", "赵新民"), ("big5", "趙新民"), ("cp874", "สมชาย")):
        typed = f"Photo from {stored(name, encoding, b'.jpg')} and 赵新民"
        shown = guard(typed)
        assert "\\x" not in shown and "[?]" in shown and "[Survivor S-9]" in shown
        check_no_protected_names(shown, REDACTOR, "dossier text")
        assert "\\x" not in "".join(guard.segments([typed, "next"]))
    assert TextGuard(None)("a \\xd5 b") == "a \\xd5 b"  # the original level shows what was recorded


def test_custody_values_naming_a_protected_person_are_withheld_not_shown() -> None:
    from app.export.commitments import commit, public_view, shown_event
    from app.vault.canonical import canonical_json
    from app.vault.events import GENESIS_PREV_HASH, Event

    event = Event(seq=4, time="2026-01-01T00:00:00.000000Z", actor="Đặng Thị Xuyến", action="consent_withdrawn",
                  item_id=None, item_sha256=None, prev_hash=GENESIS_PREV_HASH,
                  details={"person_id": 6, "reason": "threatened by Xuyen Dang's employer", "by": ["x", "Xuyến"]})
    key = b"k" * 32
    shown = public_view(event, key, hidden_items=(), names_in=lambda text: bool(REDACTOR.find(text)))
    assert shown is not None
    assert shown["withheld"]["fields"] == ["actor", "details.reason", "details.by[1]"]
    assert shown["actor"] == commit(key, field="actor", value="Đặng Thị Xuyến", seq=4, item_id=None)
    assert shown["details"]["person_id"] == 6 and shown["details"]["by"][0] == "x"
    line = canonical_json(shown)
    assert "Xuy" not in line.decode("utf-8")
    parsed = shown_event(line)  # a well-formed withheld line: the chain and proofs still check
    assert parsed.leaf == event.leaf_hash() and parsed.chain == event.chain_hash()
    assert public_view(event, key, hidden_items=()) is None  # without the names: nothing to withhold


@pytest.fixture
def an_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Vault, int]:
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    vault = Vault.create(tmp_path / "an.vault", TEST_PASSPHRASE, actor="Investigator A")
    case_id = vault.add_case("Harbour case")
    person = vault.add_person(name="Nguyễn Văn An", aliases=["An"], pseudonym="Survivor S-1", role="survivor",
                              protected=True)
    vault.add_consent(person, scopes="court,un,ngo")
    photo = vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg"), case_id=case_id,
                              title="The port where An worked")
    vault.edit_item(photo.item_id, description="An told us about the boat; an engine was broken.")
    vault.link(photo.item_id, person)
    yield vault, case_id
    vault.close()


def test_the_readme_alias_an_does_not_block_a_redacted_export(an_vault: tuple[Vault, int], tmp_path: Path) -> None:
    vault, case_id = an_vault
    out = tmp_path / "an.pdf"
    export(vault, case_id=case_id, audience="ngo", level="redacted", out=out)
    text = extract_everything(out).attachments["dossier-text.txt"].decode("utf-8")
    assert "[Survivor S-1] told us about the boat; an engine was broken." in text
    assert "The port where [Survivor S-1] worked" in text
    assert re.search(r"\bAn\b", text) is None
