"""Export: a vault selection -> a sealed PDF/A-3 dossier, and optionally a sealed bundle.

Order of work (each step only once the one before succeeded):

1. resolve the selection; consent gate (:mod:`app.export.consent_gate`) -- nothing has been
   written or recorded when it refuses;
2. at the redacted level, make the missing face-redacted copies (:mod:`app.export.derivatives`);
3. record a consent override (court only) in the chain; make a checkpoint of the custody log;
4. build the dossier (:mod:`app.export.dossier_builder`), render it, make it PDF/A-3, seal it;
   at the redacted level the full text is checked once more for protected names;
5. write the PDF atomically (a hidden temporary file beside the target, then a rename that never
   replaces an existing file), or write the bundle (:func:`app.export.bundle.write_bundle`);
6. record the ``exported`` event (what, for whom, which items and files, the hashes).

Temporary files live only beside the output (which receives the same content anyway) and are
removed on any error or cancel (:mod:`app.export.export_files`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from app.errors import Cancelled, EvidenceVaultError, IntegrityError, InvalidInput
from app.export import consent_gate, dossier_builder, dossier_court, export_steps, pdf_load_files, unreadable
from app.export import selection as selection_mod
from app.export.commitments import commitment_key
from app.export.consent_preview import consent_links
from app.export.derivatives import derivatives_for, ensure_face_derivatives
from app.export.dossier_builder import ExhibitPlan, TextGuard
from app.export.dossier_model import AUDIENCES, LEVELS, Audience, Declaration, Dossier, Level
from app.export.export_files import Stages, disk_errors, sha256_file, temp_files
from app.export.publish import publish_new as _publish
from app.export.publish import remove_output as _remove_output
from app.progress import CancelToken, ProgressCallback, no_progress
from app.vault.events import utc_now
from app.vault.merkle import MerkleTree

PDF_NAME = "dossier.pdf"
_ERN_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,23}")
# Court exports of originals carry the original files inside the PDF up to this total; larger
# sets go in the bundle only (pikepdf holds attachments in memory).
ATTACH_ORIGINALS_MAX = 64 * 1024 * 1024


@dataclass
class ExportResult:
    """What an export wrote.  ``manifest_sha256`` is the dossier manifest printed on the cover;
    ``bundle_manifest_sha256`` the bundle's signed manifest.json (None without a bundle)."""

    paths: list[Path]
    manifest_sha256: str
    pdf_sha256: str
    pages: int
    exhibits: list[int]  # original item ids, in exhibit order
    excluded: list[tuple[int, str]] = field(default_factory=list)  # (item id, why) left out for consent
    derivatives_used: dict[int, int] = field(default_factory=dict)  # original id -> redacted copy id
    derivatives_created: list[int] = field(default_factory=list)
    withheld_files: list[tuple[int, str]] = field(default_factory=list)  # not put in the bundle, and why
    damaged: list[tuple[int, str]] = field(default_factory=list)  # (item id, what is wrong): placeholder pages
    bundle_manifest_sha256: str | None = None
    ern_first: str = ""
    ern_last: str = ""
    event_seq: int | None = None


def _check_arguments(audience: str, level: str, out: Path, bundle: bool, ern_prefix: str) -> None:
    if audience not in AUDIENCES:
        raise InvalidInput(f"The audience must be one of: {', '.join(AUDIENCES)}.")
    if level not in LEVELS:
        raise InvalidInput(f"The level must be one of: {', '.join(LEVELS)}.")
    if not isinstance(ern_prefix, str) or not _ERN_PREFIX.fullmatch(ern_prefix):
        raise InvalidInput("The ERN prefix must be 1 to 24 letters, digits or dashes, like EV or ICC-01.")
    if os.path.lexists(out):
        raise InvalidInput(f"{out} already exists. Choose another name; an export never overwrites a file.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist. Create it first.")
    if not bundle and out.suffix.lower() != ".pdf":
        raise InvalidInput("Give the dossier a file name ending in .pdf (or add --bundle for a bundle).")
    if not bundle:
        pdf_load_files.check_free(out)  # its load files (NAME.dat, .csv, .opt) go beside it


