"""Decode images from the vault into memory (QImage), off the UI thread; nothing is cached on disk.

The encoded bytes are read from the vault into memory first and QImageReader decodes them from a
QBuffer.  It must never read from a Python QIODevice: while it probes its format plugins it holds a
Qt-global mutex, and a Python readData then needs the GIL, which the UI thread may hold while it waits
for that same mutex (loading an icon): a deadlock that froze the whole app.  Its allocation limit
refuses decompression bombs; thumbnails are made by asking the decoder for a scaled size (JPEG decodes
at reduced resolution).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

from app.errors import CorruptMedia, InvalidInput
from app.progress import CancelToken, ProgressCallback
from app.vault.service import VaultService

log = logging.getLogger(__name__)

QImageReader.setAllocationLimit(512)  # MiB; a real photo is far smaller when decoded

IMAGE_KINDS = frozenset({"photo"})
MAX_IMAGE_FILE = 256 << 20  # bytes of an encoded photo shown in the app; far above any camera's
_READ_SIZE = 1 << 20


def _encoded_bytes(vault: VaultService, item_id: int) -> QByteArray:
    # Read in pieces: one read(MAX_IMAGE_FILE + 1) would allocate 256 MiB for every thumbnail.
    data = bytearray()
    with vault.open_original(item_id) as stream:
        while len(data) <= MAX_IMAGE_FILE and (piece := stream.read(_READ_SIZE)):
            data += piece
    if len(data) > MAX_IMAGE_FILE:
        raise InvalidInput(f"Item {item_id} is too large to show as a picture here "
                           f"(over {MAX_IMAGE_FILE >> 20} MB). Export it to look at it with another program.")
    return QByteArray(data)


def read_image(vault: VaultService, item_id: int, *, max_side: int | None = None) -> QImage:
    """Decode one item as an image, optionally scaled so its longer side is at most ``max_side``."""
    device = QBuffer()
    device.setData(_encoded_bytes(vault, item_id))
    device.open(QIODevice.OpenModeFlag.ReadOnly)
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

    def job(self, vault: VaultService, item_ids: Iterable[int]) -> Callable[[ProgressCallback, CancelToken], int]:
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
