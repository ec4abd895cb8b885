"""A read-only, seekable QIODevice over a vault stream (``Vault.open_original``).

QMediaPlayer.setSourceDevice and Qt's PDF document read evidence through it, so no decrypted copy ever
lands in a file.  QImageReader must not (app/ui/imaging.py says why: it calls readData while holding
a Qt-global mutex).  The FFmpeg media backend reads from its own demuxer thread: all access to the
underlying Python stream is serialised by the device's lock, and the device is only ever read,
never written.

Each device has its own lock, which keeps its seek and read together.  Devices need no lock in
common: the vault's BlobReader takes the vault's own lock for every chunk it reads
(app/vault/blobs.py), so SQLite is never entered by two threads at once
(tests/ui/test_vault_device.py reads several devices and the vault from several threads at once).
"""

from __future__ import annotations

import io
import threading
from typing import BinaryIO

from PySide6.QtCore import QIODevice, QObject


class VaultDevice(QIODevice):
    def __init__(self, stream: BinaryIO, parent: QObject | None = None) -> None:
        super().__init__()
        if parent is not None:
            self.setParent(parent)
        self._stream = stream
        self._lock = threading.Lock()
        self._size = stream.seek(0, io.SEEK_END)
        stream.seek(0)

    @classmethod
    def opened(cls, stream: BinaryIO, parent: QObject | None = None) -> VaultDevice:
        device = cls(stream, parent)
        device.open(QIODevice.OpenModeFlag.ReadOnly)
        return device

    def isSequential(self) -> bool:
        return False

    def size(self) -> int:
        return self._size

    def bytesAvailable(self) -> int:
        return max(0, self._size - self.pos()) + super().bytesAvailable()

    def atEnd(self) -> bool:
        return self.pos() >= self._size and super().bytesAvailable() == 0

    def readData(self, maxlen: int) -> bytes:
        with self._lock:
            if self._stream.closed:
                return b""
            # QIODevice keeps the logical position (including its own buffer); sync to it.
            self._stream.seek(self.pos())
            return self._stream.read(max(0, min(maxlen, self._size - self.pos())))

    def writeData(self, data: bytes | bytearray | memoryview, size: int, /) -> int:
        return -1

    def close(self) -> None:
        with self._lock:
            if not self._stream.closed:
                self._stream.close()
        super().close()
