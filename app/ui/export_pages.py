"""The last pages of the export wizard: consent, progress, and what was written.

The consent page asks the export code itself (``app.export.consent_preview``, the steps
``export()`` runs first) which exhibits consent keeps in the vault and why, before anything is
written.  The progress page runs
``app.export.exporter.export`` in a worker with a progress bar and cancel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from app.errors import Cancelled, EvidenceVaultError
from app.export.consent_gate import normalise_reason, override_reason_acceptable
from app.export.near_matches import NearMatchesFound
from app.progress import CancelToken, ProgressCallback
from app.ui.export_options import DamagedQuestion, ReviewStop
from app.ui.icons import icon
from app.ui.safe_text import plain
from app.ui.workers import Worker
from app.vault.service import VaultService

if TYPE_CHECKING:
    from app.export.consent_preview import ConsentReport

def consent_job(vault: VaultService, *, case_id: int | None, item_ids: list[int] | None, audience: str,
                level: str) -> Callable[[ProgressCallback, CancelToken], ConsentReport]:
    def run(_progress: ProgressCallback, cancel: CancelToken) -> ConsentReport:
        from app.export.consent_preview import consent_preview  # loads the redaction models: not at start-up

        return consent_preview(vault, case_id=case_id, item_ids=item_ids, audience=audience, level=level,
                               cancel=cancel)

    return run


class ConsentPage(QWizardPage):
    """Which exhibits consent keeps in the vault, and why; leave them out, or (court) override."""

    def __init__(self, wizard: Any) -> None:  # ExportWizard: its choices are typed loosely (see its mode pages)
        super().__init__()
        self._wizard = wizard
        self.report: ConsentReport | None = None
        self.error: EvidenceVaultError | None = None
        self._worker: Worker | None = None
        self.setTitle(self.tr("Consent"))
        self.setSubTitle(self.tr("Exhibits linked to a survivor or witness whose consent does not cover this "
                                 "audience cannot leave the vault."))
        self.setCommitPage(True)
        self.setButtonText(wizard.WizardButton.CommitButton, self.tr("&Export"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Item"), self.tr("Title"), self.tr("Why it cannot be exported")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(1, 180)
        self.leave_out = QRadioButton(self.tr("Leave these exhibits out of the export"))
        self.override = QRadioButton(self.tr("Override consent for a court under seal (recorded in the custody log)"))
        self.choices = QButtonGroup(self)
        self.choices.addButton(self.leave_out)
        self.choices.addButton(self.override)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText(self.tr("Reason for the override, e.g. the court order number and date "
                                               "(required; at least 10 characters)"))
        self.reason.setMaximumHeight(70)
        self.override_note = QLabel()
        self.override_note.setWordWrap(True)
        self.override_note.setStyleSheet("color: #555;")
        self.auto_note = QLabel()
        self.auto_note.setWordWrap(True)
        for widget in (self.leave_out, self.override):
            widget.toggled.connect(self._changed)
        self.reason.textChanged.connect(self._changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.leave_out)
        layout.addWidget(self.override)
        layout.addWidget(self.reason)
        layout.addWidget(self.override_note)
        layout.addWidget(self.auto_note)

    def initializePage(self) -> None:
        self.report, self.error = None, None
        self.table.setRowCount(0)
        self.summary.setText(self.tr("Checking consent…"))
        for widget in (self.leave_out, self.override, self.reason, self.override_note, self.auto_note):
            widget.setVisible(False)
        self.choices.setExclusive(False)
        self.leave_out.setChecked(False)
        self.override.setChecked(False)
        self.choices.setExclusive(True)
        w = self._wizard
        self._worker = w.pool.run(consent_job(w.vault, case_id=w.case_choice, item_ids=w.item_choice,
                                              audience=w.audience, level=w.level),
                                  name="export-consent", on_result=self._checked, on_error=self._failed)
        self.completeChanged.emit()

    def _failed(self, error: EvidenceVaultError) -> None:
        self.error = error
        self.summary.setText(error.user_message())
        self.completeChanged.emit()

    def _checked(self, report: ConsentReport) -> None:
        self.report = report
        titles = {item.id: item.title or item.original_name for item in report.exhibits}
        self.table.setRowCount(len(report.blocked))
        for row, blocked in enumerate(report.blocked):
            values = (str(blocked.item_id), plain(titles.get(blocked.item_id), max_length=80),
                      plain(blocked.reason, max_length=600))
            for column, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()
        total, excluded = len(report.exhibits), len(report.blocked_items)
        if not excluded:
            self.summary.setText(self.tr("Consent allows all %1 exhibit(s) for this audience.")
                                 .replace("%1", str(total)))
        else:
            self.summary.setText(self.tr("Consent excludes %1 of %2 exhibit(s) from this export:")
                                 .replace("%1", str(excluded)).replace("%2", str(total)))
            court = report.audience == "court"
            self.leave_out.setVisible(True)
            self.leave_out.setEnabled(report.remaining > 0)
            self.override.setVisible(True)
            self.override.setEnabled(court)
            self.reason.setVisible(court)
            self.override_note.setVisible(True)
            self.override_note.setText(
                self.tr("An override is only possible for a court under seal. Its reason and the exhibits "
                        "concerned are recorded in the custody log.") if court else
                self.tr("Consent cannot be overridden for this audience. Leave the exhibits out, record the "
                        "missing consent, or go back and choose other exhibits."))
            if report.remaining == 0 and not court:
                self.leave_out.setText(self.tr("Leave these exhibits out (not possible: nothing would remain)"))
        self._update_auto_note()
        self._wizard.consentChecked.emit(report)
        self.completeChanged.emit()

    def _changed(self, *_args: Any) -> None:
        self._update_auto_note()
        self.completeChanged.emit()

    def _update_auto_note(self) -> None:
        """Which pictures will be redacted automatically, among the exhibits that will be exported."""
        report = self.report
        if report is None:
            return
        leaving = report.blocked_items if not self.override.isChecked() else set()
        auto = [i for i in report.auto_redact if i not in leaving]
        self.auto_note.setVisible(bool(auto))
        self.auto_note.setText(self.tr(
            "%1 photo(s)/video(s) to export have no reviewed redacted copy (items %2). The export will stop and "
            "ask you to review them in Redaction review, or to accept automatic redaction under your name.")
            .replace("%1", str(len(auto))).replace("%2", ", ".join(str(i) for i in auto[:20])))

    def isComplete(self) -> bool:
        report = self.report
        if report is None:
            return False
        if not report.blocked:
            return True
        if self.leave_out.isChecked():
            return report.remaining > 0
        if self.override.isChecked():
            return override_reason_acceptable(report.audience, self.reason.toPlainText())
        return False

    @property
    def override_reason(self) -> str | None:
        if self.report and self.report.blocked and self.override.isChecked():
            return normalise_reason(self.reason.toPlainText())
        return None

    @property
    def leave_out_blocked(self) -> bool:
        return bool(self.report and self.report.blocked and self.leave_out.isChecked())


class ProgressPage(QWizardPage):
    """Runs the export in a worker; goes on to the last page by itself when it is done."""

    def __init__(self, wizard: Any) -> None:  # ExportWizard: its choices are typed loosely (see its mode pages)
        super().__init__()
        self._wizard = wizard
        self.worker: Worker | None = None
        self.result: Any = None
        self.error: EvidenceVaultError | None = None
        self.cancelled: Cancelled | None = None  # what the export said when it was cancelled (copies kept)
        self._token: int | None = None
        # A redacted export stops before redacting pictures itself until the user reviews them or accepts that.
        self.automatic_accepted_by: str | None = None
        self.review_stop = ReviewStop(wizard.open_review, wizard.actor_name)
        self.review_stop.accepted.connect(self.accept_automatic_and_retry)
        # A picture that cannot be read stops the export (in seconds, before any redaction) until the user
        # chooses to include it as the original file with a placeholder page (withheld when redacted).
        self.damaged_as_native = False
        self.damaged_question = DamagedQuestion()
        self.damaged_question.accepted.connect(self.include_damaged_and_retry)
        self.setTitle(self.tr("Exporting"))
        self.setSubTitle(self.tr("Building, sealing and writing the dossier. You can keep working in the main "
                                 "window; the vault stays busy until this is done."))
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton(icon("fa5s.times"), self.tr("Cancel export"))
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton(icon("fa5s.redo"), self.tr("Try again"))
        self.retry_button.clicked.connect(self.start)
        self.retry_button.setVisible(False)
        # A redacted export stops on near matches of protected names until a reviewer clears them.
        self.clearance: str | None = None
        self.reviewer = QLineEdit()
        self.reviewer.setPlaceholderText(self.tr("Your name, as the reviewer who checked every place"))
        self.reviewer.textChanged.connect(self._reviewer_changed)
        self.clear_button = QPushButton(icon("fa5s.user-check"), self.tr("I checked every place: export"))
        self.clear_button.clicked.connect(self.clear_and_retry)
        self.clear_button.setEnabled(False)
        for widget in (self.reviewer, self.clear_button):
            widget.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.reviewer, 1)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.review_stop)
        layout.addWidget(self.damaged_question)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.start()

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> Worker | None:
        if self.worker is not None:
            return None
        from app.export.exporter import export

        w = self._wizard
        consent: ConsentPage = w.consent_page
        kwargs = dict(case_id=w.case_choice, item_ids=w.item_choice, audience=w.audience, level=w.level,
                      out=w.output_path, bundle=w.bundle, ern_prefix=w.ern_prefix,
                      override_reason=consent.override_reason,
                      leave_out_without_consent=consent.leave_out_blocked,
                      accept_near_matches=self.clearance, confidentiality=w.options_page.confidentiality,
                      paper=w.options_page.paper_size, place=w.options_page.place_text, review_required=True,
                      accept_automatic_redaction=self.automatic_accepted_by, seal=w.options_page.seal,
                      timestamper=w.options_page.timestamper, damaged_as_native=self.damaged_as_native)
        vault = w.vault
        self.result, self.error, self.cancelled = None, None, None
        self.review_stop.setVisible(False)
        self.damaged_question.setVisible(False)
        self.progress.setValue(0)
        self.message.setText(self.tr("Starting…"))
        self.message.setStyleSheet("")
        self.cancel_button.setEnabled(True)
        self.retry_button.setVisible(False)
        for widget in (self.reviewer, self.clear_button):
            widget.setVisible(False)
        if hasattr(vault, "begin"):
            self._token = vault.begin(self.tr("exporting"))

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            try:
                return export(vault, progress=progress, cancel=cancel, **kwargs)
            except Cancelled as stopped:
                self.cancelled = stopped  # read on the UI thread once the worker reports the cancel
                raise

        self.worker = w.pool.run(job, name="export", on_progress=self._progress, on_result=self._done,
                                 on_error=self._failed, on_cancelled=self._cancelled, on_finished=self._finished)
        self.completeChanged.emit()
        return self.worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.message.setText(self.tr("Cancelling…"))

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)
        if message:
            self.message.setText(plain(message, max_length=200))

    def _done(self, result: Any) -> None:
        self.result = result
        self.progress.setValue(1000)
        self.message.setText(self.tr("Done."))

    def _failed(self, error: EvidenceVaultError) -> None:
        from app.export.dossier_court import NeedsReview
        from app.export.unreadable import DamagedExhibits  # picture decoders: loaded when needed

        self.error = error
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.setText(error.user_message())
        if isinstance(error, NearMatchesFound):
            for widget in (self.reviewer, self.clear_button):
                widget.setVisible(True)
        elif isinstance(error, NeedsReview):
            items = needing_review(error)
            self.message.setText(self.tr("Photos or videos to export have no reviewed redacted copy (items %1). "
                                         "Nothing was written.").replace("%1", ", ".join(map(str, items))))
            self.review_stop.ask(items)
        elif isinstance(error, DamagedExhibits):
            self.message.setText(error.user_message().replace(
                " (in the export wizard, answer Yes; on the command line, add --damaged-as-native)", ""))
            self.damaged_question.ask(len(error.item_ids), redacted=self._wizard.level == "redacted")
        self._wizard.exportFailed.emit(error)

    def accept_automatic_and_retry(self, name: str) -> None:
        """Export again, redacting the remaining pictures automatically under ``name`` (in the chain)."""
        self.automatic_accepted_by = name
        self.start()

    def include_damaged_and_retry(self) -> None:
        """Export again with damaged pictures as original files with a placeholder page (withheld if redacted)."""
        self.damaged_as_native = True
        self.start()

    def _reviewer_changed(self, text: str) -> None:
        self.clear_button.setEnabled(bool(text.strip()))

    def clear_and_retry(self) -> None:
        """Export again with the reviewer's clearance (recorded in the `exported` event)."""
        name = self.reviewer.text().strip()
        if name:
            self.clearance = name
            self.start()

    def _cancelled(self) -> None:
        kept = list(getattr(self.cancelled, "kept_items", []) or [])
        if not kept:
            self.message.setText(self.tr("The export was cancelled. No export file was written."))
            return
        self.message.setText(self.tr(
            "The export was cancelled. No export file was written, but the redacted %1 made for it (%2) %3 kept in "
            "the vault and recorded in the custody log; the next export uses %4.")
            .replace("%1", self.tr("copy") if len(kept) == 1 else self.tr("copies"))
            .replace("%2", (self.tr("item ") if len(kept) == 1 else self.tr("items ")) + ", ".join(map(str, kept)))
            .replace("%3", self.tr("was") if len(kept) == 1 else self.tr("were"))
            .replace("%4", self.tr("it") if len(kept) == 1 else self.tr("them")))

    def _finished(self) -> None:
        self.worker = None
        if self._token is not None and hasattr(self._wizard.vault, "end"):
            self._wizard.vault.end(self._token)
        self._token = None
        self.cancel_button.setEnabled(False)
        self.retry_button.setVisible(self.result is None)
        self.completeChanged.emit()
        if self.result is not None:
            self._wizard.exportFinished.emit(self.result)
            if self._wizard.currentPage() is self:
                self._wizard.next()

    def isComplete(self) -> bool:
        return self.result is not None


