"""Applying a redaction review: the preview, the redacted copy made in a worker, the faces still visible.

The apply half of :class:`app.ui.redaction_review.RedactionReviewDialog`: previews the redaction in
memory (the photo, or the video frame shown), gathers the reviewed boxes (and the faces kept
visible, with their reasons) into ``app.redact.derive.redact_item``, run on the application's
worker; when faces can still be seen afterwards it shows them and lets the reviewer cover them or
accept them (recorded in the custody log).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from app.errors import EvidenceVaultError
from app.redact.derive import DerivativeResult, ResidualFaces, redact_item
from app.redact.faces import Box
from app.ui.icons import icon
from app.ui.kept_faces import kept_summary
from app.ui.redaction_media import preview_frame, rgb_to_qimage
from app.ui.workers import Worker, WorkerPool
from app.vault.service import VaultService


class ApplyMixin:
    """Expects the dialog's attributes (``editor``, ``kept``, ``status``, ``progress``, ``pool``...)."""

    vault: VaultService
    item_id: int
    media: str
    pool: WorkerPool
    editor: Any
    kept: Any
    proposal: Any
    frame_boxes: Any
    status: QLabel
    progress: Any
    cancel_button: QPushButton
    preview_action: Any
    faces_check: Any
    names_check: Any
    residual: list[Box]
    derivative: DerivativeResult | None
    _workers: dict[str, Worker]
    _gate_token: int | None
    derivativeCreated: SignalInstance
    residualFound: SignalInstance
    applyFailed: SignalInstance
    method: Any
    audio: Any
    name_mode: Any
    tr: Callable[..., str]
    _progress: Callable[[int, int, str], None]
    _update_buttons: Callable[[], None]
    photo: Any
    video: Any
    preview_image: Any
    current_frame: int
    show_frame: Callable[[int], None]

    def set_preview(self, on: bool) -> None:
        """Show the redaction as it will be applied (computed in memory): the photo, or the video frame shown."""
        if self.preview_action.isChecked() != on:
            self.preview_action.setChecked(on)  # comes back here through toggled
            return
        if self.photo is None and self.video is None:
            return
        if on:
            self._refresh_preview()
        else:
            self.preview_image = None
            if self.photo is not None:
                self.editor.set_image(self.photo.image)
            else:
                self.show_frame(self.current_frame)
            self.editor.set_boxes_visible(True)
            self.editor.editable = True
        self._update_buttons()

    def _refresh_preview(self) -> None:
        if not self.preview_action.isChecked() or (self.photo is None and self.video is None):
            return
        from app.redact.photo import apply_boxes

        boxes = self.editor.boxes() if self.faces_check.isChecked() else []
        if self.photo is not None:
            self.preview_image = rgb_to_qimage(apply_boxes(self.photo.rgb, boxes, method=self.method, seed=0))
        elif self.video is not None:
            frame = self.video.cached(self.current_frame)
            frame = frame if frame is not None else self.video.nearest(self.current_frame)
            if frame is None:
                return
            self.preview_image = preview_frame(frame, boxes, video_size=(self.video.width, self.video.height),
                                               method=self.method)
        self.editor.set_image(self.preview_image)
        self.editor.set_boxes_visible(False)
        self.editor.editable = False
        self.status.setText(self.tr("Preview: the redacted copy will look like this (computed in memory only). "
                                    "Turn Preview off to edit the boxes."))

    def _build_residual_panel(self) -> QFrame:
        """The bar shown when faces are still visible after redacting: cover them, or apply anyway."""
        self.residual_panel = QFrame()
        self.residual_panel.setFrameShape(QFrame.Shape.StyledPanel)
        self.residual_panel.setStyleSheet("QFrame { background: #fce4ec; }")
        self.residual_label = QLabel()
        self.residual_label.setWordWrap(True)
        self.residual_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cover_residual_button = QPushButton(icon("fa5s.plus-square"), self.tr("Cover them with boxes"))
        self.cover_residual_button.clicked.connect(self.cover_residual)
        self.accept_residual_button = QPushButton(icon("fa5s.check"), self.tr("They are not faces: apply anyway"))
        self.accept_residual_button.clicked.connect(self.accept_residual_and_apply)
        residual_row = QHBoxLayout(self.residual_panel)
        residual_row.addWidget(self.residual_label, 1)
        residual_row.addWidget(self.cover_residual_button)
        residual_row.addWidget(self.accept_residual_button)
        self.residual_panel.setVisible(False)
        return self.residual_panel

    def apply(self, *, accept_residual: bool = False) -> Worker | None:
        """Make the redacted copy in a worker; ``derivativeCreated`` on success."""
        if "apply" in self._workers:
            return None
        if self.preview_action.isChecked():
            self.set_preview(False)
        kwargs: dict[str, Any] = {
            "faces": self.faces_check.isChecked() and self.media in ("photo", "video"),
            "names": self.names_check.isChecked(),
            "method": self.method,
            "audio": self.audio,
            "name_mode": self.name_mode,
            "accept_residual": accept_residual,
        }
        if kwargs["faces"] and self.media == "photo" and self.proposal is not None:
            kwargs["boxes"] = self.editor.boxes()  # before detection finished: redact_item detects itself
            kwargs["keep_faces"] = self.kept.kept_faces() or None  # faces left visible, with their reasons
        elif kwargs["faces"] and self.media == "video" and self.frame_boxes is not None:
            kwargs["frames_boxes"] = self.frame_boxes.final()
            # the core analyses the video again to follow each kept face, and keeps every box of yours
            kwargs["keep_faces"] = self.kept.kept_faces() or None
        vault, item_id = self.vault, self.item_id
        self.residual_panel.setVisible(False)
        self.editor.set_residual([])
        self.status.setText(self.tr("Making the redacted copy…"))
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.cancel_button.setVisible(True)
        if hasattr(vault, "begin"):
            self._gate_token = vault.begin(self.tr("redacting"))
        worker = self.pool.run(lambda progress, cancel: redact_item(vault, item_id, progress=progress,
                                                                   cancel=cancel, **kwargs),
                               name="redaction-apply", on_result=self._applied, on_error=self._apply_failed,
                               on_progress=self._apply_progress, on_cancelled=self._apply_cancelled,
                               on_finished=self._apply_finished)
        self._workers["apply"] = worker
        self._update_buttons()
        return worker

    def _apply_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, 1000)
        self._progress(done, total, message)

    def _applied(self, result: DerivativeResult) -> None:
        self.derivative = result
        text = self.tr("Saved the redacted copy as item %1 (SHA-256 %2…). The original is unchanged.")
        self.status.setText(text.replace("%1", str(result.item_id)).replace("%2", result.sha256[:16]))
        if result.residual_faces:
            self.status.setText(self.status.text() + " " + self.tr(
                "%1 area(s) you accepted as not being faces are recorded in the custody log.")
                .replace("%1", str(len(result.residual_faces))))
        summary = kept_summary(result.params, self.kept.labels())
        if summary:
            self.status.setText(self.status.text() + " " + summary)
        # Announced once the vault is free again (_apply_finished): whoever listens (the main window's
        # list, the copy's "(redacted)" title) calls the vault from the UI thread.
        self._created_id: int | None = int(result.item_id)

    def _apply_failed(self, error: EvidenceVaultError) -> None:
        if isinstance(error, ResidualFaces):
            self.residual = list(error.boxes)
            self.editor.set_residual(self.residual)
            self.residual_label.setText(self.tr(
                "%1 face(s) could still be seen after redacting (dashed, in purple). Cover them with boxes, "
                "or, if you have checked they are not faces, apply anyway. Nothing was saved.")
                .replace("%1", str(len(self.residual))))
            self.residual_panel.setVisible(True)
            self.status.setText(self.tr("Not saved: faces are still visible."))
            self.residualFound.emit(self.residual)
            return
        self.status.setText(error.user_message())
        self.applyFailed.emit(error)

    def _apply_cancelled(self) -> None:
        self.status.setText(self.tr("Cancelled. Nothing was saved."))

    def _apply_finished(self) -> None:
        self._workers.pop("apply", None)
        if self._gate_token is not None and hasattr(self.vault, "end"):
            self.vault.end(self._gate_token)
        self._gate_token = None
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_buttons()
        created, self._created_id = getattr(self, "_created_id", None), None
        if created is not None:
            self.derivativeCreated.emit(created)

    def cover_residual(self) -> None:
        """Turn every still-visible face into a box the reviewer can adjust, then apply again."""
        self.editor.add_boxes(self.residual, kind="reviewer")
        self.editor.set_residual([])
        self.residual = []
        self.residual_panel.setVisible(False)
        self.status.setText(self.tr("Boxes added over the faces still visible. Check them, then apply again."))

    def accept_residual_and_apply(self) -> Worker | None:
        answer = QMessageBox.question(
            cast(QWidget, self), self.tr("Apply anyway?"),
            self.tr("Only do this if you have looked at every purple area and none of them shows a face. "
                    "Your decision is recorded in the custody log."))
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return self.apply(accept_residual=True)
