"""Qt models over the vault's plain dataclasses (Case, Item, Event, Person, Segment).

Models hold copies of rows handed to them; they never call the vault themselves, so a model can
be dropped at lock time without touching storage.  Every table has named column constants and
two custom roles: SORT_ROLE (a value that sorts correctly) and OBJECT_ROLE (the backing object).
All text shown is passed through safe_text.plain (imported data is untrusted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap

from app.ui.icons import kind_icon
from app.ui.plain_words import action_sentence, details_sentence
from app.ui.safe_text import (
    capture_time_text,
    human_size,
    ltr,
    parse_timestamp,
    plain,
    short_time,
    timestamp,
)
from app.vault.events import Event
from app.vault.models import Case, Item, Person, Segment

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
OBJECT_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex


DAMAGED_MARK = "⚠ "


def item_hidden(item: Item) -> bool:
    return bool((getattr(item, "metadata", None) or {}).get("hidden"))


def item_damaged(item: Item) -> bool:
    """Stored with a warning at import (truncated, unreadable, misnamed…)."""
    return bool(getattr(item, "ingest_warnings", ()))


def damaged_text(item: Item) -> str:
    """The item's import warnings in plain words, each naming the file it concerns."""
    name = plain(getattr(item, "original_name", "") or f"#{item.id}", max_length=120)
    lines = [QCoreApplication.translate("ItemsTableModel", "%1 was stored with a warning:").replace("%1", name)]
    lines += [f"• {plain(str(warning), max_length=400)}" for warning in getattr(item, "ingest_warnings", ())]
    return "\n".join(lines)


def person_label(person: Person) -> str:
    """Protected people show by pseudonym in lists; the real name only in their own dialog."""
    if getattr(person, "protected", False) and getattr(person, "pseudonym", None):
        return plain(person.pseudonym, max_length=80)
    return plain(getattr(person, "name", ""), max_length=80)


class CasesModel(QAbstractListModel):
    """One row per case, plus a first row "All items" (case id None)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cases: list[Case] = []
        self.all_label = "All items"

    def set_cases(self, cases: Sequence[Case]) -> None:
        self.beginResetModel()
        self._cases = list(cases)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cases) + 1

    def case_id(self, row: int) -> int | None:
        return None if row <= 0 else self._cases[row - 1].id

    def row_of(self, case_id: int | None) -> int:
        for row, case in enumerate(self._cases, start=1):
            if case.id == case_id:
                return row
        return 0

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        case = None if index.row() == 0 else self._cases[index.row() - 1]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.all_label if case is None else plain(case.title, max_length=200)
        if role == Qt.ItemDataRole.ToolTipRole and case is not None:
            return plain(getattr(case, "description", ""), max_length=500)
        if role == OBJECT_ROLE:
            return case
        return None


class _HeadedTableModel(QAbstractTableModel):
    """Columns and their translated titles from the subclass's ``HEADERS``."""

    HEADERS: tuple[str, ...] = ()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.HEADERS)):
            return QCoreApplication.translate(type(self).__name__, self.HEADERS[section])
        return None


@dataclass
class ItemRow:
    item: Item
    people: list[str] = field(default_factory=list)


