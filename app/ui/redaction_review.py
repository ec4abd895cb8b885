"""Redaction review: check and correct what will be hidden before a redacted copy is made.

The reviewer sees the detector's face boxes over the photo (or over each video frame, with a
timeline to scrub), adds, moves, resizes and removes boxes, holds a box over a range of video
frames, chooses the method (solid fill or pixelation -- never blur) and what happens to the sound,
sees the protected names that will be replaced (and possible unregistered names, never applied
automatically), previews a photo's redaction in memory, and applies.  Applying runs
``app.redact.derive.redact_item`` in a worker; faces still visible afterwards are drawn in another
colour and must be covered or explicitly accepted.  Detection, decoding and applying never run on
the UI thread, and nothing decoded is written to disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.redact.derive import DerivativeResult, RedactionProposal, audio_policy, media_class, propose
from app.redact.faces import Box
from app.redact.review_texts import ItemTexts
from app.ui.box_editor import BoxEditorView
from app.ui.icons import icon
from app.ui.kept_faces import KeptFacesControl, legend_text
from app.ui.redaction_apply import ApplyMixin
from app.ui.redaction_media import (
    FRAME_BUDGET,
    LoadedPhoto,
    VideoFrames,
    frames_job,
    photo_job,
)
from app.ui.redaction_options import RedactionOptions
from app.ui.redaction_text import NamesView, texts_job
from app.ui.redaction_video import FrameBoxes, VideoReviewMixin, VideoTimeline
from app.ui.safe_text import plain
from app.ui.workers import Worker, WorkerPool
from app.vault.models import Item
from app.vault.service import VaultService

if TYPE_CHECKING:
    from app.redact.photo import Method

_fallback_pool: WorkerPool | None = None


def fallback_pool() -> WorkerPool:
    """A pool for dialogs opened without one (the main window passes the application's pool).

    It belongs to the application, not to the dialog: a worker finishing after its dialog closed
    must still find its pool alive."""
    global _fallback_pool
    if _fallback_pool is None:
        _fallback_pool = WorkerPool(QCoreApplication.instance())
    return _fallback_pool


class RedactionReviewDialog(ApplyMixin, VideoReviewMixin, QDialog):
    """Review and apply the redaction of one item.  Emits ``derivativeCreated(item_id)``."""

    derivativeCreated = Signal(int)
    # Shorthands for the option widgets of self.options (set in __init__, used by callers and tests).
    faces_check: QCheckBox
    method_combo: QComboBox
    boxes_label: QLabel
    audio_combo: QComboBox
    names_check: QCheckBox
    name_mode_combo: QComboBox
    names_view: NamesView
    names_summary: QLabel
    suggestions: QListWidget
    kept: KeptFacesControl  # "Keep visible…": faces left visible, with whose they are and why
    frame_budget = FRAME_BUDGET  # bytes of decoded video frames kept in memory for scrubbing
    detectionFinished = Signal()  # the detector's proposal is on screen
    mediaLoaded = Signal()  # the photo or the video's frames are decoded and shown
    textsLoaded = Signal()
    frameShown = Signal(int)  # this exact video frame is now displayed
    residualFound = Signal(list)  # faces still visible after redacting (list[Box])
    applyFailed = Signal(object)  # any other EvidenceVaultError from applying

    def __init__(self, vault: VaultService, item_id: int, parent: QWidget | None = None, *,
                 pool: WorkerPool | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.item_id = item_id
        self.pool = pool or fallback_pool()
        self.item: Item | None = None
        self.media = "text"
        self.proposal: RedactionProposal | None = None
        self.photo: LoadedPhoto | None = None
        self.video: VideoFrames | None = None
        self.frame_boxes: FrameBoxes | None = None
        self.texts: ItemTexts | None = None
        self.derivative: DerivativeResult | None = None  # the copy made (not `result`: QDialog.result())
        self.residual: list[Box] = []
        self.preview_image: QImage | None = None
        self.current_frame = 0
        self.shown_frame: int | None = None  # the frame whose exact picture is displayed
        self._loading_boxes = False
        self._workers: dict[str, Worker] = {}
        self._gate_token: int | None = None
        self.already_redacted = False
        self.setWindowTitle(self.tr("Redaction review"))
        self.setWindowIcon(icon("fa5s.user-secret"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setSizeGripEnabled(True)
        try:
            self.item = vault.get_item(item_id)
        except EvidenceVaultError as error:
            self._build_ui()
            self._fail_load(error)
            return
        self.media = media_class(self.item)
        # A redacted copy is never redacted again (derive refuses it): review its original instead.
        self.already_redacted = bool(self.item.derived_from is not None
                                     and (self.item.derivation or {}).get("redaction"))
        self._build_ui()
        if self.media in ("video", "audio"):
            # As at export: a protected person's voice is removed unless the reviewer chooses otherwise.
            self.set_option("audio_combo", audio_policy(vault, item_id))
        self._start_loading()
        if self.already_redacted:
            self.status.setText(self.tr("This item is already a redacted copy of item %1. Open the original to "
                                        "redact it again.").replace("%1", str(self.item.derived_from)))

    # -- layout ----------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        kind = self.media
        title = plain(self.item.title or self.item.original_name, max_length=100) if self.item else ""
        self.header = QLabel(self.tr("Item %1 (%2) — %3").replace("%1", str(self.item_id))
                             .replace("%2", self.item.kind if self.item else "?").replace("%3", title))
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setStyleSheet("font-size: 12pt; font-weight: bold;")

        self.editor = BoxEditorView()
        self.editor.setAccessibleName(self.tr("Picture with redaction boxes"))
        self.editor.boxesChanged.connect(self._boxes_changed)
        self.zoom_label = QLabel("100 %")
        self.editor.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.zoom_in_action = self._tool("fa5s.search-plus", self.tr("Zoom in"), lambda: self.editor.zoom_by(1.25),
                                         QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = self._tool("fa5s.search-minus", self.tr("Zoom out"),
                                          lambda: self.editor.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self._tool("fa5s.compress", self.tr("Fit"), self.editor.fit, "Ctrl+0")
        self.toolbar.addSeparator()
        self.add_action = self._tool("fa5s.plus-square", self.tr("Add box"), self.add_box_in_view,
                                     "Ctrl+B")
        self.remove_action = self._tool("fa5s.minus-square", self.tr("Remove box"), self.remove_selected)
        self.remove_action.setToolTip(self.tr("Remove the selected box (Delete)"))
        self.keep_action = self._tool("fa5s.user-check", self.tr("Keep visible…"), lambda: self.kept.ask())
        self.keep_action.setToolTip(self.tr("Leave the selected face visible (only a person who is not protected, "
                                            "with the reason)"))
        self.keep_action.setVisible(kind in ("photo", "video"))
        self.toolbar.addSeparator()
        self.preview_action = self._tool("fa5s.eye", self.tr("Preview"), lambda: None, "Ctrl+P")
        self.preview_action.setCheckable(True)
        self.preview_action.toggled.connect(self.set_preview)
        self.preview_action.setVisible(kind in ("photo", "video"))
        self.frameShown.connect(lambda _index: self._refresh_preview())  # video: the preview follows the frame
        self.toolbar.addWidget(self.zoom_label)
        self.hint = QLabel(self.tr("Drag on the picture to draw a box; drag a box to move it, its corners to "
                                   "resize it; Delete removes the selected box. Ctrl+wheel zooms."))
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")

        self.timeline = VideoTimeline()
        self.timeline.frameChanged.connect(self.show_frame)
        self.timeline.addRangeRequested.connect(lambda start, end: self.add_range_box(start, end))
        self.timeline.removeRangeRequested.connect(self.remove_range_box)

        picture = QWidget()
        picture_layout = QVBoxLayout(picture)
        picture_layout.setContentsMargins(0, 0, 0, 0)
        picture_layout.addWidget(self.toolbar)
        picture_layout.addWidget(self.editor, 1)
        picture_layout.addWidget(self.hint)
        self.legend = QLabel(legend_text())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setVisible(kind in ("photo", "video"))
        picture_layout.addWidget(self.legend)
        picture_layout.addWidget(self.timeline)
        picture.setVisible(kind in ("photo", "video"))
        self.timeline.setVisible(kind == "video")

        # options (faces, sound, names)
        self.options = RedactionOptions(kind)
        for name in ("faces_check", "method_combo", "boxes_label", "audio_combo", "names_check",
                     "name_mode_combo", "names_view", "names_summary", "suggestions"):
            setattr(self, name, getattr(self.options, name))  # shorthand for callers and tests
        self.faces_check.toggled.connect(lambda _on: self._update_buttons())
        self.method_combo.currentIndexChanged.connect(lambda _i: self._refresh_preview())
        self.audio_combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.names_check.toggled.connect(lambda _on: self._update_buttons())
        self.name_mode_combo.currentIndexChanged.connect(
            lambda _i: self.names_view.show_texts(self.texts, mode=self.name_mode) if self.texts else None)
        options = self.options

        splitter = QSplitter()
        splitter.addWidget(picture)
        splitter.addWidget(options)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([700, 420] if kind in ("photo", "video") else [0, 1])

        self.residual_panel = self._build_residual_panel()

        # status, progress, buttons
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(icon("fa5s.times"), self.tr("Cancel"))
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_running)
        self.apply_button = QPushButton(icon("fa5s.user-secret"), self.tr("&Apply redaction"))
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip(self.tr("Make a redacted copy. The original stays unchanged in the vault."))
        self.apply_button.clicked.connect(lambda: self.apply())
        close_button = QPushButton(self.tr("Close"))
        close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.apply_button)
        bottom.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.residual_panel)
        layout.addLayout(bottom)
        self.kept = KeptFacesControl(self.vault, self.item, self.editor, self.status, self,
                                     frame=(lambda: self.current_frame) if kind == "video" else None)
        self.resize(1180, 700)  # fits a 1366×768 laptop screen with the title bar and panel
        self._update_buttons()

    def _tool(self, icon_name: str, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(icon(icon_name), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda *_: slot())
        self.toolbar.addAction(action)
        return action

    # -- options as values -----------------------------------------------------------------------
    @property
    def method(self) -> Method:
        return self.options.method

    @property
    def audio(self) -> str:
        return self.options.audio

    @property
    def name_mode(self) -> str:
        return self.options.name_mode

    def set_option(self, combo_name: str, value: str) -> None:
        """Choose a value in one of the option combos by its code ("pixelate", "mute", "redacted"...)."""
        self.options.set_option(combo_name, value)

    # -- loading ---------------------------------------------------------------------------------
    def _run(self, key: str, job: Any, *, on_result: Any, on_progress: Any = None) -> Worker:
        previous = self._workers.get(key)
        if previous is not None:
            previous.cancel()
        worker = self.pool.run(job, name=f"redaction-{key}", on_result=on_result, on_error=self._worker_error,
                               on_progress=on_progress, on_finished=self._update_buttons)
        self._workers[key] = worker
        return worker

    def _start_loading(self) -> None:
        vault, item_id = self.vault, self.item_id
        if self.media == "photo":
            self._run("media", photo_job(vault, item_id), on_result=self._photo_loaded)
        elif self.media == "video":
            self._run("media", frames_job(vault, item_id, budget=self.frame_budget), on_result=self._frames_loaded,
                      on_progress=self._progress)
        if self.media in ("photo", "video") and not self.already_redacted:
            self.status.setText(self.tr("Looking for faces…"))
            self._run("detect", lambda progress, cancel: propose(vault, item_id, faces=True, names=False,
                                                                 progress=progress, cancel=cancel),
                      on_result=self._proposal_ready, on_progress=self._progress)
        self._run("texts", texts_job(vault, item_id), on_result=self._texts_ready)
        self._update_buttons()

    def _fail_load(self, error: EvidenceVaultError) -> None:
        self.status.setText(error.user_message())
        self.apply_button.setEnabled(False)

    def _worker_error(self, error: EvidenceVaultError) -> None:
        self.status.setText(error.user_message())

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        if message:
            self.status.setText(self.tr(message) + "…")

    def _photo_loaded(self, photo: LoadedPhoto) -> None:
        self.photo = photo
        self.editor.set_image(photo.image, fit=True)
        if self.proposal is not None:
            self._show_photo_boxes()
        self.mediaLoaded.emit()

    def _frames_loaded(self, frames: VideoFrames) -> None:
        self.video = frames
        self.editor.image_size = (frames.width, frames.height)
        strip = QPixmap.fromImage(frames.strip) if frames.strip is not None else None
        if self.frame_boxes is None:
            self.frame_boxes = FrameBoxes([[] for _ in range(frames.count)])
        self.timeline.set_video(frames.count, frames.fps, strip)
        self.show_frame(self.timeline.slider.value())
        self.editor.fit()
        if self.proposal is not None:
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)
        self.mediaLoaded.emit()

    def _proposal_ready(self, proposal: RedactionProposal) -> None:
        self.proposal = proposal
        if self.media == "photo":
            if self.photo is not None:
                self._show_photo_boxes()
            found = len(proposal.boxes)
            self.status.setText(self.tr("The detector found %n face area(s). Check every face is covered.", "",
                                        found).replace("%n", str(found)))
        else:
            self.frame_boxes = FrameBoxes(proposal.frames)
            with_faces = sum(1 for boxes in proposal.frames if boxes)
            self.status.setText(self.tr("The detector found faces in %1 of %2 frames. Scrub through the video "
                                        "and check every face is covered.")
                                .replace("%1", str(with_faces)).replace("%2", str(len(proposal.frames))))
            if self.video is not None:
                self.show_frame(self.current_frame)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_buttons()
        self.detectionFinished.emit()

    def _show_photo_boxes(self) -> None:
        assert self.proposal is not None
        self._loading_boxes = True
        try:
            self.editor.set_boxes(self.proposal.boxes, kind="detected")
        finally:
            self._loading_boxes = False
        self._boxes_changed()

    def _texts_ready(self, texts: ItemTexts) -> None:
        self.texts = texts
        self.names_view.show_texts(texts, mode=self.name_mode)
        self.suggestions.clear()
        for suggestion in texts.suggestions[:200]:
            self.suggestions.addItem(plain(suggestion, max_length=120))
        found = len(texts.names_found)
        self.names_summary.setText(
            self.tr("%1 occurrence(s) of protected names will be replaced (highlighted below).")
            .replace("%1", str(found)) if found else
            self.tr("No registered protected name appears in this item's texts."))
        self.textsLoaded.emit()

    # -- boxes -----------------------------------------------------------------------------------
    def _boxes_changed(self) -> None:
        if self._loading_boxes:
            return
        if self.media == "video":
            self._store_frame_boxes()
        self._update_box_count()

    def _update_box_count(self) -> None:
        count = len(self.editor.boxes())
        if self.media == "video" and self.frame_boxes is not None:
            self.boxes_label.setText(self.tr("%1 box(es) on this frame; %2 frame(s) with boxes in all.")
                                     .replace("%1", str(count))
                                     .replace("%2", str(self.frame_boxes.frames_with_boxes())))
        else:
            self.boxes_label.setText(self.tr("%1 box(es) will be hidden.").replace("%1", str(count)))

    def add_box_in_view(self) -> None:
        """Add a box in the middle of what is shown (then move and resize it)."""
        if not self.editor.image_size[0]:
            return
        visible = self.editor.mapToScene(self.editor.viewport().rect()).boundingRect().intersected(self.editor.bounds)
        size = max(16.0, min(visible.width(), visible.height()) / 4)
        center = visible.center()
        item = self.editor.add_box(center.x() - size / 2, center.y() - size / 2, size, size, kind="reviewer")
        self.editor.scene().clearSelection()
        item.setSelected(True)
        self.editor.setFocus()

    def remove_selected(self) -> None:
        self.editor.remove_selected()

    # -- apply -----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        if not hasattr(self, "apply_button"):
            return
        applying = "apply" in self._workers
        faces = self.faces_check.isChecked() and self.media in ("photo", "video")
        ready = self.item is not None and not applying and not self.already_redacted
        if faces:
            ready = ready and self.proposal is not None and (self.media != "video" or self.frame_boxes is not None)
        if self.media == "text" or (self.media == "audio" and self.audio == "keep"):
            ready = ready and self.names_check.isChecked()
        self.apply_button.setEnabled(ready)
        self.add_action.setEnabled(not self.preview_action.isChecked())
        self.remove_action.setEnabled(not self.preview_action.isChecked())
        self.keep_action.setEnabled(not self.preview_action.isChecked())

    # -- cancel, lock, close -----------------------------------------------------------------------
    def cancel_running(self) -> None:
        for worker in list(self._workers.values()):
            worker.cancel()

    def release(self) -> None:
        """Lock: stop work and drop every decoded picture from memory."""
        self.cancel_running()
        if self.photo is not None:
            self.set_preview(False)
        self.editor.set_boxes([])
        self.editor.set_residual([])
        self.editor.clear_image()
        self.photo = None
        self.preview_image = None
        if self.video is not None:
            self.video.release()
            self.video = None
        self.timeline.strip.clear()
        self.names_view.clear()
        self.texts = None

    def done(self, result: int) -> None:
        self.cancel_running()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel_running()
        super().closeEvent(event)
