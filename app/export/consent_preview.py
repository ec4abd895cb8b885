"""What consent allows for one export, asked before anything is written (the export wizard's
consent page; nothing is recorded).

The preview runs the steps ``app.export.exporter.export`` itself runs first: the same selection
(``app.export.selection.select``), the same links to redacted copies (:func:`consent_links`) and
the same gate (``app.export.consent_gate.find_blocked``), so the exhibits it says consent keeps in
the vault are exactly those an export with ``leave_out_without_consent`` leaves out
(tests/export/test_consent_preview.py).  At the redacted level it also lists the pictures that
have no reviewed redacted copy yet and would be redacted automatically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.export import consent_gate, selection
from app.export.consent_gate import Blocked
from app.export.derivatives import needing_faces
from app.progress import CancelToken

__all__ = ["ConsentReport", "consent_links", "consent_preview"]


@dataclass
class ConsentReport:
    """What consent allows for one selection and audience."""

    audience: str
    exhibits: list[Any]  # app.vault.models.Item, originals
    blocked: list[Blocked]
    auto_redact: list[int] = field(default_factory=list)  # visual exhibits without a reviewed redacted copy

    @property
    def blocked_items(self) -> set[int]:
        return {b.item_id for b in self.blocked}

    @property
    def remaining(self) -> int:
        return len([i for i in self.exhibits if i.id not in self.blocked_items])


def consent_links(sel: selection.Selection) -> dict[int, Sequence[int]]:
    """Exhibit id -> its redacted copies: a person linked only to a copy is still in the exhibit."""
    return {item_id: [d.id for d in copies] for item_id, copies in sel.derivatives.items()}


def consent_preview(vault: Any, *, case_id: int | None, item_ids: Sequence[int] | None, audience: str,
                    level: str, cancel: CancelToken | None = None) -> ConsentReport:
    """Which exhibits of the case or items named consent keeps from ``audience``, and why."""
    chosen = selection.select(vault, case_id=case_id, item_ids=item_ids)
    if cancel is not None:
        cancel.check()
    blocked = consent_gate.find_blocked(vault, chosen.exhibits, audience, consent_links(chosen))
    auto = [item.id for item in needing_faces(chosen)] if level == "redacted" else []
    return ConsentReport(audience, list(chosen.exhibits), blocked, auto)
