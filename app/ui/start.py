"""The first screen: open (unlock) an existing vault, or create a new one.

Unlocking and creating run in a worker (the key derivation takes a noticeable fraction of a
second).  A wrong passphrase says so plainly; repeated wrong attempts slow down exponentially with
a visible countdown driven by a QTimer, so the event loop never blocks.
"""

from __future__ import annotations

import getpass
import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError, InvalidInput, WrongPassphrase
from app.ui.icons import icon
from app.ui.strength import StrengthMeter
from app.ui.vault_dialogs import ROLES
from app.ui.workers import WorkerPool
from app.vault.service import VaultService, create_vault, open_vault

OpenVault = Callable[[str, str, str], VaultService]  # (path, passphrase, actor) -> the open vault
CreateVault = Callable[[str, str, str, str], VaultService]  # (path, passphrase, actor, organisation)

VAULT_FILTER = "Evidence vaults (*.evault);;All files (*)"


def default_open(path: str, passphrase: str, actor: str) -> VaultService:
    return open_vault(path, passphrase, actor=actor)


def default_create(path: str, passphrase: str, actor: str, organisation: str) -> VaultService:
    return create_vault(path, passphrase, actor=actor, organisation=organisation)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class Backoff:
    """Exponential delay after wrong passphrases: none after the first, then base·2^(n-2) seconds."""

    def __init__(self, *, base_seconds: float = 2.0, max_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base = base_seconds
        self.max = max_seconds
        self.failures = 0
        self._clock = clock
        self._until = 0.0

    def record_failure(self) -> float:
        self.failures += 1
        delay = 0.0 if self.failures < 2 else min(self.base * 2 ** (self.failures - 2), self.max)
        self._until = self._clock() + delay
        return delay

    def reset(self) -> None:
        self.failures = 0
        self._until = 0.0

    def remaining(self) -> float:
        return max(0.0, self._until - self._clock())


def _path_row(edit: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row


class StartWindow(QWidget):
    """Emits ``unlocked(vault)`` once a vault is open."""

    unlocked = Signal(object)

    def __init__(self, pool: WorkerPool, *, open_vault: OpenVault = default_open,
                 create_vault: CreateVault = default_create, backoff: Backoff | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._open_vault = open_vault
        self._create_vault = create_vault
        self.backoff = backoff or Backoff()
        self._busy = False
        self.setWindowTitle(self.tr("Evidence Vault"))
        self.setWindowIcon(icon("fa5s.shield-alt"))

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_open_tab(), icon("fa5s.lock-open"), self.tr("Open a vault"))
        self.tabs.addTab(self._build_create_tab(), icon("fa5s.plus-circle"), self.tr("Create a new vault"))
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setVisible(False)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Evidence Vault"))
        title.setStyleSheet("font-size: 18pt; font-weight: bold;")
        layout.addWidget(title)
        layout.addWidget(self.tabs)
        layout.addWidget(self.busy_bar)
        self._countdown = QTimer(self)
        self._countdown.setInterval(200)
        self._countdown.timeout.connect(self._tick)
        self.resize(640, 600)

    # -- open ---------------------------------------------------------------------------------
    def _build_open_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.open_path = QLineEdit()
        self.open_path.setPlaceholderText(self.tr("Vault file"))
        browse = QPushButton(icon("fa5s.folder-open"), self.tr("Browse…"))
        browse.clicked.connect(self._browse_open)
        form.addRow(self.tr("&Vault:"), _path_row(self.open_path, browse))
        self.open_actor = QLineEdit(login_name())
        form.addRow(self.tr("Your &name (for the custody log):"), self.open_actor)
        # Role and organisation are remembered inside the vault (never in a settings file); typed here
        # they replace what the vault remembers for this name, left empty they are filled from it.
        self.open_role = QComboBox()
        self.open_role.setEditable(True)
        self.open_role.addItems(["", *ROLES])
        role_edit = self.open_role.lineEdit()
        if role_edit is not None:  # always, for an editable combo box
            role_edit.setPlaceholderText(self.tr("as remembered in the vault"))
        form.addRow(self.tr("Your r&ole:"), self.open_role)
        self.open_org = QLineEdit()
        self.open_org.setPlaceholderText(self.tr("as remembered in the vault"))
        form.addRow(self.tr("Your or&ganisation:"), self.open_org)
        self.open_passphrase = QLineEdit()
        self.open_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.open_passphrase.returnPressed.connect(self.try_unlock)
        form.addRow(self.tr("&Passphrase:"), self.open_passphrase)
        self.unlock_button = QPushButton(icon("fa5s.unlock"), self.tr("&Unlock"))
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.try_unlock)
        form.addRow("", self.unlock_button)
        self.open_message = QLabel()
        self.open_message.setWordWrap(True)
        self.open_message.setTextFormat(Qt.TextFormat.PlainText)
        self.open_message.setStyleSheet("color: #b00020;")
        form.addRow("", self.open_message)
        self.countdown_label = QLabel()
        form.addRow("", self.countdown_label)
        return page

    def _browse_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a vault"), "", self.tr(VAULT_FILTER))
        if path:
            self.open_path.setText(path)

    def try_unlock(self) -> None:
        if self._busy or self.backoff.remaining() > 0:
            return
        path = self.open_path.text().strip()
        passphrase = self.open_passphrase.text()
        actor = self.open_actor.text().strip() or login_name() or "unknown"
        if not path:
            self._show_open_error(InvalidInput(self.tr("Choose the vault file first.")))
            return
        if not passphrase:
            self._show_open_error(InvalidInput(self.tr("Type the vault's passphrase.")))
            return
        self.open_message.clear()
        self._set_busy(True)
        self._pool.run(
            lambda _progress, _cancel: self._open_vault(path, passphrase, actor),
            name="unlock",
            on_result=self._unlocked,
            on_error=self._unlock_failed,
            on_finished=lambda: self._set_busy(False),
        )

    def _unlocked(self, vault: VaultService) -> None:
        self.backoff.reset()
        self.open_passphrase.clear()
        self.unlocked.emit(vault)

    def typed_profile(self) -> tuple[str, str]:
        """(role, organisation) as typed on the unlock tab; empty strings when left blank."""
        return self.open_role.currentText().strip(), self.open_org.text().strip()

    def show_profile(self, name: str, role: str, organisation: str) -> None:
        """Keep who works on the unlock tab for the next unlock (memory only, until the app exits)."""
        self.open_actor.setText(name)
        self.open_role.setCurrentText(role)
        self.open_org.setText(organisation)

    def remember_vault(self, path: str) -> None:
        self.open_path.setText(path)

    def forget_identity(self) -> None:
        """Panic: a neutral screen that names neither the vault nor the person."""
        self.reset_for_lock()
        for edit in (self.open_path, self.open_actor, self.open_org, self.create_path, self.create_actor,
                     self.create_org):
            edit.clear()
        self.open_role.setCurrentText("")

    def _unlock_failed(self, error: EvidenceVaultError) -> None:
        self._show_open_error(error)
        if isinstance(error, WrongPassphrase):
            self.open_passphrase.selectAll()
            if self.backoff.record_failure() > 0:
                self._tick()
                self._countdown.start()

    def _show_open_error(self, error: EvidenceVaultError) -> None:
        self.open_message.setText(error.user_message())

    def _tick(self) -> None:
        remaining = self.backoff.remaining()
        if remaining <= 0:
            self._countdown.stop()
            self.countdown_label.clear()
            self.unlock_button.setEnabled(not self._busy)
            self.open_passphrase.setEnabled(True)
            return
        self.unlock_button.setEnabled(False)
        self.countdown_label.setText(
            self.tr("Too many wrong attempts. Try again in %n second(s).", "", math.ceil(remaining))
        )

    # -- create -------------------------------------------------------------------------------
    def _build_create_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.create_path = QLineEdit()
        self.create_path.setPlaceholderText(self.tr("Where to keep the new vault"))
        browse = QPushButton(icon("fa5s.folder-open"), self.tr("Choose…"))
        browse.clicked.connect(self._browse_create)
        form.addRow(self.tr("&Location:"), _path_row(self.create_path, browse))
        self.create_org = QLineEdit()
        form.addRow(self.tr("&Organisation:"), self.create_org)
        self.create_actor = QLineEdit(login_name())
        form.addRow(self.tr("Your na&me:"), self.create_actor)
        self.create_passphrase = QLineEdit()
        self.create_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Pa&ssphrase:"), self.create_passphrase)
        self.create_repeat = QLineEdit()
        self.create_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&Repeat it:"), self.create_repeat)
        self.meter = StrengthMeter()
        self.create_passphrase.textChanged.connect(self.meter.update_for)
        form.addRow(self.tr("Strength:"), self.meter)
        warning = QLabel(self.tr(
            "A lost passphrase cannot be recovered by you or by the developers. Only if your organisation "
            "sets up recovery shares for this vault (ask your security lead, before you need it) can a quorum "
            "of trusted people open it again. Without that, everything in this vault is lost with the "
            "passphrase. Write it down and keep it somewhere safe."))
        warning.setWordWrap(True)
        warning.setStyleSheet("font-weight: bold;")
        form.addRow(icon_label("fa5s.exclamation-triangle"), warning)
        self.create_understood = QCheckBox(
            self.tr("I understand that a lost passphrase cannot be recovered without recovery shares"))
        form.addRow("", self.create_understood)
        self.create_button = QPushButton(icon("fa5s.plus"), self.tr("&Create vault"))
        self.create_button.clicked.connect(self.try_create)
        form.addRow("", self.create_button)
        self.create_message = QLabel()
        self.create_message.setWordWrap(True)
        self.create_message.setTextFormat(Qt.TextFormat.PlainText)
        self.create_message.setStyleSheet("color: #b00020;")
        form.addRow("", self.create_message)
        return page

    def _browse_create(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Create a vault"), "evidence.evault",
                                              self.tr(VAULT_FILTER))
        if path:
            self.create_path.setText(path)

    def try_create(self) -> None:
        if self._busy:
            return
        path = self.create_path.text().strip()
        passphrase = self.create_passphrase.text()
        organisation = self.create_org.text().strip()
        actor = self.create_actor.text().strip() or login_name() or "unknown"
        problem = None
        if not path:
            problem = self.tr("Choose where to keep the new vault.")
        elif passphrase != self.create_repeat.text():
            problem = self.tr("The two passphrases are different. Type the same passphrase twice.")
        elif not self.create_understood.isChecked():
            problem = self.tr("Tick the box to confirm you understand a lost passphrase cannot be recovered "
                              "without recovery shares.")
        if problem:
            self.create_message.setText(problem)
            return
        self.create_message.clear()
        self._set_busy(True)
        self._pool.run(
            lambda _progress, _cancel: self._create_vault(path, passphrase, actor, organisation),
            name="create",
            on_result=self._created,
            on_error=lambda error: self.create_message.setText(error.user_message()),
            on_finished=lambda: self._set_busy(False),
        )

    def _created(self, vault: VaultService) -> None:
        self.create_passphrase.clear()
        self.create_repeat.clear()
        # After a lock the unlock tab is shown: it must already name the vault just created.
        self.open_path.setText(self.create_path.text().strip())
        self.open_actor.setText(self.create_actor.text().strip())
        self.open_org.setText(self.create_org.text().strip())
        self.unlocked.emit(vault)

    # -- common -------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_bar.setVisible(busy)
        self.create_button.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy and self.backoff.remaining() <= 0)

    def reset_for_lock(self) -> None:
        """Called when the app locks: nothing typed stays in the fields."""
        self.open_passphrase.clear()
        self.create_passphrase.clear()
        self.create_repeat.clear()
        self.open_message.clear()
        self.create_message.clear()
        self.tabs.setCurrentIndex(0)

    def show_message(self, text: str) -> None:
        """A plain sentence on the unlock tab (e.g. what a panic did)."""
        self.tabs.setCurrentIndex(0)
        self.open_message.setText(text)


def icon_label(name: str) -> QLabel:
    label = QLabel()
    label.setPixmap(icon(name).pixmap(24, 24))
    return label
