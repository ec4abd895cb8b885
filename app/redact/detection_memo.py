"""Remember the last few photo detections by the exact pixels they ran on.

Redacting a photo detects its faces, then runs the same detector again on what will be written, to
find faces still visible.  Where nothing had to be covered (most photos of places and documents) and the
copy is lossless, the second run sees the very same pixels as the first and, the detector being
deterministic on the CPU, can only find the same faces: its answer is taken from here instead of spending
the same second again.  Keys are a BLAKE2b digest of the pixels plus the image's shape and the detector's
settings; only the digest and the boxes are kept, in memory, never the picture.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np

T = TypeVar("T")
_SIZE = 16


class DetectionMemo:
    """A small, thread-safe, least-recently-used map from (settings, pixels) to a detection result."""

    def __init__(self, size: int = _SIZE) -> None:
        self._size = size
        self._results: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    @staticmethod
    def key(settings: Hashable, pixels: np.ndarray) -> tuple[Hashable, ...]:
        digest = hashlib.blake2b(np.ascontiguousarray(pixels).data, digest_size=32).digest()
        return settings, pixels.shape, str(pixels.dtype), digest

    def get_or_run(self, settings: Hashable, pixels: np.ndarray, run: Callable[[], T]) -> T:
        """``run()``'s result for these pixels under these settings, computed once while remembered."""
        key = self.key(settings, pixels)
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                self.hits += 1
                return self._results[key]  # type: ignore[return-value]
        result = run()  # outside the lock: two threads may compute the same answer, never a wrong one
        with self._lock:
            self._results[key] = result
            self._results.move_to_end(key)
            while len(self._results) > self._size:
                self._results.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
            self.hits = 0


PHOTO_DETECTIONS = DetectionMemo()
