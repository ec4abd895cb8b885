"""Read a document item: text files (notes, VTT/SRT transcripts, statements) and PDF files.

The original is read through ``vault.open_original`` only: text is decoded in memory (at most
MAX_TEXT_BYTES are shown), a PDF is handed to Qt's PDF module through a :class:`VaultDevice`, so no
decrypted copy ever lands in a file.  Nothing here writes to the vault.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.errors import UnsupportedMedia
from app.ui.safe_text import plain
from app.ui.vault_device import VaultDevice
from app.vault.models import Item
from app.vault.service import VaultService

MAX_TEXT_BYTES = 4 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".vtt", ".srt", ".md", ".csv", ".json", ".xml", ".html", ".htm", ".log", ".eml")


def is_pdf(item: Item) -> bool:
    return (item.mime or "") == "application/pdf" or (item.original_name or "").lower().endswith(".pdf")


def is_text(item: Item) -> bool:
    mime = item.mime or ""
    return mime.startswith("text/") or mime in ("application/json", "application/xml") or \
        (item.original_name or "").lower().endswith(TEXT_SUFFIXES)


def is_readable_document(item: Item) -> bool:
    return is_pdf(item) or is_text(item)


class DocumentViewer(QWidget):
    """A window showing one text or PDF item, read-only."""

    def __init__(self, vault: VaultService, item: Item, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.item = item
        self.device: VaultDevice | None = None
        self.pdf: QPdfDocument | None = None
        self.text: QPlainTextEdit | None = None
        self.setWindowTitle(self.tr("Document — %1").replace(
            "%1", plain(item.title or item.original_name, max_length=80)))
        self.setMinimumSize(480, 360)
        self.resize(900, 680)
        layout = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        if is_pdf(item):
            layout.addWidget(self._pdf_view(vault, item), 1)
        elif is_text(item):
            layout.addWidget(self._text_view(vault, item), 1)
        else:
            raise UnsupportedMedia("This file is neither text nor PDF, so it cannot be shown here. Its details and "
                                   "custody are shown on the right.")
        layout.addWidget(self.status)

    def _text_view(self, vault: VaultService, item: Item) -> QWidget:
        with vault.open_original(item.id) as stream:
            raw = stream.read(MAX_TEXT_BYTES + 1)
        shown = raw[:MAX_TEXT_BYTES]
        text = shown.decode("utf-8-sig", errors="replace")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName(self.tr("Document text"))
        font = QFont(self.text.font())
        font.setPointSize(max(font.pointSize(), 11))
        self.text.setFont(font)
        # Control characters other than line breaks and tabs could reorder or hide text on screen.
        self.text.setPlainText(plain(text, max_length=MAX_TEXT_BYTES, keep_newlines=True))
        notes = []
        if "\ufffd" in text:
            notes.append(self.tr("Some bytes are not UTF-8 text; they are shown as �."))
        if len(raw) > MAX_TEXT_BYTES:
            notes.append(self.tr("Only the first 4 MB are shown."))
        self.status.setText(" ".join(notes))
        return self.text

    def _pdf_view(self, vault: VaultService, item: Item) -> QWidget:
        self.device = VaultDevice.opened(vault.open_original(item.id), self)
        self.pdf = QPdfDocument(self)
        self.pdf.load(self.device)
        if self.pdf.status() == QPdfDocument.Status.Error or self.pdf.pageCount() == 0:
            self.release()
            raise UnsupportedMedia("This PDF could not be opened: it is damaged or protected by a password. "
                                   "Its original is kept unchanged in the vault.",
                                   debug_detail=str(self.pdf.error() if self.pdf else ""))
        view = QPdfView(self)
        view.setDocument(self.pdf)
        view.setPageMode(QPdfView.PageMode.MultiPage)
        view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.status.setText(self.tr("%n page(s)", "", self.pdf.pageCount()))
        return view

    def release(self) -> None:
        """Lock: drop the document and close the vault stream."""
        if self.pdf is not None:
            self.pdf.close()
        if self.device is not None:
            self.device.close()
            self.device = None
        if self.text is not None:
            self.text.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.release()
        super().closeEvent(event)

