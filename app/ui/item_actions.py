"""The main window's item list filter and item actions: edit details (F2, context menu), hide a mistaken import, and
ask which case an import from "All items" belongs to.  A mixin of MainWindow (app/ui/main_window.py),
kept apart so each file stays readable; it uses the window's vault, views and status bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMainWindow, QMenu, QMessageBox, QTableView

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.item_editor import ItemEditDialog
from app.ui.models import OBJECT_ROLE, SORT_ROLE, item_hidden
from app.ui.safe_text import plain
from app.vault.models import Item
from app.vault.service import VaultService

if TYPE_CHECKING:
    from app.ui.details import DetailsPanel


class ItemFilter(QSortFilterProxyModel):
    """Kind filter plus an optional set of item ids (the search hits)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind: str | None = None
        self.ids: set[int] | None = None
        self.show_hidden = False
        self.setSortRole(SORT_ROLE)

    def set_criteria(self, *, kind: str | None, ids: set[int] | None) -> None:
        self.kind = kind
        self.ids = ids
        self.invalidate()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        item = self.sourceModel().index(row, 0, parent).data(OBJECT_ROLE)
        if item is None:
            return False
        if self.kind and item.kind != self.kind:
            return False
        if not self.show_hidden and item_hidden(item):
            return False
        return self.ids is None or item.id in self.ids

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        """Whatever the column, a derived (redacted) copy sorts as its original and comes right after it."""
        model = self.sourceModel()
        groups = []
        for index in (left, right):
            item = index.data(OBJECT_ROLE)
            row = index.row()
            if item is not None and item.derived_from is not None and hasattr(model, "row_of"):
                original_row = model.row_of(item.derived_from)
                row = original_row if original_row >= 0 else row
            groups.append((row, model.index(row, index.column()).data(SORT_ROLE), item))
        (left_row, left_value, left_item), (right_row, right_value, right_item) = groups
        if left_row != right_row:
            if left_value != right_value:
                try:
                    return bool(left_value < right_value)
                except TypeError:
                    return str(left_value) < str(right_value)
            return left_row < right_row
        # The same group: the original first, then its copies, in either sort order.
        left_first = (left_item.derived_from is not None, left_item.id) < (right_item.derived_from is not None,
                                                                          right_item.id)
        return left_first if self.sortOrder() == Qt.SortOrder.AscendingOrder else not left_first


class ItemActions(QMainWindow):
    """The base of MainWindow, which provides what is declared here."""

    vault: VaultService | None
    items_view: QTableView
    items_proxy: ItemFilter
    details: DetailsPanel
    edit_item_action: QAction
    current_item: Callable[[], Item | None]
    select_item: Callable[[int], bool]
    refresh_items: Callable[[], None]
    show_error: Callable[[EvidenceVaultError], None]
    new_case: Callable[[], int | None]
    import_paths: Callable[..., Any]
    _item_selected: Callable[[], None]
    open_current: Callable[[], None]
    _redact_current: Callable[[], None]
    case_prompt: QInputDialog | None
    edit_dialog: ItemEditDialog | None

    def _item_menu(self, position: QPoint) -> None:
        item = self.current_item()
        if item is None:
            return
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(icon("fa5s.eye"), self.tr("&Open"), self.open_current)
        menu.addAction(self.edit_item_action)
        menu.addAction(icon("fa5s.user-secret"), self.tr("&Redact…"), self._redact_current)
        menu.addAction(icon("fa5s.user-plus"), self.tr("&Link person…"), self.details.link_person)
        menu.addSeparator()
        hidden = item_hidden(item)
        menu.addAction(icon("fa5s.eye" if hidden else "fa5s.eye-slash"),
                       self.tr("Show in the list again") if hidden else self.tr("&Hide (mistaken import)…"),
                       self.toggle_hidden_current)
        self.item_menu = menu
        menu.popup(self.items_view.viewport().mapToGlobal(position))

    def edit_current(self) -> ItemEditDialog | None:
        item = self.current_item()
        if item is None or self.vault is None:
            return None
        try:
            item = self.vault.get_item(item.id)  # the latest values, not the row's copy
            cases = self.vault.list_cases()
        except EvidenceVaultError as error:
            self.show_error(error)
            return None
        dialog = ItemEditDialog(self.vault, item, cases, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda item_id, fields: self._item_edited(item_id, fields))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _item_edited(self, item_id: int, fields: list[str]) -> None:
        self.edit_dialog = None
        self.refresh_items()
        self.select_item(item_id)
        self._item_selected()
        self.statusBar().showMessage(self.tr("Saved; the change is recorded in the custody log.") if fields
                                     else self.tr("Nothing was changed."), 8000)

    def toggle_hidden_current(self) -> bool | None:
        """Hide a mistaken import (asks first) or show a hidden item again; returns the new state."""
        item = self.current_item()
        if item is None or self.vault is None:
            return None
        hide = not item_hidden(item)
        if hide and self._confirm_hide(item) != QMessageBox.StandardButton.Yes:
            return None
        try:
            self.vault.set_item_hidden(item.id, hide)
        except EvidenceVaultError as error:
            self.show_error(error)
            return None
        self.refresh_items()
        self.statusBar().showMessage(self.tr("Hidden. The original and its custody are kept; View ▸ Show hidden "
                                             "items shows it again.") if hide else self.tr("Shown again."), 10000)
        return hide

    def _confirm_hide(self, item: Item) -> QMessageBox.StandardButton:
        return QMessageBox.question(self, self.tr("Hide item"), self.tr(
            "Hide this item from the list? Nothing is erased: the stored original, its hash and its custody "
            "stay in the vault, and hiding it is itself recorded. Use this for a file imported by mistake."))

    def set_show_hidden(self, show: bool) -> None:
        self.items_proxy.show_hidden = bool(show)
        self.items_proxy.invalidate()

    def _ask_case(self, paths: list[str]) -> None:
        if self.vault is None:  # locked
            return
        try:
            cases = self.vault.list_cases()
        except EvidenceVaultError as error:
            self.show_error(error)
            return
        new_label = self.tr("A new case…")
        labels = [plain(case.title, max_length=120) + f"  (#{case.id})" for case in cases] + [new_label]
        prompt = QInputDialog(self)
        prompt.setWindowTitle(self.tr("Which case?"))
        prompt.setLabelText(self.tr("Which case do these files belong to?"))
        prompt.setComboBoxItems(labels)
        prompt.setComboBoxEditable(False)

        def chosen(label: str) -> None:
            self.case_prompt = None
            if label == new_label:
                case_id = self.new_case()
                if case_id is None:
                    return
            else:
                case_id = cases[labels.index(label)].id
            self.import_paths(paths, case_id=case_id)

        prompt.textValueSelected.connect(chosen)
        prompt.rejected.connect(lambda: setattr(self, "case_prompt", None))
        self.case_prompt = prompt
        prompt.open()
