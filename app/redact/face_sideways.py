"""Faces lying on their side (turned 90 or 270 degrees): boxes between a photo and its turned copy,
and the second look at a candidate turned the way such a face lies.

The model was trained on upright faces. A person lying down, a phone held sideways or a lost
rotation flag puts a face across the picture, where the upright passes miss it; the passes that turn
the photo (``Pass(rotate=90)``, ``rotate=270``) find it. The second look at small unsure candidates
(``app.redact.face_verify``) crops each one upright, so a sideways face it is given scores low and is
dropped: :func:`recheck_sideways` also looks at the candidates lying across (wider than tall, as a
sideways face's box is) in the photo turned both ways, and keeps the best look.
"""

from __future__ import annotations

import numpy as np

from app.redact.centerface import CenterFaceModel
from app.redact.face_verify import recheck


def to_turned(boxes: np.ndarray, width: int, height: int, turns: int) -> np.ndarray:
    """Boxes (N, >=4: x1 y1 x2 y2) of a ``width`` x ``height`` image -> the same boxes in
    ``np.rot90(image, turns)`` (counter-clockwise quarter turns, 1 or 3); extra columns are kept."""
    out = np.array(boxes, dtype=np.float32, copy=True)
    if len(out) == 0:
        return out.reshape(0, out.shape[1] if out.ndim == 2 else 4)
    x1, y1, x2, y2 = (out[:, k].copy() for k in range(4))
    if turns % 4 == 1:  # (x, y) -> (y, width - x)
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = y1, width - x2, y2, width - x1
    elif turns % 4 == 3:  # (x, y) -> (height - y, x)
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = height - y2, x1, height - y1, x2
    else:
        raise ValueError("turns must be 1 or 3 quarter turns")
    return out


def from_turned(boxes: np.ndarray, width: int, height: int, turns: int) -> np.ndarray:
    """The inverse of :func:`to_turned`: boxes in the turned copy -> in the ``width`` x ``height`` image."""
    return to_turned(boxes, height, width, 4 - turns % 4)


def recheck_sideways(
    model: CenterFaceModel,
    rgb: np.ndarray,
    boxes: np.ndarray,
    *,
    face_px: float,
    context: float,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`app.redact.face_verify.recheck`, and for candidates wider than tall that it finds no face
    in (no score >= ``threshold``) the same look in ``rgb`` turned 90 and 270 degrees: per candidate the
    better of those two looks and its box."""
    scores, found = recheck(model, rgb, boxes, face_px=face_px, context=context, threshold=threshold)
    if len(boxes) == 0:
        return scores, found
    across = np.flatnonzero(boxes[:, 2] - boxes[:, 0] > boxes[:, 3] - boxes[:, 1])
    if len(across) == 0:
        return scores, found
    height, width = rgb.shape[:2]
    for turns in (1, 3):
        turned = np.rot90(rgb, turns)  # a view: the crops copy only what they use
        more, where = recheck(model, turned, to_turned(boxes[across, :4], width, height, turns),
                              face_px=face_px, context=context, threshold=threshold)
        # only where the upright look found nothing that counts: a face it confirms keeps its box
        better = (more > scores[across]) & (scores[across] < threshold)
        scores[across[better]] = more[better]
        found[across[better]] = from_turned(where[better], width, height, turns)
    return scores, found
