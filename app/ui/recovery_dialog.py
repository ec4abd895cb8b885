"""Organisational recovery, set up from the GUI (Vault ▸ Set up recovery shares…).

The vault's key is split into N recovery shares (Shamir, :mod:`app.vault.recovery`), any K of which
open the vault without the passphrase.  Setting it up rewrites the vault file with a new key, so the
vault is locked first (the app does that, :meth:`EvidenceVaultApp.set_up_recovery`); the shares are
then shown ONCE in :class:`SharesDialog` and never stored by the application.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.vault.service import MAX_RECOVERY_SHARES as MAX_SHARES
from app.vault.service import RecoverySetup

EXPLANATION = (
    "Recovery lets your organisation open this vault if the passphrase is lost. The vault's key is split "
    "into several recovery shares, written on paper and given to different trusted people at headquarters. "
    "Any chosen number of them together open the vault; fewer reveal nothing. The vault is locked while "
    "recovery is set up; unlock it again with your passphrase afterwards. Setting it up again replaces the "
    "old shares (they stop working)."
)


@dataclass(frozen=True)
class RecoveryRequest:
    passphrase: str
    shares: int
    threshold: int
    panic_destroys_keys: bool


class RecoverySetupDialog(QDialog):
    """Asks for the passphrase, the number of shares and how many open the vault."""

    requested = Signal(object)  # RecoveryRequest

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Set up recovery shares"))
        self.setMinimumWidth(420)
        explanation = QLabel(self.tr(EXPLANATION))
        explanation.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.shares = QSpinBox()
        self.shares.setRange(2, MAX_SHARES)
        self.shares.setValue(5)
        self.threshold = QSpinBox()
        self.threshold.setRange(2, MAX_SHARES)
        self.threshold.setValue(3)
        self.panic = QCheckBox(self.tr("Panic destroys this laptop's key: afterwards only the shares open the vault"))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b71c1c;")
        form = QFormLayout()
        form.addRow(self.tr("Your passphrase:"), self.passphrase)
        form.addRow(self.tr("Number of shares:"), self.shares)
        form.addRow(self.tr("Shares needed to open:"), self.threshold)
        form.addRow("", self.panic)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Lock and set up recovery"))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        if not self.passphrase.text():
            self.message.setText(self.tr("Type your passphrase: it stays valid, recovery is added beside it."))
            return
        if self.threshold.value() > self.shares.value():
            self.message.setText(self.tr("The shares needed to open cannot be more than the number of shares."))
            return
        request = RecoveryRequest(self.passphrase.text(), self.shares.value(), self.threshold.value(),
                                  self.panic.isChecked())
        self.passphrase.clear()
        self.accept()
        self.requested.emit(request)


class SharesDialog(QDialog):
    """The shares, shown once.  Closing needs a tick that they were written down; the text is then wiped."""

    def __init__(self, setup: RecoverySetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Recovery shares — shown only once"))
        self.setMinimumSize(520, 420)
        count, needed = len(setup.shares), setup.threshold
        warning = QLabel(self.tr(
            "Write each share on paper and give it to a different trusted person at headquarters. Any %1 of "
            "these %2 shares open this vault WITHOUT the passphrase: never keep %1 of them together, never "
            "photograph them, never store them on this laptop or send them by message. Evidence Vault does "
            "not keep them.").replace("%1", str(needed)).replace("%2", str(count)))
        warning.setWordWrap(True)
        warning.setStyleSheet("font-weight: bold;")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setPlainText("\n\n".join(f"Share {n} of {count}:\n{share}" for n, share in
                                           enumerate(setup.shares, start=1))
                               + f"\n\nRecovery key fingerprint: {setup.fingerprint}")
        self.written = QCheckBox(self.tr("I have written every share on paper"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setEnabled(False)
        self.written.toggled.connect(self.close_button.setEnabled)
        self.buttons.rejected.connect(self.accept)
        self.close_button.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(warning)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.written)
        layout.addWidget(self.buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def done(self, result: int) -> None:
        self.text.clear()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.written.isChecked():
            event.ignore()  # shown once: closing by accident would lose them
            return
        self.text.clear()
        super().closeEvent(event)
