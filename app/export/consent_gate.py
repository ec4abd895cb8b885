"""Consent decides what may leave the vault.

An exhibit linked to a survivor or witness whose recorded consent does not cover the audience
(or whose consent was withdrawn, or never recorded) may not be exported.  The gate runs before
anything is written or recorded.  The only way past it is an explicit override, which exists
for the court-under-seal audience alone, needs a reason, and is recorded in the custody chain.

Messages name items and people by number, role and pseudonym only: an error message is shown on
screens and in logs, and must never carry a real name or an exhibit's title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import ConsentError, InvalidInput

# The people whose consent governs an exhibit: those who speak or are shown in it.
CONSENTING_ROLES = frozenset({"survivor", "witness"})
AUDIENCE_WORDS = {"court": "a court", "un": "a UN mechanism", "ngo": "a partner organisation",
                  "media": "the media"}
OVERRIDABLE_AUDIENCE = "court"
MIN_REASON = 10  # characters, after normalise_reason: "see file" is not a reason
MAX_REASON = 500


def normalise_reason(text: str) -> str:
    """An override reason as it is checked and recorded: runs of white space become one space."""
    return " ".join(str(text).split())


def override_reason_acceptable(audience: str, text: str) -> bool:
    """Whether :func:`check_consent` accepts ``text`` as the reason for overriding consent for ``audience``."""
    reason = normalise_reason(text)
    return audience == OVERRIDABLE_AUDIENCE and MIN_REASON <= len(reason) <= MAX_REASON


@dataclass(frozen=True)
class Blocked:
    """One exhibit that consent keeps in the vault, and why (a plain sentence)."""

    item_id: int
    person_id: int
    withdrawn: bool
    reason: str


@dataclass(frozen=True)
class ConsentDecision:
    """What the gate decided: ``blocked`` exhibits are allowed only because of ``override_reason``."""

    audience: str
    blocked: tuple[Blocked, ...]
    override_reason: str | None

    @property
    def overridden(self) -> bool:
        return bool(self.blocked) and self.override_reason is not None


def _who(person: Any) -> str:
    label = f"{person.role} {person.id}"
    if person.pseudonym:
        label += f" ('{person.pseudonym}')"
    return label


def _scopes_text(scopes: frozenset[str]) -> str:
    return ", ".join(AUDIENCE_WORDS[s] for s in sorted(scopes) if s in AUDIENCE_WORDS)


def find_blocked(vault: Any, items: Sequence[Any], audience: str,
                 extra_links: dict[int, Sequence[int]] | None = None) -> list[Blocked]:
    """Every (exhibit, person) pair whose consent does not allow ``audience``.

    ``extra_links`` maps an exhibit id to other item ids whose linked people also count (its
    redacted copies: a person linked only to the copy is still in the exhibit).
    """
    blocked: list[Blocked] = []
    scopes_cache: dict[int, frozenset[str]] = {}
    withdrawn_cache: dict[int, bool] = {}
    for item in items:
        persons: dict[int, Any] = {}
        for source_id in (item.id, *((extra_links or {}).get(item.id, ()))):
            for person in vault.persons_for_item(source_id):
                persons.setdefault(person.id, person)
        for person in persons.values():
            if person.role not in CONSENTING_ROLES:
                continue
            if person.id not in scopes_cache:
                scopes_cache[person.id] = vault.consent_scopes(person.id)
                records = vault.consents(person.id) if hasattr(vault, "consents") else []
                withdrawn_cache[person.id] = bool(records) and records[-1].withdrawn_at is not None
            scopes = scopes_cache[person.id]
            if audience in scopes:
                continue
            who = _who(person)
            if withdrawn_cache[person.id]:
                why = (f"Item {item.id} is linked to {who}, who withdrew their consent; it may not be "
                       f"shared with {AUDIENCE_WORDS[audience]}.")
            elif not scopes:
                why = (f"Item {item.id} is linked to {who}, for whom no consent is recorded; it may not be "
                       f"shared with {AUDIENCE_WORDS[audience]} until consent is recorded.")
            else:
                why = (f"Item {item.id} is linked to {who}, who agreed to sharing with "
                       f"{_scopes_text(scopes)} only, not with {AUDIENCE_WORDS[audience]}.")
            blocked.append(Blocked(item.id, person.id, withdrawn_cache[person.id], why))
    return blocked


def consent_error(blocked: Sequence[Blocked], audience: str) -> ConsentError:
    lines = [f"Consent does not allow this export to {AUDIENCE_WORDS[audience]}; nothing was written."]
    lines += [f"- {b.reason}" for b in blocked]
    if audience == OVERRIDABLE_AUDIENCE:
        lines.append("Remove these items from the export, record the missing consent, or (for a court "
                     "under seal only) override with a reason: --override-consent \"REASON\".")
    else:
        lines.append("Remove these items from the export, or record the missing consent first.")
    error = ConsentError("\n".join(lines))
    error.blocked = list(blocked)  # type: ignore[attr-defined]
    return error


def check_consent(vault: Any, items: Sequence[Any], audience: str, *, override_reason: str | None = None,
                  extra_links: dict[int, Sequence[int]] | None = None) -> ConsentDecision:
    """Raise ConsentError (listing each blocked exhibit) unless consent allows every exhibit.

    ``override_reason`` is accepted for audience "court" only; with it, blocked exhibits pass and
    the decision says so (the caller records the override in the chain before exporting).
    """
    if audience not in AUDIENCE_WORDS:
        raise InvalidInput(f"The audience must be one of: {', '.join(AUDIENCE_WORDS)}.")
    reason = None
    if override_reason is not None:
        reason = normalise_reason(override_reason)
        if audience != OVERRIDABLE_AUDIENCE:
            raise InvalidInput("Consent can be overridden only for a court (under seal), never for "
                               f"{AUDIENCE_WORDS[audience]}. Nothing was written.")
        if len(reason) < MIN_REASON:
            raise InvalidInput("Overriding consent needs a real reason (for example the court order "
                               "number). Nothing was written.")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"Keep the override reason under {MAX_REASON} characters.")
    blocked = find_blocked(vault, items, audience, extra_links)
    if blocked and reason is None:
        raise consent_error(blocked, audience)
    return ConsentDecision(audience=audience, blocked=tuple(blocked), override_reason=reason if blocked else None)
