"""Make sure every photo and video of a redacted export has a face-redacted copy in the vault.

Existing redacted copies are reused.  A missing one is made now through
:func:`app.redact.derive.redact_item` (detect, cover, re-check, store as a derivative, record a
``redacted`` event).  Recall comes first: when the re-check still finds a face outside the
covered areas, its box is added and the photo redacted again; if faces remain after that, the
export stops and asks for a human review.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.errors import EvidenceVaultError, MediaError
from app.export.selection import Selection, face_derivative, media_class, voice_derivative
from app.export.unreadable import name_in_redaction
from app.progress import CancelToken, ProgressCallback
from app.redact import derive
from app.redact.photo import propose

_RETRIES = 5  # dense crowds: each pass uncovers a few more faces next to the boxes (3 passes seen)


class NeedsRedaction(EvidenceVaultError):
    """A picture in the export has no redacted copy and none could be made automatically."""


def needing_faces(selection: Selection) -> list[Any]:
    """Originals whose pictures would show faces at the redacted level and have no redacted copy."""
    return [item for item in selection.exhibits
            if media_class(item) in ("photo", "video") and face_derivative(selection, item) is None]


def _redact_photo(vault: Any, item: Any, cancel: CancelToken | None) -> int:
    # The detector's proposal, found once: the first attempt applies it exactly as redact_item would
    # (boxes=None), and every retry adds the faces still found to it without detecting it again.
    with vault.open_original(item.id) as stream:
        boxes = list(propose(stream, cancel=cancel).boxes)
    for attempt in range(_RETRIES + 1):
        try:
            return int(derive.redact_item(vault, item.id, faces=True, names=True, method="fill",
                                          boxes=boxes, cancel=cancel).item_id)
        except derive.ResidualFaces as residual:
            if attempt == _RETRIES:
                raise NeedsRedaction(
                    f"Item {item.id}: faces could still be seen after redacting it automatically. Review it "
                    f"with 'evidence-vault redact {item.id} --faces' and try the export again."
                ) from residual
            boxes = boxes + list(residual.boxes)
    raise AssertionError("unreachable")


def ensure_face_derivatives(vault: Any, selection: Selection, *, progress: ProgressCallback | None = None,
                            cancel: CancelToken | None = None) -> list[int]:
    """Create the missing redacted copies; return the new item ids (in the order made).

    Raises NeedsRedaction when faces remain in a photo after the automatic retries.
    """
    missing = needing_faces(selection)
    if not missing:
        return []
    created: list[int] = []
    for done, item in enumerate(missing):
        if cancel is not None:
            cancel.check()
        if progress is not None:
            progress(done, len(missing), f"Redacting faces in item {item.id}")
        try:
            if media_class(item) == "photo":
                new_id = _redact_photo(vault, item, cancel)
            else:
                new_id = int(derive.redact_item(vault, item.id, faces=True, names=True, method="fill",
                                                audio=derive.audio_policy(vault, item.id), cancel=cancel).item_id)
        except MediaError as exc:  # the decoder saw only bytes: say which item it was
            name_in_redaction(exc, item_id=item.id)
            raise
        created.append(new_id)
        new_item = vault.get_item(new_id)
        selection.derivatives.setdefault(item.id, []).append(new_item)
    if progress is not None:
        progress(len(missing), len(missing), "Redacted copies made")
    return created


def derivatives_for(selection: Selection, items: Sequence[Any]) -> dict[int, Any]:
    """original id -> the redacted copy shown and shipped instead of it: the face-redacted copy of a
    photo or video, the voice-disguised (or muted) copy of a recording; only where one exists."""
    result: dict[int, Any] = {}
    for item in items:
        if media_class(item) == "audio":
            derivative = voice_derivative(selection, item)
        else:
            derivative = face_derivative(selection, item)
        if derivative is not None:
            result[item.id] = derivative
    return result
