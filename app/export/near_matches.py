"""The export-time near-match report: text that looks like a protected name but was not redacted.

Every text of a redacted dossier (after redaction) is searched with
:func:`app.redact.name_warnings.find_near_matches`.  Near matches stop the export until a reviewer
has looked at each place and cleared them (``accept_near_matches=<reviewer>``); the clearance and
the number of near matches go into the ``exported`` event.  The report names the person by number,
the reason and the place, never the text found: that text is what must not leave the vault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.errors import EvidenceVaultError
from app.export.dossier_model import ContactSheet, Dossier, TranscriptContent
from app.redact.names import NameRedactor

MAX_LISTED = 20


class NearMatchesFound(EvidenceVaultError):
    """Near matches a reviewer must clear before the redacted export can complete."""

    def __init__(self, matches: list[Any]) -> None:
        self.matches = matches
        one = len(matches) == 1
        lines = [f"The redacted export was stopped: {len(matches)} {'place looks' if one else 'places look'} "
                 f"like the name of a protected person but {'was' if one else 'were'} not redacted."]
        for match in matches[:MAX_LISTED]:
            lines.append(f"- person {match.person_id}: {match.reason}, in {match.place}")
        if len(matches) > MAX_LISTED:
            lines.append(f"- and {len(matches) - MAX_LISTED} more")
        lines.append("Check each place in the vault. Register a missed spelling as an alias of the person and "
                     "export again, or, when every place is harmless, export again with your clearance as "
                     "reviewer (on the command line: --accept-near-matches YOUR-NAME); the clearance is "
                     "recorded in the custody log.")
        super().__init__("\n".join(lines))


def dossier_texts(dossier: Dossier) -> Iterator[tuple[str, str]]:
    """(place, text) of every redacted text of the dossier that comes from the vault."""
    yield "the case title", dossier.case_title
    yield "the organisation name", dossier.organisation
    yield "the investigator's name", dossier.declaration.investigator_name
    for exhibit in dossier.exhibits:
        where = f"exhibit {exhibit.number}"
        yield f"the title of {where}", exhibit.title
        yield f"the description of {where}", exhibit.description
        yield f"the source of {where}", exhibit.source
        for label, value in exhibit.media_facts.items():
            yield f"'{label}' of {where}", value
        for index, person in enumerate(exhibit.persons, start=1):
            yield f"person {index} of {where}", person
        for index, row in enumerate(exhibit.custody, start=1):
            yield f"custody row {index} of {where}", f"{row.actor}\n{row.details_summary}"
        transcript = exhibit.content.transcript if isinstance(exhibit.content, ContactSheet) else exhibit.content
        if isinstance(transcript, TranscriptContent):
            for index, segment in enumerate(transcript.rows(), start=1):
                yield f"transcript segment {index} of {where}", f"{segment.speaker}\n{segment.text}"


def _source(text: str, sources: Mapping[str, str]) -> str:
    """The text ``text`` was redacted from (whole, or line by line), else ``text`` itself."""
    if text in sources:
        return sources[text]
    return "\n".join(sources.get(line, line) for line in text.split("\n"))


def find_in_dossier(dossier: Dossier, redactor: NameRedactor, sources: Mapping[str, str] | None = None) -> list[Any]:
    """Near matches in every text of ``dossier``.  ``sources`` (``TextGuard.sources``) maps each redacted
    text to the text it was made from: near matches are searched there, so a name only partly redacted
    ("Nguiễn Thị" left beside the replaced "Lan") is reported; only what redaction left counts."""
    from app.redact.name_warnings import find_near_matches

    found: list[Any] = []
    for place, text in dossier_texts(dossier):
        found += find_near_matches(_source(text, sources or {}), place, redactor)
    return found


def check_near_matches(dossier: Dossier, redactor: NameRedactor, *, accepted_by: str | None,
                       sources: Mapping[str, str] | None = None) -> list[Any]:
    """The near matches of ``dossier``; raises NearMatchesFound when there are some and no reviewer
    cleared them."""
    found = find_in_dossier(dossier, redactor, sources)
    if found and not accepted_by:
        raise NearMatchesFound(found)
    return found
