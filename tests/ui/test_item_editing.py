"""Item details edited from the GUI (button, F2, context menu), hiding a mistaken import, the case asked
for an import from "All items", and damaged files marked — all against a real vault."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui.item_editor import ItemEditDialog
from app.ui.models import DAMAGED_MARK, ItemsTableModel
from tests.ui.conftest import make_png, type_text


def _import(window, paths, qtbot, case_id=None):
    worker = window.import_paths([str(p) for p in paths], case_id=case_id)
    assert worker is not None
    with qtbot.waitSignal(worker.signals.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.import_worker is None)
    return window.last_import


def _one_photo(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    summary = _import(window, [make_png(tmp_path / "IMG_0042.png")], qtbot)
    assert window.select_item(summary.stored[0])
    return window, summary.stored[0]


def test_edit_button_saves_every_field_as_one_custody_event(unlocked, tmp_path, qtbot):
    window, item_id = _one_photo(unlocked, tmp_path, qtbot)
    vault = unlocked.vault
    second_case = vault.add_case("Harbour")
    window.refresh_cases()
    window.select_item(item_id)
    assert window.details.edit_button.isEnabled()
    window.details.edit_button.click()
    dialog = window.edit_dialog
    assert isinstance(dialog, ItemEditDialog) and dialog.isVisible()
    dialog.title_edit.clear()
    type_text(qtbot, dialog.title_edit, "ด่านตรวจ — checkpoint")
    dialog.description_edit.setPlainText("Soldiers stop a truck at dawn.")
    dialog.place_edit.setText("Mae Sot")
    dialog.source_edit.setText("Witness phone, handed over on 21 Nov")
    dialog.captured_edit.setText("2026-11-20 05:40 +07:00")
    dialog.tags_edit.setText("checkpoint, soldiers")
    dialog.case_combo.setCurrentIndex(dialog.case_combo.findData(second_case))
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: not dialog.isVisible())

    item = vault.get_item(item_id)
    assert (item.title, item.place, item.captured_at, item.tags, item.case_id) == (
        "ด่านตรวจ — checkpoint", "Mae Sot", "2026-11-20T05:40:00+07:00", ("checkpoint", "soldiers"), second_case)
    assert item.source == "Witness phone, handed over on 21 Nov"
    changes = [e for e in vault.events(item_id) if e.action == "item_changed"]
    assert len(changes) == 1 and "place" in changes[0].details["fields"]
    assert "Mae Sot" not in str(changes[0].details)
    # The details pane shows the new values; the custody tab lists the event.
    window.cases_view.setCurrentIndex(window.cases_model.index(0))  # All items
    assert window.select_item(item_id)
    assert window.details.values["place"].text() == "Mae Sot"
    assert window.details.values["captured"].text().strip("\u2066\u2069") == "2026-11-20 05:40 (UTC+07:00)"
    assert window.details.values["description"].text() == "Soldiers stop a truck at dawn."
    assert "Changed the item's details" in [window.details.events_model.index(r, 3).data()
                              for r in range(window.details.events_model.rowCount())]
    assert vault.verify().ok


def test_refused_value_keeps_the_dialog_and_everything_typed(unlocked, tmp_path, qtbot):
    window, item_id = _one_photo(unlocked, tmp_path, qtbot)
    dialog = window.edit_current()
    assert dialog is not None
    dialog.place_edit.setText("Mae Sot")
    dialog.captured_edit.setText("20/11/2026")
    assert dialog.save() is None
    assert dialog.isVisible() and "not a capture time" in dialog.message.text()
    assert dialog.place_edit.text() == "Mae Sot"
    assert unlocked.vault.get_item(item_id).place is None
    assert not [e for e in unlocked.vault.events(item_id) if e.action == "item_changed"]
    dialog.title_edit.clear()
    assert dialog.save() is None and "title" in dialog.message.text()
    dialog.reject()


def test_f2_and_context_menu_open_the_editor(unlocked, tmp_path, qtbot):
    window, _item_id = _one_photo(unlocked, tmp_path, qtbot)
    assert window.edit_item_action.shortcut() == QKeySequence("F2")
    window.edit_item_action.trigger()
    qtbot.waitUntil(lambda: window.edit_dialog is not None and window.edit_dialog.isVisible())
    window.edit_dialog.reject()
    rect = window.items_view.visualRect(window.items_view.currentIndex())
    window.items_view.customContextMenuRequested.emit(rect.center())
    menu = window.item_menu
    texts = [action.text() for action in menu.actions()]
    assert any("Edit" in text for text in texts) and any("Hide" in text for text in texts)
    menu.close()


def test_hide_filters_the_item_and_keeps_its_custody(unlocked, tmp_path, qtbot, monkeypatch):
    window, item_id = _one_photo(unlocked, tmp_path, qtbot)
    vault = unlocked.vault
    sha = vault.get_item(item_id).sha256
    monkeypatch.setattr(window, "_confirm_hide", lambda _item: QMessageBox.StandardButton.Yes)
    assert window.toggle_hidden_current() is True
    assert window.items_proxy.rowCount() == 0 and window.items_model.rowCount() == 1
    assert "Hidden" in window.statusBar().currentMessage()
    window.show_hidden_action.setChecked(True)
    assert window.items_proxy.rowCount() == 1
    title = window.items_proxy.index(0, ItemsTableModel.COL_TITLE).data()
    assert title.endswith("(hidden)")
    assert window.select_item(item_id)
    assert "Hidden from the list" in window.details.status_label.text()
    assert window.toggle_hidden_current() is False  # shown again; no question asked
    assert vault.get_item(item_id).sha256 == sha
    actions = [e.action for e in vault.events(item_id)]
    assert actions[0] == "item_ingested" and actions.count("item_changed") == 2
    assert vault.verify().ok


def test_import_into_all_items_asks_for_the_case(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    window.cases_view.setCurrentIndex(window.cases_model.index(0))  # "All items"
    assert window.current_case_id() is None
    photo = make_png(tmp_path / "p.png")
    assert window.import_paths([str(photo)]) is None
    prompt = window.case_prompt
    assert prompt is not None and prompt.isVisible()
    assert unlocked.vault.list_items() == []  # nothing stored before the answer
    prompt.setTextValue(prompt.comboBoxItems()[0])  # "Case A  (#1)"
    prompt.accept()
    qtbot.waitUntil(lambda: window.import_worker is None and unlocked.vault.list_items() != [], timeout=30_000)
    assert [item.case_id for item in unlocked.vault.list_items()] == [1]


def test_cancelled_case_question_stores_nothing(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    window.cases_view.setCurrentIndex(window.cases_model.index(0))
    window.import_paths([str(make_png(tmp_path / "p.png"))])
    window.case_prompt.reject()
    assert window.case_prompt is None and window.import_worker is None
    assert unlocked.vault.list_items() == []


def test_damaged_file_is_marked_in_list_details_and_import_warning(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    full = make_png(tmp_path / "full.png", 400, 300)
    cut = tmp_path / "cut_short.png"
    cut.write_bytes(full.read_bytes()[:200])
    summary = _import(window, [cut, make_png(tmp_path / "fine.png")], qtbot)
    assert summary.warnings and all(w.startswith("cut_short.png: ") for w in summary.warnings)
    assert "cut_short.png" in window.import_box.detailedText()
    damaged = unlocked.vault.get_item(summary.stored[0])
    fine = summary.stored[1]
    row = window.items_model.row_of(damaged.id)
    index = window.items_model.index(row, ItemsTableModel.COL_TITLE)
    assert index.data().startswith(DAMAGED_MARK)
    assert "cut_short.png was stored with a warning" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None
    fine_index = window.items_model.index(window.items_model.row_of(fine), ItemsTableModel.COL_TITLE)
    assert not fine_index.data().startswith(DAMAGED_MARK)
    window.select_item(damaged.id)
    assert window.details.status_label.isVisibleTo(window.details)
    assert "cut_short.png was stored with a warning" in window.details.status_label.text()
    window.select_item(fine)
    assert not window.details.status_label.isVisibleTo(window.details)
    window.import_box.close()


def test_details_say_what_is_missing(unlocked, tmp_path: Path, qtbot):
    window, _item_id = _one_photo(unlocked, tmp_path, qtbot)
    assert "no description" in window.details.values["description"].text()
    assert window.details.values["source"].text() == "not recorded"


def test_lock_closes_the_editor_and_the_case_question(unlocked, tmp_path, qtbot):
    window, _item_id = _one_photo(unlocked, tmp_path, qtbot)
    dialog = window.edit_current()
    dialog.place_edit.setText("typed but not saved")
    window.cases_view.setCurrentIndex(window.cases_model.index(0))
    window.import_paths([str(make_png(tmp_path / "q.png"))])
    prompt = window.case_prompt
    assert dialog.isVisible() and prompt.isVisible()
    unlocked.lock()
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert visible == [unlocked.start_window]


def test_untouched_odd_capture_time_does_not_block_other_edits(unlocked, tmp_path, qtbot):
    window, item_id = _one_photo(unlocked, tmp_path, qtbot)
    unlocked.vault.update_item(item_id, captured_at="2008:11:01 21:15:07")  # as some old tools wrote it
    dialog = window.edit_current()
    dialog.title_edit.setText("Renamed")
    assert dialog.save() == ["title"]
    item = unlocked.vault.get_item(item_id)
    assert (item.title, item.captured_at) == ("Renamed", "2008:11:01 21:15:07")
