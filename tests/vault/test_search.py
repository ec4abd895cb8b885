"""Full-text search in the scripts our investigators work in (real FTS5 indexes in a real vault)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.vault.vault import Vault
from tests.vault.vaultkit import new_vault, speed_up


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    v = new_vault(tmp_path)
    yield v
    v.close()


def _item(vault: Vault, title: str, **fields) -> int:
    item_id = vault.ingest_stream(io.BytesIO(title.encode("utf-8") + b"!"), name="x.txt", kind="document",
                                  title=title).item_id
    if fields:
        vault.update_item(item_id, **fields)
    return item_id


def _found(vault: Vault, query: str) -> set[tuple[int, str]]:
    return {(hit.item_id, hit.field) for hit in vault.search(query)}


def test_thai_chinese_khmer_substrings(vault: Vault) -> None:
    thai = _item(vault, "สัมภาษณ์ครั้งที่หนึ่ง")
    vault.add_note(thai, "พวกเขาขายฉันไปที่บริษัทอื่น")
    chinese = _item(vault, "Interview 2", description="他们把我卖到另一个园区")
    khmer = _item(vault, "Interview 3")
    vault.set_transcript(khmer, [{"start": 0, "end": 2, "text": "ខ្ញុំត្រូវគេលក់ទៅក្រុមហ៊ុនមួយទៀត"},
                                 {"start": 7.5, "end": 9, "text": "គេយកលិខិតឆ្លងដែនរបស់ខ្ញុំ"}])
    assert _found(vault, "ขายฉัน") == {(thai, "note")}          # Thai, mid-sentence, no spaces
    assert _found(vault, "ครั้งที่") == {(thai, "title")}
    assert _found(vault, "另一个园区") == {(chinese, "description")}
    assert _found(vault, "园区") == {(chinese, "description")}   # 2 characters: LIKE fallback
    assert _found(vault, "卖") == {(chinese, "description")}     # 1 character
    hits = vault.search("លិខិតឆ្លងដែន")                           # Khmer "passport"
    assert [(h.item_id, h.field, h.ref_id, h.start) for h in hits] == [(khmer, "transcript", 1, 7.5)]
    assert "លិខិតឆ្លងដែន" in hits[0].snippet
    assert vault.search("ไม่มีคำนี้") == []


def test_vietnamese_with_and_without_diacritics(vault: Vault) -> None:
    item = _item(vault, "Lời khai của Nguyễn Văn An", tags=["Hà Tiên", "lừa đảo"])
    assert _found(vault, "Nguyễn") == {(item, "title")}
    assert _found(vault, "nguyen van an") == {(item, "title")}
    assert _found(vault, "NGUYEN") == {(item, "title")}
    assert _found(vault, "loi khai") == {(item, "title")}
    assert _found(vault, "lua dao") == {(item, "tags")}
    assert _found(vault, "tien") == {(item, "tags")}
    assert _found(vault, "ha") == {(item, "tags"), (item, "title")}  # "Hà" by word; "khai" by substring
    assert _found(vault, "Nguyen Van Binh") == set()


def test_latin_words_notes_and_special_characters(vault: Vault) -> None:
    item = _item(vault, "Recruitment advert", description="Promised a job at a casino; debt of 3,000 USD")
    vault.add_note(item, 'He said "you owe us" AND took the passport*')
    assert _found(vault, "casino") == {(item, "description")}
    assert _found(vault, "CASINO") == {(item, "description")}
    assert _found(vault, "passport") == {(item, "note")}
    for hostile in ('"', '"you owe', "AND", "NEAR(", "*", "a OR b", "%", "_", "\\", "-x", "col:val", "   "):
        vault.search(hostile)  # FTS5 query syntax in user input must never raise
    assert _found(vault, '"you owe us"') == {(item, "note")}
    assert _found(vault, "%") == set()
    assert vault.search("") == []


def test_index_follows_changes(vault: Vault) -> None:
    item = _item(vault, "Old title")
    assert _found(vault, "Old title") == {(item, "title")}
    vault.update_item(item, title="Nouveau titre")
    assert _found(vault, "Old title") == set()
    assert _found(vault, "nouveau") == {(item, "title")}
    vault.set_transcript(item, [{"start": 0, "end": 1, "text": "first version"}])
    vault.set_transcript(item, [{"start": 0, "end": 1, "text": "second version"}])
    assert _found(vault, "first version") == set()
    assert _found(vault, "second version") == {(item, "transcript")}
