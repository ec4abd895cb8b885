"""Faces reviewers decide to leave visible on a redacted copy (targeted face redaction).

By default every face is covered: protected people and bystanders alike.  Over-redaction hides
evidence, though: the face of an alleged perpetrator may be kept when the audience and the lawyer
decide so.  A kept face names the person (who must not be protected), carries the reason and who
decided, and is recorded in the derivation of the copy (so in the custody chain) for an auditor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.redact.faces import Box

MAX_REASON = 500


@dataclass(frozen=True)
class KeptFace:
    """One face left visible: its box (pixels of the oriented photo), whose it is, why, and who decided.

    For a video, ``frame`` is the frame (numbered from 0) the box is drawn on; the face is followed
    from there through its shot (``app.redact.kept_video``)."""

    box: Box
    person_id: int | None
    reason: str
    decided_by: str
    frame: int | None = None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"box": self.box.to_list(), "person_id": self.person_id, "reason": self.reason,
                                 "decided_by": self.decided_by}
        if self.frame is not None:  # photos' records stay exactly as before
            entry["frame"] = self.frame
        return entry

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> KeptFace:
        x, y, w, h = (int(v) for v in value["box"])
        person = value.get("person_id")
        frame = value.get("frame")
        return cls(Box(x, y, w, h), None if person is None else int(person), str(value.get("reason") or ""),
                   str(value.get("decided_by") or ""), None if frame is None else int(frame))


def check_kept_faces(persons: Sequence[Any], kept: Sequence[KeptFace]) -> list[KeptFace]:
    """The kept faces cleaned up (reasons trimmed), or :class:`InvalidInput` saying what to fix.

    ``persons`` are the vault's people.  A kept face must name a known person who is not protected,
    give a reason and say who decided; its box must have a size."""
    by_id = {person.id: person for person in persons}
    checked = []
    for face in kept:
        where = f"the face at x={face.box.x}, y={face.box.y}"
        if face.frame is not None:
            where += f" on frame {face.frame}"
        if face.frame is not None and face.frame < 0:
            raise InvalidInput(f"Frame {face.frame} is not in the video: frames are numbered from 0.")
        if face.box.w <= 0 or face.box.h <= 0:
            raise InvalidInput(f"The box of {where} has no size. Draw the box around the face to keep, then try again.")
        if face.person_id is None:
            raise InvalidInput(f"Say whose face is kept visible at x={face.box.x}, y={face.box.y}: choose the "
                               "person (only people who are not protected can be shown).")
        person = by_id.get(face.person_id)
        if person is None:
            raise InvalidInput(f"There is no person {face.person_id} in this vault. Add the person first, or "
                               "choose one from the list of people.")
        if person.protected:
            raise InvalidInput(f"Person {face.person_id} is protected: a protected person's face is always hidden. "
                               "Only the face of someone who is not protected can be kept visible.")
        reason = " ".join(face.reason.split())[:MAX_REASON]
        if not reason:
            raise InvalidInput(f"Give the reason for keeping {where} visible (for example the decision of the "
                               "lawyer and the audience the copy is for).")
        decided_by = " ".join(face.decided_by.split())[:200]
        if not decided_by:
            raise InvalidInput(f"Say who decided to keep {where} visible.")
        checked.append(KeptFace(face.box, face.person_id, reason, decided_by, face.frame))
    return checked


def kept_faces_of(derivation: dict[str, Any] | None) -> list[KeptFace]:
    """The kept faces a redacted copy's derivation records (none for copies made before they existed)."""
    recorded = (derivation or {}).get("kept_faces")
    if not isinstance(recorded, list):
        return []
    return [KeptFace.from_dict(entry) for entry in recorded if isinstance(entry, dict) and "box" in entry]
