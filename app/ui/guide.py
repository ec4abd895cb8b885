"""Help ▸ User guide: the short guide shipped inside the package (app/ui/help/user_guide.md), so an
installed copy finds it without the source tree."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

GUIDE_PACKAGE = "app.ui.help"
GUIDE_FILE = "user_guide.md"


def guide_text() -> str:
    return resources.files(GUIDE_PACKAGE).joinpath(GUIDE_FILE).read_text(encoding="utf-8")


class UserGuideWindow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(self.tr("Evidence Vault — user guide"))
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)  # the app never opens the network, not even a browser
        self.browser.setMarkdown(guide_text())
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        self.resize(760, 640)
