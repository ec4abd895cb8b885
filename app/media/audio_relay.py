"""Decoded audio carried from the decoding ffmpeg to the encoding one, beside the video frames.

The decoder writes s16le PCM at :data:`AUDIO_RATE` Hz into one pipe; the encoder reads it from
another.  A redaction pipeline runs one of each, so the relay is what keeps the sound of a
redacted video identical in timing to the original's.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

AUDIO_RATE = 48000  # the decoded audio handed from decoder to encoder is s16le at this rate


class AudioRelay:
    """Carries decoded audio from the decoder process to the encoder process.

    Two OS pipes joined by an unbounded in-memory queue, so the decoder never blocks on audio
    while the encoder is still waiting for video frames (which would deadlock the pipeline).
    Memory is bounded by how far audio and video are apart in the source's interleaving
    (normally well under a second of PCM).
    """

    def __init__(self) -> None:
        self.decoder_fd_r, self.decoder_fd = os.pipe()  # decoder writes decoder_fd
        self.encoder_fd, self.encoder_fd_w = os.pipe()  # encoder reads encoder_fd
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._pump_in, name="audio-in", daemon=True),
            threading.Thread(target=self._pump_out, name="audio-out", daemon=True),
        ]
        self._started = False

    def start(self) -> None:
        """Call after both processes were spawned; closes the parent's copies of their ends."""
        for fd in (self.decoder_fd, self.encoder_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        for thread in self._threads:
            thread.start()
        self._started = True

    def _pump_in(self) -> None:
        try:
            while True:
                chunk = os.read(self.decoder_fd_r, 65536)
                if not chunk:
                    break
                self._queue.put(chunk)
        except OSError:
            pass
        finally:
            self._queue.put(None)
            with contextlib.suppress(OSError):
                os.close(self.decoder_fd_r)

    def _pump_out(self) -> None:
        broken = False
        while True:
            chunk = self._queue.get()
            if chunk is None:
                break
            view = memoryview(chunk)
            while view and not broken:
                try:
                    view = view[os.write(self.encoder_fd_w, view) :]
                except OSError:
                    broken = True  # encoder gone: keep draining so the decoder is not blocked
        with contextlib.suppress(OSError):
            os.close(self.encoder_fd_w)

    def close(self) -> None:
        if not self._started:
            for fd in (self.decoder_fd_r, self.decoder_fd, self.encoder_fd, self.encoder_fd_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            return
        for thread in self._threads:
            thread.join(timeout=5)
