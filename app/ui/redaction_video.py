"""Video parts of the redaction review: the per-frame boxes a reviewer edits, boxes held over a
range of frames, and the timeline (thumbnail strip, scrub slider, range controls)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.redact.faces import Box
from app.ui.icons import icon
from app.ui.kept_faces import KeptFacesControl
from app.ui.redaction_media import frame_job
from app.ui.workers import Worker
from app.vault.service import VaultService


@dataclass
class RangeBox:
    start: int  # first frame (inclusive)
    end: int  # last frame (inclusive)
    box: Box


class FrameBoxes:
    """Boxes per frame (the detector's, corrected by the reviewer) plus boxes over frame ranges.

    :meth:`final` merges both into the ``frames_boxes`` that ``redact_item`` applies.
    """

    def __init__(self, frames: list[list[Box]]) -> None:
        self.frames = [list(boxes) for boxes in frames]
        self.ranges: dict[int, RangeBox] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, index: int) -> list[Box]:
        return list(self.frames[index]) if 0 <= index < len(self.frames) else []

    def set_frame(self, index: int, boxes: list[Box]) -> None:
        if 0 <= index < len(self.frames):
            self.frames[index] = list(boxes)

    def ranges_at(self, index: int) -> list[tuple[int, RangeBox]]:
        return [(rid, r) for rid, r in self.ranges.items() if r.start <= index <= r.end]

    def add_range(self, start: int, end: int, box: Box) -> int:
        last = max(len(self.frames) - 1, 0)
        start, end = sorted((min(max(start, 0), last), min(max(end, 0), last)))
        rid = next(self._ids)
        self.ranges[rid] = RangeBox(start, end, Box(box.x, box.y, box.w, box.h, 1.0))
        return rid

    def update_range(self, rid: int, box: Box) -> None:
        if rid in self.ranges:
            self.ranges[rid].box = Box(box.x, box.y, box.w, box.h, 1.0)

    def remove_range(self, rid: int) -> None:
        self.ranges.pop(rid, None)

    def final(self) -> list[list[Box]]:
        """Per frame: its own boxes, then every range box covering it."""
        merged = [list(boxes) for boxes in self.frames]
        for r in self.ranges.values():
            for index in range(r.start, min(r.end, len(merged) - 1) + 1):
                merged[index].append(r.box)
        return merged

    def frames_with_boxes(self) -> int:
        return sum(1 for boxes in self.final() if boxes)


class _StripLabel(QLabel):
    """The thumbnail strip, scaled to the width it is given: a wide strip must not make the
    window wider than a laptop screen."""

    def __init__(self) -> None:
        super().__init__()
        self._strip: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedHeight(56)

    def set_strip(self, strip: QPixmap) -> None:
        self._strip = strip
        self._scale()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._scale()

    def _scale(self) -> None:
        if self._strip is None or self._strip.isNull():
            return
        width = max(1, min(self.width(), self._strip.width()))
        self.setPixmap(self._strip.scaled(width, min(self.height(), self._strip.height()),
                                          Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


class VideoTimeline(QWidget):
    """Thumbnail strip + slider to scrub, and the controls for a box over a range of frames."""

    frameChanged = Signal(int)
    addRangeRequested = Signal(int, int)  # start, end (inclusive)
    removeRangeRequested = Signal(int)  # range id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fps = 25.0
        self.strip = _StripLabel()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setAccessibleName(self.tr("Video position (frame)"))
        self.slider.valueChanged.connect(self._moved)
        self.position = QLabel()
        self.position.setMinimumWidth(150)
        self.position.setWordWrap(True)
        previous = QPushButton(icon("fa5s.step-backward"), "")
        previous.setToolTip(self.tr("Previous frame (,)"))
        previous.setShortcut(",")
        previous.clicked.connect(lambda: self.slider.setValue(self.slider.value() - 1))
        following = QPushButton(icon("fa5s.step-forward"), "")
        following.setToolTip(self.tr("Next frame (.)"))
        following.setShortcut(".")
        following.clicked.connect(lambda: self.slider.setValue(self.slider.value() + 1))

        row = QHBoxLayout()
        row.addWidget(previous)
        row.addWidget(self.slider, 1)
        row.addWidget(following)
        row.addWidget(self.position)

        self.range_start = QSpinBox()
        self.range_end = QSpinBox()
        for spin in (self.range_start, self.range_end):
            spin.setRange(0, 0)
            spin.setAccelerated(True)
        self.from_here = QPushButton(self.tr("From here"))
        self.from_here.clicked.connect(lambda: self.range_start.setValue(self.slider.value()))
        self.to_here = QPushButton(self.tr("To here"))
        self.to_here.clicked.connect(lambda: self.range_end.setValue(self.slider.value()))
        self.add_range_button = QPushButton(icon("fa5s.layer-group"), self.tr("Add box over these frames"))
        self.add_range_button.setToolTip(self.tr(
            "Holds the selected box (or a new one in the middle) over every frame from start to end."))
        self.add_range_button.clicked.connect(
            lambda: self.addRangeRequested.emit(self.range_start.value(), self.range_end.value()))
        self.ranges = QListWidget()
        self.ranges.setMaximumHeight(72)
        self.remove_range_button = QPushButton(icon("fa5s.trash-alt"), self.tr("Remove range box"))
        self.remove_range_button.clicked.connect(self._remove_current_range)

        group = QGroupBox(self.tr("Box over a time range"))
        grid = QGridLayout(group)
        # Two short rows rather than one long one: the window must fit a 1366-pixel-wide screen.
        grid.addWidget(QLabel(self.tr("Start frame")), 0, 0)
        grid.addWidget(self.range_start, 0, 1)
        grid.addWidget(self.from_here, 0, 2)
        grid.addWidget(QLabel(self.tr("End frame")), 1, 0)
        grid.addWidget(self.range_end, 1, 1)
        grid.addWidget(self.to_here, 1, 2)
        grid.addWidget(self.add_range_button, 0, 3, 2, 1)
        grid.addWidget(self.ranges, 2, 0, 1, 3)
        grid.addWidget(self.remove_range_button, 2, 3, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        layout.addWidget(group)
        self.setEnabled(False)

    def set_video(self, frame_count: int, fps: float, strip: QPixmap | None) -> None:
        self.fps = fps or 25.0
        last = max(frame_count - 1, 0)
        for widget in (self.slider, self.range_start, self.range_end):
            widget.setRange(0, last)
        self.range_end.setValue(min(last, round(self.fps * 2)))
        if strip is not None:
            self.strip.set_strip(strip)
        self.setEnabled(frame_count > 0)
        self._moved(self.slider.value())

    def show_ranges(self, ranges: dict[int, RangeBox]) -> None:
        self.ranges.clear()
        for rid, r in sorted(ranges.items(), key=lambda kv: kv[1].start):
            b = r.box
            entry = QListWidgetItem(self.tr("Frames %1–%2: box at %3, %4 (%5 × %6 px)")
                                    .replace("%1", str(r.start)).replace("%2", str(r.end))
                                    .replace("%3", str(b.x)).replace("%4", str(b.y))
                                    .replace("%5", str(b.w)).replace("%6", str(b.h)))
            entry.setData(Qt.ItemDataRole.UserRole, rid)
            self.ranges.addItem(entry)

    def _remove_current_range(self) -> None:
        entry = self.ranges.currentItem()
        if entry is not None:
            self.removeRangeRequested.emit(int(entry.data(Qt.ItemDataRole.UserRole)))

    def _moved(self, index: int) -> None:
        seconds = index / self.fps if self.fps else 0.0
        self.position.setText(self.tr("Frame %1 of %2 · %3 s").replace("%1", str(index))
                              .replace("%2", str(self.slider.maximum())).replace("%3", f"{seconds:.2f}"))
        self.frameChanged.emit(index)


class VideoReviewMixin:
    """The video half of :class:`app.ui.redaction_review.RedactionReviewDialog`: showing frames
    (cached, or decoded exactly on demand) with their boxes, range boxes, and keeping
    :class:`FrameBoxes` in step with what the reviewer edits.  Expects the dialog's attributes
    (``video``, ``frame_boxes``, ``editor``, ``timeline``, ``current_frame``, ``_run``...)."""

    video: Any
    frame_boxes: FrameBoxes | None
    editor: Any
    timeline: VideoTimeline
    vault: VaultService
    kept: KeptFacesControl
    item_id: int
    current_frame: int
    shown_frame: int | None  # the frame whose exact picture is displayed
    _loading_boxes: bool
    frameShown: SignalInstance
    _run: Callable[..., Worker]
    _update_box_count: Callable[[], None]

    def show_frame(self, index: int) -> None:
        """Display frame ``index`` with its boxes (``frameShown`` once the exact picture is on screen)."""
        if self.video is None:
            return
        index = max(0, min(index, max(self.video.count - 1, 0)))
        self.current_frame = index
        if self.timeline.slider.value() != index:
            self.timeline.slider.setValue(index)  # comes back here through frameChanged
            return
        image = self.video.cached(index)
        if image is not None:
            self.editor.set_image(image, size=(self.video.width, self.video.height))
            self.shown_frame = index
        else:
            nearest = self.video.nearest(index)
            if nearest is not None:
                self.editor.set_image(nearest, size=(self.video.width, self.video.height))
            self.shown_frame = None
            self._run("frame", frame_job(self.vault, self.item_id, index), on_result=self._exact_frame)
        self._load_frame_boxes(index)
        if image is not None:
            self.frameShown.emit(index)

    def _exact_frame(self, result: tuple[int, QImage]) -> None:
        index, image = result
        if self.video is None or index != self.current_frame:
            return
        self.editor.set_image(image, size=(self.video.width, self.video.height))
        self.shown_frame = index
        self.frameShown.emit(index)

    def _load_frame_boxes(self, index: int) -> None:
        if self.frame_boxes is None:
            return
        self._loading_boxes = True
        try:
            self.editor.set_boxes([])
            own = self.frame_boxes.frame(index)
            marks = self.kept.marks_on(index)
            for mark in marks:  # a kept face is shown in place of the detector's box it was made from
                if mark.source is not None and mark.source in own:
                    own.remove(mark.source)
            for box in own:  # each box carries itself: "Keep visible…" keeps it as the kept face's source
                self.editor.add_boxes([box], kind="detected" if box.score < 1.0 else "reviewer", tag=box)
            for mark in marks:
                if mark.box is not None:
                    self.editor.add_boxes([mark.box], kind="kept", tag=mark)
            for rid, r in self.frame_boxes.ranges_at(index):
                self.editor.add_boxes([r.box], kind="range", tag=rid)
        finally:
            self._loading_boxes = False
        self.timeline.show_ranges(self.frame_boxes.ranges)
        self._update_box_count()

    def add_range_box(self, start: int, end: int, box: Box | None = None) -> int | None:
        """Hold ``box`` (default: the selected box, else a new one in the middle) over frames start..end."""
        if self.frame_boxes is None or self.video is None:
            return None
        if box is None:
            selected = [i for i in self.editor.selected_items() if i.kind in ("detected", "reviewer")]
            if selected:
                box = selected[0].box()
                self.editor.remove_item(selected[0])  # it now belongs to the range
            else:
                w, h = self.video.width, self.video.height
                box = Box(w * 3 // 8, h * 3 // 8, max(w // 4, 8), max(h // 4, 8))
        rid = self.frame_boxes.add_range(start, end, box)
        self._load_frame_boxes(self.current_frame)
        return rid

    def remove_range_box(self, rid: int) -> None:
        if self.frame_boxes is not None:
            self.frame_boxes.remove_range(rid)
            self._load_frame_boxes(self.current_frame)

    def _store_frame_boxes(self) -> None:
        """Copy the editor's boxes back: own boxes to the frame, range boxes to their range."""
        if self.frame_boxes is None:
            return
        items = self.editor.box_items()
        boxes = [i.box() for i in items if i.kind in ("detected", "reviewer")]
        kept = {id(i.tag): i for i in items if i.kind == "kept"}
        dropped = False
        for mark in self.kept.marks_on(self.current_frame):
            item = kept.get(id(mark))
            if item is None:  # its box was deleted: the face is hidden again, as the detector found it
                self.kept.drop(mark)
                dropped = True
            else:
                mark.box = item.box()
            if mark.source is not None:
                boxes.append(mark.source)  # stays among the reviewed boxes: the core decides where it is shown
        self.frame_boxes.set_frame(self.current_frame, boxes)
        present = {i.tag: i for i in items if i.kind == "range"}
        for rid, _range in self.frame_boxes.ranges_at(self.current_frame):
            if rid in present:
                self.frame_boxes.update_range(rid, present[rid].box())
            else:
                self.frame_boxes.remove_range(rid)  # its box was deleted on this frame
        self.timeline.show_ranges(self.frame_boxes.ranges)
        if dropped:
            self._load_frame_boxes(self.current_frame)
