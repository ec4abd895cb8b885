"""Lay a :class:`~app.export.dossier_model.Dossier` out as a PDF with reportlab.

The PDF is a plain PDF 1.4 at this point; :mod:`app.export.pdf.pdfa` turns it into PDF/A-3b and
:mod:`app.export.pdf.seal` seals it.  Every string that reaches a page goes through
:func:`app.export.pdf.text.markup` (escaped, one font per script, pre-broken lines) and is also
appended to the plain text returned in :class:`RenderResult` (the machine-readable copy).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app.errors import Cancelled
from app.export.dossier_model import ContactSheet, Dossier, Exhibit, ImageContent, TranscriptContent
from app.export.pdf import court_sections, sections
from app.export.pdf.flowables import Anchor, DossierCanvas, LateState, LazyImage, PageRef, bytes_opener
from app.export.pdf.fonts import BASE_FONT, ensure_fonts
from app.export.pdf.text import markup
from app.progress import CancelToken, ProgressCallback

PAGE_W, PAGE_H = A4
MARGIN_X = 40.0
# The text frame is as wide on Letter as on A4 (Letter is wider and shorter): every table fits both.
FRAME_W = PAGE_W - 2 * MARGIN_X
PAGE_SIZES = {"A4": A4, "Letter": LETTER}
CELL_PAD = 3.0


@dataclass(frozen=True)
class RenderResult:
    pages: int
    text: str
    exhibit_pages: list[tuple[int, int]] = field(default_factory=list)  # (first, last) page of each exhibit


def _style(name: str, size: float, leading: float, **kw: object) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=BASE_FONT, fontSize=size, leading=leading, shaping=1, **kw)


class _Writer:
    """Builds the story and, alongside it, the plain text of everything on the pages."""

    def __init__(self, late: LateState, marks: Sequence[str] = ()) -> None:
        self.late = late
        self.marks = tuple(marks)
        self.story: list[Any] = []  # reportlab flowables
        self.lines: list[str] = []
        self.body = _style("body", 9.5, 14)
        self.small = _style("small", 8, 11)
        self.h1 = _style("h1", 17, 24, spaceAfter=6)
        self.h2 = _style("h2", 12, 17, spaceBefore=8, spaceAfter=3, keepWithNext=1)
        self.title = _style("title", 24, 32, spaceAfter=10)

    # --- text --------------------------------------------------------------------------------
    def para(self, text: str, style: ParagraphStyle | None = None, *, width: float = FRAME_W,
             bold: bool = False, record: bool = True) -> Paragraph:
        style = style or self.body
        if record:
            self.lines.append(str(text))
        return Paragraph(markup(text, width=width, size=style.fontSize, bold=bold, marks=self.marks), style)

    def add(self, text: str, style: ParagraphStyle | None = None, *, bold: bool = False) -> None:
        self.story.append(self.para(text, style, bold=bold))

    def heading(self, text: str, style: ParagraphStyle) -> None:
        self.lines.append("")
        self.story.append(self.para(text, style, bold=True))

    def fields(self, rows: list[tuple[str, str]], label_w: float = 120) -> None:
        """Two-column label/value table (values may be long hashes or any script)."""
        if not rows:
            return
        value_w = FRAME_W - label_w
        data = []
        for label, value in rows:
            self.lines.append(f"{label}: {value}")
            data.append([self.para(label, self.small, width=label_w - 2 * CELL_PAD, bold=True, record=False),
                         self.para(value, self.body, width=value_w - 2 * CELL_PAD, record=False)])
        table = Table(data, colWidths=[label_w, value_w], splitInRow=1)
        table.setStyle(_grid(header=False))
        self.story.append(table)

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], *,
              style: ParagraphStyle | None = None, body_columns: tuple[int, ...] = ()) -> None:
        """A grid with a header row; columns in ``body_columns`` use ``style``, the rest small."""
        style = style or self.small
        self.lines.append(" | ".join(header))
        data = [[self.para(h, self.small, width=w - 2 * CELL_PAD, bold=True, record=False)
                 for h, w in zip(header, widths, strict=True)]]
        for row in rows:
            self.lines.append(" | ".join(row))
            data.append([self.para(c, style if (not body_columns or i in body_columns) else self.small,
                                   width=w - 2 * CELL_PAD, record=False)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))])
        table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
        table.setStyle(_grid(header=True))
        self.story.append(table)


# Tables draw in Helvetica (not embedded: breaks PDF/A) unless told otherwise, even when empty.
_FONT_CMDS = [("FONTNAME", (0, 0), (-1, -1), BASE_FONT), ("FONTSIZE", (0, 0), (-1, -1), 8)]


def _grid(*, header: bool) -> TableStyle:
    cmds = [
        *_FONT_CMDS,
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        cmds.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    return TableStyle(cmds)


def _exhibit_key(index: int) -> str:
    return f"exhibit-{index}"


def _cover(w: _Writer, d: Dossier) -> None:
    w.story.append(Anchor(w.late, "cover", "Cover"))
    w.add("EVIDENCE DOSSIER", w.h2, bold=True)
    w.story.append(w.para(d.case_title, w.title, bold=True))
    w.fields([
        ("Organisation", d.organisation),
        ("Produced at (UTC)", d.produced_at),
        ("Prepared for", sections.AUDIENCE_LABELS[d.audience]),
        ("Redaction level", sections.LEVEL_LABELS[d.level]),
        ("Number of exhibits", str(len(d.exhibits))),
        ("Evidence registration numbers", f"{d.ern_prefix}-000001 onwards, one per page; each exhibit keeps "
                                          "its own ERN in every export (see the index)"),
        *([("Confidentiality", d.confidentiality)] if d.confidentiality else []),
        ("Manifest SHA-256", d.manifest_sha256),
        *([("Seal certificate SHA-256 fingerprint", d.seal_fingerprint)] if d.seal_fingerprint else []),
        *([("Seal", d.seal_note)] if d.seal_note else []),
        ("Merkle root (custody log)", d.merkle_root),
        ("Custody log size", f"{d.tree_size} events"),
    ], label_w=150)
    w.story.append(Spacer(1, 10))
    w.add("Made from this signed checkpoint of the custody log:", w.body, bold=True)
    w.add(d.checkpoint_text.strip(), w.small)
    w.story.append(Spacer(1, 10))
    w.add(sections.cover_note(d), w.small)


def _contents(w: _Writer, d: Dossier) -> None:
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, "contents", "Contents"))
    w.heading("Contents", w.h1)
    entries = [("Exhibit index", "index")]
    entries += court_sections.contents_entries(d)
    entries += [(f"{e.number}  {e.title}", _exhibit_key(i)) for i, e in enumerate(d.exhibits)]
    entries += [("Certification", "certification"), ("Verification appendix", "verification")]
    ref_w = 150
    title_w = FRAME_W - ref_w
    data = []
    for title, key in entries:
        w.lines.append(title)
        data.append([w.para(title, w.small, width=title_w - 2 * CELL_PAD, record=False),
                     PageRef(w.late, key)])
    table = Table(data, colWidths=[title_w, ref_w], splitInRow=1)
    table.setStyle(TableStyle([*_FONT_CMDS, ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                               ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
                               ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD)]))
    w.story.append(table)


def _index(w: _Writer, d: Dossier) -> None:
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, "index", "Exhibit index"))
    w.heading("Exhibit index", w.h1)
    widths = [78.0, 130.0, 60.0, 92.0, FRAME_W - 360.0]
    header = ["Exhibit / ERN", "Title and SHA-256", "Kind, language", "Confidentiality, consent",
              "Pages (first – last ERN), first page"]
    w.lines.append(" | ".join(header))
    data = [[w.para(h, w.small, width=x - 2 * CELL_PAD, bold=True, record=False)
             for h, x in zip(header, widths, strict=True)]]
    for i, e in enumerate(d.exhibits):
        if e.sha256_derivative:
            sha = f"SHA-256 (redacted version): {e.sha256_derivative}"
        elif e.sha256_original:
            sha = f"SHA-256: {e.sha256_original}"
        else:
            sha = f"Commitment to the original: {e.original_commitment}" if e.original_commitment else ""
        cells = [f"{e.number}\n{e.ern}".strip(), f"{e.title}\n{sha}" if sha else e.title,
                 f"{e.kind}\n{e.language or 'language not recorded'}",
                 f"{e.confidentiality or d.confidentiality}\n{e.consent_status}".strip(),
                 e.captured_at]
        w.lines.append(" | ".join(c.replace("\n", " ") for c in cells[:4]) + f" | captured {e.captured_at}")
        row = [w.para(v, w.small, width=x - 2 * CELL_PAD, record=False)
               for v, x in zip(cells[:4], widths, strict=False)]
        data.append([*row, [PageRef(w.late, "range:" + _exhibit_key(i), size=6.5),
                            PageRef(w.late, _exhibit_key(i), size=7)]])
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    table.setStyle(_grid(header=True))
    w.story.append(table)


def _exhibit(w: _Writer, d: Dossier, index: int, e: Exhibit) -> None:
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, _exhibit_key(index), f"{e.number}  {e.title}", exhibit=True))
    w.heading(f"Exhibit {e.number}: {e.title}", w.h1)
    rows = [("Exhibit number", e.number)]
    if e.ern:
        rows.append(("ERN (kept in every export)", e.ern))
    rows += [("Kind", e.kind), ("Captured at", e.captured_at), ("Source", e.source)]
    if e.language:
        rows.append(("Language", e.language))
    if e.confidentiality:
        rows.append(("Confidentiality", e.confidentiality))
    if e.consent_status:
        rows.append(("Consent", e.consent_status))
    if e.sha256_original:
        rows.append(("SHA-256 of the original", e.sha256_original))
    if e.original_commitment:
        rows.append(("Keyed commitment to the original (checkable with the vault)", e.original_commitment))
    if e.sha256_derivative:
        rows.append(("SHA-256 of this redacted version", e.sha256_derivative))
    rows.append(("Description", e.description))
    if e.persons:
        rows.append(("People", ", ".join(e.persons)))
    rows += [(k, str(v)) for k, v in e.media_facts.items()]
    w.fields(rows)
    court_sections.withheld_notice(w, e)
    _content(w, e)
    if e.custody:
        w.story.append(CondPageBreak(80))
        w.heading("Chain of custody", w.h2)
        widths = [92.0, 70.0, 62.0, 130.0, FRAME_W - 354.0]
        w.table(["Time (UTC)", "Actor", "Action", "Details", "Event hash"],
                [[c.time, c.actor, c.action, c.details_summary, c.event_hash] for c in e.custody], widths)
    if e.proofs:
        w.story.append(CondPageBreak(80))
        w.heading(f"Inclusion proofs (tree size {d.tree_size}, root {d.merkle_root})", w.h2)
        widths = [50.0, 200.0, FRAME_W - 250.0]
        w.table(["Event (leaf index)", "Leaf hash", "Proof (sibling hashes, leaf to root)"],
                [[str(p.event_seq), p.leaf_hash, "\n".join(p.proof) or "(empty: single-leaf tree)"]
                 for p in e.proofs], widths)


def _content(w: _Writer, e: Exhibit) -> None:
    content = e.content
    if content is None:
        return
    if isinstance(content, ImageContent):
        w.story.append(Spacer(1, 8))
        w.story.append(LazyImage(content.open, FRAME_W, 330))
        if content.caption:
            w.add(content.caption, w.small)
    elif isinstance(content, ContactSheet):
        w.heading("Key frames", w.h2)
        cols = 3
        cell_w = FRAME_W / cols
        cells: list[Any] = []
        for frame, ts in zip(content.frames, content.timestamps, strict=True):
            label = f"at {sections.timestamp(ts)}"
            w.lines.append(f"Key frame {label}")
            cells.append([LazyImage(bytes_opener(frame), cell_w - 8, 110),
                          w.para(label, w.small, width=cell_w - 8, record=False)])
        rows = [cells[i:i + cols] for i in range(0, len(cells), cols)]
        if rows:
            rows[-1] += [""] * (cols - len(rows[-1]))
            table = Table(rows, colWidths=[cell_w] * cols)
            table.setStyle(TableStyle([*_FONT_CMDS, ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                       ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
            w.story.append(table)
        if content.transcript is not None:
            _transcript(w, content.transcript)
    elif isinstance(content, TranscriptContent):
        _transcript(w, content)


def _transcript(w: _Writer, content: TranscriptContent) -> None:
    w.story.append(CondPageBreak(80))
    w.heading("Transcript", w.h2)
    widths = [80.0, 80.0, FRAME_W - 160.0]
    w.table(["Time", "Speaker (language)", "Words spoken"],
            [[f"{sections.timestamp(s.start)}–{sections.timestamp(s.end)}",
              f"{s.speaker} ({s.language})" if s.language else s.speaker, s.text]
             for s in content.rows()], widths, style=w.body, body_columns=(2,))


def _certification(w: _Writer, d: Dossier) -> None:
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, "certification", "Certification"))
    w.heading("Certification", w.h1)
    decl = d.declaration
    w.add(decl.statement)
    w.story.append(Spacer(1, 10))
    w.fields([("Declarant", decl.investigator_name), ("Role", decl.investigator_role or "not recorded"),
              ("Organisation", decl.organisation or d.organisation), ("Place", decl.place or "not recorded"),
              ("Date", decl.date)])
    w.story.append(Spacer(1, 18))
    if decl.sealed:
        # A sealed file is signed by its seal: an ink line would invite a signature nobody can check.
        block = [w.para(sections.SEAL_NOTE, w.small)]
        if d.seal_fingerprint:
            block.append(w.para(f"Seal certificate SHA-256 fingerprint: {d.seal_fingerprint}", w.small))
    else:
        block = [w.para("Signature: ______________________________________", bold=True), Spacer(1, 18),
                 w.para("Printed name: " + decl.investigator_name)]
    w.story.append(KeepTogether(block))


def _verification(w: _Writer, d: Dossier) -> None:
    w.story.append(PageBreak())
    w.story.append(Anchor(w.late, "verification", "Verification appendix"))
    w.heading("Verification appendix: how to check this dossier", w.h1)
    for title, body in sections.verification_steps(d):
        w.heading(title, w.h2)
        w.add(body)
    if d.public_key_pem:
        w.heading("Checkpoint public key (Ed25519, PEM)", w.h2)
        w.add(d.public_key_pem.strip(), w.small)
    if d.seal_certificate_pem:
        w.heading("Seal certificate (X.509, PEM; also attached as seal-certificate.pem)", w.h2)
        w.add(d.seal_certificate_pem.strip(), w.small)
    w.heading("Exhibit hashes", w.h2)
    widths = [60.0, FRAME_W - 60.0]
    if d.level == "redacted":
        w.table(["Exhibit", "SHA-256 of the redacted version; keyed commitment to the original below"],
                [[e.number, "\n".join(v for v in (e.sha256_derivative or "(no redacted file: not included)",
                                                   e.original_commitment) if v)]
                 for e in d.exhibits], widths)
    else:
        w.table(["Exhibit", "SHA-256 (original; redacted version below when present)"],
                [[e.number, (e.sha256_original or "") + (f"\n{e.sha256_derivative}" if e.sha256_derivative else "")]
                 for e in d.exhibits], widths)


def render_dossier(dossier: Dossier, out: BinaryIO, *, progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None) -> RenderResult:
    """Write the dossier as a PDF to ``out``; return its page count and full plain text."""
    ensure_fonts()
    # reportlab wraps images in ASCII85 by default: 25% larger files for nothing
    rl_config.useA85 = 0
    late = LateState(ern_prefix=dossier.ern_prefix,
                     footer_left=f"Evidence dossier | {dossier.audience} | {dossier.level}",
                     progress=progress, cancel=cancel, exhibits_total=len(dossier.exhibits),
                     legend=dossier.confidentiality,
                     exhibit_erns={_exhibit_key(i): e.ern for i, e in enumerate(dossier.exhibits) if e.ern})
    w = _Writer(late, dossier.redaction_marks)
    _cover(w, dossier)
    _contents(w, dossier)
    _index(w, dossier)
    court_sections.consent(w, dossier)
    court_sections.redaction_log(w, dossier)
    exhibit_line_starts = []
    for i, exhibit in enumerate(dossier.exhibits):
        if cancel is not None:
            cancel.check()
        exhibit_line_starts.append(len(w.lines))
        _exhibit(w, dossier, i, exhibit)
    _certification(w, dossier)
    _verification(w, dossier)

    page_w, page_h = PAGE_SIZES[dossier.paper]
    margin_x = (page_w - FRAME_W) / 2
    doc = BaseDocTemplate(out, pagesize=(page_w, page_h), leftMargin=margin_x, rightMargin=margin_x,
                          topMargin=45, bottomMargin=50, initialFontName=BASE_FONT,
                          title="", author="", subject="", creator="Evidence Vault",
                          producer="Evidence Vault", invariant=0)
    frame = Frame(margin_x, 50, FRAME_W, page_h - 95, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    try:
        doc.build(w.story, canvasmaker=functools.partial(DossierCanvas, late=late))
    except Cancelled:
        raise
    # tell each exhibit's text where it sits (the pages are known only now)
    for i, start in reversed(list(enumerate(exhibit_line_starts))):
        w.lines.insert(start, f"[Exhibit {dossier.exhibits[i].number} begins on page "
                              f"{late.page_ref(_exhibit_key(i))}]")
    text = sections.text_header(dossier, late.pages) + "\n".join(w.lines) + "\n"
    spans = [late.section_span(_exhibit_key(i)) or (0, 0) for i in range(len(dossier.exhibits))]
    return RenderResult(pages=late.pages, text=text, exhibit_pages=spans)
