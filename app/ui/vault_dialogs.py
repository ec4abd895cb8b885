"""Vault menu dialogs: change the passphrase, make a checkpoint, export the public key, say who works.

Each talks to the vault through its service API only; the passphrase change (which rewrites the
whole file) runs in the worker pool.  Checkpoint and public key are public by design: they are what
an outside auditor is given, so copying them to the clipboard or a file reveals no evidence.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.strength import StrengthMeter
from app.ui.vault_gate import begin_job, end_job
from app.ui.workers import Worker, WorkerPool
from app.vault.service import VaultService

ROLES = ("Investigator", "Lawyer", "Interviewer", "Documentation officer", "Translator", "Supervisor")


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class PublicTextDialog(QDialog):
    """Shows a public text (a checkpoint, the public key) with Copy and Save buttons."""

    def __init__(self, title: str, explanation: str, text: str, *, file_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = text
        self.file_name = file_name
        intro = _message_label()
        intro.setText(explanation)
        self.view = QPlainTextEdit(text)
        self.view.setReadOnly(True)
        self.view.setStyleSheet("font-family: monospace;")
        self.view.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.copy_button = QPushButton(icon("fa5s.copy"), self.tr("&Copy to clipboard"))
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton(icon("fa5s.save"), self.tr("&Save to a file…"))
        self.save_button.clicked.connect(self.choose_file)
        self.message = _message_label()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self.resize(620, 360)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        self.message.setText(self.tr("Copied. Paste it into a message to someone outside the organisation."))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.file_name)
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        try:
            path.write_text(self.text if self.text.endswith("\n") else self.text + "\n", encoding="utf-8")
        except OSError as error:
            self.message.setText(self.tr("The file could not be written ({0}). Choose another folder.")
                                 .format(error.strerror or error))
            return False
        self.message.setText(self.tr("Saved to {0}.").format(path))
        return True


def checkpoint_dialog(vault: VaultService, parent: QWidget | None = None) -> PublicTextDialog:
    """Signs a checkpoint now (recorded as an event) and shows it."""
    text: str = vault.checkpoint()
    return PublicTextDialog(
        QGuiApplication.translate("checkpoint", "Checkpoint"),
        QGuiApplication.translate("checkpoint", (
            "This short signed text fixes the custody log as it is now. Send it to someone outside your "
            "organisation (a lawyer, a partner) or keep a copy elsewhere: if anyone later rewrites the "
            "log, checking the vault against this checkpoint shows it. It contains no names or evidence.")),
        text, file_name="checkpoint.txt", parent=parent)


def public_key_dialog(vault: VaultService, parent: QWidget | None = None) -> PublicTextDialog:
    pem: bytes = vault.public_key_pem()
    return PublicTextDialog(
        QGuiApplication.translate("public key", "Public signing key"),
        QGuiApplication.translate("public key", (
            "Give this public key (key id {0}) to whoever must check your dossiers and checkpoints. It "
            "cannot open the vault or sign anything.")).format(vault.key_id),
        pem.decode("ascii"), file_name=f"evidence-vault-{vault.key_id}.pem", parent=parent)


class ChangePassphraseDialog(QDialog):
    """New passphrase twice, with the strength meter; the rewrite runs in a worker."""

    changed = Signal()

    def __init__(self, vault: VaultService, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.pool = pool
        self.worker: Worker | None = None
        self.setWindowTitle(self.tr("Change the passphrase"))
        self.new_edit = QLineEdit()
        self.new_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.meter = StrengthMeter()
        self.new_edit.textChanged.connect(self.meter.update_for)
        note = _message_label()
        note.setText(self.tr(
            "The vault is re-encrypted under the new passphrase; the old one stops working at once. "
            "Tell everyone who opens this vault. If your organisation set up recovery, its shares keep working."))
        self.message = _message_label()
        self.message.setStyleSheet("color: #b00020;")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.tr("&New passphrase:"), self.new_edit)
        form.addRow(self.tr("&Repeat it:"), self.repeat_edit)
        form.addRow(self.tr("Strength:"), self.meter)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Change passphrase"))
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(520, 300)

    def start(self) -> Worker | None:
        new = self.new_edit.text()
        if new != self.repeat_edit.text():
            self.message.setText(self.tr("The two passphrases are different. Type the same passphrase twice."))
            return None
        vault = self.vault
        token = begin_job(vault, self.tr("changing the passphrase"))
        self.buttons.setEnabled(False)
        self.busy.setVisible(True)
        self.message.clear()

        def finished() -> None:
            end_job(vault, token)
            self.worker = None
            self.buttons.setEnabled(True)
            self.busy.setVisible(False)

        self.worker = self.pool.run(lambda _progress, _cancel: vault.change_passphrase(new), name="passphrase",
                                    on_result=lambda _none: self._done(), on_error=self._failed,
                                    on_finished=finished)
        return self.worker

    def _done(self) -> None:
        self.new_edit.clear()
        self.repeat_edit.clear()
        self.changed.emit()
        self.accept()

    def _failed(self, error: EvidenceVaultError) -> None:
        self.message.setText(error.user_message())

    def release(self) -> None:
        """Called at lock: nothing typed stays in the fields."""
        self.new_edit.clear()
        self.repeat_edit.clear()


class ProfileDialog(QDialog):
    """Who is working: the name given at unlock, plus role and organisation, remembered inside the vault."""

    saved = Signal(object)  # ActorProfile

    def __init__(self, vault: VaultService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.setWindowTitle(self.tr("Who is working"))
        profile = vault.actor_profile()
        self.name_label = QLabel(profile.name)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.role_combo = QComboBox()
        self.role_combo.setEditable(True)
        self.role_combo.addItems(ROLES)
        self.role_combo.setCurrentText(profile.role or ROLES[0])
        self.org_edit = QLineEdit(profile.organisation)
        note = _message_label()
        note.setText(self.tr(
            "Your name is what you typed when unlocking; every custody entry carries it. Your role is printed "
            "on the certification of the dossiers you export. Both are kept inside the encrypted vault only."))
        self.message = _message_label()
        self.message.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.tr("Name:"), self.name_label)
        form.addRow(self.tr("&Role:"), self.role_combo)
        form.addRow(self.tr("&Organisation:"), self.org_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(480, 260)

    def save(self) -> bool:
        try:
            self.vault.set_actor_profile(role=self.role_combo.currentText(), organisation=self.org_edit.text())
            profile = self.vault.actor_profile()
        except EvidenceVaultError as error:
            self.message.setText(error.user_message())
            return False
        self.saved.emit(profile)
        self.accept()
        return True
