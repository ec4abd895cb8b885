"""Attach a transcript file (WebVTT, SubRip or plain text) to a recording, from the GUI.

The file is parsed by :mod:`app.media.subtitles` (the parser the command line uses) and stored with
``vault.set_transcript``: the words become searchable, appear in the player and in every dossier.
The transcript file itself is not stored as an item (it would be an unviewable extra "document").
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.errors import InvalidInput
from app.media.subtitles import parse_transcript_file
from app.vault.models import Item, Segment
from app.vault.service import VaultService

TRANSCRIPT_FILTER = "Transcripts (*.vtt *.srt *.txt);;All files (*)"
MEDIA_KINDS = ("interview", "video", "audio")


def is_recording(item: Item) -> bool:
    mime = item.mime or ""
    return item.kind in MEDIA_KINDS or mime.startswith(("audio/", "video/"))


def read_transcript_file(path: Path) -> list[Segment]:
    """The file's segments; raises InvalidInput with a plain sentence when it holds none."""
    parsed = parse_transcript_file(path)
    if not parsed:
        raise InvalidInput("This file holds no transcript text. Choose a .vtt, .srt or .txt file with the words "
                           "spoken.")
    return [Segment(start=s.start, end=max(s.end, s.start), speaker=s.speaker, language=s.language, text=s.text)
            for s in parsed]


def choose_transcript_file(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, parent.tr("Attach a transcript file"), "", TRANSCRIPT_FILTER)
    return Path(path) if path else None


def attach_transcript(parent: QWidget, vault: VaultService, item: Item, path: Path | None = None, *,
                      confirm: bool = True) -> int | None:
    """Attach the transcript in ``path`` (asked for when None) to ``item``; returns the number of
    segments stored, None when the user stopped.  Errors are raised for the caller to show."""
    if not is_recording(item):
        raise InvalidInput("A transcript belongs to a recording. Select the interview, video or audio item "
                           "first, then attach its transcript.")
    if path is None:
        path = choose_transcript_file(parent)
        if path is None:
            return None
    segments = read_transcript_file(path)
    if confirm and vault.transcript(item.id):
        answer = QMessageBox.question(
            parent, parent.tr("Replace the transcript?"),
            parent.tr("This recording already has a transcript. Replace it with the %n segment(s) of the file? "
                      "The custody log keeps a record of both.", "", len(segments)))
        if answer != QMessageBox.StandardButton.Yes:
            return None
    vault.set_transcript(item.id, segments)
    return len(segments)

