"""The main window's import: files or a folder (File menu), dropped files, the progress bar and its Cancel
button, and the summary afterwards.  A mixin of MainWindow (app/ui/main_window.py), kept apart so each file stays
readable; it uses the window's vault, worker pool, progress bar and status bar."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QProgressBar, QPushButton

from app.errors import EvidenceVaultError
from app.ui.importer import ImportSummary, import_job
from app.ui.safe_text import plain
from app.ui.vault_gate import begin_job, end_job
from app.ui.workers import Worker, WorkerPool
from app.vault.service import VaultService


class ImportActions(QMainWindow):
    """A base of MainWindow, which provides what is declared here."""

    vault: VaultService | None
    pool: WorkerPool
    import_worker: Worker | None
    last_import: ImportSummary | None
    _import_message: str
    progress_bar: QProgressBar
    cancel_button: QPushButton
    current_case_id: Callable[[], int | None]
    refresh_items: Callable[[], None]
    show_error: Callable[[EvidenceVaultError], None]
    _ask_case: Callable[[list[str]], None]

    def import_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Import files"))
        if paths:
            self.import_paths(paths)

    def import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Import a folder"))
        if path:
            self.import_paths([path])

    def import_paths(self, paths: list[str], case_id: int | None = None) -> Worker | None:
        if self.import_worker is not None:
            self.show_error(EvidenceVaultError(self.tr("An import is already running. Wait for it to finish.")))
            return None
        if self.vault is None:  # locked
            return None
        if case_id is None:
            case_id = self.current_case_id()
        if case_id is None:  # "All items" selected: evidence without a case gets lost in exports
            self._ask_case(paths)
            return None
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.statusBar().showMessage(self.tr("Importing…"))
        token = begin_job(self.vault, self.tr("importing"))
        self.import_worker = self.pool.run(
            import_job(self.vault, paths, case_id=case_id),
            name="import",
            on_progress=self._import_progress,
            on_result=self._import_done,
            on_error=self.show_error,
            on_finished=lambda: self._import_finished(token),
        )
        return self.import_worker

    def _import_progress(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setValue(int(1000 * done / total) if total else 0)
        self.progress_bar.setFormat(message)

    def cancel_import(self) -> None:
        if self.import_worker is not None:
            self.import_worker.cancel()
            self.cancel_button.setEnabled(False)
            self.statusBar().showMessage(self.tr("Cancelling…"))

    def _import_done(self, summary: ImportSummary) -> None:
        self.last_import = summary
        parts = [self.tr("%n file(s) stored.", "", len(summary.stored))]
        if summary.duplicates:
            parts.append(self.tr("%n identical to a file already in the vault.", "", len(summary.duplicates)))
        if summary.failed:
            parts.append(self.tr("%n could not be imported.", "", len(summary.failed)))
        if summary.cancelled:
            parts.insert(0, self.tr("Import cancelled."))
        self._import_message = " ".join(parts)
        if summary.failed or summary.warnings:
            lines = [plain(line, max_length=600) for line in
                     [f"{name}: {message}" for name, message in summary.failed[:20]] + summary.warnings[:20]]
            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Import"), " ".join(parts), parent=self)
            box.setDetailedText("\n".join(lines))
            self.import_box = box
            box.open()

    def _import_finished(self, token: int | None) -> None:
        if self.vault is not None:
            end_job(self.vault, token)
        self.import_worker = None
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.refresh_items()
        message, self._import_message = self._import_message, ""
        if message:
            self.statusBar().showMessage(message)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)
