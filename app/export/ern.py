"""Persistent evidence registration numbers (ERNs) and the confidentiality legend of an export.

An exhibit's ERN is made from the export's prefix and the item's number in the vault, which never
changes (items are hidden, never erased or renumbered): ``EV-00012`` is item 12 in every export with
the prefix ``EV``, however much the custody log grew in between.  A redacted version carries the
suffix ``-Red`` (``EV-00012-Red``).  The pages of an exhibit are numbered inside its ERN
(``EV-00012-Red-0001``, ``-0002``...), so the first page of an exhibit keeps its number too.  The
dossier's own pages (cover, index, consent, redaction log, certification) keep the running page ERN
of the production (``EV-000001``...), printed on every page as before.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.errors import InvalidInput

REDACTED_SUFFIX = "-Red"
_ITEM_DIGITS = 5

# The legends an export can print on every page; the key is what the CLI and the wizard offer.
LEGENDS: dict[str, str] = {
    "under-seal": "CONFIDENTIAL - UNDER SEAL",
    "confidential": "CONFIDENTIAL",
    "confidential-redacted": "CONFIDENTIAL - REDACTED VERSION",
    "public-redacted": "PUBLIC REDACTED VERSION",
}


def item_ern(prefix: str, item_id: int, *, redacted: bool = False) -> str:
    """The persistent ERN of an item (its redacted version with ``redacted``)."""
    if item_id < 0:
        raise ValueError("item ids are not negative")
    return f"{prefix}-{item_id:0{_ITEM_DIGITS}d}{REDACTED_SUFFIX if redacted else ''}"


def page_ern(exhibit_ern: str, page_in_exhibit: int) -> str:
    """The ERN of the ``page_in_exhibit``-th page (from 1) of an exhibit."""
    return f"{exhibit_ern}-{page_in_exhibit:04d}"


def native_name(exhibit_ern: str, suffix: str) -> str:
    """The file name of an exhibit's native file in a bundle: its ERN and its type's extension."""
    return f"{exhibit_ern}{suffix}"


def default_legend(audience: str, level: str) -> str:
    """The legend chosen when the export does not say: originals are under seal (court) or
    confidential; redacted versions for the media are public, others confidential."""
    if level == "original":
        return "under-seal" if audience == "court" else "confidential"
    return "public-redacted" if audience == "media" else "confidential-redacted"


def legend_text(choice: str | None, *, audience: str, level: str) -> str:
    """The legend printed on every page for the user's ``choice`` (a key of :data:`LEGENDS`, or None
    for the default).  A "public" legend is refused on originals: it would invite publication of
    unredacted evidence."""
    key = default_legend(audience, level) if choice is None else str(choice).strip().lower()
    if key not in LEGENDS:
        raise InvalidInput(f"The confidentiality legend must be one of: {', '.join(LEGENDS)}.")
    if key == "public-redacted" and level != "redacted":
        raise InvalidInput("An original-level export cannot be marked as a public redacted version. "
                           "Choose --level redacted, or another legend (for example confidential).")
    return LEGENDS[key]


_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
_MIME_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4", "audio/mp4": ".m4a",
                  "text/vtt": ".vtt", "application/pdf": ".pdf"}


def member_suffix(item: Any) -> str:
    """The file's extension when it is plain ASCII (a legacy-encoded name may hide bytes in it), or one
    chosen from its type."""
    suffix = Path(item.original_name or "").suffix
    if _SUFFIX.fullmatch(suffix):
        return suffix.lower()
    return _MIME_SUFFIXES.get(item.mime or "", ".bin")
