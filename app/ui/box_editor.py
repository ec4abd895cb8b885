"""Editable redaction boxes drawn over a photo or a video frame.

:class:`BoxEditorView` shows one picture (in memory only) in a zoomable QGraphicsView and lets a
reviewer correct the detector's proposal: move a box by dragging it, resize it by its corner
handles, draw a new one by dragging on empty space, delete the selected one with the Delete key.
Scene coordinates are the picture's own pixels (EXIF orientation applied, as the redaction code
sees it), so the boxes read back by :meth:`BoxEditorView.boxes` are exactly what is redacted,
whatever the zoom or the size of the picture actually displayed (video frames may be shown
downscaled; the pixmap is scaled back up inside the scene).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.redact.faces import Box

MIN_SIZE = 4  # px: smaller boxes are treated as accidental clicks
HANDLE_PX = 9  # on screen, whatever the zoom

DETECTED_COLOUR = QColor("#e53935")  # what the detector proposed
REVIEWER_COLOUR = QColor("#fdd835")  # what a reviewer drew or changed
RANGE_COLOUR = QColor("#29b6f6")  # a reviewer's box over a range of video frames
RESIDUAL_COLOUR = QColor("#d500f9")  # faces still found after redacting
KEPT_COLOUR = QColor("#2e7d32")  # a face reviewers decided to leave visible (drawn dashed, not redacted)


class _Handle(QGraphicsRectItem):
    """A corner handle; dragging it moves that corner of its parent box."""

    def __init__(self, parent: BoxItem, corner: int) -> None:
        half = HANDLE_PX / 2
        super().__init__(-half, -half, HANDLE_PX, HANDLE_PX, parent)
        self.corner = corner  # 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setBrush(QBrush(QColor("white")))
        self.setPen(QPen(QColor("black"), 1))
        cursors = (Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeBDiagCursor)
        self.setCursor(cursors[corner % 2])
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        event.accept()
        box = self.parentItem()
        box.setSelected(True)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        box: BoxItem = self.parentItem()  # type: ignore[assignment]
        box.move_corner(self.corner, event.scenePos())
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        event.accept()


class BoxItem(QGraphicsRectItem):
    """One redaction box: position = top-left corner in picture pixels, rect = (0, 0, w, h)."""

    def __init__(self, x: float, y: float, w: float, h: float, *, score: float = 1.0, kind: str = "detected",
                 bounds: QRectF | None = None, editable: bool = True, tag: Any = None) -> None:
        super().__init__(0, 0, w, h)
        self.score = score
        self.kind = kind  # "detected", "reviewer", "range", "residual" or "kept" (left visible)
        self.tag = tag  # owner's bookkeeping (e.g. which video range the box belongs to)
        self.bounds = bounds  # the picture's rectangle: boxes stay inside it
        self.on_change: Callable[[BoxItem], None] | None = None
        self.setPos(x, y)
        self.editable = editable
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, editable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, editable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setZValue(2 if kind == "residual" else 1)
        self.handles = [_Handle(self, corner) for corner in range(4)] if editable else []
        self._place_handles()
        self._update_look()

    # -- geometry -------------------------------------------------------------------------------
    def box(self) -> Box:
        """The box in picture pixels (rounded outwards: never smaller than what is shown)."""
        pos, rect = self.pos(), self.rect()
        x1, y1 = int(pos.x() + rect.left()), int(pos.y() + rect.top())
        x2 = int(-(-(pos.x() + rect.right()) // 1))
        y2 = int(-(-(pos.y() + rect.bottom()) // 1))
        return Box(x1, y1, max(1, x2 - x1), max(1, y2 - y1), self.score)

    def scene_rect(self) -> QRectF:
        return self.rect().translated(self.pos())

    def set_scene_rect(self, rect: QRectF) -> None:
        rect = self._clamped(rect.normalized())
        self.prepareGeometryChange()
        self.setRect(0, 0, rect.width(), rect.height())  # size first: the position clamp uses it
        self.setPos(rect.topLeft())
        self._place_handles()
        self._changed()

    def _clamped(self, rect: QRectF) -> QRectF:
        if self.bounds is None:
            return rect
        rect = rect.intersected(self.bounds)
        if rect.width() < MIN_SIZE:
            rect.setWidth(MIN_SIZE)
        if rect.height() < MIN_SIZE:
            rect.setHeight(MIN_SIZE)
        if rect.right() > self.bounds.right():
            rect.moveRight(self.bounds.right())
        if rect.bottom() > self.bounds.bottom():
            rect.moveBottom(self.bounds.bottom())
        return rect

    def move_corner(self, corner: int, scene_pos: QPointF) -> None:
        rect = self.scene_rect()
        x, y = scene_pos.x(), scene_pos.y()
        if corner == 0:
            rect.setTopLeft(QPointF(min(x, rect.right() - MIN_SIZE), min(y, rect.bottom() - MIN_SIZE)))
        elif corner == 1:
            rect.setTopRight(QPointF(max(x, rect.left() + MIN_SIZE), min(y, rect.bottom() - MIN_SIZE)))
        elif corner == 2:
            rect.setBottomRight(QPointF(max(x, rect.left() + MIN_SIZE), max(y, rect.top() + MIN_SIZE)))
        else:
            rect.setBottomLeft(QPointF(min(x, rect.right() - MIN_SIZE), max(y, rect.top() + MIN_SIZE)))
        if self.kind == "detected":
            self.kind = "reviewer"  # a corrected box is the reviewer's now (a kept face stays kept)
            self.score = 1.0
            self._update_look()
        self.set_scene_rect(rect)

    def _place_handles(self) -> None:
        rect = self.rect()
        for handle, point in zip(self.handles, (rect.topLeft(), rect.topRight(), rect.bottomRight(),
                                                rect.bottomLeft()), strict=False):
            handle.setPos(point)

    def set_kind(self, kind: str) -> None:
        """Turn the box into another kind (e.g. "kept": a face left visible) and redraw it."""
        self.kind = kind
        self.setZValue(2 if kind == "residual" else 1)
        self._update_look()
        self.update()

    def _update_look(self) -> None:
        colour = {"detected": DETECTED_COLOUR, "reviewer": REVIEWER_COLOUR, "range": RANGE_COLOUR,
                  "residual": RESIDUAL_COLOUR, "kept": KEPT_COLOUR}.get(self.kind, DETECTED_COLOUR)
        pen = QPen(colour, 2)
        pen.setCosmetic(True)  # same width at any zoom
        if self.kind in ("residual", "kept"):
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setWidth(3)
        self.setPen(pen)
        fill = QColor(colour)
        fill.setAlpha(40)
        self.setBrush(QBrush(fill))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and self.bounds is not None:
            # Keep the whole box inside the picture while it is dragged.
            rect = self.rect()
            x = min(max(value.x(), self.bounds.left()), self.bounds.right() - rect.width())
            y = min(max(value.y(), self.bounds.top()), self.bounds.bottom() - rect.height())
            return QPointF(x, y)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._changed()
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            for handle in self.handles:
                handle.setVisible(bool(value))
        return super().itemChange(change, value)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        # Draw our own selection look (thicker outline) instead of Qt's dotted rectangle.
        pen = QPen(self.pen())
        if self.isSelected():
            pen.setWidth(pen.width() + 2)
        painter.setPen(pen)
        painter.setBrush(self.brush())
        painter.drawRect(self.rect())


class BoxEditorView(QGraphicsView):
    """A picture with editable boxes.  ``boxesChanged`` fires after any add/move/resize/remove."""

    boxesChanged = Signal()
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor("#2b2b2b")))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.pixmap_item.setZValue(0)
        self.scene().addItem(self.pixmap_item)
        self.image_size: tuple[int, int] = (0, 0)  # picture pixels (width, height)
        self.zoom = 1.0
        self.editable = True
        self.draw_kind = "reviewer"  # what a newly drawn box becomes
        self.draw_tag: Any = None
        self._drag_start: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._suspend = 0

    # -- picture ---------------------------------------------------------------------------------
    def set_image(self, image: QImage, *, size: tuple[int, int] | None = None, fit: bool = False) -> None:
        """Show ``image``; ``size`` is the picture's true size when ``image`` is a downscaled copy."""
        width, height = size or (image.width(), image.height())
        resized = (width, height) != self.image_size
        self.image_size = (width, height)
        self.pixmap_item.setPixmap(QPixmap.fromImage(image))
        scale_x = width / image.width() if image.width() else 1.0
        scale_y = height / image.height() if image.height() else 1.0
        self.pixmap_item.setTransform(QTransform.fromScale(scale_x, scale_y))
        self.scene().setSceneRect(QRectF(0, 0, width, height))
        if fit or resized:
            self.fit()

    def clear_image(self) -> None:
        self.pixmap_item.setPixmap(QPixmap())

    @property
    def bounds(self) -> QRectF:
        return QRectF(0, 0, *self.image_size)

    # -- boxes -----------------------------------------------------------------------------------
    def box_items(self, *, include_residual: bool = False) -> list[BoxItem]:
        items = [i for i in self.scene().items(Qt.SortOrder.AscendingOrder) if isinstance(i, BoxItem)]
        return [i for i in items if include_residual or i.kind != "residual"]

    def boxes(self) -> list[Box]:
        """Every box to redact (not the residual markers nor faces kept visible), in picture pixels."""
        return [item.box() for item in self.box_items() if item.kind != "kept"]

    def kept_items(self) -> list[BoxItem]:
        """The boxes of faces reviewers decided to leave visible (their ``tag`` holds the decision)."""
        return [item for item in self.box_items() if item.kind == "kept"]

    def residual_boxes(self) -> list[Box]:
        return [item.box() for item in self.box_items(include_residual=True) if item.kind == "residual"]

    def add_box(self, x: float, y: float, w: float, h: float, *, score: float = 1.0, kind: str = "reviewer",
                tag: Any = None, notify: bool = True) -> BoxItem:
        item = BoxItem(0, 0, w, h, score=score, kind=kind, bounds=self.bounds,
                       editable=self.editable and kind != "residual", tag=tag)
        self.scene().addItem(item)
        item.set_scene_rect(QRectF(x, y, w, h))  # clamps into the picture
        item.on_change = self._item_changed
        for handle in item.handles:
            handle.setVisible(False)
        if notify:
            self.boxesChanged.emit()
        return item

    def set_boxes(self, boxes: Iterable[Box], *, kind: str = "detected", tag: Any = None,
                  keep_residual: bool = False) -> None:
        """Replace every box (of any kind) by ``boxes``."""
        self._suspend += 1
        try:
            for item in self.box_items(include_residual=not keep_residual):
                self.scene().removeItem(item)
            for box in boxes:
                self.add_box(box.x, box.y, box.w, box.h, score=box.score, kind=kind, tag=tag, notify=False)
        finally:
            self._suspend -= 1
        self.boxesChanged.emit()

    def add_boxes(self, boxes: Iterable[Box], *, kind: str, tag: Any = None) -> list[BoxItem]:
        self._suspend += 1
        try:
            items = [self.add_box(b.x, b.y, b.w, b.h, score=b.score, kind=kind, tag=tag, notify=False)
                     for b in boxes]
        finally:
            self._suspend -= 1
        self.boxesChanged.emit()
        return items

    def set_residual(self, boxes: Iterable[Box]) -> None:
        """Mark faces still found after redacting (drawn dashed, in another colour, not editable)."""
        for item in self.box_items(include_residual=True):
            if item.kind == "residual":
                self.scene().removeItem(item)
        for box in boxes:
            self.add_box(box.x, box.y, box.w, box.h, score=box.score, kind="residual", notify=False)
        self.viewport().update()

    def remove_item(self, item: BoxItem) -> None:
        self.scene().removeItem(item)
        self.boxesChanged.emit()

    def remove_selected(self) -> int:
        selected = [i for i in self.scene().selectedItems() if isinstance(i, BoxItem) and i.kind != "residual"]
        for item in selected:
            self.scene().removeItem(item)
        if selected:
            self.boxesChanged.emit()
        return len(selected)

    def selected_items(self) -> list[BoxItem]:
        return [i for i in self.scene().selectedItems() if isinstance(i, BoxItem)]

    def _item_changed(self, _item: BoxItem) -> None:
        if not self._suspend:
            self.boxesChanged.emit()

    def set_boxes_visible(self, visible: bool) -> None:
        for item in self.box_items(include_residual=True):
            item.setVisible(visible)

    # -- zoom ------------------------------------------------------------------------------------
    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(max(zoom, 0.02), 32.0)
        self.resetTransform()
        self.scale(self.zoom, self.zoom)
        self.zoomChanged.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def fit(self) -> None:
        width, height = self.image_size
        if not width or not height:
            return
        viewport = self.viewport().rect()
        factor = min((viewport.width() - 4) / width, (viewport.height() - 4) / height)
        self.set_zoom(factor if factor > 0 else 1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)
            event.accept()
        else:
            super().wheelEvent(event)

    # -- drawing and keys ------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.editable and event.button() == Qt.MouseButton.LeftButton and self.image_size[0]:
            hit = self.itemAt(event.position().toPoint())
            if hit is None or hit is self.pixmap_item:
                self.scene().clearSelection()
                self._drag_start = self._clamp(self.mapToScene(event.position().toPoint()))
                self._rubber = QGraphicsRectItem(QRectF(self._drag_start, self._drag_start))
                pen = QPen(REVIEWER_COLOUR, 1, Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                self._rubber.setPen(pen)
                self._rubber.setZValue(3)
                self.scene().addItem(self._rubber)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_start is not None and self._rubber is not None:
            point = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber.setRect(QRectF(self._drag_start, point).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_start is not None and self._rubber is not None:
            rect = self._rubber.rect()
            self.scene().removeItem(self._rubber)
            self._rubber = None
            self._drag_start = None
            if rect.width() >= MIN_SIZE and rect.height() >= MIN_SIZE:
                item = self.add_box(rect.x(), rect.y(), rect.width(), rect.height(), kind=self.draw_kind,
                                    tag=self.draw_tag)
                item.setSelected(True)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def _clamp(self, point: QPointF) -> QPointF:
        width, height = self.image_size
        return QPointF(min(max(point.x(), 0.0), float(width)), min(max(point.y(), 0.0), float(height)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        deleting = event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.editable
        if deleting and self.remove_selected():
            event.accept()
            return
        super().keyPressEvent(event)
