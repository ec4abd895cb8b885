"""The texts of an item (title, description, tags, file name, notes, transcript) with the names
of protected people highlighted, and possible unregistered names marked for the reviewer.

Matching is the redaction code's own (``NameRedactor.find`` and ``suggest_names``), so what is
highlighted is exactly what will be replaced.  Suggestions are only shown; nothing here registers
or replaces a name.  Text is inserted as plain text (never HTML) after :func:`safe_text.plain`,
which replaces control and bidi characters one for one, so match offsets stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextEdit, QWidget

from app.progress import CancelToken, ProgressCallback
from app.ui.safe_text import plain, timestamp

MARK = QTextFormat.Property.UserProperty + 1  # "protected" or "suggestion" on highlighted runs
REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "protected" or "suggestion"
    replacement: str = ""  # the pseudonym, for protected names


@dataclass
class Piece:
    label: str
    text: str
    spans: list[Span] = field(default_factory=list)


@dataclass
class ItemTexts:
    pieces: list[Piece]
    names_found: list[str]
    suggestions: list[str]


def _pieces_of(vault: Any, item: Any) -> list[tuple[str, str]]:
    pieces = [("Title", item.title or ""), ("Description", item.description or ""),
              ("Tags", ", ".join(item.tags or ())), ("File name", item.original_name or "")]
    pieces += [("Note", note.text) for note in vault.notes(item.id)]
    for segment in vault.transcript(item.id):
        # The speaker is part of the text (not the label): speakers' names are redacted too.
        who = f"{segment.speaker}: " if segment.speaker else ""
        pieces.append((timestamp(segment.start), who + segment.text))
    return [(label, text) for label, text in pieces if text]


def texts_job(vault: Any, item_id: int):  # -> Job
    def run(_progress: ProgressCallback, cancel: CancelToken) -> ItemTexts:
        from app.redact.name_suggest import suggest_names
        from app.redact.names import redactor_from_persons

        item = vault.get_item(item_id)
        redactor = redactor_from_persons(vault.list_persons())
        pieces: list[Piece] = []
        found: list[str] = []
        suggestions: set[str] = set()
        for label, text in _pieces_of(vault, item):
            cancel.check()
            piece = Piece(label, text)
            # File names are matched as redact_filename does: "_-.+~" act as spaces (one for one).
            searched = "".join(" " if c in "_-.+~" else c for c in text) if label == "File name" else text
            for match in redactor.find(searched):
                piece.spans.append(Span(match.start, match.end, "protected",
                                        redactor.replacement_for(match.person_id)))
                found.append(text[match.start:match.end])
            for suggestion in suggest_names(text, known=redactor):
                piece.spans.append(Span(suggestion.start, suggestion.end, "suggestion"))
                suggestions.add(suggestion.text)
            pieces.append(piece)
        return ItemTexts(pieces, found, sorted(suggestions))

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
            cursor.insertText(plain(piece.label, max_length=200) + "\n", heading)
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

