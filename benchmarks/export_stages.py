"""Time by stage for benchmarks/export.py: wraps the export's own functions with exclusive timers.

Each wrapped call's time is charged to its stage minus the time spent in other wrapped calls inside
it (a photo's re-check detection is "photo detection", not "photo redaction other"), so the stages
add up to the time spent in wrapped code.  Only the benchmark's child process is patched; nothing is
changed in the application's modules on disk.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

# (module, attribute path, stage).  Methods are patched on their class, module functions on every
# module that imported them by name (listed separately where that happens).
TARGETS: list[tuple[str, str, str]] = [
    ("app.export.derivatives", "ensure_face_derivatives", "copies: other (records, links, names)"),
    ("app.redact.photo", "load_oriented_rgb", "photo decode (EXIF, RGB)"),
    ("app.redact.faces", "FaceDetector.detect", "photo detection (network passes + fuse)"),
    ("app.redact.photo", "apply_boxes", "photo apply boxes"),
    ("app.redact.photo", "encode_clean", "photo encode copy"),
    ("app.redact.photo", "residual_faces", "photo residual check (mask)"),
    ("app.vault.vault", "Vault.ingest_stream", "vault ingest of copies"),
    ("app.vault.vault", "Vault.open_original", "vault open original"),
    ("app.redact.video_analysis", "Analyser.push", "video analysis (detector + tracking per frame)"),
    ("app.redact.video_analysis", "Analyser.finish", "video analysis (tracks per shot)"),
    ("app.redact.video", "_analyse", "video decode for analysis"),
    ("app.redact.video", "redact_video", "video decode+draw+encode pass"),
    ("app.media.frame_writer", "FrameWriter.write", "video encode (pipe write, waits on x264)"),
    ("app.redact.derive", "_redact_audio", "audio (mute/disguise)"),
    ("app.export.unreadable", "find_damaged", "prepare: decode check of every exhibit"),
    ("app.export.dossier_builder", "build_content", "build exhibit content (thumbnails, key frames)"),
    ("app.export.pdf.render", "render_dossier", "PDF render"),
    ("app.export.dossier_files", "make_pdfa", "PDF/A conversion"),
    ("app.export.dossier_files", "seal_pdf", "sealing"),
    ("app.export.near_matches", "check_near_matches", "near-match check"),
]


class StageTimer:
    """Exclusive wall time and call counts per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [start, time spent in nested wrapped calls]

    def wrap(self, stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
        timer = self

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = [time.perf_counter(), 0.0]
            timer._stack.append(frame)
            try:
                return func(*args, **kwargs)
            finally:
                timer._stack.pop()
                total = time.perf_counter() - frame[0]
                timer.seconds[stage] = timer.seconds.get(stage, 0.0) + total - frame[1]
                timer.calls[stage] = timer.calls.get(stage, 0) + 1
                if timer._stack:
                    timer._stack[-1][1] += total

        return wrapper

    def install(self) -> None:
        importlib.import_module("app.export.exporter")  # imports the rest by name, so those names get patched too
        for module_name, path, stage in TARGETS:
            module = importlib.import_module(module_name)
            owner: Any = module
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            original = getattr(owner, name)
            wrapped = self.wrap(stage, original)
            setattr(owner, name, wrapped)
            if not parents:  # also where another module imported the function by name
                for other in _modules_holding(original):
                    setattr(other, name, wrapped)

    def table(self) -> dict[str, dict[str, float]]:
        return {stage: {"s": round(self.seconds[stage], 2), "calls": self.calls[stage]}
                for stage in sorted(self.seconds, key=lambda s: -self.seconds[s])}


def _modules_holding(func: Any) -> Iterator[Any]:
    import sys

    for module in list(sys.modules.values()):
        if module is None or not getattr(module, "__name__", "").startswith("app."):
            continue
        for attr, value in list(vars(module).items()):
            if value is func and not attr.startswith("__"):
                yield module
                break
