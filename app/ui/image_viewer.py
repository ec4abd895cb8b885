"""Image viewer with zoom: decoded in a worker straight from the vault, kept only in memory."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.imaging import read_image
from app.ui.safe_text import plain
from app.ui.workers import WorkerPool
from app.vault.models import Item
from app.vault.service import VaultService


class ZoomView(QGraphicsView):
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.pixmap_item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.zoom = 1.0

    def set_image(self, image: QImage) -> None:
        self.pixmap_item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(self.pixmap_item.boundingRect())
        self.fit()

    def clear(self) -> None:
        self.pixmap_item.setPixmap(QPixmap())

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(max(zoom, 0.02), 32.0)
        self.resetTransform()
        self.scale(self.zoom, self.zoom)
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def fit(self) -> None:
        rect = self.pixmap_item.boundingRect()
        if rect.isEmpty():
            return
        viewport = self.viewport().rect()
        factor = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        self.set_zoom(min(factor, 1.0) if factor > 0 else 1.0)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)
            event.accept()
        else:
            super().wheelEvent(event)


class ImageViewer(QWidget):
    """A top-level window showing one photo; ``loaded`` fires once the image is on screen."""

    loaded = Signal()
    failed = Signal(object)

    def __init__(self, vault: VaultService, pool: WorkerPool, item: Item, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.item = item
        self.setWindowTitle(self.tr("Photo — %1").replace("%1", plain(item.title or item.original_name, max_length=80)))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view = ZoomView()
        self.zoom_label = QLabel("100 %")
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        buttons = QHBoxLayout()
        zoom_in, zoom_out = QKeySequence.StandardKey.ZoomIn, QKeySequence.StandardKey.ZoomOut
        for icon_name, tip, slot, keys in (
            ("fa5s.search-plus", self.tr("Zoom in"), lambda: self.view.zoom_by(1.25), zoom_in),
            ("fa5s.search-minus", self.tr("Zoom out"), lambda: self.view.zoom_by(0.8), zoom_out),
            ("fa5s.compress", self.tr("Fit to window"), self.view.fit, "Ctrl+0"),
            ("fa5s.expand", self.tr("Actual size"), lambda: self.view.set_zoom(1.0), "Ctrl+1"),
        ):
            button = QToolButton()
            button.setIcon(icon(icon_name))
            button.setToolTip(tip)
            button.setAccessibleName(tip)
            button.clicked.connect(slot)
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.zoom_label)
        self.message = QLabel(self.tr("Decrypting…"))
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self.resize(900, 700)
        self.image: QImage | None = None
        self._worker = pool.run(lambda _p, _c: read_image(vault, item.id), name="image",
                                on_result=self._show, on_error=self._fail)

    def _show(self, image: QImage) -> None:
        self.image = image
        self.view.set_image(image)
        self.message.setText(f"{image.width()} × {image.height()}")
        self.loaded.emit()

    def _fail(self, error: EvidenceVaultError) -> None:
        self.message.setText(error.user_message())
        self.failed.emit(error)

    def release(self) -> None:
        """Drop decoded pixels (lock)."""
        self._worker.cancel()
        self.view.clear()
        self.image = None