class ItemsTableModel(_HeadedTableModel):
    COL_TITLE, COL_KIND, COL_DATE, COL_PEOPLE, COL_TAGS, COL_SIZE = range(6)
    HEADERS = ("Title", "Kind", "Date", "People", "Tags", "Size")
    THUMB_SIZE = 112  # decoded size; shown at 56×40, sharp on 2× screens

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ItemRow] = []
        self._row_by_id: dict[int, int] = {}  # row_of is called by every sort comparison (ItemFilter.lessThan)
        self._thumbs: dict[int, QIcon] = {}  # in memory only; dropped at lock

    def set_rows(self, rows: Sequence[ItemRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._row_by_id = {}
        for row, entry in enumerate(self._rows):
            self._row_by_id.setdefault(entry.item.id, row)
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._row_by_id = {}
        self._thumbs.clear()
        self.endResetModel()

    def item_at(self, row: int) -> Item:
        return self._rows[row].item

    def row_of(self, item_id: int) -> int:
        return self._row_by_id.get(item_id, -1)

    def item_ids(self) -> list[int]:
        return [entry.item.id for entry in self._rows]

    def set_thumbnail(self, item_id: int, image: QImage) -> None:
        # A QIcon (not a bare pixmap) so the view scales it to its icon size.
        self._thumbs[item_id] = QIcon(QPixmap.fromImage(image))
        row = self.row_of(item_id)
        if row >= 0:
            index = self.index(row, self.COL_TITLE)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def has_thumbnail(self, item_id: int) -> bool:
        return item_id in self._thumbs

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        item = entry.item
        column = index.column()
        if role == OBJECT_ROLE:
            return item
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            date = getattr(item, "captured_at", None) or getattr(item, "created_at", "")
            if column == self.COL_TITLE:
                title = plain(item.title or item.original_name or f"#{item.id}", max_length=200)
                if role == SORT_ROLE:
                    return title
                # A derived (redacted) copy is listed under its original (ItemFilter.lessThan), marked ↳.
                return "".join(("↳ " if item.derived_from is not None else "",
                                DAMAGED_MARK if item_damaged(item) else "", title,
                                QCoreApplication.translate("ItemsTableModel", " (hidden)") if item_hidden(item)
                                else ""))
            if column == self.COL_KIND:
                return item.kind
            if column == self.COL_DATE:
                if role == SORT_ROLE:
                    return date or ""
                captured = getattr(item, "captured_at", None)
                return ltr(capture_time_text(captured, compact=True) if captured else short_time(date))
            if column == self.COL_PEOPLE:
                return ", ".join(entry.people)
            if column == self.COL_TAGS:
                return ", ".join(plain(tag, max_length=60) for tag in (item.tags or ()))
            if column == self.COL_SIZE:
                return (item.size or 0) if role == SORT_ROLE else ltr(human_size(item.size))
        if role == Qt.ItemDataRole.DecorationRole and column == self.COL_TITLE:
            thumb = self._thumbs.get(item.id)
            return thumb if thumb is not None else kind_icon(item.kind)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_TITLE:
            tip = plain(item.original_name, max_length=300)
            if item_damaged(item):
                tip += "\n" + damaged_text(item)
            return tip
        if role == Qt.ItemDataRole.ForegroundRole and (item_damaged(item) or item_hidden(item)):
            return QBrush(QColor("#b00020" if item_damaged(item) else "#808080"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.COL_SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class EventsTableModel(_HeadedTableModel):
    """The custody log."""

    COL_SEQ, COL_TIME, COL_ACTOR, COL_ACTION, COL_ITEM, COL_DETAILS = range(6)
    HEADERS = ("#", "Time (UTC)", "Who", "Action", "Item", "Details")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._events: list[Event] = []

    def set_events(self, events: Sequence[Event]) -> None:
        self.beginResetModel()
        self._events = list(events)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._events)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._events):
            return None
        event = self._events[index.row()]
        column = index.column()
        if role == OBJECT_ROLE:
            return event
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            if column == self.COL_SEQ:
                return event.seq if role == SORT_ROLE else str(event.seq)
            if column == self.COL_TIME:
                return event.time if role == SORT_ROLE else ltr(short_time(event.time))
            if column == self.COL_ACTOR:
                return plain(event.actor, max_length=80)
            if column == self.COL_ACTION:
                return plain(action_sentence(event.action), max_length=80)
            if column == self.COL_ITEM:
                if event.item_id is None:
                    return -1 if role == SORT_ROLE else ""
                return event.item_id if role == SORT_ROLE else f"#{event.item_id}"
            if column == self.COL_DETAILS:
                return plain(details_sentence(event.details), max_length=300)
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_ACTION:
            return plain(event.action, max_length=40)  # the word in the log, for auditors
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_DETAILS:
            return plain(_details_text(event.details), max_length=2000)
        return None


def _details_text(details: Any) -> str:
    if not details:
        return ""
    if isinstance(details, dict):
        return "; ".join(f"{key}: {value}" for key, value in sorted(details.items()))
    return str(details)


class SegmentsTableModel(_HeadedTableModel):
    """Editable transcript segments: start, end, speaker, text (language kept per segment)."""

    COL_START, COL_END, COL_SPEAKER, COL_TEXT = range(4)
    HEADERS = ("Start", "End", "Speaker", "Text")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._segments: list[dict[str, Any]] = []
        self.dirty = False

    def set_segments(self, segments: Sequence[Segment]) -> None:
        self.beginResetModel()
        self._segments = [
            {"start": float(s.start), "end": float(s.end), "speaker": s.speaker or "",
             "language": getattr(s, "language", None), "text": s.text or ""}
            for s in segments
        ]
        self._segments.sort(key=lambda s: s["start"])
        self.dirty = False
        self.endResetModel()

    def segments(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._segments]

    def insert_segment(self, start: float, *, speaker: str = "", text: str = "",
                       length: float = 5.0) -> int:
        """Insert in time order; returns the new row."""
        row = 0
        while row < len(self._segments) and self._segments[row]["start"] <= start:
            row += 1
        self.beginInsertRows(QModelIndex(), row, row)
        self._segments.insert(row, {"start": start, "end": start + length, "speaker": speaker,
                                    "language": None, "text": text})
        self.endInsertRows()
        self.dirty = True
        return row

    def remove_segment(self, row: int) -> None:
        if 0 <= row < len(self._segments):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._segments[row]
            self.endRemoveRows()
            self.dirty = True

    def start_of(self, row: int) -> float:
        return float(self._segments[row]["start"])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._segments)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._segments):
            return None
        segment = self._segments[index.row()]
        key = ("start", "end", "speaker", "text")[index.column()]
        if role in (SORT_ROLE, OBJECT_ROLE):
            return segment[key] if role == SORT_ROLE else dict(segment)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if key in ("start", "end"):
                return timestamp(segment[key]) if role == Qt.ItemDataRole.EditRole else ltr(timestamp(segment[key]))
            return plain(segment[key], max_length=10000) if role == Qt.ItemDataRole.DisplayRole else segment[key]
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        segment = self._segments[index.row()]
        key = ("start", "end", "speaker", "text")[index.column()]
        if key in ("start", "end"):
            try:
                seconds = parse_timestamp(str(value))
            except ValueError:
                return False
            segment[key] = seconds
        else:
            segment[key] = str(value)
        self.dirty = True
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        return True


class PersonsModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._persons: list[Person] = []

    def set_persons(self, persons: Sequence[Person]) -> None:
        self.beginResetModel()
        self._persons = list(persons)
        self.endResetModel()

    def person_at(self, row: int) -> Person:
        return self._persons[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._persons)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._persons):
            return None
        person = self._persons[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{person_label(person)} ({person.role})"
        if role == OBJECT_ROLE:
            return person
        if role == Qt.ItemDataRole.DecorationRole:
            return _shield() if person.protected else None
        return None


def _shield() -> QIcon:
    from app.ui.icons import icon

    return icon("fa5s.user-shield")
