"""Custody events and derivations in sentences an investigator reads without a manual (issue 15).

The vault stores machine words (``item_ingested``, ``{"media": "photo", "method": "fill", ...}``); the
screen shows "Stored the file in the vault" and "Redacted copy of item 3: faces covered (filled)".
Pure functions, no Qt: the table models and the details panel call them.
"""

from __future__ import annotations

from typing import Any

ACTION_SENTENCES: dict[str, str] = {
    "vault_created": "Created this vault",
    "case_added": "Opened a case",
    "case_changed": "Changed a case",
    "person_added": "Added a person",
    "person_changed": "Changed a person's details",
    "consent_added": "Recorded consent",
    "consent_withdrawn": "Recorded that consent was withdrawn",
    "item_ingested": "Stored the file in the vault",
    "item_changed": "Changed the item's details",
    "item_viewed": "Opened the item",
    "item_linked": "Linked a person to the item",
    "note_added": "Added a note",
    "transcript_set": "Saved the transcript",
    "annotated": "Marked areas on the item",
    "redacted": "Made a redacted copy",
    "exported": "Exported a dossier",
    "verified": "Checked the vault's integrity",
    "passphrase_changed": "Changed the passphrase",
    "checkpoint_made": "Made a checkpoint (proof of the log at this moment)",
    "consent_override": "Exported despite missing consent (court order)",
    "locked": "Locked the vault",
    "recovery_configured": "Set up organisational recovery",
    "transferred": "Sent a transfer package to headquarters",
    "receipt_imported": "Recorded headquarters' receipt",
    "seal_imported": "Imported the organisation's seal certificate",
    "seal_removed": "Removed the organisation's seal certificate",
}

# Detail keys worth reading, in words; everything else is summarised by its name only.
_DETAIL_LABELS: dict[str, str] = {
    "fields": "changed", "title": "title", "name": "file", "kind": "kind", "audience": "for",
    "level": "level", "pages": "pages", "reason": "reason", "scopes": "consent for", "person_id": "person",
    "case_id": "case", "hidden": "hidden", "ok": "result", "problems": "problems", "method": "method",
    "mode": "mode", "tree_size": "log size", "language": "language", "segments": "segments",
    "derived_from": "copy of item", "ern_first": "first page", "ern_last": "last page", "format": "format",
}
_METHODS = {"fill": "filled", "blur": "blurred", "pixelate": "pixelated"}


def action_sentence(action: str) -> str:
    """The custody action as a short sentence; an unknown action keeps its words without underscores."""
    return ACTION_SENTENCES.get(action, action.replace("_", " ").capitalize())


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value[:12]) + (" …" if len(value) > 12 else "")
    if isinstance(value, dict):
        return f"{len(value)} setting(s)"
    return str(value)


def details_sentence(details: Any) -> str:
    """An event's details in words: the known keys labelled, machine parameters left out."""
    if not details:
        return ""
    if not isinstance(details, dict):
        return str(details)
    parts = [f"{_DETAIL_LABELS[key]}: {_value(details[key])}" for key in _DETAIL_LABELS
             if key in details and details[key] not in (None, "", [], {})]
    return "; ".join(parts)


def derivation_sentence(derived_from: int | None, derivation: dict[str, Any] | None) -> str:
    """What a derived copy is, e.g. "Redacted copy of item 3: faces covered (filled), names replaced"."""
    if derived_from is None:
        return ""
    d = derivation or {}
    what: list[str] = []
    media = d.get("media")
    if d.get("faces") or (media in ("photo", "video") and d.get("method")):
        method = str(d.get("method") or "fill")
        what.append(f"faces covered ({_METHODS.get(method, method)})")
    audio = d.get("audio")
    mode = audio.get("mode") if isinstance(audio, dict) else audio
    if mode == "disguise":
        what.append("voice disguised")
    elif mode in ("remove", "mute", "silence"):
        what.append("sound removed")
    if d.get("names"):
        what.append("names replaced by pseudonyms")
    if media == "transcript":
        what.append("transcript with names replaced")
    label = "Redacted copy" if d.get("redaction") else "Copy"
    return f"{label} of item {derived_from}" + (": " + ", ".join(dict.fromkeys(what)) if what else "")
