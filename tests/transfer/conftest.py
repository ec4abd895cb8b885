"""Fixtures of the transfer tests: a real SQLCipher field vault with real media, and a headquarters key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.transfer.identity import HqIdentity, generate_hq_identity
from app.vault.vault import Vault
from tests.conftest import shared_data_path
from tests.vault.vaultkit import new_vault, speed_up


@pytest.fixture(autouse=True)
def _fast_vaults(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


@dataclass
class Field:
    vault: Vault
    case_id: int
    item_ids: list[int]
    other_case: int
    other_item: int
    person_id: int
    folder: Path


@pytest.fixture
def hq() -> HqIdentity:
    return generate_hq_identity("hq.example.org")


@pytest.fixture
def field(tmp_path: Path) -> Iterator[Field]:
    vault = new_vault(tmp_path, "field.vault")
    try:
        case_id = vault.add_case("Compound K")
        other_case = vault.add_case("Another case")
        photo = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
        audio = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.wav")
        items = [vault.ingest_file(photo, case_id=case_id).item_id,
                 vault.ingest_file(audio, case_id=case_id).item_id]
        blob = tmp_path / "statement.txt"
        blob.write_bytes("Déclaration du témoin — 证人陈述\n".encode() * 50)
        items.append(vault.ingest_file(blob, case_id=case_id).item_id)
        other = tmp_path / "other.txt"
        other.write_text("another case\n")
        other_item = vault.ingest_file(other, case_id=other_case).item_id
        person = vault.add_person(name="Nguyễn Văn An", pseudonym="Witness A", role="survivor", protected=True)
        vault.link(items[0], person)
        vault.add_consent(person, scopes="court,un")
        vault.checkpoint()
        vault.add_note(items[1], "recorded in the shelter")
        vault.checkpoint()
        yield Field(vault, case_id, items, other_case, other_item, person, tmp_path)
    finally:
        vault.close()
