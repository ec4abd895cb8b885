"""What a court registry or a UN mechanism needs on top of the exhibits: ERNs, legend, consent, redaction log,
withheld items, the declarant and the seal's fingerprint, and the production's load files.

The exporter builds the exhibits (:mod:`app.export.dossier_builder`); :func:`complete_dossier` then adds
these facts to the :class:`~app.export.dossier_model.Dossier` before it is rendered, and
:func:`load_file_members` turns the rendered page ranges into the bundle's load files.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from app.errors import InvalidInput
from app.export import consent_gate, ern
from app.export.consent_section import build_consent_section, exhibit_statuses
from app.export.dossier_builder import ExhibitPlan, TextGuard
from app.export.dossier_model import PAPERS, Dossier
from app.export.selection import Selection, media_class

SELF_SIGNED_NOTE = ("self-signed organisation seal made by this vault (the offline default). It shows that "
                    "the file is unchanged since it was sealed and which seal key sealed it; no certificate "
                    "authority vouches for the key and the signing time is the computer's clock, not a "
                    "trusted timestamp.")


@dataclass(frozen=True)
class CourtOptions:
    """The export's choices for the court facts: the legend, the paper, the declarant's place, and
    whether redacted copies may be made automatically (and who accepted that)."""

    legend: str
    paper: str
    place: str
    review_required: bool
    automatic_accepted_by: str | None
    seal: Any | None = None  # app.export.org_seal.OrganisationSeal; None: the vault's self-signed seal
    timestamper: Any | None = None  # a pyHanko TimeStamper (RFC 3161 authority) for PAdES B-T; None: B-B


class NeedsReview(InvalidInput):
    """A redacted export would have to make redacted copies itself, and nobody accepted that."""


def court_options(*, audience: str, level: str, confidentiality: str | None, paper: str, place: str,
                  review_required: bool, accept_automatic_redaction: str | None, seal: Any | None = None,
                  timestamper: Any | None = None) -> CourtOptions:
    """``confidentiality``: the legend on every page (a key of :data:`app.export.ern.LEGENDS`, or None for the
    default by audience and level); ``paper``: "A4" or "Letter"; ``place``: printed with the declarant.
    With ``review_required`` a redacted export stops (:class:`NeedsReview`) before making any redacted copy
    itself, unless ``accept_automatic_redaction`` names who accepts that (in the ``exported`` event and the
    redaction log).  ``seal`` (:class:`app.export.org_seal.OrganisationSeal`) replaces the vault's
    self-signed seal; ``timestamper`` (a pyHanko TimeStamper) adds an RFC 3161 timestamp (PAdES B-T)."""
    paper_name = {p.lower(): p for p in PAPERS}.get(str(paper).strip().lower())
    if paper_name is None:
        raise InvalidInput(f"The paper size must be one of: {', '.join(PAPERS)}.")
    accepted = None
    if accept_automatic_redaction is not None:
        accepted = " ".join(str(accept_automatic_redaction).split())[:200]
        if not accepted:
            raise InvalidInput("Give the name of the person who accepts automatic redaction for this export.")
    return CourtOptions(legend=ern.legend_text(confidentiality, audience=audience, level=level), paper=paper_name,
                        place=" ".join(str(place or "").split())[:200], review_required=review_required,
                        automatic_accepted_by=accepted, seal=seal, timestamper=timestamper)


def check_review(selection: Selection, options: CourtOptions) -> None:
    """Stop a redacted export that would redact photos or videos itself, unless someone accepted it."""
    from app.export.derivatives import needing_faces

    if not options.review_required or options.automatic_accepted_by is not None:
        return
    missing = needing_faces(selection)
    if missing:
        ids = ", ".join(str(item.id) for item in missing)
        raise NeedsReview(
            f"Items {ids} have no reviewed redacted copy. Review them first ('evidence-vault redact ITEM "
            "--faces', choosing whose faces are hidden), or accept automatic redaction for this export with "
            "--accept-automatic-redaction \"YOUR NAME\" (recorded in the custody log). Nothing was written.")


def exported_details(dossier: Dossier, options: CourtOptions, rendered: Any,
                     withheld: dict[int, str]) -> dict[str, Any]:
    """What the ``exported`` event adds about the court facts: ERNs, legend, paper, automatic redaction."""
    spans = list(getattr(rendered, "exhibit_pages", []) or [])
    return {
        "confidentiality": options.legend,
        "paper": options.paper,
        "exhibit_erns": [e.ern for e in dossier.exhibits],
        "exhibit_pages": [[a, b] for a, b in spans],
        "withheld_items": sorted(withheld),
        "automatic_redaction_accepted_by": options.automatic_accepted_by,
        "seal": {"kind": "organisation" if options.seal is not None else "self-signed",
                 "certificate_sha256": dossier.seal_fingerprint, "timestamp": options.timestamper is not None},
    }


def exhibit_erns(plans: Sequence[ExhibitPlan], prefix: str) -> list[str]:
    """The persistent ERN of each exhibit as shown: ``-Red`` when a redacted copy stands in for it."""
    return [ern.item_ern(prefix, p.item.id, redacted=p.derivative is not None) for p in plans]


def withheld_reasons(plans: Sequence[ExhibitPlan], level: str) -> dict[int, str]:
    """original id -> what is withheld and why, for exhibits whose file cannot be shown or shipped."""
    if level != "redacted":
        return {}
    reasons: dict[int, str] = {}
    for plan in plans:
        if plan.derivative is not None:
            continue
        cls = media_class(plan.item)
        what = {"audio": "the recording (the voice of the people speaking)", "video": "the video",
                "photo": "the photo"}.get(cls, "the file")
        reasons[plan.item.id] = (f"{what} is not included: it cannot be redacted automatically and no reviewed "
                                 "redacted copy exists. Its description"
                                 + (" and redacted transcript are" if cls in ("audio", "video") else " is")
                                 + " shown instead; the original stays in the vault.")
    return reasons


def seal_fingerprint(cert_pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def complete_dossier(vault: Any, dossier: Dossier, plans: Sequence[ExhibitPlan], *, guard: TextGuard,
                     decision: consent_gate.ConsentDecision, excluded: Sequence[tuple[int, str]],
                     options: CourtOptions, redactor: Any, created: Sequence[int],
                     seal_note: str = SELF_SIGNED_NOTE) -> dict[int, str]:
    """Fill in the court facts of ``dossier`` (in place); return the withheld exhibits (id -> why)."""
    from app.export.redaction_log import build_redaction_log

    legend, paper, place = options.legend, options.paper, options.place
    automatic_accepted_by = options.automatic_accepted_by

    erns = [e.ern or n for e, n in zip(dossier.exhibits, exhibit_erns(plans, dossier.ern_prefix), strict=True)]
    statuses = exhibit_statuses(vault, plans, dossier.audience, decision)
    withheld = withheld_reasons(plans, dossier.level)
    for exhibit, plan, number, status in zip(dossier.exhibits, plans, erns, statuses, strict=True):
        exhibit.ern = number
        exhibit.confidentiality = legend
        exhibit.consent_status = status
        exhibit.withheld = withheld.get(plan.item.id, "")
    dossier.confidentiality = legend
    dossier.paper = paper
    dossier.consent = build_consent_section(vault, plans, erns, audience=dossier.audience, decision=decision,
                                            excluded=excluded, guard=guard, ern_prefix=dossier.ern_prefix)
    if guard.redacting and redactor is not None:
        dossier.redaction_marks = sorted({f"[{redactor.replacement_for(p.person_id)}]" for p in redactor.protected})
        dossier.redactions = build_redaction_log(vault, plans, erns, redactor=redactor, created=created,
                                                 automatic_accepted_by=automatic_accepted_by,
                                                 produced_at=dossier.produced_at, withheld=withheld)
    seal = options.seal if options.seal is not None else vault.seal_identity
    dossier.seal_fingerprint = seal_fingerprint(seal.cert_pem)
    dossier.seal_note = options.seal.note if options.seal is not None else seal_note
    if options.seal is not None and hasattr(dossier, "seal_certificate_pem"):
        dossier.seal_certificate_pem = seal.cert_pem.decode("ascii")
    if options.timestamper is not None:
        dossier.seal_note += (" The seal carries an RFC 3161 timestamp from a timestamp authority (PAdES B-T): "
                              "the time of sealing is vouched for by that authority.")
    profile = vault.actor_profile() if hasattr(vault, "actor_profile") else None
    decl = dossier.declaration
    if profile is not None:
        decl.investigator_role = guard(profile.role) or decl.investigator_role
        decl.organisation = guard(profile.organisation)
    decl.place = guard(place)
    if decl.organisation and dossier.organisation.startswith("("):
        dossier.organisation = decl.organisation  # the seal certificate names none: the declarant's
    decl.sealed = True
    return withheld


def placeholder_bytes(exhibit_ern: str, reason: str) -> bytes:
    """The text put in a bundle where a withheld file would be."""
    return (f"Exhibit {exhibit_ern}: file withheld\r\n\r\n{reason}\r\n\r\nThe dossier (dossier.pdf) shows this "
            "exhibit's description, custody and hashes; ask the sender if the court needs the file under seal."
            "\r\n").encode()


def load_file_members(dossier: Dossier, plans: Sequence[ExhibitPlan], page_spans: Sequence[tuple[int, int]],
                      pages: int, natives: dict[int, tuple[str, str]], texts: dict[int, str],
                      custodian: str) -> list[tuple[str, Callable[[], BinaryIO]]]:
    """The load files (bundle path, opener).  ``natives``: original id -> (bundle path, sha256) of the file
    shipped; ``texts``: original id -> bundle path of its transcript."""
    from app.export.load_files import (
        CSV_NAME,
        DAT_NAME,
        OPT_NAME,
        ExhibitFiles,
        csv_bytes,
        dat_bytes,
        opt_bytes,
        production_documents,
    )

    files = [ExhibitFiles(*natives.get(plan.item.id, ("", "")), text=texts.get(plan.item.id, "")) for plan in plans]
    # The dossier's own pages (cover, index, consent, logs, certification) are one more document.
    documents = production_documents(dossier, page_spans, pages, files,
                                     own=ExhibitFiles(native="dossier.pdf", sha256=""), custodian=custodian)
    dat, csv_data, opt = dat_bytes(documents), csv_bytes(documents), opt_bytes(documents)
    return [(DAT_NAME, lambda: io.BytesIO(dat)), (CSV_NAME, lambda: io.BytesIO(csv_data)),
            (OPT_NAME, lambda: io.BytesIO(opt))]