def _organisation(vault: Any) -> str:
    """The organisation named in the vault's seal certificate (the vault has no accessor for it)."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_pem_x509_certificate(vault.seal_identity.cert_pem)
        names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(names[0].value) if names else ""
    except (ValueError, IndexError):
        return ""


def _case_title(vault: Any, sel: selection_mod.Selection, guard: TextGuard) -> str:
    case = sel.case
    if case is None:
        case_ids = {item.case_id for item in sel.exhibits}
        if len(case_ids) == 1 and None not in case_ids:
            case = vault.get_case(case_ids.pop())
    if case is None:
        return f"Selected items ({len(sel.exhibits)})"
    return guard(case.title) or f"Case {case.id}"


def _actor_role(vault: Any) -> str:
    """The role the vault remembers for the person exporting (the GUI's unlock screen, `profile --role`)."""
    profile = vault.actor_profile() if hasattr(vault, "actor_profile") else None
    return (profile.role if profile is not None else "") or "Investigator"


def _declaration(vault: Any, guard: TextGuard, level: str, audience: str, produced_at: str) -> Declaration:
    statement = (
        "I declare that the exhibits in this dossier are faithful reproductions of items held in the "
        "evidence vault named on the cover, that each item's SHA-256 hash printed here is the hash of the "
        "file held in the vault, and that their chain of custody is as recorded in the custody log whose "
        "signed checkpoint is shown on the cover. "
        + ("Faces and the names of protected people have been redacted as described for each exhibit; "
           "the originals remain unchanged in the vault." if level == "redacted"
           else "The exhibits are shown as recorded.")
        + f" This dossier was prepared for {consent_gate.AUDIENCE_WORDS[audience]}."
    )
    return Declaration(investigator_name=guard(vault.actor), investigator_role=guard(_actor_role(vault)),
                       place="", date=produced_at[:10], statement=statement)


def export(
    vault: Any,
    *,
    case_id: int | None = None,
    item_ids: Sequence[int] | None = None,
    audience: str,
    level: str,
    out: Path,
    bundle: bool = False,
    ern_prefix: str = "EV",
    override_reason: str | None = None,
    leave_out_without_consent: bool = False,
    accept_near_matches: str | None = None,
    confidentiality: str | None = None,
    paper: str = "A4",
    place: str = "",
    review_required: bool = False,
    accept_automatic_redaction: str | None = None,
    seal: Any | None = None,
    timestamper: Any | None = None,
    damaged_as_native: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export a case (``case_id``) or items (``item_ids``) as a sealed dossier at ``out``
    (a .pdf), or with ``bundle`` as a sealed bundle (a folder, or a ZIP when ``out`` ends in .zip).

    Consent: exhibits whose linked survivors/witnesses did not consent to ``audience`` stop the
    export with ConsentError before anything is written, unless ``override_reason`` is given
    (court only; recorded in the chain) or ``leave_out_without_consent`` (they are left out and
    listed in ``ExportResult.excluded``).  At the redacted level text that looks like a protected
    name but was not redacted stops the export (:class:`app.export.near_matches.NearMatchesFound`)
    unless ``accept_near_matches`` names the reviewer who cleared them (recorded in the chain).
    ``confidentiality``, ``paper``, ``place``, ``review_required``, ``accept_automatic_redaction``, ``seal``
    and ``timestamper``: see :func:`app.export.dossier_court.court_options`.
    Every exhibit picture is decoded first (seconds, before any redaction work): one that cannot be read stops
    the export with :class:`app.export.unreadable.DamagedExhibits` unless ``damaged_as_native``, which gives it
    a placeholder instead of its picture and ships the file unchanged as a native named by ERN (bundles; a court
    PDF of originals attaches it) -- at the redacted level it is withheld, as it cannot be redacted.
    Raises InvalidInput, ConsentError, NeedsRedaction, DiskFull, Cancelled, IntegrityError; on any
    error no output file is left behind, and the message says which redacted copies made for the
    export were kept in the vault.
    """
    out = Path(out)
    stages = Stages(progress or no_progress)
    _check_arguments(audience, level, out, bundle, ern_prefix)
    from app.export.org_seal import chosen_seal

    seal = chosen_seal(vault, seal)  # the one given, else the organisation seal kept in the vault; valid now
    court = dossier_court.court_options(audience=audience, level=level, confidentiality=confidentiality,
                                        paper=paper, place=place, review_required=review_required,
                                        accept_automatic_redaction=accept_automatic_redaction, seal=seal,
                                        timestamper=timestamper)
    if accept_near_matches is not None:
        accept_near_matches = str(accept_near_matches).strip()
        if not accept_near_matches:
            raise InvalidInput("Give the name of the reviewer who cleared the near matches.")

    sel = selection_mod.select(vault, case_id=case_id, item_ids=item_ids)
    extra_links = consent_links(sel)  # as the wizard's consent preview does (app/export/consent_preview.py)
    excluded: list[tuple[int, str]] = []
    if leave_out_without_consent and override_reason is None:
        blocked = consent_gate.find_blocked(vault, sel.exhibits, audience, extra_links)
        gone = {b.item_id for b in blocked}
        excluded = [(b.item_id, b.reason) for b in blocked]
        sel.exhibits = [item for item in sel.exhibits if item.id not in gone]
        if not sel.exhibits:
            raise consent_gate.consent_error(blocked, audience)
    decision = consent_gate.check_consent(vault, sel.exhibits, audience, override_reason=override_reason,
                                          extra_links=extra_links)
    if cancel is not None:
        cancel.check()
    shown = derivatives_for(sel, sel.exhibits) if level == "redacted" else {}
    damaged = unreadable.find_damaged(vault, sel.exhibits, shown, progress=stages.stage("prepare"), cancel=cancel)
    if damaged and not damaged_as_native:
        raise unreadable.damaged_error(damaged, ern_prefix)

    from app.redact.names import redactor_from_persons

    # Built from every person of the vault, not only those linked to the selection: a transcript may
    # name anyone.  At the redacted level everyone is listed by pseudonym (dossier_builder.person_label),
    # protected or not, so everyone's name is redacted too: a name left in the text beside the pseudonym
    # would link the two.
    persons = vault.list_persons()
    redactor = redactor_from_persons([replace(p, protected=True) for p in persons]
                                     if level == "redacted" else persons)
    # Near matches (misspellings...) stop the export for review only for the people marked protected:
    # for the others the pseudonym is consistency, not protection, and their words would stop it often.
    near_redactor = redactor_from_persons(persons)
    key = commitment_key(vault) if level == "redacted" else None
    guard = TextGuard(redactor if level == "redacted" else None, key)
    last_item = max((item.id for item in vault.list_items()), default=0)
    try:
        return _export(vault, sel, excluded, decision, redactor, near_redactor, guard, audience=audience,
                       level=level, out=out, bundle=bundle, ern_prefix=ern_prefix,
                       accept_near_matches=accept_near_matches,
                       stages=stages, cancel=cancel, court=court, damaged=damaged)
    except EvidenceVaultError as exc:
        kept = export_steps.kept_copies(vault, sel, last_item) if level == "redacted" else []
        if kept:
            export_steps.say_what_was_kept(exc, kept)
        raise


def _export(vault: Any, sel: selection_mod.Selection, excluded: list[tuple[int, str]], decision: Any,
            redactor: Any, near_redactor: Any, guard: TextGuard, *, audience: str, level: str, out: Path,
            bundle: bool,
            ern_prefix: str, accept_near_matches: str | None, stages: Stages,
            cancel: CancelToken | None, court: dossier_court.CourtOptions,
            damaged: dict[int, str]) -> ExportResult:
    created: list[int] = []
    derivative_of: dict[int, Any] = {}
    if level == "redacted":
        # A picture that cannot be read cannot be redacted: it is withheld (damaged_as_native), never redacted.
        usable = selection_mod.Selection(case=sel.case, exhibits=[i for i in sel.exhibits if i.id not in damaged],
                                         derivatives=sel.derivatives)
        dossier_court.check_review(usable, court)
        created = ensure_face_derivatives(vault, usable, progress=stages.stage("prepare"), cancel=cancel)
        derivative_of = {k: v for k, v in derivatives_for(sel, sel.exhibits).items() if k not in damaged}

    if decision.overridden:
        vault.record_event("consent_override", details={
            "audience": audience,
            # The chain can never be redacted later: protected names are taken out of the reason now.
            "reason": redactor.redact(decision.override_reason or ""),
            "items": sorted({b.item_id for b in decision.blocked}),
            "persons": sorted({b.person_id for b in decision.blocked}),
            "withdrawn_consent": any(b.withdrawn for b in decision.blocked),
        })
    if cancel is not None:
        cancel.check()

    checkpoint_text = vault.checkpoint()
    leaves = vault.leaf_hashes()
    from app.vault.checkpoint import parse_checkpoint

    checkpoint = parse_checkpoint(checkpoint_text)
    tree_size = checkpoint.tree_size
    tree = MerkleTree(leaves)
    if tree.root(tree_size) != checkpoint.root:
        raise IntegrityError("The custody log does not match the checkpoint just made; run a vault check.")

    build = stages.stage("build")
    plans: list[ExhibitPlan] = []
    events_by_plan: list[list[Any]] = []
    for index, item in enumerate(sel.exhibits):
        plan = ExhibitPlan(number=dossier_builder.exhibit_number(index, len(sel.exhibits)), item=item,
                           derivative=derivative_of.get(item.id))
        events = list(vault.events(item.id))
        if plan.derivative is not None:
            events += vault.events(plan.derivative.id)
        events = sorted((e for e in events if e.seq < tree_size), key=lambda e: e.seq)
        plan.event_seqs = [e.seq for e in events]
        plans.append(plan)
        events_by_plan.append(events)

    produced_at = utc_now()
    manifest = dossier_builder.manifest_bytes(audience=audience, level=level, ern_prefix=ern_prefix,
                                              produced_at=produced_at, checkpoint_text=checkpoint_text,
                                              plans=plans, commitment_key=guard.commitment_key)
    manifest_sha = dossier_builder.sha256_hex(manifest)

    from app.export.keyframes import item_key_frames

    def key_frames(item_id: int, duration: float | None) -> tuple[list[bytes], list[float]]:
        # a face-redacted copy: the least covered frame of each slice, from its box record
        return item_key_frames(vault, item_id, duration, cancel=cancel)

    attach = audience == "court" and level == "original" and \
        sum(p.item.size for p in plans) <= ATTACH_ORIGINALS_MAX
    exhibits = []
    for index, (plan, events) in enumerate(zip(plans, events_by_plan, strict=True)):
        if cancel is not None:
            cancel.check()
        build(index, len(plans), f"Preparing exhibit {plan.number}")
        content = None if plan.item.id in damaged else \
            dossier_builder.build_content(vault, plan, guard, key_frames=key_frames, cancel=cancel)
        exhibit_ern = dossier_court.exhibit_erns([plan], ern_prefix)[0]
        exhibits.append(dossier_builder.build_exhibit(vault, plan, guard, events=events, tree=tree,
                                                      tree_size=tree_size, content=content,
                                                      attach_original=attach, ern=exhibit_ern))
        if plan.item.id in damaged and level == "original":
            export_steps.damaged_placeholder(exhibits[-1], plan.item, exhibit_ern, damaged[plan.item.id],
                                             bundle=bundle)
    unreadable.name_pictures(exhibits, [p.item.id for p in plans])  # a picture that cannot be read names its item
    organisation = guard(_organisation(vault)) or "(organisation not recorded)"
    dossier = Dossier(
        case_title=_case_title(vault, sel, guard), organisation=organisation, produced_at=produced_at,
        audience=cast(Audience, audience), level=cast(Level, level), ern_prefix=ern_prefix,
        manifest_sha256=manifest_sha,
        checkpoint_text=checkpoint_text, merkle_root=checkpoint.root.hex(), tree_size=tree_size,
        declaration=_declaration(vault, guard, level, audience, produced_at), exhibits=exhibits,
        public_key_pem=vault.public_key_pem().decode("ascii"),
        seal_certificate_pem=vault.seal_identity.cert_pem.decode("ascii"))
    withheld = dossier_court.complete_dossier(vault, dossier, plans, guard=guard, decision=decision,
                                              excluded=excluded, options=court, redactor=redactor, created=created)
    if level == "redacted":
        export_steps.withhold_damaged(dossier, plans, damaged, withheld)
    near: list[Any] = []
    if guard.redacting:
        from app.export.near_matches import check_near_matches

        near = check_near_matches(dossier, near_redactor, accepted_by=accept_near_matches, sources=guard.sources)

    from app.export.bundle import export_binding
    from app.export.dossier_files import bundle_inputs, check_bundle_texts, write_sealed_pdf

    with temp_files(out.parent, out.name, pending=vault) as temp, disk_errors(out):
        pdf_temp = temp("sealed")
        rendered = write_sealed_pdf(
            dossier, pdf_temp, temp, vault=vault, guard=guard, redactor=redactor,
            originals=[e.attachment for e in exhibits if e.attachment is not None],
            render_progress=stages.stage("render"), cancel=cancel, org_seal=court.seal,
            timestamper=court.timestamper)
        pdf_sha = sha256_file(pdf_temp)
        stages.stage("seal")(1, 1, "Dossier sealed")
        if cancel is not None:
            cancel.check()
        result = ExportResult(
            paths=[out], manifest_sha256=manifest_sha, pdf_sha256=pdf_sha, pages=rendered.pages,
            exhibits=[p.item.id for p in plans], excluded=excluded,
            derivatives_used={p.item.id: p.derivative.id for p in plans if p.derivative is not None},
            derivatives_created=created, damaged=list(damaged.items()), ern_first=f"{ern_prefix}-000001",
            ern_last=f"{ern_prefix}-{rendered.pages:06d}")
        details: dict[str, Any] = {
            "audience": audience,
            "level": level,
            "format": ("bundle-zip" if out.suffix.lower() == ".zip" else "bundle-folder") if bundle else "pdf",
            "case_id": sel.case.id if sel.case is not None else None,
            "items": result.exhibits,
            "derivatives": sorted(result.derivatives_used.values()),
            "excluded_items": [i for i, _ in excluded],
            "consent_override": decision.overridden,
            "pages": result.pages,
            "ern_first": result.ern_first,
            "ern_last": result.ern_last,
            "checkpoint_tree_size": tree_size,
            "checkpoint_root": checkpoint.root.hex(),
            "dossier_manifest_sha256": manifest_sha,
            "pdf_sha256": pdf_sha,
            "bundle_manifest_sha256": None,
            "withheld_from_bundle": [],
            "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            **dossier_court.exported_details(dossier, court, rendered, withheld),
            "damaged_items": sorted(damaged),
        }
        if guard.redacting:
            details["near_matches"] = len(near)
            details["near_matches_cleared_by"] = redactor.redact(accept_near_matches) \
                if near and accept_near_matches else None
            # What the reviewer cleared, place by place (person number, reason, place: never the text found).
            details["near_match_report"] = [{"person_id": m.person_id, "reason": m.reason, "place": m.place}
                                            for m in near]
        if not bundle:
            loads = pdf_load_files.prepare(dossier, rendered, out, pdf_sha, temp,
                                           redactor=guard.redactor if guard.redacting else None)
            details["load_files"] = pdf_load_files.event_details(loads)
            with pdf_load_files.published(loads, _publish, _remove_output):
                _publish(pdf_temp, out)
                event = _record_exported(vault, out, details)
            result.paths += [f.out for f in loads]
        else:
            files, withheld_files = bundle_inputs(vault, plans, guard, level=level, pdf_path=pdf_temp,
                                                  manifest=manifest, dossier=dossier, rendered=rendered)
            if damaged and level == "redacted":
                export_steps.damaged_bundle_placeholders(files, withheld_files, dossier, plans, damaged)
            result.withheld_files = withheld_files
            details["withheld_from_bundle"] = [i for i, _ in withheld_files]
            hidden = {p.item.id for p in plans} if guard.redacting else set()
            view = export_steps.event_view(guard, hidden)
            bundle_events = sorted({e.seq: e for events in events_by_plan for e in events}.values(),
                                   key=lambda e: e.seq)
            # The bundle's files and events are known before it is written, so the chain can bind them
            # (which files, with which hashes; which events): the exported event comes first and the
            # bundle's own checkpoint covers it.  A verifier then catches a file replaced or an event left
            # out, even by an insider who re-signs the bundle with the vault's key.
            details.update(export_binding(files, bundle_events))
            if guard.redacting and guard.redactor is not None:
                check_bundle_texts(files, bundle_events, view, guard.redactor)
            event = None
            try:
                with vault.exclusive():  # no other thread's event between the export's and its checkpoint
                    event = vault.record_event("exported", details=details)
                    # Should the program stop before the bundle is whole, the next opening says so in the log.
                    vault.output_event(out.parent, out.name, event.seq)
                    export_steps.check_shown_whole(event, view)
                    bundle_checkpoint = vault.checkpoint()
                written = export_steps.write_bundle(vault, out, files, [*bundle_events, event], bundle_checkpoint,
                                        audience=audience, level=level, view=view,
                                        progress=stages.stage("bundle"), cancel=cancel,
                                        seal_cert_pem=court.seal.cert_pem if court.seal is not None else None)
            except BaseException as exc:
                if event is not None:
                    export_steps.record_failed(vault, event.seq, exc)
                raise
            result.bundle_manifest_sha256 = written.manifest_sha256
    result.event_seq = event.seq
    stages.done()
    return result


def _record_exported(vault: Any, out: Path, details: dict[str, Any]) -> Any:
    try:
        return vault.record_event("exported", details=details)
    except BaseException:
        # The output exists but the chain does not say so: remove it rather than let an
        # unrecorded copy leave the vault.
        _remove_output(out)
        raise


__all__ = ["Cancelled", "ExportResult", "export"]
