"""Targeted face redaction in the review screen: leave a chosen face visible, with whose it is and why.

Every face is hidden by default (protected people and bystanders).  A reviewer may select a box and
choose "Keep visible…": a dialog asks whose face it is -- only people who are not protected and are
linked to the item or to its case can be chosen -- the reason (e.g. the lawyer's decision for this
audience) and who decided.  The box turns green and dashed and is not redacted; Apply passes the kept
faces to ``redact_item``, which checks them again and records each one in the custody chain.

In a video the face is named on the frame shown (:class:`KeptMark` with its frame).  The detector's
box stays in the reviewed boxes underneath: the core follows the face through its shot, leaves it
visible only where tracking is sure, and draws every box the reviewer drew or changed even over it
(``app.redact.kept_video.merge_reviewed``).  Deleting a kept box on a video hides the face again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from app.redact.faces import Box
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


@dataclass
class KeptMark:
    """A reviewer's decision to leave one face visible (the ``tag`` of its box in the editor).

    ``frame`` is the video frame it was named on (None on a photo); ``source`` the frame's box it
    was made from, which stays among that frame's reviewed boxes (None for a box just drawn: a box of
    the reviewer's own stays drawn, the detector's is dropped by the core where the face is shown);
    ``box`` where the reviewer says the face is."""

    person_id: int
    reason: str
    decided_by: str
    label: str
    frame: int | None = None
    box: Box | None = None
    source: Box | None = None

    def kept_face(self, box: Box) -> KeptFace:
        return KeptFace(box, self.person_id, self.reason, self.decided_by, self.frame)


def candidate_persons(vault: VaultService, item: Item) -> list[Person]:
    """People whose face may be kept visible on ``item``: linked to it or to its case, never protected.

    Two queries, however many items the case holds (``persons_for_case``)."""
    found: dict[int, Person] = {p.id: p for p in vault.persons_for_item(item.id)}
    if item.case_id is not None:
        for person in vault.persons_for_case(item.case_id):
            found.setdefault(person.id, person)
    return sorted((p for p in found.values() if not p.protected), key=lambda p: p.id)


def kept_summary(params: dict[str, Any], labels: dict[int, str]) -> str:
    """What became of each face kept on a video, from the derivation's record (empty for photos)."""
    sentences = []
    for entry in params.get("kept_faces") or []:
        if "visible_frame_count" not in entry:
            continue
        name = labels.get(int(entry.get("person_id") or 0), f"person {entry.get('person_id')}")
        sentences.append(f"The face of {name} (named on frame {entry.get('frame')}) is left visible on "
                         f"{entry['visible_frame_count']} of {params.get('frames', '?')} frames; where tracking "
                         "was not sure of it, it stays covered and is flagged for review.")
    return " ".join(sentences)


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
    """The "Keep visible…" action of the review: turns the selected box into a kept face.

    ``frame`` gives the video frame shown (None for a photo); a video's decisions live in
    :attr:`marks`, since the editor only ever holds the boxes of one frame."""

    def __init__(self, vault: VaultService, item: Item | None, editor: BoxEditorView, status: QLabel,
                 parent: QWidget, frame: Callable[[], int] | None = None) -> None:
        self.vault, self.item, self.editor, self.status, self.parent = vault, item, editor, status, parent
        self.frame = frame
        self.marks: list[KeptMark] = []  # a video's kept faces, over all frames
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
        mark = target.tag if target.kind == "kept" and isinstance(target.tag, KeptMark) else None
        if mark is not None:  # a new decision for a face already kept
            mark.person_id, mark.reason, mark.decided_by, mark.label = person_id, reason, decided_by, label
        else:
            frame = self.frame() if self.frame is not None else None
            # a video frame's box carries itself as tag (redaction_video): it stays among the reviewed boxes
            source = target.tag if isinstance(target.tag, Box) else None
            mark = KeptMark(person_id, reason, decided_by, label, frame, target.box(), source)
            if frame is not None:
                self.marks.append(mark)
        target.tag = mark
        target.set_kind("kept")
        self.editor.boxesChanged.emit()
        if mark.frame is None:
            text = self.parent.tr("The face of %1 will be left visible (green, dashed). Every other face is hidden.")
        else:
            text = self.parent.tr("The face of %1 (named on frame %2) will stay visible through its shot where "
                                  "tracking is sure of it (green, dashed); all else stays hidden.")
            text = text.replace("%2", str(mark.frame))
        self.status.setText(text.replace("%1", label))

    def marks_on(self, frame: int) -> list[KeptMark]:
        return [mark for mark in self.marks if mark.frame == frame]

    def drop(self, mark: KeptMark) -> None:
        """Forget a video's kept face (its box was deleted): the face is hidden again."""
        self.marks = [m for m in self.marks if m is not mark]

    def labels(self) -> dict[int, str]:
        """How each kept person is named on screen, by person id."""
        marks = self.marks + [i.tag for i in self.editor.kept_items() if isinstance(i.tag, KeptMark)]
        return {mark.person_id: mark.label for mark in marks}

    def kept_faces(self) -> list[KeptFace]:
        """The decisions to pass to ``redact_item(keep_faces=…)``."""
        if self.frame is not None:
            return [mark.kept_face(mark.box) for mark in self.marks if mark.box is not None]
        return [item.tag.kept_face(item.box()) for item in self.editor.kept_items() if isinstance(item.tag, KeptMark)]
