"""Decode images from the vault into memory (QImage), off the UI thread; nothing is cached on disk.

QImageReader reads straight from a VaultDevice; its allocation limit refuses decompression bombs.
Thumbnails are made by asking the decoder for a scaled size (JPEG decodes at reduced resolution).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

from app.errors import CorruptMedia
from app.progress import CancelToken, ProgressCallback
from app.ui.vault_device import VaultDevice

log = logging.getLogger(__name__)

QImageReader.setAllocationLimit(512)  # MiB; a real photo is far smaller when decoded

IMAGE_KINDS = frozenset({"photo"})


def read_image(vault: Any, item_id: int, *, max_side: int | None = None) -> QImage:
    """Decode one item as an image, optionally scaled so its longer side is at most ``max_side``."""
    device = VaultDevice.opened(vault.open_original(item_id))
    try:
        reader = QImageReader(device)
        reader.setAutoTransform(True)  # honour EXIF orientation
        size = reader.size()
        if max_side and size.isValid() and max(size.width(), size.height()) > max_side:
            scaled = size.scaled(QSize(max_side, max_side), Qt.AspectRatioMode.KeepAspectRatio)
            reader.setScaledSize(scaled)
        image = reader.read()
        if image.isNull():
            raise CorruptMedia(debug_detail=reader.errorString())
        return image
    finally:
        device.close()


class ThumbnailLoader(QObject):
    """Emits ``ready(item_id, QImage)`` as each thumbnail is decoded (queued to the UI thread)."""

    ready = Signal(int, QImage)

    def __init__(self, parent: QObject | None = None, *, size: int = 64) -> None:
        super().__init__(parent)
        self.size = size

    def job(self, vault: Any, item_ids: Iterable[int]):  # -> Job
        ids = list(item_ids)

        def run(progress: ProgressCallback, cancel: CancelToken) -> int:
            made = 0
            for done, item_id in enumerate(ids):
                cancel.check()
                try:
                    image = read_image(vault, item_id, max_side=self.size)
                except Exception:  # an undecodable photo keeps its kind icon
                    log.debug("no thumbnail for item %s", item_id, exc_info=True)
                    continue
                self.ready.emit(item_id, image)
                made += 1
                progress(done + 1, len(ids), "")
            return made

        return run
