"""The options side of the redaction review: faces (method), sound, and names (with the texts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.box_editor import DETECTED_COLOUR, RANGE_COLOUR, RESIDUAL_COLOUR, REVIEWER_COLOUR
from app.ui.redaction_text import NamesView

if TYPE_CHECKING:
    from app.redact.photo import Method

# Codes are those of app.redact.derive (METHODS, AUDIO_CHOICES, NAME_MODES); blur is never offered.
METHOD_CHOICES = (("fill", "Solid fill (black)"), ("pixelate", "Coarse pixelation with noise"))
AUDIO_CHOICES = (("keep", "Keep the sound"), ("mute", "Remove the sound"),
                 ("disguise", "Disguise the voice (pitch and formant shift)"))
NAME_CHOICES = (("pseudonym", "Replace with the pseudonym"), ("redacted", "Replace with [REDACTED]"))


def _legend(colour: QColor, text: str) -> QWidget:
    widget = QWidget()
    row = QHBoxLayout(widget)
    row.setContentsMargins(0, 0, 0, 0)
    swatch = QLabel()
    pixmap = QPixmap(14, 14)
    pixmap.fill(colour)
    swatch.setPixmap(pixmap)
    row.addWidget(swatch)
    row.addWidget(QLabel(text), 1)
    return widget


class RedactionOptions(QWidget):
    """Groups shown for ``media`` ("photo", "video", "audio" or "text", as derive.media_class says)."""

    def __init__(self, media: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.media = media
        pictures = media in ("photo", "video")
        self.faces_check = QCheckBox(self.tr("Hide faces"))
        self.faces_check.setChecked(pictures)
        self.faces_check.setEnabled(pictures)
        self.method_combo = QComboBox()
        for value, label in METHOD_CHOICES:
            self.method_combo.addItem(self.tr(label), value)
        self.boxes_label = QLabel()
        self.boxes_label.setWordWrap(True)
        faces_group = QGroupBox(self.tr("Faces"))
        faces_form = QFormLayout(faces_group)
        faces_form.addRow(self.faces_check)
        faces_form.addRow(self.tr("Method:"), self.method_combo)
        faces_form.addRow(self.boxes_label)
        for colour, text in ((DETECTED_COLOUR, self.tr("found by the detector")),
                             (REVIEWER_COLOUR, self.tr("drawn or changed by you")),
                             (RANGE_COLOUR, self.tr("held over a range of frames")),
                             (RESIDUAL_COLOUR, self.tr("face still visible after redacting"))):
            if colour is RANGE_COLOUR and media != "video":
                continue
            faces_form.addRow(_legend(colour, text))
        faces_group.setVisible(pictures)

        self.audio_combo = QComboBox()
        for value, label in AUDIO_CHOICES:
            self.audio_combo.addItem(self.tr(label), value)
        sound_group = QGroupBox(self.tr("Sound"))
        QVBoxLayout(sound_group).addWidget(self.audio_combo)
        sound_group.setVisible(media in ("video", "audio"))

        self.names_check = QCheckBox(self.tr("Replace the names of protected people"))
        self.names_check.setChecked(True)
        self.name_mode_combo = QComboBox()
        for value, label in NAME_CHOICES:
            self.name_mode_combo.addItem(self.tr(label), value)
        self.names_view = NamesView()
        self.names_view.setAccessibleName(self.tr("Texts of the item with protected names highlighted"))
        self.names_summary = QLabel(self.tr("Reading titles, notes and transcript…"))
        self.names_summary.setWordWrap(True)
        self.suggestions = QListWidget()
        self.suggestions.setMaximumHeight(90)
        self.suggestions.setAccessibleName(self.tr("Possible names not registered"))
        names_group = QGroupBox(self.tr("Names"))
        names_layout = QVBoxLayout(names_group)
        names_layout.addWidget(self.names_check)
        names_layout.addWidget(self.name_mode_combo)
        names_layout.addWidget(self.names_summary)
        names_layout.addWidget(self.names_view, 1)
        suggestions_label = QLabel(self.tr("Possible names that are not registered (review them; they are "
                                           "not replaced unless you register the person as protected):"))
        suggestions_label.setWordWrap(True)
        names_layout.addWidget(suggestions_label)
        names_layout.addWidget(self.suggestions)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(faces_group)
        layout.addWidget(sound_group)
        layout.addWidget(names_group, 1)

    @property
    def method(self) -> Method:
        return "pixelate" if self.method_combo.currentData() == "pixelate" else "fill"  # METHOD_CHOICES

    @property
    def audio(self) -> str:
        return str(self.audio_combo.currentData()) if self.media in ("video", "audio") else "keep"

    @property
    def name_mode(self) -> str:
        return str(self.name_mode_combo.currentData())

    def set_option(self, combo_name: str, value: str) -> None:
        """Choose a value in one of the combos by its code ("pixelate", "mute", "redacted"...)."""
        combo: QComboBox = getattr(self, combo_name)
        index = combo.findData(value)
        if index < 0:
            raise ValueError(value)
        combo.setCurrentIndex(index)
