"""The Qt models, checked with pytest-qt's qtmodeltester (Qt's QAbstractItemModelTester) on real records."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.models import (
    OBJECT_ROLE,
    SORT_ROLE,
    CasesModel,
    EventsTableModel,
    ItemRow,
    ItemsTableModel,
    PersonsModel,
    SegmentsTableModel,
)
from tests.ui.conftest import make_png


def test_items_model(qapp, qtmodeltester, vault, tmp_path):
    case = vault.add_case("ตัวอย่าง 案例")
    vault.ingest_file(make_png(tmp_path / "a.png"), case_id=case)
    big = tmp_path / "b.txt"
    big.write_text("x" * 5000, encoding="utf-8")
    vault.ingest_file(big, case_id=case)
    model = ItemsTableModel()
    qtmodeltester.check(model)
    model.set_rows([ItemRow(item, ["Witness A"]) for item in vault.list_items()])
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.columnCount() == len(ItemsTableModel.HEADERS)
    assert model.headerData(ItemsTableModel.COL_KIND, Qt.Orientation.Horizontal) == "Kind"
    row = model.row_of(vault.list_items()[1].id)
    assert model.index(row, ItemsTableModel.COL_SIZE).data() == "4.9 KB"
    assert model.index(row, ItemsTableModel.COL_SIZE).data(SORT_ROLE) == 5000
    assert model.index(row, ItemsTableModel.COL_PEOPLE).data() == "Witness A"
    assert model.index(row, 0).data(OBJECT_ROLE).id == vault.list_items()[1].id


def test_untrusted_titles_are_shown_safely(qapp, qtmodeltester, vault, tmp_path):
    evil = tmp_path / "invoice\u202egpj.exe"
    evil.write_bytes(b"MZ not really")
    vault.ingest_file(evil)
    model = ItemsTableModel()
    model.set_rows([ItemRow(item) for item in vault.list_items()])
    qtmodeltester.check(model)
    shown = model.index(0, ItemsTableModel.COL_TITLE).data()
    assert "\u202e" not in shown


def test_events_cases_persons_models(qapp, qtmodeltester, vault):
    vault.add_case("One")
    person = vault.add_person(name="Real", pseudonym="P1", protected=True, role="survivor")
    vault.add_consent(person, scopes=["court"])
    events = EventsTableModel()
    events.set_events(vault.events())
    qtmodeltester.check(events)
    assert events.index(0, EventsTableModel.COL_ACTION).data() == "Created this vault"  # words, not vault_created
    assert events.index(0, EventsTableModel.COL_ACTION).data(Qt.ItemDataRole.ToolTipRole) == "vault_created"
    cases = CasesModel()
    cases.set_cases(vault.list_cases())
    qtmodeltester.check(cases)
    assert cases.rowCount() == 2 and cases.case_id(0) is None and cases.index(1).data() == "One"
    persons = PersonsModel()
    persons.set_persons(vault.list_persons())
    qtmodeltester.check(persons)
    assert persons.index(0).data() == "P1 (survivor)"


def test_segments_model_is_editable(qapp, qtmodeltester, vault):
    model = SegmentsTableModel()
    qtmodeltester.check(model)
    model.insert_segment(10.0, speaker="B", text="later")
    model.insert_segment(2.5, speaker="A", text="ឧទាហរណ៍")
    qtmodeltester.check(model)
    assert [s["start"] for s in model.segments()] == [2.5, 10.0]
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(model.index(0, SegmentsTableModel.COL_START), "00:03.0")
    assert model.index(0, SegmentsTableModel.COL_START).data() == "00:03.0"
    assert model.dirty
    model.remove_segment(1)
    assert model.rowCount() == 1
