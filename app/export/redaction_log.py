"""The redaction log of a redacted dossier: every redaction, its reason code, who approved it and when, how.

Read from the vault, never invented: a redacted copy's ``redacted`` custody event (on the original)
gives the time and the reviewer (the actor who made or approved the copy); its derivation gives what
was covered and the method.  Copies the export had to make itself are marked as automatic, with the
name of whoever accepted automatic redaction for this export.  Names in the dossier's text are
replaced at export by the vault's name list: one row per exhibit says how many were replaced, and the
text marks each replacement visibly as ``[pseudonym]``.  Withheld recordings get a row too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.export.dossier_builder import ExhibitPlan
from app.export.dossier_model import RedactionRow
from app.export.selection import media_class

# Reason codes printed in the log; their meaning is printed under it.
REASON_CODES: dict[str, str] = {
    "PW-ID": "identity of a protected survivor or witness (name, face)",
    "PW-VOICE": "voice of a protected speaker",
    "TP-PRIV": "privacy of third parties and bystanders (faces of people not party to the case)",
    "LOC": "location that would identify a protected person (place, GPS, exact capture time)",
    "KEPT": "not a redaction: a face left visible by the reviewers' decision (e.g. an alleged perpetrator's), "
            "with their reason",
}


def _redacted_event(vault: Any, original_id: int, derivative_id: int) -> Any | None:
    for event in vault.events(original_id):
        if event.action == "redacted" and (event.details or {}).get("derivative_item") == derivative_id:
            return event
    return None


def _kept_rows(vault: Any, ern: str, derivation: dict[str, Any], redactor: Any, when: str) -> list[RedactionRow]:
    """One row per face left visible: whose (pseudonym or role, never a protected real name), why, who decided."""
    from app.redact.kept import kept_faces_of

    persons = {person.id: person for person in vault.list_persons()}
    rows = []
    raw = derivation.get("kept_faces") or []
    for index, face in enumerate(kept_faces_of(derivation)):
        person = persons.get(face.person_id) if face.person_id is not None else None
        if person is None:
            label = "an unnamed person"
        elif person.pseudonym:
            label = person.pseudonym
        else:
            label = "the alleged perpetrator" if person.role == "perpetrator" else f"a {person.role}"
        who = redactor.redact(face.decided_by)
        shown = ""
        if face.frame is not None:  # a video: say on how many frames it really was left visible
            entry = raw[index] if index < len(raw) and isinstance(raw[index], dict) else {}
            count = entry.get("visible_frame_count")
            shown = (f" (named on frame {face.frame}; left visible on {count} frame(s), covered and flagged "
                     "wherever tracking was not sure)") if isinstance(count, int) else f" (named on frame {face.frame})"
        rows.append(RedactionRow(ern, f"Face of {label} left visible{shown}: {redactor.redact(face.reason)}, "
                                 f"decided by {who}, {when}", "KEPT", "not redacted (kept visible)", who, when))
    return rows


def _name_count(vault: Any, plan: ExhibitPlan, redactor: Any) -> int:
    item = plan.item
    texts = [item.title or "", item.description or "", item.source or "", *(n.text for n in vault.notes(item.id))]
    texts += [f"{s.speaker or ''} {s.text}" for s in vault.transcript(item.id)]
    return sum(len(redactor.find(text)) for text in texts if text)


def build_redaction_log(vault: Any, plans: Sequence[ExhibitPlan], erns: Sequence[str], *, redactor: Any,
                        created: Sequence[int], automatic_accepted_by: str | None, produced_at: str,
                        withheld: dict[int, str]) -> list[RedactionRow]:
    """One row per redaction of each exhibit (``erns`` in ``plans`` order), in exhibit order."""
    rows: list[RedactionRow] = []
    made_now = set(created)
    for plan, ern in zip(plans, erns, strict=True):
        d = plan.derivative
        if d is not None:
            derivation = d.derivation or {}
            event = _redacted_event(vault, plan.item.id, d.id)
            if d.id in made_now:
                reviewer = f"automatic at export, accepted by {redactor.redact(automatic_accepted_by or 'nobody')}"
            else:
                reviewer = redactor.redact(event.actor) if event is not None else "not recorded"
            when = event.time if event is not None else d.created_at
            method = str(derivation.get("method") or "fill")
            boxes = derivation.get("boxes")
            if derivation.get("faces"):
                count = f", {len(boxes)} face box entries" if isinstance(boxes, list) else ""
                rows.append(RedactionRow(ern, "faces of protected people and bystanders", "PW-ID, TP-PRIV",
                                         f"{method}{count}", reviewer, when))
                rows += _kept_rows(vault, ern, derivation, redactor, when)
            audio_value = derivation.get("audio")
            audio = audio_value if isinstance(audio_value, dict) else {}
            mode = audio.get("mode") or (audio_value if isinstance(audio_value, str) else None)
            if mode in ("mute", "disguise"):
                rows.append(RedactionRow(ern, "voice", "PW-VOICE", "sound removed" if mode == "mute" else
                                         "voice disguised", reviewer, when))
            elif mode == "keep" and any(p.protected for p in vault.persons_for_item(plan.item.id)):
                # Not the default for a protected speaker: say so rather than let it pass unnoticed.
                rows.append(RedactionRow(ern, "voice kept: the reviewer chose to keep the sound", "PW-VOICE",
                                         "not redacted (reviewer's choice)", reviewer, when))
            if derivation.get("names"):
                rows.append(RedactionRow(ern, "names in the redacted file", "PW-ID", "replaced by pseudonyms",
                                         reviewer, when))
        if plan.item.id in withheld:
            what = {"audio": "recording", "video": "video", "photo": "photo"}.get(media_class(plan.item), "document")
            rows.append(RedactionRow(ern, f"the {what} withheld", "PW-VOICE"
                                     if media_class(plan.item) in ("audio", "video") else "PW-ID",
                                     "withheld; placeholder shown", "automatic at export (no redacted copy exists)",
                                     produced_at))
        names = _name_count(vault, plan, redactor)
        if names:
            rows.append(RedactionRow(ern, f"{names} name{'s' if names != 1 else ''} of people in title, description, "
                                     "notes or transcript", "PW-ID", "replaced by pseudonym, marked [like this]",
                                     "automatic at export (the vault's list of protected people)", produced_at))
        left_out = [what for what, present in (("place", plan.item.place),
                                                ("GPS position", (plan.item.metadata or {}).get("gps")),
                                                ("capture time of day", plan.item.captured_at)) if present]
        if left_out:
            rows.append(RedactionRow(ern, " and ".join([", ".join(left_out[:-1]), left_out[-1]] if len(left_out) > 1
                                                       else left_out), "LOC", "left out of the dossier",
                                     "automatic at export", produced_at))
    return rows
