"""Icons from qtawesome (Font Awesome, SIL OFL / MIT), cached per name; scalable, so high-DPI safe."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QGuiApplication, QIcon


def icon(name: str, color: str | None = None) -> QIcon:
    """A Font Awesome icon; an empty icon before the QApplication exists (never cached then)."""
    if QGuiApplication.instance() is None:
        return QIcon()
    return _icon(name, color)


@cache
def _icon(name: str, color: str | None) -> QIcon:
    import qtawesome

    options = {"color": color} if color else {}
    made: QIcon = qtawesome.icon(name, **options)  # qtawesome ships no type hints
    return made


KIND_ICONS = {
    "interview": "fa5s.comments",
    "photo": "fa5s.image",
    "video": "fa5s.film",
    "audio": "fa5s.volume-up",
    "document": "fa5s.file-alt",
    "transcript": "fa5s.closed-captioning",
}


def kind_icon(kind: str | None) -> QIcon:
    return icon(KIND_ICONS.get(kind or "", "fa5s.file"))
