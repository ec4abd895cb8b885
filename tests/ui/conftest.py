"""Fixtures for the desktop UI tests (offscreen Qt, a real SQLCipher vault in tmp_path)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.privacy import UiSettings

ACTOR = "tester"


@pytest.fixture(autouse=True)
def _cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's documented test-only switch: hundreds of KDF rounds instead of 256,000."""
    from app.vault import db

    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", 4000)


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "case.evault"


@pytest.fixture
def vault(vault_path: Path, passphrase: str) -> Iterator[Any]:
    from app.vault.vault import Vault

    opened = Vault.create(vault_path, passphrase, actor=ACTOR, organisation="Test NGO")
    yield opened
    opened.close()


@pytest.fixture
def ui(qapp: QApplication, tmp_path: Path) -> Iterator[Any]:
    """The whole application, as launch_gui builds it, with a short backoff for tests."""
    from app.ui.app import EvidenceVaultApp
    from app.ui.start import Backoff

    app = EvidenceVaultApp(qapp, settings=UiSettings(tmp_path / "ui.ini"), backoff=Backoff(base_seconds=0.4))
    app.show()
    yield app
    app.shutdown()
    app.start_window.close()
    app.start_window.deleteLater()
    qapp.removeEventFilter(app.idle)
    for widget in QApplication.topLevelWidgets():
        widget.close()


@pytest.fixture
def ui_factory(qapp: QApplication, tmp_path: Path) -> Iterator[Any]:
    """Further launches of the application in the same test (same settings file as ``ui``)."""
    from app.ui.app import EvidenceVaultApp
    from app.ui.start import Backoff

    made: list[Any] = []

    def launch() -> Any:
        app = EvidenceVaultApp(qapp, settings=UiSettings(tmp_path / "ui.ini"), backoff=Backoff(base_seconds=0.4))
        app.show()
        made.append(app)
        return app

    yield launch
    for app in made:
        app.shutdown()
        app.start_window.close()
        app.start_window.deleteLater()
        qapp.removeEventFilter(app.idle)


@pytest.fixture
def unlocked(ui: Any, vault_path: Path, passphrase: str, qtbot: Any) -> Any:
    """An app with a fresh vault created and open (vault created directly, unlocked through the UI),
    with one case selected: importing into "All items" asks for the case first (test_item_editing)."""
    from app.vault.vault import Vault

    with Vault.create(vault_path, passphrase, actor=ACTOR) as created:
        created.add_case("Case A")
    start = ui.start_window
    start.open_path.setText(str(vault_path))
    start.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(ui.unlocked, timeout=10_000):
        start.unlock_button.click()
    window = ui.main_window
    window.cases_view.setCurrentIndex(window.cases_model.index(1))
    return ui


def type_text(qtbot: Any, widget: QWidget, text: str) -> None:
    """Type any script: qtbot.keyClicks aborts on non-ASCII, so send one QKeyEvent per character."""
    for char in text:
        for kind in (QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char))


def make_png(path: Path, width: int = 320, height: int = 200, colour: Qt.GlobalColor = Qt.GlobalColor.darkCyan) -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(colour)
    assert image.save(str(path), "PNG")
    return path


def make_video(path: Path, seconds: int = 2) -> Path:
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=60,
    )
    return path
