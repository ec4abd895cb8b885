"""The main window: cases (left), items (middle), details (right), search, menus; import (app/ui/import_actions.py).

It talks to the vault only through the service API and runs anything slow in the WorkerPool.
Content windows it opens (viewers, dialogs) are tracked so locking can close every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.details import DetailsPanel
from app.ui.icons import icon
from app.ui.imaging import IMAGE_KINDS, ThumbnailLoader
from app.ui.import_actions import ImportActions
from app.ui.importer import ImportSummary
from app.ui.item_actions import ItemActions, ItemFilter
from app.ui.item_editor import ItemEditDialog
from app.ui.models import (
    OBJECT_ROLE,
    CasesModel,
    ItemRow,
    ItemsTableModel,
    item_hidden,
    person_label,
)
from app.ui.search_hits import SearchHitsList
from app.ui.transcript_files import attach_transcript
from app.ui.vault_gate import VaultBusy
from app.ui.workers import Worker, WorkerPool
from app.vault.models import Item
from app.vault.service import VaultService

ITEM_KINDS = ("interview", "photo", "video", "audio", "document", "transcript")


class MainWindow(ImportActions, ItemActions):
    lock_requested = Signal()
    panic_requested = Signal()
    open_item_requested = Signal(object)  # Item
    persons_requested = Signal()
    verify_requested = Signal()
    custody_log_requested = Signal()
    record_requested = Signal()
    settings_requested = Signal()
    redact_requested = Signal(object)  # Item
    export_requested = Signal()
    passphrase_requested = Signal()
    checkpoint_requested = Signal()
    export_key_requested = Signal()
    profile_requested = Signal()
    recovery_requested = Signal()
    guide_requested = Signal()

    def __init__(self, vault: VaultService, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault: VaultService | None = vault  # None once the app locks (see reset)
        self.pool = pool
        self.import_worker: Worker | None = None
        self.case_prompt: QInputDialog | None = None  # asks for the case of an import from "All items"
        self.edit_dialog: ItemEditDialog | None = None
        self._import_message = ""
        self.last_import: ImportSummary | None = None
        self._thumb_worker: Worker | None = None
        self.setWindowTitle(self.tr("Evidence Vault"))
        self.setWindowIcon(icon("fa5s.shield-alt"))
        self.setAcceptDrops(True)

        self.cases_model = CasesModel(self)
        self.cases_model.all_label = self.tr("All items")
        self.cases_view = QListView()
        self.cases_view.setModel(self.cases_model)
        self.cases_view.setAccessibleName(self.tr("Cases"))
        self.cases_view.selectionModel().currentChanged.connect(lambda *_: self.refresh_items())

        self.items_model = ItemsTableModel(self)
        self.items_proxy = ItemFilter(self)
        self.items_proxy.setSourceModel(self.items_model)
        self.items_view = QTableView()
        self.items_view.setModel(self.items_proxy)
        self.items_view.setAccessibleName(self.tr("Items"))
        self.items_view.setSortingEnabled(True)
        self.items_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.items_view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.items_view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.items_view.verticalHeader().setVisible(False)
        self.items_view.verticalHeader().setDefaultSectionSize(44)
        self.items_view.setIconSize(QSize(56, 40))
        header = self.items_view.horizontalHeader()
        header.setSectionResizeMode(ItemsTableModel.COL_TITLE, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(ItemsTableModel.HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.items_view.selectionModel().currentRowChanged.connect(lambda *_: self._item_selected())
        self.items_view.doubleClicked.connect(lambda *_: self.open_current())
        self.items_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.items_view.customContextMenuRequested.connect(self._item_menu)
        # Enter opens the selected item (double-click does too); Tab moves between the panes.
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.items_view,
                  context=Qt.ShortcutContext.WidgetShortcut).activated.connect(self.open_current)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(self.tr("Search titles, notes and transcripts (any language)"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.addAction(icon("fa5s.search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.returnPressed.connect(self.run_search)
        # Search as you type: a short pause after the last key, so a long word does not search 12 times.
        self._search_timer = QTimer(self, singleShot=True, interval=300)
        self._search_timer.timeout.connect(self.run_search)
        self.search_edit.textChanged.connect(lambda text: self._search_timer.start() if text else self.run_search())
        self.search_hits = SearchHitsList()
        self.search_hits.chosen.connect(lambda item_id, _start: self.select_item(item_id))
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(self.tr("All kinds"), None)
        for kind in ITEM_KINDS:
            self.kind_combo.addItem(kind, kind)
        self.kind_combo.currentIndexChanged.connect(lambda *_: self._apply_filter())
        self.search_status = QLabel()

        self.details = DetailsPanel()
        self.details.set_vault(vault)
        self.details.error.connect(self.show_error)
        self.details.open_requested.connect(lambda _id: self.open_current())
        self.details.edit_requested.connect(lambda _id: self.edit_current())
        self.details.changed.connect(self.refresh_items)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.kind_combo)
        middle_layout.addLayout(search_row)
        middle_layout.addWidget(self.search_status)
        middle_layout.addWidget(self.search_hits)
        middle_layout.addWidget(self.items_view, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel(self.tr("Cases")))
        left_layout.addWidget(self.cases_view, 1)
        new_case = QPushButton(icon("fa5s.folder-plus"), self.tr("New case…"))
        new_case.clicked.connect(self.new_case)
        left_layout.addWidget(new_case)

        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(120)
        splitter.addWidget(left)
        splitter.addWidget(middle)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([180, 680, 420])
        self.setCentralWidget(splitter)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(240)
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton(icon("fa5s.times"), self.tr("Cancel"))
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.statusBar().addPermanentWidget(self.progress_bar)
        self.statusBar().addPermanentWidget(self.cancel_button)

        self.thumbnails = ThumbnailLoader(self, size=ItemsTableModel.THUMB_SIZE)
        self.thumbnails.ready.connect(self.items_model.set_thumbnail)
        self._build_menus()
        self.resize(1200, 700)
        self.refresh_cases()

    # -- menus -----------------------------------------------------------------------------------
    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None, icon_name: str | None = None) -> QAction:
        action = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        self.import_files_action = self._action(file_menu, self.tr("&Import files…"), self.import_files,
                                                "Ctrl+I", "fa5s.file-import")
        self._action(file_menu, self.tr("Import &folder…"), self.import_folder, "Ctrl+Shift+I", "fa5s.folder-open")
        self._action(file_menu, self.tr("&Record interview…"), self.record_requested.emit, "Ctrl+R",
                     "fa5s.microphone")
        self._action(file_menu, self.tr("&Export dossier…"), self.export_requested.emit, "Ctrl+Shift+E",
                     "fa5s.file-export")
        file_menu.addSeparator()
        self._action(file_menu, self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit, "fa5s.power-off")

        edit_menu = bar.addMenu(self.tr("&Edit"))
        self._action(edit_menu, self.tr("&New case…"), self.new_case, "Ctrl+N", "fa5s.folder-plus")
        self._action(edit_menu, self.tr("Add &note"), self._focus_note, "Ctrl+Shift+N", "fa5s.sticky-note")
        self._action(edit_menu, self.tr("&Link person to item…"), self.details.link_person, "Ctrl+Shift+P",
                     "fa5s.user-plus")
        self.edit_item_action = self._action(edit_menu, self.tr("&Edit item details…"), self.edit_current, "F2",
                                             "fa5s.edit")
        self._action(edit_menu, self.tr("&Redact item…"), self._redact_current, "Ctrl+Shift+R", "fa5s.user-secret")
        self._action(edit_menu, self.tr("Attach &transcript file (VTT, SRT, text)…"), self.attach_transcript_current,
                     None, "fa5s.closed-captioning")
        self.hide_action = self._action(edit_menu, self.tr("&Hide mistaken import / show again"),
                                        self.toggle_hidden_current, "Ctrl+Shift+H", "fa5s.eye-slash")
        self._action(edit_menu, self.tr("&Find"), self._focus_search, QKeySequence.StandardKey.Find, "fa5s.search")

        view_menu = bar.addMenu(self.tr("&View"))
        self._action(view_menu, self.tr("&Open item"), self.open_current, "Ctrl+O", "fa5s.eye")
        self._action(view_menu, self.tr("&Custody log"), self.custody_log_requested.emit, "Ctrl+Shift+L",
                     "fa5s.list")
        self._action(view_menu, self.tr("&Refresh"), self.refresh_all, QKeySequence.StandardKey.Refresh, "fa5s.sync")
        self.show_hidden_action = QAction(self.tr("Show &hidden items"), self)
        self.show_hidden_action.setCheckable(True)
        self.show_hidden_action.toggled.connect(self.set_show_hidden)
        view_menu.addAction(self.show_hidden_action)

        vault_menu = bar.addMenu(self.tr("&Vault"))
        self._action(vault_menu, self.tr("&People and consent…"), self.persons_requested.emit, "Ctrl+P",
                     "fa5s.users")
        self._action(vault_menu, self.tr("&Verify integrity…"), self.verify_requested.emit, "Ctrl+Shift+V",
                     "fa5s.check-double")
        self._action(vault_menu, self.tr("&Checkpoint (proof of the log today)…"), self.checkpoint_requested.emit,
                     None, "fa5s.stamp")
        self._action(vault_menu, self.tr("Export public &key…"), self.export_key_requested.emit, None, "fa5s.key")
        vault_menu.addSeparator()
        self._action(vault_menu, self.tr("&Who is working (name, role, organisation)…"),
                     self.profile_requested.emit, None, "fa5s.id-badge")
        self._action(vault_menu, self.tr("Change pass&phrase…"), self.passphrase_requested.emit, None,
                     "fa5s.user-lock")
        self._action(vault_menu, self.tr("Set up &recovery shares (if the passphrase is lost)…"),
                     self.recovery_requested.emit, None, "fa5s.life-ring")
        self._action(vault_menu, self.tr("&Auto-lock settings…"), self.settings_requested.emit, None,
                     "fa5s.clock")
        vault_menu.addSeparator()
        self.lock_action = self._action(vault_menu, self.tr("&Lock"), self.lock_requested.emit, "Ctrl+L",
                                        "fa5s.lock")
        # No confirmation: in an emergency one keystroke must be enough, from any window of the app.
        self.panic_action = self._action(vault_menu, self.tr("&Panic: lock now and destroy local keys if set up"),
                                         self.panic_requested.emit, "Ctrl+Shift+Q", "fa5s.exclamation-triangle")
        for action in (self.lock_action, self.panic_action):
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)

        help_menu = bar.addMenu(self.tr("&Help"))
        self._action(help_menu, self.tr("&User guide"), self.guide_requested.emit,
                     QKeySequence.StandardKey.HelpContents, "fa5s.book")
        self._action(help_menu, self.tr("&About Evidence Vault"), self.about, None, "fa5s.info-circle")

    def _redact_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.redact_requested.emit(item)

    def attach_transcript_current(self, path: Path | None = None) -> int | None:
        item = self.current_item()
        if item is None or self.vault is None:
            self.show_error(EvidenceVaultError(self.tr("Select the recording first, then attach its transcript.")))
            return None
        try:
            count = attach_transcript(self, self.vault, item, path)
        except EvidenceVaultError as error:
            self.show_error(error)
            return None
        if count is not None:
            self.statusBar().showMessage(self.tr("Transcript attached: %n segment(s).", "", count))
            self.refresh_items()
        return count

    def _focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _focus_note(self) -> None:
        self.details.tabs.setCurrentIndex(1)
        self.details.note_edit.setFocus()

    # -- data ------------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        self.refresh_cases()

    def refresh_cases(self) -> None:
        if self.vault is None:
            return
        current = self.current_case_id()
        try:
            cases = self.vault.list_cases()
        except EvidenceVaultError as error:
            self.show_error(error)
            return
        self._case_titles = {case.id: case.title for case in cases}
        self.cases_model.set_cases(cases)
        self.cases_view.setCurrentIndex(self.cases_model.index(self.cases_model.row_of(current)))
        self.refresh_items()

    def current_case_id(self) -> int | None:
        index = self.cases_view.currentIndex()
        return self.cases_model.case_id(index.row()) if index.isValid() else None

    def refresh_items(self) -> None:
        if self.vault is None:  # locked
            return
        selected = self.current_item()
        try:
            items = self.vault.list_items(self.current_case_id())
            people: dict[int, list[str]] = {}
            for person in self.vault.list_persons():
                for item in self.vault.items_for_person(person.id):
                    people.setdefault(item.id, []).append(person_label(person))
        except EvidenceVaultError as error:
            self.show_error(error)
            return
        self.items_model.set_rows([ItemRow(item, people.get(item.id, [])) for item in items])
        self._apply_filter()
        if selected is not None:
            self.select_item(selected.id)
        hidden = sum(1 for item in items if item_hidden(item))
        self.statusBar().showMessage(self.tr("%n item(s)", "", len(items)) + (
            self.tr(", %n hidden", "", hidden) if hidden and not self.items_proxy.show_hidden else ""))
        self._load_thumbnails([i.id for i in items if i.kind in IMAGE_KINDS
                               and not self.items_model.has_thumbnail(i.id)])

    def _load_thumbnails(self, item_ids: list[int]) -> None:
        if not item_ids or self.vault is None:
            return
        if self._thumb_worker is not None:
            self._thumb_worker.cancel()
        worker = self.pool.run(self.thumbnails.job(self.vault, item_ids), name="thumbnails")
        self._thumb_worker = worker

    def run_search(self) -> None:
        if self.vault is None:
            return
        text = self.search_edit.text().strip()
        if not text:
            self._search_ids: set[int] | None = None
            self.search_status.clear()
            self.search_hits.set_hits([], {})
        else:
            try:
                hits = self.vault.search(text)
            except EvidenceVaultError as error:
                self.show_error(error)
                return
            self._search_ids = {hit.item_id for hit in hits}
            items = (self.items_model.item_at(row) for row in range(self.items_model.rowCount()))
            self.search_hits.set_hits(hits, {item.id: item.title for item in items})
        self._apply_filter()
        if text:
            self.search_status.setText(self.tr("%n match(es)", "", self.items_proxy.rowCount()))

    def _apply_filter(self) -> None:
        self.items_proxy.set_criteria(kind=self.kind_combo.currentData(),
                                      ids=getattr(self, "_search_ids", None))

    def current_item(self) -> Item | None:
        index = self.items_view.currentIndex()
        return index.data(OBJECT_ROLE) if index.isValid() else None

    def select_item(self, item_id: int) -> bool:
        row = self.items_model.row_of(item_id)
        if row < 0:
            return False
        proxy_index = self.items_proxy.mapFromSource(self.items_model.index(row, 0))
        if not proxy_index.isValid():
            return False
        self.items_view.setCurrentIndex(proxy_index)
        return True

    def _item_selected(self) -> None:
        item = self.current_item()
        case_title = getattr(self, "_case_titles", {}).get(item.case_id) if item is not None else None
        self.details.show_item(item, case_title)

    def open_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.open_item_requested.emit(item)

    def new_case(self) -> int | None:
        title, ok = QInputDialog.getText(self, self.tr("New case"), self.tr("Case title:"))
        if not ok or not title.strip() or self.vault is None:
            return None
        try:
            case_id: int = self.vault.add_case(title.strip())
        except EvidenceVaultError as error:
            self.show_error(error)
            return None
        self.refresh_cases()
        self.cases_view.setCurrentIndex(self.cases_model.index(self.cases_model.row_of(case_id)))
        return case_id

    # -- misc ------------------------------------------------------------------------------------
    def show_error(self, error: EvidenceVaultError) -> None:
        self.statusBar().showMessage(error.user_message(), 10000)
        if isinstance(error, VaultBusy):
            return  # a passing state, not worth a dialog
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Evidence Vault"), error.user_message(), parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.open()
        self.last_error_box = box

    def about(self) -> None:
        QMessageBox.about(self, self.tr("About Evidence Vault"), self.tr(
            "Evidence Vault keeps testimony encrypted, with a verifiable chain of custody.\n"
            "Free software under the GNU GPL v3 or later. It never connects to the network."))

    def teardown(self) -> None:
        """Drop everything that shows content; called by the app before the vault is closed."""
        self.vault = None  # first: the resets below fire selection slots
        if self._thumb_worker is not None:
            self._thumb_worker.cancel()
        self.items_model.clear()
        self.cases_model.set_cases([])
        self.details.set_vault(None)
        self.search_edit.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.import_worker is not None:
            answer = QMessageBox.question(self, self.tr("Import running"), self.tr(
                "An import is still running. Stop it and quit?"))
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        super().closeEvent(event)

