"""`evidence-vault` with no arguments: start the desktop application."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from app.ui.privacy import UiSettings, cleanup_process, harden_process


def launch_gui(argv: list[str] | None = None) -> int:
    """Build the application, show the unlock screen, run the event loop; returns the exit code."""
    harden_process()  # umask, no native dialogs, Qt settings redirected to memory
    QCoreApplication.setOrganizationName("EvidenceVault")
    QCoreApplication.setApplicationName("Evidence Vault")
    existing = QApplication.instance()
    qapp = existing if isinstance(existing, QApplication) else QApplication(argv if argv is not None else sys.argv[:1])
    qapp.setQuitOnLastWindowClosed(True)
    translator = QTranslator(qapp)
    # Qt's own strings (buttons in standard dialogs) in the user's language, where Qt ships them.
    if translator.load(QLocale(), "qtbase", "_", ":/i18n"):
        qapp.installTranslator(translator)

    from app.ui.app import EvidenceVaultApp

    ui = EvidenceVaultApp(qapp, settings=UiSettings())
    ui.show()
    try:
        return int(qapp.exec())
    finally:
        ui.shutdown()
        cleanup_process()
