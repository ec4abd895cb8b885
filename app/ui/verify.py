"""Verify the vault (in a worker, with progress) and browse/search the custody log."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.models import OBJECT_ROLE, SORT_ROLE, EventsTableModel
from app.ui.safe_text import human_size, plain
from app.ui.vault_gate import begin_job, end_job
from app.ui.workers import Worker, WorkerPool
from app.vault.models import VerifyReport
from app.vault.service import VaultService


def describe_warnings(report: VerifyReport) -> list[str]:
    """Doubts that are not alterations (e.g. a clock set back), each naming its event, in plain words."""
    warnings = report.warnings
    if not warnings:
        return []
    lines = ["", f"{len(warnings)} warning(s) — these do not mean anything was altered, but look at the "
             "entries named: an event time earlier than the one before usually means the laptop's clock was "
             "wrong or was set back; it can also mean someone backdated an entry."]
    for warning in warnings[:50]:
        lines.append(f"• {plain(warning.location, max_length=80)}: {plain(warning.message, max_length=400)}")
    if len(warnings) > 50:
        lines.append(f"… and {len(warnings) - 50} more.")
    return lines


def describe_report(report: VerifyReport) -> tuple[bool, str]:
    """Plain words for a VerifyReport."""
    checked = (f"Checked {report.items_checked} item(s) ({human_size(report.bytes_hashed)} re-hashed) "
               f"and {report.events_checked} custody event(s).")
    if report.ok:
        text = "Everything checks out: no file and no custody record was changed. " + checked
        return True, "\n".join([text, *describe_warnings(report)])
    lines = [f"The vault FAILED its integrity check: {len(report.problems)} problem(s) found. "
             "Do not modify the vault; contact your security lead.", checked, ""]
    for problem in report.problems[:50]:
        lines.append(f"• {plain(problem.location, max_length=80)}: {plain(problem.message, max_length=400)}")
    lines += describe_warnings(report)
    return False, "\n".join(lines)


class VerifyDialog(QDialog):
    finished_with = Signal(bool)

    def __init__(self, vault: VaultService, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.pool = pool
        self.worker: Worker | None = None
        self.report: VerifyReport | None = None
        self._token: int | None = None
        self.setWindowTitle(self.tr("Verify the vault"))
        self.intro = QLabel(self.tr(
            "Re-reads every stored file, recomputes its SHA-256 and checks the custody chain and its "
            "Merkle tree. This can take a while for large vaults; you can keep working."))
        self.intro.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.verdict = QLabel()
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.start_button = QPushButton(icon("fa5s.check-double"), self.tr("&Verify now"))
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(icon("fa5s.times"), self.tr("&Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.verdict)
        layout.addWidget(self.report_view, 1)
        layout.addWidget(close)
        self.resize(640, 420)

    def start(self) -> Worker:
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.verdict.setText(self.tr("Verifying…"))
        self.report_view.clear()
        vault = self.vault
        self._token = begin_job(vault, self.tr("verifying"))
        self.worker = self.pool.run(
            lambda progress, cancel: vault.verify(progress=progress, cancel=cancel),
            name="verify",
            on_progress=lambda done, total, _m: self.progress.setValue(int(1000 * done / total) if total else 0),
            on_result=self._done,
            on_error=self._failed,
            on_cancelled=lambda: self.verdict.setText(self.tr("Verification cancelled.")),
            on_finished=self._finished,
        )
        return self.worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _done(self, report: VerifyReport) -> None:
        self.report = report
        ok, text = describe_report(report)
        self.progress.setValue(1000)
        warned = ok and bool(report.warnings)
        self.verdict.setText(self.tr("Intact, with warnings") if warned else
                             self.tr("Intact") if ok else self.tr("ALTERED OR DAMAGED"))
        colour = "#c77c00" if warned else ("#1b7f3b" if ok else "#b00020")
        self.verdict.setStyleSheet(f"font-size: 13pt; font-weight: bold; color: {colour};")
        self.report_view.setPlainText(text)
        self.finished_with.emit(ok)

    def _failed(self, error: EvidenceVaultError) -> None:
        self.verdict.setText(self.tr("ALTERED OR DAMAGED") if error.exit_code == 1 else self.tr("Could not verify"))
        self.verdict.setStyleSheet("font-size: 13pt; font-weight: bold; color: #b00020;")
        self.report_view.setPlainText(error.user_message())
        self.finished_with.emit(False)

    def _finished(self) -> None:
        end_job(self.vault, self._token)
        self._token = None
        self.worker = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)


class EventsFilter(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)  # any column

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        # The shown words ("Stored the file in the vault") or the log's own action word (item_ingested).
        if super().filterAcceptsRow(source_row, source_parent):
            return True
        model = self.sourceModel()
        event = model.index(source_row, EventsTableModel.COL_ACTION, source_parent).data(OBJECT_ROLE)
        wanted = self.filterRegularExpression().pattern().replace("\\", "")
        return event is not None and bool(wanted) and wanted.casefold() in event.action.casefold()


class CustodyLogWindow(QWidget):
    """The whole custody log as a sortable, filterable table."""

    def __init__(self, vault: VaultService, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.vault = vault
        self.setWindowTitle(self.tr("Custody log"))
        self.model = EventsTableModel(self)
        self.proxy = EventsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(self.tr("Filter: action, person, item number, details…"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(EventsTableModel.COL_SEQ, Qt.SortOrder.AscendingOrder)
        self.view.verticalHeader().setVisible(False)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.count = QLabel()
        refresh = QPushButton(icon("fa5s.sync"), self.tr("&Refresh"))
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count)
        self.proxy.rowsInserted.connect(self._count)
        self.proxy.modelReset.connect(self._count)
        self.proxy.layoutChanged.connect(self._count)
        self.filter_edit.textChanged.connect(lambda *_: self._count())
        self.resize(980, 560)
        self.refresh()

    def refresh(self) -> None:
        try:
            self.model.set_events(self.vault.events())
        except EvidenceVaultError as error:
            self.count.setText(error.user_message())

    def _count(self) -> None:
        self.count.setText(self.tr("%1 of %2 event(s)").replace("%1", str(self.proxy.rowCount()))
                           .replace("%2", str(self.model.rowCount())))

    def release(self) -> None:
        self.model.set_events([])
