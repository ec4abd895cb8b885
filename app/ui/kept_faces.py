"""Targeted face redaction in the review screen: leave a chosen face visible, with whose it is and why.

Every face is hidden by default (protected people and bystanders).  A reviewer may select a box and
choose "Keep visible…": a dialog asks whose face it is -- only people who are not protected and are
linked to the item or to its case can be chosen -- the reason (e.g. the lawyer's decision for this
audience) and who decided.  The box turns green and dashed and is not redacted; Apply passes the kept
faces to ``redact_item``, which checks them again and records each one in the custody chain.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.redact.kept import KeptFace
from app.ui.box_editor import (
    DETECTED_COLOUR,
    KEPT_COLOUR,
    RESIDUAL_COLOUR,
    REVIEWER_COLOUR,
    BoxEditorView,
    BoxItem,
)
from app.ui.safe_text import plain
from app.vault.models import Item, Person
from app.vault.service import VaultService

MAX_CASE_ITEMS = 2000  # people linked to more items of the case than this are looked up on the item only


def candidate_persons(vault: VaultService, item: Item) -> list[Person]:
    """People whose face may be kept visible on ``item``: linked to it or to its case, never protected."""
    found: dict[int, Person] = {p.id: p for p in vault.persons_for_item(item.id)}
    if item.case_id is not None:
        for other in vault.list_items(item.case_id)[:MAX_CASE_ITEMS]:
            for person in vault.persons_for_item(other.id):
                found.setdefault(person.id, person)
    return sorted((p for p in found.values() if not p.protected), key=lambda p: p.id)


def person_label(person: Person) -> str:
    """How a person is named in the review screen: pseudonym first, then name, and role."""
    name = person.pseudonym or person.name
    return plain(f"{name} ({person.role})", max_length=120)


def legend_text() -> str:
    """The colour legend of the boxes, as rich text with coloured squares."""
    entries = [(DETECTED_COLOUR, "found by the detector"), (REVIEWER_COLOUR, "drawn or changed by you"),
               (KEPT_COLOUR, "kept visible (dashed, not hidden)"), (RESIDUAL_COLOUR, "still visible after redacting")]
    return " &nbsp; ".join(f"<span style='color:{colour.name()}'>■</span> {text}" for colour, text in entries)


class KeepVisibleDialog(QDialog):
    """Whose face is kept visible, why, and who decided.  OK is enabled only when all three are given."""

    def __init__(self, persons: list[Person], decided_by: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keep this face visible"))
        self.person_combo = QComboBox()
        self.person_combo.setAccessibleName(self.tr("Whose face"))
        for person in persons:
            self.person_combo.addItem(person_label(person), person.id)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setAccessibleName(self.tr("Reason"))
        self.reason_edit.setPlaceholderText(self.tr("e.g. identification of the accused, decided with counsel "
                                                    "for the court copy"))
        self.reason_edit.setFixedHeight(70)
        self.decided_edit = QLineEdit(decided_by)
        self.decided_edit.setAccessibleName(self.tr("Decided by"))
        explanation = QLabel(self.tr(
            "This face will not be hidden in the redacted copy. Only people who are not protected can be chosen. "
            "The decision, its reason and who made it are recorded in the custody log and the redaction log."))
        explanation.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(explanation)
        if not persons:
            none = QLabel(self.tr("No person who is not protected is linked to this item or its case. Link the "
                                  "person first (People), then try again."))
            none.setWordWrap(True)
            form.addRow(none)
        form.addRow(self.tr("Whose face:"), self.person_combo)
        form.addRow(self.tr("Reason:"), self.reason_edit)
        form.addRow(self.tr("Decided by:"), self.decided_edit)
        form.addRow(self.buttons)
        self.reason_edit.textChanged.connect(self._update_ok)
        self.decided_edit.textChanged.connect(self._update_ok)
        self._update_ok()

    def _update_ok(self) -> None:
        ready = (self.person_combo.currentData() is not None and bool(self.reason_edit.toPlainText().strip())
                 and bool(self.decided_edit.text().strip()))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)

    def decision(self) -> tuple[int, str, str]:
        """(person id, reason, decided by) as entered."""
        return (int(self.person_combo.currentData()), self.reason_edit.toPlainText().strip(),
                self.decided_edit.text().strip())


class KeptFacesControl:
    """The "Keep visible…" action of a photo's review: turns the selected box into a kept face."""

    def __init__(self, vault: VaultService, item: Item | None, editor: BoxEditorView, status: QLabel,
                 parent: QWidget) -> None:
        self.vault, self.item, self.editor, self.status, self.parent = vault, item, editor, status, parent
        self.dialog: KeepVisibleDialog | None = None
        self._target: BoxItem | None = None

    def default_decider(self) -> str:
        try:
            profile = self.vault.actor_profile()
        except EvidenceVaultError:
            return ""
        return f"{profile.name} ({profile.role})" if profile.role else profile.name

    def ask(self) -> KeepVisibleDialog | None:
        """Open the dialog for the selected box (shown, not blocking); None when no single box is selected."""
        selected = [i for i in self.editor.selected_items() if i.kind in ("detected", "reviewer", "kept")]
        if len(selected) != 1 or self.item is None:
            self.status.setText(self.parent.tr("Select the one box around the face to keep visible, then choose "
                                               "Keep visible again."))
            return None
        self._target = selected[0]
        try:
            persons = candidate_persons(self.vault, self.item)
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())
            return None
        self.dialog = KeepVisibleDialog(persons, self.default_decider(), self.parent)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.accepted.connect(self._accepted)
        self.dialog.open()
        return self.dialog

    def _accepted(self) -> None:
        if self.dialog is None or self._target is None:
            return
        person_id, reason, decided_by = self.dialog.decision()
        label = self.dialog.person_combo.currentText()
        self.dialog = None
        target, self._target = self._target, None
        target.tag = (person_id, reason, decided_by)
        target.set_kind("kept")
        self.editor.boxesChanged.emit()
        self.status.setText(self.parent.tr("The face of %1 will be left visible (green, dashed). Every other face "
                                           "is hidden.").replace("%1", label))

    def kept_faces(self) -> list[KeptFace]:
        """The decisions to pass to ``redact_item(keep_faces=…)``."""
        kept = []
        for item in self.editor.kept_items():
            person_id, reason, decided_by = _decision(item.tag)
            kept.append(KeptFace(item.box(), person_id, reason, decided_by))
        return kept


def _decision(tag: Any) -> tuple[int | None, str, str]:
    if isinstance(tag, tuple) and len(tag) == 3:
        return tag[0], str(tag[1]), str(tag[2])
    return None, "", ""  # redact_item refuses it with a sentence saying what to give
