"""The export wizard's options and stops, as ``evidence-vault export`` has them (app/cli/export_cmds.py).

:class:`OptionsPage` chooses the confidentiality legend on every page, the paper (A4 or Letter), the place of
the certification, the organisation's seal and a timestamp command.  It says which seal the export will use: the
organisation's seal kept in the vault (subject and fingerprint), a PKCS#12 file given for this export only, or the
vault's self-signed seal (the offline default); a PKCS#12 file can be kept in the vault for every export (through
the service API, ``VaultService.import_org_seal``) and removed again.
:class:`ReviewStop` and :class:`DamagedQuestion` sit on the progress page: a redacted export that would make
redacted copies itself stops until the user opens redaction review or accepts automatic redaction under their
name (recorded in the custody log); an export that meets a picture that cannot be read asks whether to include
it as the original file with a placeholder page (withheld with a placeholder at the redacted level).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.errors import EvidenceVaultError
from app.export.dossier_model import PAPERS
from app.export.ern import LEGENDS, default_legend, legend_text
from app.ui.icons import icon
from app.ui.safe_text import plain
from app.vault.service import OrgSealInfo

PAPER_WORDS = {"A4": "A4 (210 × 297 mm)", "Letter": "US Letter (8.5 × 11 in)"}


class OptionsPage(QWizardPage):
    """Legend, paper, place of the certification, the organisation's seal, a timestamp authority."""

    def __init__(self, wizard: Any) -> None:  # ExportWizard: its choices are typed loosely (see its mode pages)
        super().__init__()
        self._wizard = wizard
        self.seal: Any | None = None  # app.export.org_seal.OrganisationSeal, loaded when the page is left
        self.timestamper: Any | None = None  # app.export.tsa.CommandTimeStamper
        self.setTitle(self.tr("How the dossier is marked and sealed"))
        self.setSubTitle(self.tr("The defaults suit most exports; change them when the receiving court or "
                                 "mechanism asks."))
        self.legend = QComboBox()
        self.legend.setAccessibleName(self.tr("Confidentiality legend"))
        self.legend.addItem(self.tr("Default for this audience and level"), None)
        for key, text in LEGENDS.items():
            self.legend.addItem(text, key)
        self.legend.currentIndexChanged.connect(lambda _i: self.completeChanged.emit())
        self.paper = QComboBox()
        self.paper.setAccessibleName(self.tr("Paper size"))
        for name in PAPERS:
            self.paper.addItem(self.tr(PAPER_WORDS.get(name, name)), name)
        self.place = QLineEdit()
        self.place.setPlaceholderText(self.tr("Where you make the certification, e.g. Bangkok, Thailand"))
        self.stored_seal: OrgSealInfo | None = None  # the organisation seal kept in the vault
        self.seal_status = QLabel()
        self.seal_status.setWordWrap(True)
        self.seal_status.setAccessibleName(self.tr("Which seal the dossier gets"))
        self.remove_seal = QPushButton(icon("fa5s.trash-alt"), self.tr("Remove it from the vault"))
        self.remove_seal.clicked.connect(self.remove_stored_seal)
        self.use_seal = QCheckBox(self.tr("Seal with our organisation's certificate from a file (a .p12 or .pfx "
                                          "file)"))
        self.use_seal.toggled.connect(self._seal_toggled)
        self.seal_path = QLineEdit()
        self.seal_path.setPlaceholderText(self.tr("The organisation's certificate and key (PKCS#12)"))
        self.seal_path.textChanged.connect(self._seal_changed)
        self.seal_browse = QPushButton(icon("fa5s.folder-open"), self.tr("Browse…"))
        self.seal_browse.clicked.connect(self.browse_seal)
        self.seal_passphrase = QLineEdit()
        self.seal_passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.seal_passphrase.setPlaceholderText(self.tr("Passphrase of the certificate file"))
        self.seal_passphrase.textChanged.connect(self._seal_changed)
        self.keep_seal = QPushButton(icon("fa5s.lock"), self.tr("Keep it in the vault for every export"))
        self.keep_seal.setToolTip(self.tr("Stores the certificate and its key inside the encrypted vault (recorded "
                                          "in the custody log); later exports are sealed with it without the file."))
        self.keep_seal.clicked.connect(self.keep_seal_in_vault)
        self.timestamp = QLineEdit()
        self.timestamp.setPlaceholderText(self.tr("Optional: a command that returns an RFC 3161 timestamp"))
        self.timestamp.setToolTip(self.tr(
            "A timestamp authority vouches for the time of sealing. Give a command that reads a timestamp request "
            "and writes the authority's reply (your organisation's IT can provide one). The app itself never "
            "goes online."))
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b71c1c;")
        seal_row = QHBoxLayout()
        seal_row.setContentsMargins(0, 0, 0, 0)
        seal_row.addWidget(self.seal_path, 1)
        seal_row.addWidget(self.seal_browse)
        seal_box = QWidget()
        seal_box.setLayout(seal_row)
        form = QFormLayout()
        form.addRow(self.tr("Legend on every page:"), self.legend)
        form.addRow(self.tr("Paper:"), self.paper)
        form.addRow(self.tr("Place of certification:"), self.place)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        status_row = QHBoxLayout()
        status_row.addWidget(self.seal_status, 1)
        status_row.addWidget(self.remove_seal)
        layout.addLayout(status_row)
        layout.addWidget(self.use_seal)
        seal_form = QFormLayout()
        seal_form.addRow(self.tr("Certificate file:"), seal_box)
        seal_form.addRow(self.tr("Its passphrase:"), self.seal_passphrase)
        seal_form.addRow("", self.keep_seal)
        seal_form.addRow(self.tr("Timestamp command:"), self.timestamp)
        layout.addLayout(seal_form)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self._seal_toggled(False)

    def initializePage(self) -> None:
        audience, level = self._wizard.audience or "court", self._wizard.level or "redacted"
        self.legend.setItemText(0, self.tr("Default: %1").replace("%1", LEGENDS[default_legend(audience, level)]))
        self.problem.setText("")
        self.refresh_seal()

    def refresh_seal(self) -> None:
        """Ask the vault which organisation seal it keeps, and say which seal this export will get."""
        try:
            self.stored_seal = self._wizard.vault.org_seal_info()
        except EvidenceVaultError as error:
            self.stored_seal = None
            self.problem.setText(plain(error.user_message(), max_length=400))
        self._show_seal()

    def _show_seal(self) -> None:
        stored = self.stored_seal
        if self.use_seal.isChecked():
            text = self.tr("Seal: the certificate file chosen below, for this export only.")
        elif stored is not None:
            text = (self.tr("Seal: the organisation's seal kept in this vault, %1 (SHA-256 fingerprint %2), valid "
                            "until %3.").replace("%1", plain(stored.subject, max_length=200))
                    .replace("%2", stored.fingerprint).replace("%3", stored.not_after[:10]))
        else:
            text = self.tr("Seal: self-signed, offline default (this vault's own seal: it proves the file is "
                           "unchanged, but no certificate authority vouches for it). Choose your organisation's "
                           "certificate file below to seal with it, and keep it in the vault for every export.")
        self.seal_status.setText(text)
        self.remove_seal.setVisible(stored is not None and not self.use_seal.isChecked())
        self.keep_seal.setEnabled(self.use_seal.isChecked() and bool(self.seal_path.text().strip()))

    def keep_seal_in_vault(self) -> bool:
        """Import the chosen PKCS#12 file into the vault (the service checks it); later exports use it."""
        try:
            self.stored_seal = self._wizard.vault.import_org_seal(Path(self.seal_path.text().strip()).expanduser(),
                                                                  self.seal_passphrase.text() or None)
        except EvidenceVaultError as error:
            self.problem.setText(plain(error.user_message(), max_length=400))
            return False
        self.seal_passphrase.clear()
        self.seal_path.clear()
        self.use_seal.setChecked(False)  # the stored seal is now the default
        self.problem.setText("")
        self._show_seal()
        return True

    def remove_stored_seal(self) -> bool:
        try:
            self._wizard.vault.remove_org_seal()
        except EvidenceVaultError as error:
            self.problem.setText(plain(error.user_message(), max_length=400))
            return False
        self.refresh_seal()
        return True

    def _seal_toggled(self, on: bool) -> None:
        for widget in (self.seal_path, self.seal_browse, self.seal_passphrase):
            widget.setEnabled(on)
        self._seal_changed()

    def _seal_changed(self, *_args: Any) -> None:
        self.seal = None  # loaded again from the file and passphrase now shown
        self.problem.setText("")
        self._show_seal()
        self.completeChanged.emit()

    def browse_seal(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("The organisation's seal certificate"), "",
                                              self.tr("PKCS#12 (*.p12 *.pfx);;All files (*)"))
        if path:
            self.seal_path.setText(path)

    @property
    def confidentiality(self) -> str | None:
        value = self.legend.currentData()
        return str(value) if value is not None else None

    @property
    def paper_size(self) -> str:
        return str(self.paper.currentData())

    @property
    def place_text(self) -> str:
        return " ".join(self.place.text().split())

    def isComplete(self) -> bool:
        return not self.use_seal.isChecked() or bool(self.seal_path.text().strip())

    def validatePage(self) -> bool:
        """Check the choices as the export will (legend for this level, seal file and passphrase, command)."""
        try:
            legend_text(self.confidentiality, audience=self._wizard.audience or "court",
                        level=self._wizard.level or "redacted")
            self.seal = None
            if self.use_seal.isChecked():
                from app.export.org_seal import load_pkcs12_file

                self.seal = load_pkcs12_file(Path(self.seal_path.text().strip()).expanduser(),
                                             self.seal_passphrase.text() or None)
            self.timestamper = None
            command = self.timestamp.text().strip()
            if command:
                from app.export.tsa import CommandTimeStamper

                self.timestamper = CommandTimeStamper.from_command_line(command)
        except EvidenceVaultError as error:
            message = error.user_message().replace("--level redacted", "the redacted level")
            self.problem.setText(plain(message, max_length=400))
            return False
        self.problem.setText("")
        return True


