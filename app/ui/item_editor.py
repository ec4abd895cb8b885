"""Edit what an investigator knows about an item: title, description, place, source, capture time,
tags and case.  Saving calls ``Vault.edit_item`` once; the vault records one custody event naming
the changed fields (never their text).  A refused value keeps the dialog open with everything typed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError, InvalidInput
from app.ui.safe_text import plain
from app.vault.models import Case, Item
from app.vault.service import VaultService


class ItemEditDialog(QDialog):
    """Emits ``saved(item_id, changed_fields)`` after a successful save."""

    saved = Signal(int, list)

    def __init__(self, vault: VaultService, item: Item, cases: list[Case], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.item = item
        self.setWindowTitle(self.tr("Edit item details"))
        self.title_edit = QLineEdit(item.title or "")
        self.description_edit = QPlainTextEdit(item.description or "")
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setMinimumHeight(60)
        self.description_edit.setMaximumHeight(150)
        self.place_edit = QLineEdit(item.place or "")
        self.source_edit = QLineEdit(item.source or "")
        self.source_edit.setPlaceholderText(self.tr("Who gave it, or how it was obtained"))
        self.captured_edit = QLineEdit(item.captured_at or "")
        self.captured_edit.setPlaceholderText(self.tr("2026-11-20 14:05 +07:00"))
        self.captured_edit.setToolTip(self.tr(
            "A date, or a date and time. Add the time zone (+07:00, or Z for UTC) when you know it; "
            "without one the time is the camera's local time."))
        self.tags_edit = QLineEdit(", ".join(item.tags or ()))
        self.tags_edit.setPlaceholderText(self.tr("Comma-separated, e.g. checkpoint, soldiers"))
        self.case_combo = QComboBox()
        self.case_combo.addItem(self.tr("(no case)"), None)
        for case in cases:
            self.case_combo.addItem(plain(case.title, max_length=120), case.id)
        self.case_combo.setCurrentIndex(max(0, self.case_combo.findData(item.case_id)))

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.tr("&Title:"), self.title_edit)
        form.addRow(self.tr("&Description:"), self.description_edit)
        form.addRow(self.tr("&Place:"), self.place_edit)
        form.addRow(self.tr("&Source:"), self.source_edit)
        form.addRow(self.tr("&Captured:"), self.captured_edit)
        form.addRow(self.tr("T&ags:"), self.tags_edit)
        form.addRow(self.tr("Cas&e:"), self.case_combo)
        note = QLabel(self.tr(
            "Each change is recorded in the custody log (which fields changed, by whom and when). "
            "The stored file itself never changes."))
        note.setWordWrap(True)
        form.addRow(note)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setStyleSheet("color: #b00020;")
        form.addRow(self.message)
        body = QWidget()
        body.setLayout(form)
        scroll = QScrollArea()  # long descriptions and big fonts still fit a laptop screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self.resize(580, 500)
        self._initial = self._values()

    def fields(self) -> dict[str, Any]:
        """The fields the investigator touched: an untouched value is never re-parsed (a capture time
        written by a camera in another form must not block saving the title)."""
        return {key: value for key, value in self._values().items() if value != self._initial[key]}

    def _values(self) -> dict[str, Any]:
        return {
            "title": self.title_edit.text(),
            "description": self.description_edit.toPlainText(),
            "place": self.place_edit.text(),
            "source": self.source_edit.text(),
            "captured_at": self.captured_edit.text(),
            "tags": self.tags_edit.text(),
            "case_id": self.case_combo.currentData(),
        }

    def save(self) -> list[str] | None:
        """Write the changes; None (and a message in the dialog) when the vault refused them."""
        if not self.title_edit.text().strip():
            self.message.setText(InvalidInput(self.tr("Give the item a title.")).user_message())
            self.title_edit.setFocus()
            return None
        try:
            fields = self.fields()
            changed: list[str] = self.vault.edit_item(self.item.id, **fields) if fields else []
        except EvidenceVaultError as error:
            self.message.setText(error.user_message())
            return None
        self.saved.emit(self.item.id, changed)
        self.accept()
        return changed
