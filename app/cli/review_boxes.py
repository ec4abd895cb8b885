"""Reviewed face boxes on the command line: the proposal as JSON, and a reviewer's boxes read back.

``evidence-vault redact ITEM --json`` prints what would be covered as one JSON object; a reviewer (or
a script) edits the boxes and hands them back with ``redact ITEM --boxes FILE --yes``. The object is

    {"item": 12, "kind": "photo", "width": 1024, "height": 768, "boxes": [[x, y, w, h], ...]}
    {"item": 13, "kind": "video", "width": 1280, "height": 720, "frames": [[[x, y, w, h], ...], ...]}

(pixels of the picture as shown, EXIF orientation or video rotation applied; a video has one list
per frame, numbered from 0). Only coordinates: no names, no picture content.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.terminal import clean_text
from app.errors import InvalidInput
from app.user_files import read_small_file

if TYPE_CHECKING:
    from app.redact.derive import RedactionProposal
    from app.redact.faces import Box

# A 4-hour 60 fps video with a dozen boxes on every frame is about 200 MB of JSON; more is not a review.
MAX_BYTES = 256 * 1024 * 1024
_BOX_HELP = "each box is [x, y, width, height] in whole pixels, with width and height above 0"


def proposal_json(proposal: RedactionProposal) -> dict[str, Any]:
    """The faces part of a proposal, in the shape :func:`read_review_boxes` reads back."""
    data: dict[str, Any] = {"item": proposal.item_id, "kind": proposal.kind,
                            "width": proposal.width, "height": proposal.height}
    if proposal.kind == "photo":
        data["boxes"] = [b.to_list() for b in proposal.boxes]
    elif proposal.kind == "video":
        data["frames"] = [[b.to_list() for b in boxes] for boxes in proposal.frames]
    data["protected_names_found"] = len(proposal.names_found)
    return data


def read_review_boxes(source: str, kind: str) -> tuple[list[Box] | None, list[list[Box]] | None]:
    """The reviewer's boxes from ``source`` (a file, or ``-`` for standard input) for an item of ``kind``:
    (photo boxes, None) or (None, boxes per video frame). Raises InvalidInput with what to fix."""
    data = _load(source)
    if kind == "photo":
        if "boxes" not in data:
            raise InvalidInput(f"{_label(source)} has no \"boxes\": this item is a photo. Write "
                               "{\"boxes\": [[x, y, w, h], ...]} (an empty list covers nothing).")
        return [_box(b, f"box {n + 1}", source) for n, b in enumerate(_list(data["boxes"], "boxes", source))], None
    if kind == "video":
        if "frames" not in data:
            raise InvalidInput(f"{_label(source)} has no \"frames\": this item is a video. Write "
                               "{\"frames\": [[[x, y, w, h], ...], ...]}, one list per frame from frame 0.")
        frames = _list(data["frames"], "frames", source)
        return None, [[_box(b, f"frame {index}, box {n + 1}", source)
                       for n, b in enumerate(_list(boxes, f"frame {index}", source))]
                      for index, boxes in enumerate(frames)]
    raise InvalidInput(f"Face boxes can only be given for a photo or a video; this item is {kind}.")


def _label(source: str) -> str:
    return "The boxes from standard input" if source == "-" else f"'{clean_text(source)}'"


def _load(source: str) -> dict[str, Any]:
    from app.vault.canonical import load_json_bounded

    if source == "-":
        try:
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InvalidInput(f"{_label(source)} cannot be read ({clean_text(exc.strerror or str(exc))}).") from None
        if len(raw) > MAX_BYTES:
            raise InvalidInput(f"{_label(source)} is larger than {MAX_BYTES // (1024 * 1024)} MB: that is not a "
                               "list of face boxes. Give the file `redact ITEM --json` wrote, with the reviewer's "
                               "changes.")
    else:  # an ordinary file only (a named pipe would never end), within MAX_BYTES
        raw = read_small_file(Path(source), limit=MAX_BYTES, what="face boxes file")
    try:
        # Bounded depth: '[' * 100000 is a RecursionError for the plain parser, a ValueError here.
        data = load_json_bounded(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"{_label(source)} is not valid JSON ({clean_text(str(exc))}). Give the file "
                           "`redact ITEM --json` wrote, with the reviewer's changes.") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{_label(source)} must hold one JSON object, as `redact ITEM --json` writes.")
    return data


def _list(value: Any, what: str, source: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"In {_label(source)}, {what} must be a list; {_BOX_HELP}.")
    return value


def _box(value: Any, where: str, source: str) -> Box:
    from app.redact.faces import Box

    if not isinstance(value, list) or len(value) not in (4, 5) or not all(_number(v) for v in value):
        raise InvalidInput(f"In {_label(source)}, {where} is not a box: {_BOX_HELP}.")
    x, y, w, h = (int(v) for v in value[:4])
    if any(int(v) != v for v in value[:4]) or w <= 0 or h <= 0 or x < 0 or y < 0:
        raise InvalidInput(f"In {_label(source)}, {where} ({clean_text(json.dumps(value))}) is not a box: "
                           f"{_BOX_HELP}, and x and y not below 0.")
    return Box(x, y, w, h)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