class ReviewStop(QWidget):
    """A redacted export stopped because photos or videos have no reviewed redacted copy: review them, or
    accept automatic redaction under your name (recorded in the custody log and the redaction log)."""

    accepted = Signal(str)

    def __init__(self, open_review: Callable[[int], Any], actor: str = "") -> None:
        super().__init__()
        self._open_review = open_review
        self.items: list[int] = []
        self.question = QLabel(self.tr(
            "Check these photos and videos in Redaction review first (choosing whose faces are hidden), then try "
            "again; or let the export redact them automatically. Automatic redaction is recorded in the custody "
            "log and the dossier's redaction log under your name."))
        self.question.setWordWrap(True)
        self.review_button = QPushButton(icon("fa5s.user-shield"), self.tr("Open redaction review"))
        self.review_button.clicked.connect(self.open_review)
        self.name = QLineEdit(actor)
        self.name.setPlaceholderText(self.tr("Your name"))
        self.name.setAccessibleName(self.tr("Name of the person who accepts automatic redaction"))
        self.accept_button = QPushButton(icon("fa5s.check"), self.tr("Accept automatic redaction and export"))
        self.name.textChanged.connect(lambda text: self.accept_button.setEnabled(bool(text.strip())))
        self.accept_button.setEnabled(bool(actor.strip()))
        self.accept_button.clicked.connect(self._accept)
        row = QHBoxLayout()
        row.addWidget(self.review_button)
        row.addStretch(1)
        row.addWidget(self.name, 1)
        row.addWidget(self.accept_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.question)
        layout.addLayout(row)
        self.setVisible(False)

    def ask(self, items: list[int]) -> None:
        self.items = list(items)
        self.review_button.setEnabled(bool(self.items))
        self.setVisible(True)

    def open_review(self) -> None:
        """Redaction review of the first item that needs it (the others are listed in the message)."""
        if self.items:
            self._open_review(self.items[0])

    def _accept(self) -> None:
        name = " ".join(self.name.text().split())
        if name:
            self.setVisible(False)
            self.accepted.emit(name)


