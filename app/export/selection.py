"""Which vault items an export is about, and which redacted copy stands in for each.

An export names a case or a list of item ids.  Redacted derivatives (items with ``derived_from``)
are never exhibits of their own: they are the redacted form of their original, so a selection
that names a derivative is read as naming its original.  Each exhibit is an *original* item;
:func:`face_derivative` finds the newest redacted copy of it whose derivation records a face
redaction (app.redact.derive writes ``{"redaction": 1, "faces": true, "media": ...}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import InvalidInput, NotFound

# Kinds whose pictures show people: the redacted level never shows their original pixels.
VISUAL_KINDS = frozenset({"photo", "video"})


@dataclass
class Selection:
    """The exhibits of one export, in a stable order (item id), with the case if one was named."""

    case: Any | None
    exhibits: list[Any]  # app.vault.models.Item, originals only
    derivatives: dict[int, list[Any]] = field(default_factory=dict)  # original id -> derived items

    @property
    def item_ids(self) -> list[int]:
        return [item.id for item in self.exhibits]


def parse_item_ids(text: str) -> list[int]:
    """``"3,5, 8"`` -> ``[3, 5, 8]``; a clear error for anything else."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise InvalidInput(f"'{part[:20]}' is not an item number. Give item numbers like 3,5,8.")
        ids.append(int(part))
    if not ids:
        raise InvalidInput("Give at least one item number, like --items 3,5,8.")
    return ids


def _root(item: Any, by_id: dict[int, Any]) -> Any:
    """The original an item was (perhaps repeatedly) derived from."""
    seen = {item.id}
    while item.derived_from is not None and item.derived_from in by_id:
        item = by_id[item.derived_from]
        if item.id in seen:  # a loop cannot be made through the API; refuse rather than spin
            raise InvalidInput(f"Item {item.id} is derived from itself; run a vault check.")
        seen.add(item.id)
    return item


def select(vault: Any, *, case_id: int | None = None, item_ids: Sequence[int] | None = None) -> Selection:
    """Resolve ``case_id`` or ``item_ids`` (exactly one of them) into a :class:`Selection`."""
    if (case_id is None) == (item_ids is None):
        raise InvalidInput("Choose what to export: a case (--case ID) or items (--items ID,ID...), not both.")
    all_items = vault.list_items()
    by_id = {item.id: item for item in all_items}
    derivatives: dict[int, list[Any]] = {}
    for item in all_items:
        if item.derived_from is not None:
            derivatives.setdefault(_root(item, by_id).id, []).append(item)
    case = None
    if case_id is not None:
        case = vault.get_case(case_id)  # NotFound with a plain message
        chosen = [item for item in all_items if item.case_id == case_id]
        if not chosen:
            raise InvalidInput(f"Case {case_id} has no items yet, so there is nothing to export.")
    else:
        chosen = []
        for item_id in item_ids or ():
            if item_id not in by_id:
                raise NotFound(f"There is no item number {item_id} in this vault. Nothing was exported.")
            chosen.append(by_id[item_id])
        if not chosen:
            raise InvalidInput("Give at least one item number to export.")
    roots: dict[int, Any] = {}
    for item in chosen:
        root = _root(item, by_id)
        roots.setdefault(root.id, root)
    exhibits = [roots[i] for i in sorted(roots)]
    return Selection(case=case, exhibits=exhibits,
                     derivatives={i: derivatives.get(i, []) for i in roots})


def is_face_redaction(item: Any) -> bool:
    derivation = item.derivation or {}
    return bool(derivation.get("redaction")) and bool(derivation.get("faces"))


def face_derivative(selection: Selection, original: Any) -> Any | None:
    """The newest redacted copy of ``original`` whose derivation records a face redaction, made
    from exactly these original bytes; ``None`` when there is none."""
    candidates = [
        item for item in selection.derivatives.get(original.id, [])
        if item.derived_from == original.id and is_face_redaction(item)
        and (item.derivation or {}).get("original_sha256", original.sha256) == original.sha256
        and item.kind in (VISUAL_KINDS | {"interview"})
    ]
    return max(candidates, key=lambda item: item.id) if candidates else None


def voice_derivative(selection: Selection, original: Any) -> Any | None:
    """The newest redacted copy of a recording whose voice was muted or disguised, if any."""
    candidates = []
    for item in selection.derivatives.get(original.id, []):
        derivation = item.derivation or {}
        audio_value = derivation.get("audio")
        audio: dict[str, Any] = audio_value if isinstance(audio_value, dict) else {}
        if (item.derived_from == original.id and derivation.get("redaction")
                and derivation.get("media") == "audio" and audio.get("mode") in ("mute", "disguise")
                and derivation.get("original_sha256", original.sha256) == original.sha256):
            candidates.append(item)
    return max(candidates, key=lambda item: item.id) if candidates else None


def media_class(item: Any) -> str:
    """'photo', 'video', 'audio' or 'other', from the MIME type first (an interview may be a video)."""
    mime = (item.mime or "").lower()
    if mime.startswith("image/"):
        return "photo"
    if mime.startswith("video/"):
        return "video"
    if mime.startswith("audio/"):
        return "audio"
    if item.kind in ("photo", "video", "audio"):
        return str(item.kind)
    return "other"
