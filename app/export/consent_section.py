"""The consent section of a dossier: who agreed to what, when, before whom, and what the export decided.

Per person linked to the exhibits (survivors and witnesses: the people whose consent governs an
exhibit, :data:`app.export.consent_gate.CONSENTING_ROLES`): every consent record with its scopes,
date, who took it, the ERN of the item holding the signed consent form, and any withdrawal.  Per
exhibit: a short consent status for the index.  And the export's own decision: consent covers the
audience, or a court-only override with its reason, or exhibits left out.  Every string passes
through the export's :class:`~app.export.dossier_builder.TextGuard` (pseudonyms at the redacted level).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.export.consent_gate import AUDIENCE_WORDS, CONSENTING_ROLES, ConsentDecision
from app.export.dossier_builder import ExhibitPlan, TextGuard, person_label
from app.export.dossier_model import ConsentRow, ConsentSection


def _persons(vault: Any, plan: ExhibitPlan) -> dict[int, Any]:
    persons = {p.id: p for p in vault.persons_for_item(plan.item.id)}
    if plan.derivative is not None:
        persons.update({p.id: p for p in vault.persons_for_item(plan.derivative.id)})
    return persons


def _scopes(scopes: frozenset[str]) -> str:
    return ", ".join(AUDIENCE_WORDS.get(s, s) for s in sorted(scopes)) or "none"


def exhibit_statuses(vault: Any, plans: Sequence[ExhibitPlan], audience: str,
                     decision: ConsentDecision) -> list[str]:
    """One consent status per exhibit (index column), in ``plans`` order."""
    blocked = {b.item_id for b in decision.blocked}
    statuses = []
    for plan in plans:
        consenting = [p for p in _persons(vault, plan).values() if p.role in CONSENTING_ROLES]
        if plan.item.id in blocked:
            statuses.append("no consent: court override")
        elif not consenting:
            statuses.append("no survivor or witness linked")
        else:
            statuses.append(f"consent covers {AUDIENCE_WORDS[audience]} ({len(consenting)} "
                            f"{'person' if len(consenting) == 1 else 'people'})")
    return statuses


def build_consent_section(vault: Any, plans: Sequence[ExhibitPlan], erns: Sequence[str], *, audience: str,
                          decision: ConsentDecision, excluded: Sequence[tuple[int, str]], guard: TextGuard,
                          ern_prefix: str) -> ConsentSection:
    from app.export.ern import item_ern

    linked: dict[int, tuple[Any, list[str]]] = {}
    for plan, ern in zip(plans, erns, strict=True):
        for person in _persons(vault, plan).values():
            if person.role in CONSENTING_ROLES:
                linked.setdefault(person.id, (person, []))[1].append(ern)
    rows: list[ConsentRow] = []
    for person_id in sorted(linked):
        person, exhibit_erns = linked[person_id]
        label = person_label(person, guard)
        allowed = audience in vault.consent_scopes(person_id)
        allows = "yes" if allowed else f"no: not for {AUDIENCE_WORDS[audience]}"
        records = vault.consents(person_id)
        if not records:
            rows.append(ConsentRow(person=label, exhibits=", ".join(exhibit_erns), scopes="no consent recorded",
                                   date="", taken_by="", form="", withdrawn="", allows_export=allows))
            continue
        for record in records:
            form = (item_ern(ern_prefix, record.record_item_id) if record.record_item_id is not None
                    else "no consent form item recorded")
            withdrawn = ""
            if record.withdrawn_at:
                withdrawn = f"withdrawn {record.withdrawn_at[:10]}" + (f": {guard(record.reason)}" if record.reason
                                                                       else "")
            rows.append(ConsentRow(person=label, exhibits=", ".join(exhibit_erns), scopes=_scopes(record.scopes),
                                   date=record.date or "not recorded",
                                   taken_by=guard(record.taken_by) or "not recorded",
                                   form=form, withdrawn=withdrawn, allows_export=allows))
    words = AUDIENCE_WORDS[audience]
    if decision.overridden:
        count = len({b.item_id for b in decision.blocked})
        text = (f"Consent does not cover sharing {count} exhibit{'s' if count != 1 else ''} with {words}. They are "
                "included under the court-only consent override recorded in the custody log, for this reason: "
                f"{guard(decision.override_reason)}")
    elif linked:
        text = ("The recorded consent of every survivor and witness linked to these exhibits covers sharing "
                f"with {words}.")
    else:
        text = (f"No survivor or witness is linked to these exhibits; no consent was needed to share them "
                f"with {words}.")
    if excluded:
        text += (f" {len(excluded)} item{'s were' if len(excluded) != 1 else ' was'} left out of this export "
                 "because consent does not allow it: "
                 + "; ".join(f"{item_ern(ern_prefix, item_id)} ({guard(why)})" for item_id, why in excluded))
    return ConsentSection(rows=rows, decision=text,
                          override_reason=guard(decision.override_reason) if decision.overridden else None)
