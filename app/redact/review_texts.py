"""The texts of an item (title, description, tags, file name, notes, transcript) as a reviewer sees
them before a redaction: the names of protected people found, with what each becomes, and possible
unregistered names marked as suggestions.

Matching is the redaction code's own (``NameRedactor.find`` and ``suggest_names``, file names
searched as ``redact_filename`` searches them), so what is marked is exactly what will be replaced.
Suggestions are only reported; nothing here registers or replaces a name.  The desktop app's
redaction review shows this (app/ui/redaction_text.py) and keeps no rule of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.progress import CancelToken
from app.redact.name_suggest import suggest_names
from app.redact.names import filename_as_text, redactor_from_persons

FILE_NAME = "File name"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "protected" or "suggestion"
    replacement: str = ""  # the pseudonym, for protected names


@dataclass
class Piece:
    label: str  # "Title", "Description", "Tags", "File name", "Note"; "" for a transcript segment
    text: str
    spans: list[Span] = field(default_factory=list)
    start: float | None = None  # a transcript segment's start, in seconds


@dataclass
class ItemTexts:
    pieces: list[Piece]
    names_found: list[str]
    suggestions: list[str]


def item_pieces(vault: Any, item: Any) -> list[Piece]:
    """Every non-empty text of ``item`` that a redacted copy carries, in reading order."""
    pieces = [Piece("Title", item.title or ""), Piece("Description", item.description or ""),
              Piece("Tags", ", ".join(item.tags or ())), Piece(FILE_NAME, item.original_name or "")]
    pieces += [Piece("Note", note.text) for note in vault.notes(item.id)]
    for segment in vault.transcript(item.id):
        # The speaker is part of the text (not the label): speakers' names are redacted too.
        who = f"{segment.speaker}: " if segment.speaker else ""
        pieces.append(Piece("", who + segment.text, start=float(segment.start)))
    return [piece for piece in pieces if piece.text]


def item_texts(vault: Any, item_id: int, *, cancel: CancelToken | None = None) -> ItemTexts:
    """The pieces of item ``item_id`` with protected names and suggestions marked."""
    item = vault.get_item(item_id)
    redactor = redactor_from_persons(vault.list_persons())
    found: list[str] = []
    suggestions: set[str] = set()
    pieces = item_pieces(vault, item)
    for piece in pieces:
        if cancel is not None:
            cancel.check()
        text = piece.text
        # File names are matched as redact_filename does: its separators act as spaces (one for one).
        searched = filename_as_text(text) if piece.label == FILE_NAME else text
        for match in redactor.find(searched):
            piece.spans.append(Span(match.start, match.end, "protected", redactor.replacement_for(match.person_id)))
            found.append(text[match.start:match.end])
        for suggestion in suggest_names(text, known=redactor):
            piece.spans.append(Span(suggestion.start, suggestion.end, "suggestion"))
            suggestions.add(suggestion.text)
    return ItemTexts(pieces, found, sorted(suggestions))
