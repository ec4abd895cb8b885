"""Passphrase strength meter; the judgement itself belongs to app.vault.passphrase."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from app.vault.service import passphrase_strength


def evaluate(passphrase: str) -> tuple[float, str]:
    """(0..1, plain words) from the vault's own estimate, the same one Vault.create enforces."""
    strength = passphrase_strength(passphrase)
    return strength.score / 4.0, strength.reason


class StrengthMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)  # the reason below the bar: it can be a long sentence
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        self.update_for("")

    def update_for(self, passphrase: str) -> None:
        fraction, words = evaluate(passphrase) if passphrase else (0.0, "")
        self.bar.setValue(round(fraction * 100))
        colour = "#b00020" if fraction < 0.5 else ("#c77c00" if fraction < 0.75 else "#1b7f3b")
        self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        self.label.setText(words)
