"""``persons_for_case``: everyone linked to an item of a case, in one query (real SQLCipher vault)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.vault_gate import GatedVault, VaultBusy, begin_job, end_job
from tests.vault.vaultkit import fast_vault


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _item(vault, tmp_path: Path, name: str, case: int | None) -> int:
    path = tmp_path / f"{name}.txt"
    path.write_text(name, encoding="utf-8")
    return vault.ingest_file(path, case_id=case, kind="document").item_id


def test_persons_for_case_lists_each_linked_person_once_and_nobody_else(vault, tmp_path: Path) -> None:
    boat, farm = vault.add_case("Boat"), vault.add_case("Farm")
    a, b = _item(vault, tmp_path, "a", boat), _item(vault, tmp_path, "b", boat)
    c, loose = _item(vault, tmp_path, "c", farm), _item(vault, tmp_path, "loose", None)
    captain = vault.add_person(name="Captain Lo", role="perpetrator")
    survivor = vault.add_person(name="Sok Chantha", role="survivor", protected=True)
    farmer = vault.add_person(name="Farmer Ko", role="witness")
    vault.add_person(name="Nobody Linked", role="other")
    vault.link(a, captain)
    vault.link(b, captain)  # twice in the case: listed once
    vault.link(b, survivor)
    vault.link(c, farmer)
    vault.link(loose, farmer)

    boat_people = vault.persons_for_case(boat)
    assert [p.id for p in boat_people] == [captain, survivor]
    assert boat_people[1].protected and boat_people[0].name == "Captain Lo"
    assert [p.id for p in vault.persons_for_case(farm)] == [farmer]
    assert vault.persons_for_case(9999) == []
    # the same answer as asking item by item, which it replaces
    by_items = {p.id for item in vault.list_items(boat) for p in vault.persons_for_item(item.id)}
    assert {p.id for p in boat_people} == by_items

    gate = GatedVault(vault)
    assert gate.persons_for_case(boat) == boat_people
    token = begin_job(gate, "importing")
    try:
        with pytest.raises(VaultBusy):
            gate.persons_for_case(boat)  # the UI thread is kept off the vault during a long job
    finally:
        end_job(gate, token)
