"""The sections a court registry or a UN mechanism asks for: consent, the redaction log, withheld items.

Drawn with the renderer's writer (:class:`app.export.pdf.render._Writer`), so every string also goes
into the dossier's plain-text copy.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.platypus import PageBreak, Table, TableStyle

from app.export.dossier_model import Dossier, Exhibit
from app.export.pdf.flowables import Anchor

CONSENT_KEY = "consent"
REDACTION_KEY = "redaction-log"


def contents_entries(d: Dossier) -> list[tuple[str, str]]:
    entries = []
    if d.consent is not None:
        entries.append(("Consent", CONSENT_KEY))
    if d.redactions is not None:
        entries.append(("Redaction log", REDACTION_KEY))
    return entries


def _frame_w() -> float:
    from app.export.pdf.render import FRAME_W

    return FRAME_W


def consent(w: Any, d: Dossier) -> None:
    section = d.consent
    if section is None:
        return
    frame_w = _frame_w()
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, CONSENT_KEY, "Consent"))
    w.heading("Consent", w.h1)
    w.heading("The consent decision of this export", w.h2)
    w.add(section.decision)
    if section.override_reason:
        w.fields([("Consent override (court only)", section.override_reason)], label_w=150)
    w.heading("Consent of each survivor and witness linked to the exhibits", w.h2)
    if not section.rows:
        w.add("No survivor or witness is linked to the exhibits of this dossier.")
        return
    widths = [78.0, 70.0, 62.0, 50.0, 62.0, 68.0, 70.0]
    widths.append(frame_w - sum(widths))
    w.table(["Person", "Exhibits (ERN)", "Agreed to share with", "Date", "Taken by", "Consent form (ERN)",
             "Withdrawal", "Allows this export"],
            [[r.person, r.exhibits, r.scopes, r.date, r.taken_by, r.form, r.withdrawn or "none", r.allows_export]
             for r in section.rows], widths)


def redaction_log(w: Any, d: Dossier) -> None:
    from app.export.redaction_log import REASON_CODES

    if d.redactions is None:
        return
    frame_w = _frame_w()
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, REDACTION_KEY, "Redaction log"))
    w.heading("Redaction log", w.h1)
    w.add("Every redaction in this dossier, with its reason code, the method, who approved it and when. "
          "Names replaced in the text are shown in square brackets, like [Survivor S-1]; the originals are "
          "unchanged in the vault.")
    if not d.redactions:
        w.add("Nothing was redacted in the exhibits of this dossier.")
    else:
        widths = [88.0, 120.0, 52.0, 80.0, 90.0]
        widths.append(frame_w - sum(widths))
        w.table(["Exhibit (ERN)", "What was redacted", "Reason code", "Method", "Approved by", "When (UTC)"],
                [[r.exhibit, r.what, r.reason_code, r.method, r.reviewer, r.time] for r in d.redactions], widths)
    w.heading("Reason codes", w.h2)
    w.fields(list(REASON_CODES.items()), label_w=70)


def withheld_notice(w: Any, e: Exhibit) -> None:
    """A framed notice on the exhibit's page when its file (or part of it) is withheld."""
    if not e.withheld:
        return
    frame_w = _frame_w()
    text = f"WITHHELD: {e.withheld}"
    cell = w.para(text, w.body, width=frame_w - 12, bold=True)
    table = Table([[cell]], colWidths=[frame_w])
    from app.export.pdf.render import _FONT_CMDS

    table.setStyle(TableStyle([*_FONT_CMDS, ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                               ("BACKGROUND", (0, 0), (-1, -1), colors.Color(0.95, 0.95, 0.95)),
                               ("LEFTPADDING", (0, 0), (-1, -1), 6), ("TOPPADDING", (0, 0), (-1, -1), 6),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    w.story.append(table)
