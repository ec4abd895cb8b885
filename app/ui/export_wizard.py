"""Export wizard: exhibits → audience → redaction level → output → consent → progress → done.

It drives ``app.export.exporter.export`` (the same call as ``evidence-vault export``): a case or
chosen items, an audience (court under seal, UN mechanism, NGO report, media), a level (originals
or redacted), an ERN prefix and an output (a PDF, a bundle folder or a bundle ZIP).  Before
anything is written the consent page shows which exhibits consent keeps in the vault and why
(see :mod:`app.ui.export_pages`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QRegularExpression, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.errors import EvidenceVaultError
from app.ui.export_options import OptionsPage
from app.ui.export_pages import ConsentPage, DonePage, ProgressPage, file_url, folder_of
from app.ui.icons import icon, kind_icon
from app.ui.safe_text import plain
from app.ui.workers import WorkerPool
from app.vault.service import VaultService

AUDIENCES = (
    ("court", "A court, under seal",
     "Full detail for judges. The only audience for which consent can be overridden (with a reason)."),
    ("un", "A UN mechanism", "Investigators of a UN mechanism or commission of inquiry."),
    ("ngo", "An NGO report", "A partner organisation's report; usually redacted."),
    ("media", "The media", "Journalists. Only what people agreed to make public; always redact."),
)
LEVELS = (
    ("redacted", "Redacted",
     "Faces hidden and protected people's names replaced by pseudonyms, everywhere in the dossier. Photos and "
     "videos use their reviewed redacted copy, or are redacted automatically."),
    ("original", "Originals",
     "Exhibits exactly as recorded, with faces and real names. Meant for a court under seal."),
)
FORMATS = (("pdf", "A sealed PDF dossier (.pdf)"), ("folder", "A sealed bundle in a new folder"),
           ("zip", "A sealed bundle as one ZIP file (.zip)"))
ERN_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{0,23}"

_fallback_pool: WorkerPool | None = None


def _pool() -> WorkerPool:
    # Owned by the application, not the wizard: a job finishing after the wizard closed must still
    # find its pool alive.  The main window passes its own pool instead.
    global _fallback_pool
    if _fallback_pool is None:
        _fallback_pool = WorkerPool(QCoreApplication.instance())
    return _fallback_pool


def _radio_group(page: QWizardPage, choices: tuple[tuple[str, ...], ...],
                 layout: QVBoxLayout) -> tuple[QButtonGroup, dict[str, QRadioButton]]:
    group = QButtonGroup(page)
    buttons: dict[str, QRadioButton] = {}
    for value, label, *help_text in choices:
        button = QRadioButton(page.tr(label))
        group.addButton(button)
        buttons[value] = button
        layout.addWidget(button)
        if help_text:
            note = QLabel(page.tr(help_text[0]))
            note.setWordWrap(True)
            note.setStyleSheet("color: #555; margin-left: 24px; margin-bottom: 6px;")
            layout.addWidget(note)
        button.toggled.connect(lambda _on: page.completeChanged.emit())
    return group, buttons


def _checked(buttons: dict[str, QRadioButton]) -> str | None:
    return next((value for value, button in buttons.items() if button.isChecked()), None)


class ItemsPage(QWizardPage):
    def __init__(self, wizard: ExportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(self.tr("What to export"))
        self.setSubTitle(self.tr("A whole case, or items you choose. Redacted copies are never exhibits of "
                                 "their own: choosing one exports its original at the level you pick."))
        self.case_radio = QRadioButton(self.tr("A whole &case:"))
        self.items_radio = QRadioButton(self.tr("Chosen &items:"))
        self.case_combo = QComboBox()
        self.items = QListWidget()
        self.items.setAccessibleName(self.tr("Items to export"))
        self.items.itemChanged.connect(lambda _i: self.completeChanged.emit())
        self.case_radio.toggled.connect(self._mode_changed)
        self.case_combo.currentIndexChanged.connect(lambda _i: self.completeChanged.emit())
        all_button = QPushButton(self.tr("Check all"))
        all_button.clicked.connect(lambda: self._check_all(True))
        none_button = QPushButton(self.tr("Check none"))
        none_button.clicked.connect(lambda: self._check_all(False))
        self.message = QLabel()
        self.message.setWordWrap(True)
        case_row = QHBoxLayout()
        case_row.addWidget(self.case_radio)
        case_row.addWidget(self.case_combo, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(all_button)
        buttons.addWidget(none_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(case_row)
        layout.addWidget(self.items_radio)
        layout.addWidget(self.items, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self._load()

    def _load(self) -> None:
        vault = self._wizard.vault
        try:
            cases = vault.list_cases()
            items = [item for item in vault.list_items() if item.derived_from is None]
        except EvidenceVaultError as error:
            self.message.setText(error.user_message())
            cases, items = [], []
        for case in cases:
            self.case_combo.addItem(f"{case.id}: {plain(case.title, max_length=80)}", case.id)
        for item in items:
            text = f"#{item.id}  {plain(item.title or item.original_name, max_length=100)}  ({item.kind})"
            entry = QListWidgetItem(kind_icon(item.kind), text)
            entry.setData(Qt.ItemDataRole.UserRole, item.id)
            entry.setFlags(entry.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            entry.setCheckState(Qt.CheckState.Unchecked)
            self.items.addItem(entry)
        case_id = self._wizard.initial_case_id
        if case_id is not None and self.case_combo.findData(case_id) >= 0:
            self.case_combo.setCurrentIndex(self.case_combo.findData(case_id))
            self.case_radio.setChecked(True)
        elif cases:
            self.case_radio.setChecked(True)
        else:
            self.items_radio.setChecked(True)
        self._mode_changed()

    def _mode_changed(self, *_args: Any) -> None:
        self.case_combo.setEnabled(self.case_radio.isChecked())
        self.items.setEnabled(self.items_radio.isChecked())
        self.completeChanged.emit()

    def _check_all(self, on: bool) -> None:
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        for row in range(self.items.count()):
            self.items.item(row).setCheckState(state)

    def choose_items(self, item_ids: list[int]) -> None:
        """Select 'chosen items' and check exactly ``item_ids``."""
        self.items_radio.setChecked(True)
        wanted = set(item_ids)
        for row in range(self.items.count()):
            entry = self.items.item(row)
            entry.setCheckState(Qt.CheckState.Checked if entry.data(Qt.ItemDataRole.UserRole) in wanted
                                else Qt.CheckState.Unchecked)

    def choose_case(self, case_id: int) -> None:
        self.case_radio.setChecked(True)
        self.case_combo.setCurrentIndex(self.case_combo.findData(case_id))

    def checked_ids(self) -> list[int]:
        return [self.items.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.items.count())
                if self.items.item(r).checkState() == Qt.CheckState.Checked]

    def isComplete(self) -> bool:
        if self.case_radio.isChecked():
            return self.case_combo.currentData() is not None
        return bool(self.checked_ids())


class AudiencePage(QWizardPage):
    def __init__(self, wizard: ExportWizard) -> None:
        super().__init__()
        self.setTitle(self.tr("Who the dossier is for"))
        self.setSubTitle(self.tr("The audience decides which exhibits consent allows, and is printed on the cover."))
        layout = QVBoxLayout(self)
        self.group, self.buttons = _radio_group(self, AUDIENCES, layout)
        layout.addStretch(1)

    def isComplete(self) -> bool:
        return _checked(self.buttons) is not None


class LevelPage(QWizardPage):
    def __init__(self, wizard: ExportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(self.tr("Redaction level"))
        self.setSubTitle(self.tr("How much of each exhibit the audience will see."))
        layout = QVBoxLayout(self)
        self.group, self.buttons = _radio_group(self, LEVELS, layout)
        self.buttons["redacted"].setChecked(True)  # the safe default
        self.confirm = QCheckBox(self.tr("I understand that this dossier shows faces and real names, and that this "
                                         "audience is allowed to see them."))
        self.confirm.toggled.connect(lambda _on: self.completeChanged.emit())
        self.buttons["original"].toggled.connect(lambda _on: self._update())
        layout.addWidget(self.confirm)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self._update()

    def _update(self) -> None:
        # Originals outside a court under seal need a deliberate confirmation.
        needs = _checked(self.buttons) == "original" and self._wizard.audience != "court"
        self.confirm.setVisible(needs)
        if not needs:
            self.confirm.setChecked(False)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        level = _checked(self.buttons)
        if level is None:
            return False
        return level == "redacted" or self._wizard.audience == "court" or self.confirm.isChecked()


class OutputPage(QWizardPage):
    def __init__(self, wizard: ExportWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(self.tr("Where to write it"))
        self.setSubTitle(self.tr("An export never overwrites anything: choose a new file or folder name."))
        self.ern = QLineEdit("EV")
        self.ern.setValidator(QRegularExpressionValidator(QRegularExpression(ERN_PATTERN), self))
        self.ern.setToolTip(self.tr("Printed on every page with a number: EV-000001, EV-000002…"))
        self.ern.textChanged.connect(lambda _t: self.completeChanged.emit())
        formats = QVBoxLayout()
        self.format_group = QButtonGroup(self)
        self.format_buttons: dict[str, QRadioButton] = {}
        for value, label in FORMATS:
            button = QRadioButton(self.tr(label))
            self.format_group.addButton(button)
            self.format_buttons[value] = button
            formats.addWidget(button)
            button.toggled.connect(lambda _on: self.completeChanged.emit())
        self.path = QLineEdit()
        self.path.setPlaceholderText(self.tr("Choose where to save…"))
        self.path.textChanged.connect(lambda _t: self.completeChanged.emit())
        browse = QPushButton(icon("fa5s.folder-open"), self.tr("&Browse…"))
        browse.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b71c1c;")
        form = QFormLayout(self)
        form.addRow(self.tr("ERN prefix:"), self.ern)
        self.ern_help = QLabel(self.tr(
            "ERN means evidence registration number: this short code and a page number are printed on every "
            "page (EV-000001, EV-000002…) so that a court or UN mechanism can cite any page exactly. Use the "
            "code the receiving court or mechanism gave you, or your own case code."))
        self.ern_help.setWordWrap(True)
        form.addRow("", self.ern_help)
        format_box = QWidget()
        format_box.setLayout(formats)
        form.addRow(self.tr("Format:"), format_box)
        form.addRow(self.tr("Save as:"), path_row)
        form.addRow(self.problem)
        self.format_buttons["pdf"].setChecked(True)

    @property
    def format(self) -> str:
        return _checked(self.format_buttons) or "pdf"

    def browse(self) -> None:
        if self.format == "folder":
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Name of the new bundle folder"))
        elif self.format == "zip":
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the bundle as"), "", self.tr("ZIP (*.zip)"))
            if path and not path.lower().endswith(".zip"):
                path += ".zip"
        else:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the dossier as"), "", self.tr("PDF (*.pdf)"))
            if path and not path.lower().endswith(".pdf"):
                path += ".pdf"
        if path:
            self.path.setText(path)

    def path_problem(self) -> str | None:
        """Why the chosen output cannot be used, in plain words (None when it can)."""
        if not re.fullmatch(ERN_PATTERN, self.ern.text()):
            return self.tr("The ERN prefix must be 1 to 24 letters, digits or dashes, like EV or ICC-01.")
        text = self.path.text().strip()
        if not text:
            return ""
        path = Path(text).expanduser()
        if not path.is_absolute():
            return self.tr("Give the full path, or use Browse.")
        if os.path.lexists(path):
            return self.tr("That name already exists. Choose a new name; an export never overwrites anything.")
        if not path.parent.is_dir():
            return self.tr("The folder it would go in does not exist.")
        suffix = path.suffix.lower()
        if self.format == "pdf" and suffix != ".pdf":
            return self.tr("A dossier file name must end in .pdf.")
        if self.format == "zip" and suffix != ".zip":
            return self.tr("A ZIP bundle's name must end in .zip.")
        return None

    def isComplete(self) -> bool:
        problem = self.path_problem()
        self.problem.setText(problem or "")
        return problem is None


class ExportWizard(QWizard):
    """Export a case or chosen items as a sealed dossier or bundle.

    Signals: ``consentChecked(ConsentReport)``, ``exportFinished(ExportResult)``,
    ``exportFailed(EvidenceVaultError)``, ``folderOpened(QUrl)``.
    """

    consentChecked = Signal(object)
    exportFinished = Signal(object)
    exportFailed = Signal(object)
    folderOpened = Signal(QUrl)
    reviewRequested = Signal(int)

    def __init__(self, vault: VaultService, parent: QWidget | None = None, case_id: int | None = None, *,
                 pool: WorkerPool | None = None, open_url: Callable[[QUrl], Any] | None = None,
                 open_review: Callable[[int], Any] | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self._open_review = open_review
        self.pool = pool or _pool()
        self.initial_case_id = case_id
        self.open_url = open_url or QDesktopServices.openUrl
        self.opened_url: QUrl | None = None
        self.setWindowTitle(self.tr("Export a dossier"))
        self.setWindowIcon(icon("fa5s.file-export"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.items_page = ItemsPage(self)
        self.audience_page = AudiencePage(self)
        self.level_page = LevelPage(self)
        self.output_page = OutputPage(self)
        self.options_page = OptionsPage(self)
        self.consent_page = ConsentPage(self)
        self.progress_page = ProgressPage(self)
        self.done_page = DonePage(self)
        for page in (self.items_page, self.audience_page, self.level_page, self.output_page, self.options_page,
                     self.consent_page, self.progress_page, self.done_page):
            self.addPage(page)
        self.resize(760, 600)

    # -- the choices, as export() takes them --------------------------------------------------------
    @property
    def case_choice(self) -> int | None:
        return self.items_page.case_combo.currentData() if self.items_page.case_radio.isChecked() else None

    @property
    def item_choice(self) -> list[int] | None:
        return None if self.items_page.case_radio.isChecked() else self.items_page.checked_ids()

    @property
    def audience(self) -> str | None:
        return _checked(self.audience_page.buttons)

    @property
    def level(self) -> str | None:
        return _checked(self.level_page.buttons)

    @property
    def ern_prefix(self) -> str:
        return self.output_page.ern.text()

    @property
    def output_path(self) -> Path:
        return Path(self.output_page.path.text().strip()).expanduser()

    @property
    def bundle(self) -> bool:
        return self.output_page.format != "pdf"

    def set_choice(self, *, audience: str | None = None, level: str | None = None, fmt: str | None = None) -> None:
        """Programmatic choices (tests, or a caller that already knows them)."""
        if audience is not None:
            self.audience_page.buttons[audience].setChecked(True)
        if level is not None:
            self.level_page.buttons[level].setChecked(True)
        if fmt is not None:
            self.output_page.format_buttons[fmt].setChecked(True)

    @property
    def actor_name(self) -> str:
        """The name the vault was unlocked with: proposed as who accepts automatic redaction."""
        try:
            return str(getattr(self.vault, "actor", "") or "")
        except EvidenceVaultError:
            return ""

    def open_review(self, item_id: int) -> Any:
        """Redaction review of ``item_id`` (the caller's own, or a review window of the wizard's)."""
        self.reviewRequested.emit(item_id)
        if self._open_review is not None:
            return self._open_review(item_id)
        from app.ui.redaction_review import RedactionReviewDialog

        dialog = RedactionReviewDialog(self.vault, item_id, self, pool=self.pool)
        dialog.show()
        return dialog

    # -- the end -------------------------------------------------------------------------------------
    def open_folder(self) -> QUrl | None:
        result = self.progress_page.result
        if result is None:
            return None
        url = file_url(folder_of(result, self.bundle))
        self.opened_url = url
        self.open_url(url)
        self.folderOpened.emit(url)
        return url

    def reject(self) -> None:
        # Closing while exporting cancels the export (it removes anything half-written).
        self.progress_page.cancel()
        self.consent_page_worker_cancel()
        super().reject()

    def consent_page_worker_cancel(self) -> None:
        worker = self.consent_page._worker
        if worker is not None:
            worker.cancel()

    def release(self) -> None:
        """Lock: stop any running job (the wizard shows no decrypted pictures)."""
        self.progress_page.cancel()
        self.consent_page_worker_cancel()