class DamagedQuestion(QWidget):
    """An exhibit picture cannot be read: include it as the original file with a placeholder page?"""

    accepted = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setStyleSheet("font-weight: bold;")
        self.yes_button = QPushButton(icon("fa5s.file-alt"), "")
        self.yes_button.clicked.connect(self._yes)
        row = QHBoxLayout()
        row.addWidget(self.yes_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.question)
        layout.addLayout(row)
        self.setVisible(False)

    def ask(self, count: int, *, redacted: bool) -> None:
        it = self.tr("it") if count == 1 else self.tr("them")
        if redacted:
            self.question.setText(self.tr(
                "Export without %1? A picture that cannot be read cannot be redacted, so the dossier shows a "
                "placeholder page saying it was withheld and why; the original stays unchanged in the vault.")
                .replace("%1", it))
            self.yes_button.setText(self.tr("Withhold with a placeholder page and export"))
        else:
            self.question.setText(self.tr(
                "Include %1 as the original file with a placeholder page? The page gives the ERN and the file's "
                "SHA-256; a bundle (and a court dossier of originals) carries the file itself, unchanged.")
                .replace("%1", it))
            self.yes_button.setText(self.tr("Include as the original file with a placeholder page"))
        self.setVisible(True)

    def _yes(self) -> None:
        self.setVisible(False)
        self.accepted.emit()