def needing_review(error: EvidenceVaultError) -> list[int]:
    """The item numbers a review stop names ("Items 3, 4 have no reviewed redacted copy...")."""
    found = re.match(r"Items? ([\d, ]+) ha", error.user_message())
    return [int(i) for i in re.findall(r"\d+", found.group(1))] if found else []


def folder_of(result: Any, bundle: bool) -> Path:
    """The folder to open: the bundle folder itself, or the folder holding the PDF or ZIP."""
    path = Path(result.paths[0])
    return path if bundle and path.is_dir() else path.parent


class DonePage(QWizardPage):
    """What was written, and a button to open the folder."""

    def __init__(self, wizard: Any) -> None:  # ExportWizard: its choices are typed loosely (see its mode pages)
        super().__init__()
        self._wizard = wizard
        self.setTitle(self.tr("Export finished"))
        self.setFinalPage(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.open_button = QPushButton(icon("fa5s.folder-open"), self.tr("&Open folder"))
        self.open_button.clicked.connect(wizard.open_folder)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.details, 1)
        layout.addLayout(row)

    def initializePage(self) -> None:
        result = self._wizard.progress_page.result
        if result is None:
            return
        lines = [self.tr("Written:")]
        lines += [f"  {plain(str(p), max_length=500)}" for p in result.paths]
        if not self._wizard.bundle and len(result.paths) > 1:
            lines.append(self.tr("The .dat, .csv and .opt files beside the PDF are its load files (one row per "
                                 "exhibit with its ERNs and hash, and the page map) for a court's review platform: "
                                 "send them with the PDF."))
        lines += [
            "",
            self.tr("Exhibits (item numbers): %1").replace("%1", ", ".join(str(i) for i in result.exhibits)),
            self.tr("Pages: %1 (ERN %2 to %3)").replace("%1", str(result.pages))
            .replace("%2", result.ern_first).replace("%3", result.ern_last),
            self.tr("PDF SHA-256: %1").replace("%1", result.pdf_sha256),
            self.tr("Dossier manifest SHA-256: %1").replace("%1", result.manifest_sha256),
        ]
        if result.bundle_manifest_sha256:
            lines.append(self.tr("Bundle manifest SHA-256: %1").replace("%1", result.bundle_manifest_sha256))
        if result.derivatives_used:
            used = ", ".join(f"{o}→{d}" for o, d in sorted(result.derivatives_used.items()))
            lines.append(self.tr("Redacted copies used (original→copy): %1").replace("%1", used))
        if result.derivatives_created:
            lines.append(self.tr("Redacted copies made automatically: %1")
                         .replace("%1", ", ".join(str(i) for i in result.derivatives_created)))
        if result.excluded:
            lines += ["", self.tr("Left out because of consent:")]
            lines += [f"  {plain(why, max_length=600)}" for _item, why in result.excluded]
        if result.withheld_files:
            lines += ["", self.tr("Files not put in the bundle:")]
            lines += [f"  {item}: {plain(why, max_length=300)}" for item, why in result.withheld_files]
        lines += ["", self.tr("The export is recorded in the custody log (event %1).")
                  .replace("%1", str(result.event_seq))]
        if not self._wizard.bundle:
            lines += ["", self.tr("Whoever receives the PDF can check it on its own (seal, checkpoint, custody "
                                  "proofs) with: evidence-vault verify-pdf FILE. Its last pages explain each check.")]
        self.details.setPlainText("\n".join(lines))


def file_url(folder: Path) -> QUrl:
    return QUrl.fromLocalFile(str(folder))
