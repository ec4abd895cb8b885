"""Every top-level window and dialog works on a 1366×768 laptop screen: its minimum size fits the
screen minus the title bar and panels, and at that size its key controls are on screen."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QWidget, QWizard

from app.vault.service import RecoverySetup
from tests.ui.conftest import make_png

# 1366×768 minus a title bar, a desktop panel and window borders.
MAX_W, MAX_H = 1340, 700
WAIT = 60_000


def _fits(window: QWidget, qtbot: Any, key_widgets: list[QWidget]) -> None:
    hint, minimum = window.minimumSizeHint(), window.minimumSize()
    name = type(window).__name__
    assert hint.width() <= MAX_W and hint.height() <= MAX_H, f"{name} needs {hint.width()}×{hint.height()}"
    assert minimum.width() <= MAX_W and minimum.height() <= MAX_H, f"{name} minimum {minimum.toTuple()}"
    assert window.width() <= MAX_W and window.height() <= MAX_H, f"{name} opens at {window.size().toTuple()}"
    window.resize(MAX_W, MAX_H)
    qtbot.waitUntil(lambda: window.width() <= MAX_W and window.height() <= MAX_H)
    inside = window.rect()
    for widget in key_widgets:
        assert widget.isVisible(), f"{name}: {widget.objectName() or type(widget).__name__} is hidden"
        top_left = widget.mapTo(window, QPoint(0, 0))
        box = QRect(top_left, widget.size())
        assert inside.contains(box), f"{name}: {widget.text() if hasattr(widget, 'text') else widget} is cut off"


def _wide_video(path: Path) -> Path:
    """16:9, like phone and camera video: its thumbnail strip made the redaction window 1473 px wide."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=320x180:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=60)
    return path


@pytest.fixture
def items(vault: Any, tmp_path: Path) -> dict[str, Any]:
    photo = vault.ingest_file(make_png(tmp_path / "wide.png", 2400, 600), kind="photo", title="Wide photo")
    video = vault.ingest_file(_wide_video(tmp_path / "clip.mp4"), kind="video", title="Clip")
    statement = tmp_path / "statement.txt"
    statement.write_text("A long line of a written statement. " * 400, encoding="utf-8")
    text = vault.ingest_file(statement, title="Statement")
    return {"photo": vault.get_item(photo.item_id), "video": vault.get_item(video.item_id),
            "text": vault.get_item(text.item_id)}


@pytest.fixture
def pool(qapp: Any) -> Any:
    from app.ui.workers import WorkerPool

    workers = WorkerPool(max_threads=1)
    yield workers
    workers.cancel_all()
    workers.shutdown(5000)


def _show(qtbot: Any, window: QWidget) -> QWidget:
    # These tests only measure sizes.  A window that deletes itself on close would be gone before
    # pytest-qt closes it again at teardown ("Internal C++ object already deleted"), depending on when
    # the deferred delete runs: keep it alive until its Python wrapper goes.
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _simple_windows(vault: Any, pool: Any, items: dict[str, Any]) -> dict[str, Callable[[], tuple[QWidget, list[str]]]]:
    from app.ui.document_viewer import DocumentViewer
    from app.ui.export_wizard import ExportWizard
    from app.ui.guide import UserGuideWindow
    from app.ui.image_viewer import ImageViewer
    from app.ui.item_editor import ItemEditDialog
    from app.ui.main_window import MainWindow
    from app.ui.media_viewer import MediaViewer
    from app.ui.persons import PersonsDialog
    from app.ui.recording import RecordingDialog
    from app.ui.recovery_dialog import RecoverySetupDialog, SharesDialog
    from app.ui.start import StartWindow
    from app.ui.vault_dialogs import ChangePassphraseDialog, ProfileDialog, checkpoint_dialog, public_key_dialog
    from app.ui.verify import CustodyLogWindow, VerifyDialog

    return {
        "start": lambda: (StartWindow(pool), ["unlock_button", "open_passphrase", "open_role"]),
        "main": lambda: (MainWindow(vault, pool), ["items_view", "cases_view", "search_edit"]),
        "image": lambda: (ImageViewer(vault, pool, items["photo"]), []),
        "media": lambda: (MediaViewer(vault, items["video"]), ["play_button", "volume", "load_button",
                                                               "save_button"]),
        "document": lambda: (DocumentViewer(vault, items["text"]), ["text", "status"]),
        "recovery": lambda: (RecoverySetupDialog(), ["passphrase", "threshold", "buttons"]),
        "shares": lambda: (SharesDialog(RecoverySetup(shares=["word " * 33] * 16, threshold=9, fingerprint="ab" * 8,
                                                      panic_destroys_keys=False)), ["text", "written", "buttons"]),
        "persons": lambda: (PersonsDialog(vault), ["save_button", "record_consent_button", "withdraw_button"]),
        "verify": lambda: (VerifyDialog(vault, pool), ["start_button", "cancel_button"]),
        "log": lambda: (CustodyLogWindow(vault), ["filter_edit", "view"]),
        "record": lambda: (RecordingDialog(vault, pool), ["record_button", "stop_button"]),
        "export": lambda: (ExportWizard(vault), []),
        "edit": lambda: (ItemEditDialog(vault, items["photo"], vault.list_cases()), ["title_edit", "buttons"]),
        "passphrase": lambda: (ChangePassphraseDialog(vault, pool), ["new_edit", "buttons"]),
        "profile": lambda: (ProfileDialog(vault), ["role_combo", "org_edit"]),
        "checkpoint": lambda: (checkpoint_dialog(vault), ["copy_button", "save_button"]),
        "public key": lambda: (public_key_dialog(vault), ["copy_button", "save_button"]),
        "guide": lambda: (UserGuideWindow(), ["browser"]),
    }


@pytest.mark.parametrize("name", ["start", "main", "image", "media", "document", "persons", "verify", "log", "record",
                                  "export", "edit", "passphrase", "profile", "checkpoint", "public key", "guide",
                                  "recovery", "shares"])
def test_window_fits_a_laptop_screen(name: str, vault: Any, pool: Any, items: dict[str, Any], qtbot: Any) -> None:
    window, keys = _simple_windows(vault, pool, items)[name]()
    _show(qtbot, window)
    widgets = [getattr(window, key) for key in keys]
    if isinstance(window, QWizard):
        widgets += [window.button(QWizard.WizardButton.NextButton), window.button(QWizard.WizardButton.CancelButton)]
    _fits(window, qtbot, widgets)
    getattr(window, "release", lambda: None)()
    if hasattr(window, "written"):
        window.written.setChecked(True)  # the shares window closes only once they are written down
    window.close()


@pytest.mark.parametrize("kind", ["photo", "video"])
def test_redaction_review_fits_a_laptop_screen(kind: str, vault: Any, pool: Any, items: dict[str, Any],
                                               qtbot: Any) -> None:
    """Loaded (a wide photo, a video's thumbnail strip and range controls): it was 1473 px wide."""
    from app.ui.redaction_review import RedactionReviewDialog

    dialog = RedactionReviewDialog(vault, items[kind].id, pool=pool)
    _show(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.proposal is not None and (dialog.photo or dialog.video) is not None,
                    timeout=WAIT)
    keys = [dialog.apply_button, dialog.editor, dialog.faces_check, dialog.names_check]
    if kind == "video":
        keys += [dialog.timeline.slider, dialog.timeline.add_range_button]
    _fits(dialog, qtbot, keys)
    dialog.close()
