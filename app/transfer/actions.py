"""The two custody actions of transfers (both listed in app.vault.events.ACTIONS)."""

from __future__ import annotations

from typing import Any

from app.vault import events

TRANSFERRED = "transferred"
RECEIPT_IMPORTED = "receipt_imported"


def recorded_as(action: str, details: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(action, details) to pass to ``Vault.record_event`` for a transfer action."""
    if action not in events.ACTIONS:
        raise ValueError(f"not a custody action: {action!r}")
    return action, details


def is_action(event: events.Event, action: str) -> bool:
    return event.action == action
