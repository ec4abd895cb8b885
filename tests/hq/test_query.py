"""`hq search` and `hq list` over real imports: any script, short queries, LIKE metacharacters."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from app.errors import InvalidInput
from app.hq import query
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from tests.hq.fieldkit import field_vault, transfer
from tests.vault.vaultkit import speed_up

TITLES = ("ทหารมาที่หมู่บ้านตอนกลางคืน", "士兵在夜里来到村庄", "ទាហានមកភូមិនៅពេលយប់", "Café 100% sure", "Cafe_plain")


@pytest.fixture(autouse=True)
def _fast_vaults(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


@pytest.fixture
def archive(hq: Headquarters, tmp_path: Path) -> Headquarters:
    vault, case_id = field_vault(tmp_path / "field", texts=TITLES)
    try:
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "p.evt"), actor="a")
    finally:
        vault.close()
    return hq


@pytest.mark.parametrize(("needle", "expected"), [
    ("หมู่บ้าน", TITLES[0]), ("村庄", TITLES[1]), ("夜", TITLES[1]), ("ភូមិ", TITLES[2]), ("CAFÉ", TITLES[3]),
])
def test_search_finds_substrings_in_any_script(archive: Headquarters, needle: str, expected: str) -> None:
    assert [hit.item.title for hit in query.search(archive, needle)] == [expected]


def test_search_normalises_and_escapes(archive: Headquarters) -> None:
    decomposed = unicodedata.normalize("NFD", "Café")
    assert [h.item.title for h in query.search(archive, decomposed)] == [TITLES[3]]
    assert [h.item.title for h in query.search(archive, "100%")] == [TITLES[3]]  # % is literal
    assert [h.item.title for h in query.search(archive, "e_p")] == [TITLES[4]]  # _ is literal
    assert query.search(archive, "nowhere in the archive") == []
    with pytest.raises(InvalidInput):
        query.search(archive, "   ")


def test_list_items_and_vaults(archive: Headquarters) -> None:
    items = query.list_items(archive)
    assert [i.title for i in items] == list(TITLES)
    (vault,) = query.list_vaults(archive)
    assert (vault.items, vault.packages, vault.checkpoints_witnessed, vault.forks) == (5, 1, 1, 0)
    assert query.list_items(archive, origin="evidence-vault/0000000000000000") == []
