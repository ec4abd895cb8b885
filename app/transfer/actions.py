"""The two custody actions of transfers (both listed in app.vault.events.ACTIONS)."""

from __future__ import annotations

from app.vault import events

TRANSFERRED = "transferred"
RECEIPT_IMPORTED = "receipt_imported"


def is_action(event: events.Event, action: str) -> bool:
    return event.action == action
