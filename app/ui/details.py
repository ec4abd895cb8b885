"""The right-hand panel: the selected item's metadata, hashes, linked people, notes and custody."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.models import EventsTableModel, damaged_text, item_damaged, item_hidden, person_label
from app.ui.plain_words import derivation_sentence
from app.ui.safe_text import capture_time_text, human_size, ltr, plain, short_time
from app.vault.models import Item
from app.vault.service import VaultService


def _value_label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setWordWrap(True)
    return label


class DetailsPanel(QWidget):
    """Shows one item.  ``error`` carries failures to the main window (one place shows dialogs)."""

    error = Signal(object)
    open_requested = Signal(int)
    edit_requested = Signal(int)
    changed = Signal()

    FIELDS = ("title", "description", "kind", "case", "captured", "place", "source", "tags", "original", "size",
              "mime", "sha256", "derived", "ingested")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault: VaultService | None = None
        self.item: Item | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_info(), icon("fa5s.info-circle"), self.tr("Details"))
        self.tabs.addTab(self._build_notes(), icon("fa5s.sticky-note"), self.tr("Notes"))
        self.tabs.addTab(self._build_custody(), icon("fa5s.link"), self.tr("Custody"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.show_item(None, None)

    def _build_info(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        self.open_button = QPushButton(icon("fa5s.eye"), self.tr("&Open"))
        self.open_button.clicked.connect(lambda: None if self.item is None else self.open_requested.emit(self.item.id))
        self.edit_button = QPushButton(icon("fa5s.edit"), self.tr("&Edit details…"))
        self.edit_button.setToolTip(self.tr("Change title, description, place, source, time, tags or case (F2)"))
        self.edit_button.clicked.connect(self._edit_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.edit_button)
        outer.addLayout(buttons)
        # Damaged or hidden: said first, in words, so nobody exhibits a truncated file unawares.
        self.status_label = _value_label()
        self.status_label.setStyleSheet("color: #b00020; font-weight: bold;")
        self.status_label.setVisible(False)
        outer.addWidget(self.status_label)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        labels = {
            "title": self.tr("Title"), "description": self.tr("Description"), "tags": self.tr("Tags"),
            "kind": self.tr("Kind"), "case": self.tr("Case"),
            "captured": self.tr("Captured"), "place": self.tr("Place"), "source": self.tr("Source"),
            "original": self.tr("Original name"), "size": self.tr("Size"), "mime": self.tr("Type"),
            "sha256": self.tr("SHA-256"), "derived": self.tr("Derived from"), "ingested": self.tr("Stored"),
        }
        self.values: dict[str, QLabel | QLineEdit] = {}
        for key in self.FIELDS:
            self.values[key] = _value_label()
            if key == "sha256":
                # Too long to wrap; a read-only field scrolls and copies the exact digest.
                digest = QLineEdit()
                digest.setReadOnly(True)
                digest.setFrame(False)
                digest.setStyleSheet("font-family: monospace; background: transparent;")
                digest.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
                self.values[key] = digest
            form.addRow(labels[key] + ":", self.values[key])
        outer.addLayout(form)
        outer.addWidget(QLabel(self.tr("Metadata:")))
        self.metadata = QPlainTextEdit()
        self.metadata.setReadOnly(True)
        self.metadata.setMaximumHeight(120)
        outer.addWidget(self.metadata)
        people_row = QHBoxLayout()
        people_row.addWidget(QLabel(self.tr("People:")))
        people_row.addStretch(1)
        self.link_button = QPushButton(icon("fa5s.user-plus"), self.tr("&Link person…"))
        self.link_button.clicked.connect(self.link_person)
        people_row.addWidget(self.link_button)
        outer.addLayout(people_row)
        self.people = QListWidget()
        self.people.setMaximumHeight(90)
        outer.addWidget(self.people)
        outer.addStretch(1)
        return page

    def _build_notes(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.notes_list = QListWidget()
        self.notes_list.setWordWrap(True)
        layout.addWidget(self.notes_list, 1)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(self.tr("Write a note about this item…"))
        self.note_edit.setMaximumHeight(90)
        layout.addWidget(self.note_edit)
        self.add_note_button = QPushButton(icon("fa5s.plus"), self.tr("Add &note"))
        self.add_note_button.clicked.connect(self.add_note)
        layout.addWidget(self.add_note_button)
        return page

    def _build_custody(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.events_model = EventsTableModel(self)
        self.events_view = QTableView()
        self.events_view.setModel(self.events_model)
        self.events_view.verticalHeader().setVisible(False)
        self.events_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.events_view.horizontalHeader().setStretchLastSection(True)
        self.events_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        layout.addWidget(self.events_view)
        return page

    def _edit_clicked(self) -> None:
        if self.item is not None:
            self.edit_requested.emit(self.item.id)

    # -- content -------------------------------------------------------------------------------
    def set_vault(self, vault: VaultService | None) -> None:
        self.vault = vault
        self.show_item(None, None)

    def show_item(self, item: Item | None, case_title: str | None) -> None:
        self.item = item
        enabled = item is not None
        for widget in (self.open_button, self.edit_button, self.link_button, self.add_note_button, self.note_edit):
            widget.setEnabled(enabled)
        status = []
        if item is not None and item_damaged(item):
            status.append(damaged_text(item))
        if item is not None and item_hidden(item):
            status.append(self.tr("Hidden from the list (View ▸ Show hidden items). Its original and custody "
                                  "are kept."))
        self.status_label.setText("\n".join(status))
        self.status_label.setVisible(bool(status))
        if item is None:
            for label in self.values.values():
                label.clear()
            self.metadata.clear()
            self.people.clear()
            self.notes_list.clear()
            self.events_model.set_events([])
            return
        v = self.values
        v["title"].setText(plain(item.title, max_length=300))
        v["description"].setText(plain(item.description, max_length=3000, keep_newlines=True)
                                 or self.tr("(no description — use Edit details to add one)"))
        v["tags"].setText(", ".join(plain(tag, max_length=60) for tag in (item.tags or ())))
        v["kind"].setText(item.kind)
        v["case"].setText(plain(case_title or "", max_length=200))
        v["captured"].setText(ltr(capture_time_text(item.captured_at)))
        v["place"].setText(plain(item.place, max_length=200))
        v["source"].setText(plain(item.source, max_length=200) or self.tr("not recorded"))
        v["original"].setText(plain(item.original_name, max_length=300))
        v["size"].setText(ltr(f"{human_size(item.size)} ({item.size:,} bytes)"))
        v["mime"].setText(plain(item.mime, max_length=100))
        digest = v["sha256"]
        digest.setText(item.sha256)
        if isinstance(digest, QLineEdit):
            digest.setCursorPosition(0)
        v["derived"].setText(plain(derivation_sentence(item.derived_from, item.derivation), max_length=300))
        v["ingested"].setText(ltr(short_time(item.created_at)))
        self.metadata.setPlainText(plain(json.dumps(item.metadata or {}, ensure_ascii=False, indent=1,
                                                    sort_keys=True, default=str),
                                         max_length=20000, keep_newlines=True))
        self.refresh_related()

    def refresh_related(self) -> None:
        if self.item is None or self.vault is None:
            return
        try:
            people = self.vault.persons_for_item(self.item.id)
            notes = self.vault.notes(self.item.id)
            events = self.vault.events(self.item.id)
        except EvidenceVaultError as error:
            self.error.emit(error)
            return
        self.people.clear()
        for person in people:
            self.people.addItem(f"{person_label(person)} — {person.role}")
        self.notes_list.clear()
        for note in notes:
            author = plain(getattr(note, "author", ""), max_length=80)
            when = short_time(getattr(note, "created_at", ""))
            self.notes_list.addItem(f"{when} {author}\n{plain(note.text, max_length=5000, keep_newlines=True)}")
        self.events_model.set_events(events)

    def add_note(self) -> None:
        text = self.note_edit.toPlainText().strip()
        if not text or self.item is None or self.vault is None:
            return
        try:
            self.vault.add_note(self.item.id, text)
        except EvidenceVaultError as error:
            self.error.emit(error)
            return
        self.note_edit.clear()
        self.refresh_related()

    def link_person(self) -> None:
        if self.item is None or self.vault is None:
            return
        try:
            persons = self.vault.list_persons()
        except EvidenceVaultError as error:
            self.error.emit(error)
            return
        if not persons:
            self.error.emit(EvidenceVaultError(self.tr("Add the person first (Vault ▸ People and consent).")))
            return
        labels = [f"{person_label(p)} ({p.role}) #{p.id}" for p in persons]
        choice, ok = QInputDialog.getItem(self, self.tr("Link a person"), self.tr("Person:"), labels, 0, False)
        if not ok:
            return
        person = persons[labels.index(choice)]
        try:
            self.vault.link(self.item.id, person.id)
        except EvidenceVaultError as error:
            self.error.emit(error)
            return
        self.refresh_related()
        self.changed.emit()
