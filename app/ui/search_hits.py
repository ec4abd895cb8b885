"""Search results as lines an investigator can read: which item, where (title, note, transcript at
0:01:23) and the matching words.  Clicking a line selects its item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from app.ui.safe_text import plain

MAX_LINES = 200


def timecode(seconds: float) -> str:
    """0:01:23 — the time in a recording where the words are said."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def hit_line(hit: Any, title: str) -> str:
    where = str(hit.field)
    if hit.field == "transcript" and hit.start is not None:
        where = f"transcript at {timecode(hit.start)}"
    snippet = plain(hit.snippet, max_length=160)
    return f"{plain(title, max_length=60)} — {where}: {snippet}"


class SearchHitsList(QListWidget):
    """One line per hit; ``chosen(item_id, start)`` when the user picks one (start None: not timed)."""

    chosen = Signal(int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setMaximumHeight(110)
        self.setAccessibleName(self.tr("Where the words were found"))
        self.itemActivated.connect(self._picked)
        self.itemClicked.connect(self._picked)
        self.setVisible(False)

    def set_hits(self, hits: Sequence[Any], titles: dict[int, str]) -> None:
        self.clear()
        for hit in list(hits)[:MAX_LINES]:
            line = QListWidgetItem(hit_line(hit, titles.get(hit.item_id, f"item {hit.item_id}")))
            line.setData(Qt.ItemDataRole.UserRole, (hit.item_id, hit.start))
            self.addItem(line)
        self.setVisible(bool(hits))

    def _picked(self, line: QListWidgetItem) -> None:
        item_id, start = line.data(Qt.ItemDataRole.UserRole)
        self.chosen.emit(int(item_id), start)
