"""The main window's import: files or a folder (File menu), dropped files, the progress bar and its Cancel
button, and the summary afterwards.  A mixin of MainWindow (app/ui/main_window.py), kept apart so each file stays
readable; it uses the window's vault, worker pool, progress bar and status bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QProgressBar, QPushButton

from app.errors import EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.ui.importer import ImportSummary, import_job
from app.ui.safe_text import plain
from app.ui.vault_gate import begin_job, end_job
from app.ui.workers import Worker, WorkerPool
from app.vault.service import VaultService, collect_files


@dataclass
class FolderImportSummary(ImportSummary):
    """An import's summary with what the folders held that was not imported (links, pipes, unreadable
    sub-folders: ``path: reason`` lines) and how many files were found at all."""

    skipped: list[str] = field(default_factory=list)
    found: int = 0


def collecting_import_job(vault: VaultService, paths: list[str], *,
                          case_id: int | None) -> Callable[[ProgressCallback, CancelToken], FolderImportSummary]:
    """``import_job`` (app/ui/importer.py), with the files collected first on the worker thread by the same
    rule (app.vault.collect), so that what the folders held besides can be shown, not dropped silently."""

    def run(progress: ProgressCallback, cancel: CancelToken) -> FolderImportSummary:
        files = collect_files(paths)
        summary = import_job(vault, [str(f) for f in files], case_id=case_id)(progress, cancel) if files \
            else ImportSummary()
        return FolderImportSummary(**{f.name: getattr(summary, f.name) for f in fields(ImportSummary)},
                                   skipped=[entry.line() for entry in files.skipped], found=len(files))

    return run


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
            collecting_import_job(self.vault, list(paths), case_id=case_id),
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

    def _import_done(self, summary: FolderImportSummary) -> None:
        self.last_import = summary
        parts = [self.tr("%n file(s) stored.", "", len(summary.stored))]
        if not summary.found:
            parts = [self.tr("Nothing to import: no files were found there. Nothing was stored.")]
        if summary.duplicates:
            parts.append(self.tr("%n identical to a file already in the vault.", "", len(summary.duplicates)))
        if summary.failed:
            parts.append(self.tr("%n could not be imported.", "", len(summary.failed)))
        if summary.skipped:
            parts.append(self.tr("%n skipped (links, special files or folders that cannot be read); see the "
                                 "details.", "", len(summary.skipped)))
        if summary.cancelled:
            parts.insert(0, self.tr("Import cancelled."))
        self._import_message = " ".join(parts)
        if summary.failed or summary.warnings or summary.skipped or not summary.found:
            skipped = [f"{self.tr('Skipped')}: {line}" for line in summary.skipped[:50]]
            lines = [plain(line, max_length=600) for line in
                     [f"{name}: {message}" for name, message in summary.failed[:20]] + summary.warnings[:20]
                     + skipped]
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
