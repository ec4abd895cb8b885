"""People and consent: survivors, witnesses and others; what each has consented to.

Real names are shown only here (lists elsewhere show a protected person's pseudonym).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError, InvalidInput
from app.ui.icons import icon
from app.ui.models import OBJECT_ROLE, PersonsModel
from app.ui.safe_text import plain
from app.vault.models import Person
from app.vault.service import VaultService

PERSON_ROLES = ("survivor", "witness", "interviewer", "perpetrator", "other")
CONSENT_SCOPES = ("court", "un", "ngo", "media")


class PersonsDialog(QDialog):
    changed = Signal()

    def __init__(self, vault: VaultService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.setWindowTitle(self.tr("People and consent"))
        self.setWindowIcon(icon("fa5s.users"))
        self.model = PersonsModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setAccessibleName(self.tr("People"))
        self.list.selectionModel().currentChanged.connect(lambda *_: self._show_selected())
        new_button = QPushButton(icon("fa5s.user-plus"), self.tr("&New person"))
        new_button.clicked.connect(self.new_person)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(new_button)

        person_box = QGroupBox(self.tr("Person"))
        form = QFormLayout(person_box)
        self.name_edit = QLineEdit()
        form.addRow(self.tr("Real &name:"), self.name_edit)
        self.aliases_edit = QLineEdit()
        self.aliases_edit.setPlaceholderText(self.tr("Other names, separated by commas"))
        form.addRow(self.tr("&Aliases:"), self.aliases_edit)
        self.pseudonym_edit = QLineEdit()
        self.pseudonym_edit.setPlaceholderText(self.tr("Used instead of the real name in exports"))
        form.addRow(self.tr("&Pseudonym:"), self.pseudonym_edit)
        self.role_combo = QComboBox()
        for role in PERSON_ROLES:
            self.role_combo.addItem(self.tr(role), role)
        form.addRow(self.tr("&Role:"), self.role_combo)
        self.protected_check = QCheckBox(self.tr("Protected: never show or export the real name"))
        form.addRow("", self.protected_check)
        self.save_button = QPushButton(icon("fa5s.save"), self.tr("&Save person"))
        self.save_button.clicked.connect(self.save_person)
        form.addRow("", self.save_button)

        consent_box = QGroupBox(self.tr("Consent"))
        consent_form = QFormLayout(consent_box)
        self.current_consent = QLabel()
        self.current_consent.setTextFormat(Qt.TextFormat.PlainText)
        self.current_consent.setWordWrap(True)
        consent_form.addRow(self.tr("Now:"), self.current_consent)
        scope_row = QHBoxLayout()
        self.scope_checks: dict[str, QCheckBox] = {}
        scope_labels = {"court": self.tr("Court"), "un": self.tr("UN mechanism"), "ngo": self.tr("NGO"),
                        "media": self.tr("Media")}
        for scope in CONSENT_SCOPES:
            check = QCheckBox(scope_labels[scope])
            self.scope_checks[scope] = check
            scope_row.addWidget(check)
        consent_form.addRow(self.tr("May be shown to:"), scope_row)
        self.consent_date = QDateEdit(QDate.currentDate())
        self.consent_date.setCalendarPopup(True)
        self.consent_date.setDisplayFormat("yyyy-MM-dd")
        consent_form.addRow(self.tr("&Date:"), self.consent_date)
        self.taken_by_edit = QLineEdit()
        consent_form.addRow(self.tr("&Taken by:"), self.taken_by_edit)
        self.record_combo = QComboBox()
        consent_form.addRow(self.tr("Consent &recording:"), self.record_combo)
        consent_buttons = QHBoxLayout()
        self.record_consent_button = QPushButton(icon("fa5s.check"), self.tr("Record &consent"))
        self.record_consent_button.clicked.connect(self.record_consent)
        self.withdraw_button = QPushButton(icon("fa5s.ban"), self.tr("&Withdraw consent…"))
        self.withdraw_button.clicked.connect(self.withdraw_consent)
        consent_buttons.addWidget(self.record_consent_button)
        consent_buttons.addWidget(self.withdraw_button)
        consent_form.addRow("", consent_buttons)

        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(person_box)
        right_layout.addWidget(consent_box)
        right_layout.addWidget(self.message)
        right_layout.addStretch(1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([220, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.resize(820, 560)
        self.person: Person | None = None
        self.refresh()

    # -- data ------------------------------------------------------------------------------------
    def refresh(self, select_id: int | None = None) -> None:
        try:
            persons = self.vault.list_persons()
            items = self.vault.list_items()
        except EvidenceVaultError as error:
            self._say(error.user_message())
            return
        self.model.set_persons(persons)
        self.record_combo.clear()
        self.record_combo.addItem(self.tr("(none)"), None)
        for item in items:
            if item.kind in ("interview", "audio", "video", "document", "photo"):
                self.record_combo.addItem(f"#{item.id} {plain(item.title or item.original_name, max_length=60)}",
                                          item.id)
        row = next((r for r, p in enumerate(persons) if p.id == select_id), 0 if persons else -1)
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))
        self._show_selected()

    def _show_selected(self) -> None:
        index = self.list.currentIndex()
        self.person = index.data(OBJECT_ROLE) if index.isValid() else None
        person = self.person
        self.name_edit.setText(person.name if person else "")
        self.aliases_edit.setText(", ".join(person.aliases) if person else "")
        self.pseudonym_edit.setText((person.pseudonym or "") if person else "")
        self.role_combo.setCurrentIndex(PERSON_ROLES.index(person.role) if person else 1)
        self.protected_check.setChecked(bool(person and person.protected))
        for widget in (self.record_consent_button, self.withdraw_button):
            widget.setEnabled(person is not None)
        self._show_consent()

    def _show_consent(self) -> None:
        if self.person is None:
            self.current_consent.setText(self.tr("Save the person first."))
            return
        try:
            scopes = self.vault.consent_scopes(self.person.id)
        except EvidenceVaultError as error:
            self._say(error.user_message())
            return
        if scopes:
            names = ", ".join(self.scope_checks[s].text() for s in CONSENT_SCOPES if s in scopes)
            self.current_consent.setText(self.tr("Consent given for: %1").replace("%1", names))
        else:
            self.current_consent.setText(self.tr("No consent recorded (or it was withdrawn): nothing may be shared."))
        for scope, check in self.scope_checks.items():
            check.setChecked(scope in scopes)

    def new_person(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentIndex(self.model.index(-1))
        self.person = None
        self._show_selected()
        self.name_edit.setFocus()

    def _fields(self) -> dict[str, Any]:
        name = self.name_edit.text().strip()
        if not name:
            raise InvalidInput(self.tr("Type the person's name (it stays encrypted in the vault)."))
        aliases = tuple(a.strip() for a in self.aliases_edit.text().split(",") if a.strip())
        pseudonym = self.pseudonym_edit.text().strip() or None
        protected = self.protected_check.isChecked()
        if protected and not pseudonym:
            raise InvalidInput(self.tr("A protected person needs a pseudonym to be shown by."))
        return {"name": name, "aliases": aliases, "pseudonym": pseudonym,
                "role": self.role_combo.currentData(), "protected": protected}

    def save_person(self) -> int | None:
        try:
            fields = self._fields()
            if self.person is None:
                person_id = self.vault.add_person(**fields)
            else:
                person_id = self.person.id
                self.vault.update_person(person_id, **fields)
        except EvidenceVaultError as error:
            self._say(error.user_message())
            return None
        self._say(self.tr("Saved."))
        self.refresh(select_id=person_id)
        self.changed.emit()
        return person_id

    def record_consent(self) -> bool:
        if self.person is None:
            return False
        scopes = frozenset(s for s, check in self.scope_checks.items() if check.isChecked())
        if not scopes:
            self._say(self.tr("Tick at least one place the testimony may be shown, or withdraw consent."))
            return False
        try:
            self.vault.add_consent(
                self.person.id, scopes=scopes, date=self.consent_date.date().toString("yyyy-MM-dd"),
                taken_by=self.taken_by_edit.text().strip() or None, record_item_id=self.record_combo.currentData())
        except EvidenceVaultError as error:
            self._say(error.user_message())
            return False
        self._say(self.tr("Consent recorded."))
        self._show_consent()
        self.changed.emit()
        return True

    def withdraw_consent(self, reason: str | None = None) -> bool:
        if self.person is None:
            return False
        if reason is None:
            reason, ok = QInputDialog.getText(self, self.tr("Withdraw consent"),
                                              self.tr("Reason (optional; stays in the vault):"))
            if not ok:
                return False
        try:
            self.vault.withdraw_consent(self.person.id, date=QDate.currentDate().toString("yyyy-MM-dd"),
                                        reason=reason.strip())
        except EvidenceVaultError as error:
            self._say(error.user_message())
            return False
        self._say(self.tr("Consent withdrawn. Nothing about this person may be exported."))
        self._show_consent()
        self.changed.emit()
        return True

    def _say(self, text: str) -> None:
        self.message.setText(text)
