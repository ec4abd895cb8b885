"""A redacted copy is visibly a derivative: titled "… (redacted)" and linked to the same people as its
original, so consent and exports treat it alike.  Applied by ``derive.redact_item`` whoever calls it
(command line, desktop app, or an export that makes its own copies)."""

from __future__ import annotations

from typing import Any

REDACTED_SUFFIX = " (redacted)"


def redacted_title(title: str | None, original_item_id: int) -> str:
    """The copy's title from its original's (already name-redacted) title."""
    base = (title or "").strip()
    if not base:
        return f"Redacted copy of item {original_item_id}"
    return base if base.endswith(REDACTED_SUFFIX.strip()) else base + REDACTED_SUFFIX


def link_like_original(vault: Any, copy_id: int, original_id: int) -> None:
    """Link the copy to every person linked to its original (each link a custody event on the copy)."""
    linked = {person.id for person in vault.persons_for_item(copy_id)}
    for person in vault.persons_for_item(original_id):
        if person.id not in linked:
            vault.link(copy_id, person.id)
