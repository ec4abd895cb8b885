"""The texts of an item (title, description, tags, file name, notes, transcript) with the names
of protected people highlighted, and possible unregistered names marked for the reviewer.

What is marked, and what each name becomes, is computed by the redaction code itself
(``app.redact.review_texts``), so what is highlighted is exactly what will be replaced.
Suggestions are only shown; nothing here registers or replaces a name.  Text is inserted as plain
text (never HTML) after :func:`safe_text.plain`, which replaces control and bidi characters one for
one, so match offsets stay valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextEdit, QWidget

from app.progress import CancelToken, ProgressCallback
from app.ui.safe_text import plain, timestamp
from app.vault.service import VaultService

if TYPE_CHECKING:
    from app.redact.review_texts import ItemTexts, Span

MARK = QTextFormat.Property.UserProperty + 1  # "protected" or "suggestion" on highlighted runs
REDACTED = "[REDACTED]"


def texts_job(vault: VaultService, item_id: int) -> Callable[[ProgressCallback, CancelToken], ItemTexts]:
    def run(_progress: ProgressCallback, cancel: CancelToken) -> ItemTexts:
        from app.redact.review_texts import item_texts  # loads the name tables: not at start-up

        return item_texts(vault, item_id, cancel=cancel)

    return run


class NamesView(QTextEdit):
    """Read-only text with protected names highlighted (what will be replaced) and suggestions
    underlined (for the reviewer to consider registering)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.texts: ItemTexts | None = None
        self.mode = "pseudonym"

    def show_texts(self, texts: ItemTexts | None, *, mode: str = "pseudonym") -> None:
        self.texts, self.mode = texts, mode
        self.clear()
        cursor = QTextCursor(self.document())
        normal = QTextCharFormat()
        heading = QTextCharFormat()
        heading.setFontWeight(QFont.Weight.Bold)
        heading.setForeground(QColor("#555555"))
        if texts is None or not texts.pieces:
            cursor.insertText(self.tr("This item has no title, notes or transcript text."), normal)
            return
        for number, piece in enumerate(texts.pieces):
            if number:
                cursor.insertText("\n\n", normal)
            label = timestamp(piece.start) if piece.start is not None else piece.label
            cursor.insertText(plain(label, max_length=200) + "\n", heading)
            # plain() maps each character to exactly one character, so the spans still line up.
            text = plain(piece.text, max_length=len(piece.text) + 1, keep_newlines=True)
            position = 0
            for span in self._visible_spans(piece.spans):
                if span.start > position:
                    cursor.insertText(text[position:span.start], normal)
                cursor.insertText(text[span.start:span.end], self._format(span))
                if span.kind == "protected":
                    becomes = REDACTED if self.mode == "redacted" else span.replacement
                    cursor.insertText(f" → {plain(becomes, max_length=80)}", self._replacement_format())
                position = span.end
            cursor.insertText(text[position:], normal)
        self.moveCursor(QTextCursor.MoveOperation.Start)

    @staticmethod
    def _visible_spans(spans: list[Span]) -> list[Span]:
        """Protected names win over suggestions that overlap them; no overlaps in the result."""
        chosen: list[Span] = []
        for span in sorted(spans, key=lambda s: (s.kind != "protected", s.start)):
            if all(span.end <= other.start or span.start >= other.end for other in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)

    def _format(self, span: Span) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setProperty(MARK, span.kind)
        if span.kind == "protected":
            fmt.setBackground(QColor("#ffcc80"))
            fmt.setForeground(QColor("#000000"))
            fmt.setFontWeight(QFont.Weight.Bold)
            becomes = REDACTED if self.mode == "redacted" else span.replacement
            fmt.setToolTip(self.tr("Protected name: will become “%1”").replace("%1", plain(becomes, max_length=80)))
        else:
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor("#1e88e5"))
            fmt.setToolTip(self.tr("Possibly a name that is not registered. Nothing is replaced unless you "
                                   "register this person as protected."))
        return fmt

    @staticmethod
    def _replacement_format() -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setProperty(MARK, "replacement")
        fmt.setForeground(QColor("#2e7d32"))
        fmt.setFontItalic(True)
        return fmt

    def marked(self, kind: str) -> list[str]:
        """The highlighted runs of one kind, in order (what a reviewer sees marked)."""
        runs: list[str] = []
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.isValid() and fragment.charFormat().property(MARK) == kind:
                    runs.append(fragment.text())
                iterator += 1
            block = block.next()
        return runs

