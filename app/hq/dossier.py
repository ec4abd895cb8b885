"""``hq export --out FILE.pdf``: the field app's PDF dossier, made from headquarters' archive.

The same model (app.export.dossier_model) and the field exporter's own last step
(app.export.dossier_files.write_sealed_pdf: render, PDF/A-3 with the seal certificate and the proofs
attached, PAdES seal), so a court reads, and ``evidence-vault verify-pdf`` checks, an HQ dossier exactly
like one made on a laptop.  What differs:

- One field vault per dossier: its exhibits, custody and proofs hang on that vault's checkpoint.  The
  checkpoint printed is the last one that reached headquarters *with its log* (a package), signed by the
  field key and cosigned by headquarters (C2SP cosignature line); the proofs are RFC 9162 inclusion
  proofs computed from the field log headquarters stores, and are checked before anything is written.
- Original level: protected persons are shown by their pseudonym, never by name, in persons and custody
  details.  Redacted level (app.hq.redacted): pictures only through the redacted copies made in the field
  (refused, nothing written, when one is missing), text through the field's name redactor and leak check.
- Consent is checked as on the laptop: every person linked to an exhibit needs a consent for the
  audience that is not withdrawn, or the export is refused before anything is written.
- The seal is headquarters' own (an RSA seal identity created on first use and kept encrypted in the
  database, ``hq_meta``), and the export is an ``exported`` event in headquarters' log.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from app.errors import DiskFull, IntegrityError, InvalidInput
from app.export import pdf_load_files
from app.export.publish import publish_new, remove_output
from app.hq import blobstore, hq_log, query, redacted
from app.hq.headquarters import Headquarters
from app.hq.storage_crypto import open_record, seal_record
from app.progress import CancelToken, ProgressCallback
from app.vault import keys, merkle
from app.vault.canonical import canonical_json
from app.vault.checkpoint import verify_checkpoint
from app.vault.events import Event, utc_now, verify_chain

AUDIENCES = ("court", "un", "ngo", "media")
LEVELS = ("original", "redacted")
_SEAL_META = "seal_identity"


@dataclass(frozen=True)
class DossierSummary:
    path: Path
    exhibits: int
    origin: str
    tree_size: int
    pdf_sha256: str
    load_files: list[Path]


def _seal_identity(hq: Headquarters) -> keys.SealIdentity:
    """Headquarters' seal (RSA key + self-signed certificate), made on first use, kept sealed in hq_meta."""
    row = hq.conn.execute("SELECT value FROM hq_meta WHERE key = %s", (_SEAL_META,)).fetchone()
    if row is None:
        made = keys.new_seal_identity(hq.name[:64], organisation="Headquarters")
        sealed = seal_record(hq.keys, "hq_meta", _SEAL_META,
                             {"key_pem": made.key_pem.decode("ascii"), "cert_pem": made.cert_pem.decode("ascii")})
        with hq.conn.transaction():
            hq.conn.execute("INSERT INTO hq_meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                            (_SEAL_META, sealed.hex()))
        row = hq.conn.execute("SELECT value FROM hq_meta WHERE key = %s", (_SEAL_META,)).fetchone()
        assert row is not None
    stored = open_record(hq.keys, "hq_meta", _SEAL_META, bytes.fromhex(str(row[0])))
    return keys.SealIdentity(key_pem=str(stored["key_pem"]).encode("ascii"),
                             cert_pem=str(stored["cert_pem"]).encode("ascii"))


_RECORD_SQL = {
    "persons": "SELECT field_person_id, record FROM persons WHERE field_vault_id = %s",
    "consents": "SELECT field_consent_id, record FROM consents WHERE field_vault_id = %s",
}


def _records(hq: Headquarters, table: str, vault_id: int) -> dict[int, dict[str, Any]]:
    rows = hq.conn.execute(_RECORD_SQL[table], (vault_id,))
    return {int(r[0]): open_record(hq.keys, table, f"{vault_id}:{r[0]}", bytes(r[1])) for r in rows}


def _label(person: dict[str, Any]) -> str:
    if person.get("protected"):
        return str(person.get("pseudonym") or f"Protected person {person.get('id')}")
    return str(person.get("name") or "")


def _hide_names(text: str, persons: dict[int, dict[str, Any]]) -> str:
    for person in persons.values():
        if person.get("protected"):
            for name in [person.get("name"), *(person.get("aliases") or [])]:
                if name:
                    text = text.replace(str(name), _label(person))
    return text


def _check_consent(persons: dict[int, dict[str, Any]], consents: dict[int, dict[str, Any]],
                   linked: dict[int, list[int]], audience: str) -> None:
    missing = []
    for hq_item, person_ids in linked.items():
        for person_id in person_ids:
            ok = any(c.get("person_id") == person_id and audience in (c.get("scopes") or [])
                     and not c.get("withdrawn_at") for c in consents.values())
            if not ok:
                missing.append(f"{_label(persons.get(person_id, {'id': person_id, 'protected': True}))} "
                               f"(archive item {hq_item})")
    if missing:
        raise InvalidInput(
            f"No consent for the audience '{audience}' is recorded for: {', '.join(sorted(set(missing)))}. "
            "Nothing was exported. Leave those items out, or record the consent in the field vault and send a "
            "new transfer.",
        )


def _field_log(hq: Headquarters, vault_id: int) -> tuple[list[Event], str, str]:
    """The stored field log, the last checkpoint that came with it (cosigned) and the field key PEM."""
    events = [Event.from_canonical(bytes(r[0])) for r in hq.conn.execute(
        "SELECT canonical FROM field_events WHERE field_vault_id = %s ORDER BY seq", (vault_id,))]
    row = hq.conn.execute(
        "SELECT w.cosigned, v.public_pem FROM witnessed_checkpoints w JOIN field_vaults v ON v.id = w.field_vault_id "
        "WHERE w.field_vault_id = %s AND w.package_id IS NOT NULL ORDER BY w.tree_size DESC, w.id DESC LIMIT 1",
        (vault_id,),
    ).fetchone()
    if row is None:
        raise InvalidInput("No package of that field vault was imported, so there is nothing to make a dossier of.")
    verify_chain(events)
    return events, str(row[0]), bytes(row[1]).decode("ascii")


def _opener(hq: Headquarters, sha256: str) -> Callable[[], BinaryIO]:
    return lambda: io.BufferedReader(blobstore.OriginalReader(hq.conn, hq.keys, sha256))


def _summary(event: Event, persons: dict[int, dict[str, Any]]) -> str:
    parts = [f"{k}: {v}" for k, v in sorted(event.details.items()) if isinstance(v, str | int | float | bool)]
    return _hide_names("; ".join(parts)[:300], persons)


def export_dossier(hq: Headquarters, item_ids: list[int] | None, out: Path, *, audience: str, actor: str,
                   level: str = "original", progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None) -> DossierSummary:
    from app.export.dossier_builder import TextGuard, custody_rows, person_label
    from app.export.dossier_files import write_sealed_pdf
    from app.export.dossier_model import (
        ContactSheet,
        CustodyRow,
        Declaration,
        Dossier,
        Exhibit,
        ImageContent,
        ProofRow,
        RedactionRow,
        TranscriptContent,
    )

    out = Path(out)
    if audience not in AUDIENCES:
        raise InvalidInput(f"The audience must be one of {', '.join(AUDIENCES)}.")
    if level not in LEVELS:
        raise InvalidInput(f"The level must be one of {', '.join(LEVELS)}.")
    redacting = level == "redacted"
    if os.path.lexists(out):
        raise InvalidInput(f"{out} already exists. Choose another name, or move the old dossier away first.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    pdf_load_files.check_free(out)  # its load files (NAME.dat, .csv, .opt) go beside it
    every = {i.id: i for i in query.list_items(hq)}
    unknown = [i for i in item_ids or [] if i not in every]
    if unknown:
        raise InvalidInput(f"There is no item {unknown[0]} in headquarters' archive. See 'hq list'; nothing was "
                           "exported.")
    chosen = list(every.values()) if item_ids is None else [every[i] for i in item_ids]
    origins = sorted({i.origin for i in chosen})
    if len(origins) != 1:
        raise InvalidInput("A dossier holds the items of one field vault (its proofs lead to that vault's "
                           f"checkpoint); these come from {len(origins)}. Export one vault at a time "
                           "('hq list --origin ORIGIN').")
    row = hq.conn.execute("SELECT id FROM field_vaults WHERE origin = %s", (origins[0],)).fetchone()
    assert row is not None
    vault_id = int(row[0])
    persons = _records(hq, "persons", vault_id)
    consents = _records(hq, "consents", vault_id)
    copies: dict[int, Any] = {}
    if redacting:
        plan = redacted.plan_redacted(hq, origins[0], chosen)
        chosen, copies, records = plan.exhibits, plan.copies, plan.records
        linked = {i.id: [*(records[i.id].get("person_ids") or []),
                         *((records[copies[i.id].id].get("person_ids") or []) if i.id in copies else [])]
                  for i in chosen}
    else:
        records = {item.id: query.item_record(hq, item.id)[1] for item in chosen}
        linked = {i: list(r.get("person_ids") or []) for i, r in records.items()}
    redactor = redacted.redactor_for(persons) if redacting else None
    guard = TextGuard(redactor)

    def text(value: str) -> str:
        return guard(value) if redacting else _hide_names(value, persons)

    _check_consent(persons, consents, {i: [int(p) for p in ids] for i, ids in linked.items()}, audience)
    events, checkpoint_text, field_pem = _field_log(hq, vault_id)
    checkpoint = verify_checkpoint(checkpoint_text, keys.load_public_key_pem(field_pem.encode("ascii")))
    tree = merkle.MerkleTree([e.leaf_hash() for e in events])
    if tree.size < checkpoint.tree_size or tree.root(checkpoint.tree_size) != checkpoint.root:
        raise IntegrityError("The stored field log no longer matches its witnessed checkpoint; run 'hq verify'. "
                             "Nothing was exported.")
    exhibits = []
    marks: list[RedactionRow] = []
    for number, item in enumerate(chosen, 1):
        record = records[item.id]
        fields = record["item"]
        copy = copies.get(item.id)
        shown = {item.field_item_id} | ({copy.field_item_id} if copy is not None else set())
        own = [e for e in events[:checkpoint.tree_size] if e.item_id in shown]
        proofs = []
        for event in own:
            siblings = tree.inclusion_proof(event.seq, checkpoint.tree_size)
            merkle.verify_inclusion(leaf_hash=event.leaf_hash(), index=event.seq, tree_size=checkpoint.tree_size,
                                    proof=siblings, root=checkpoint.root)
            proofs.append(ProofRow(event.seq, event.leaf_hash().hex(), [p.hex() for p in siblings]))
        raw = record.get("transcript") or []
        spoken = guard.segments([str(s["text"]) for s in raw]) if redacting else [
            _hide_names(str(s["text"]), persons) for s in raw]
        segments = [(float(s["start"]), float(s["end"]), text(str(s.get("speaker") or "")),
                     str(s.get("language") or ""), said) for s, said in zip(raw, spoken, strict=True)]
        content: ImageContent | ContactSheet | TranscriptContent | None = None
        if item.kind == "photo" and not redacting:
            content = ImageContent(_opener(hq, item.sha256), caption=f"Original, SHA-256 {item.sha256[:16]}…")
        elif copy is not None and copy.kind == "photo":
            content = ImageContent(_opener(hq, copy.sha256), caption="Redacted copy made in the field vault: faces "
                                   "covered, no metadata.")
        elif segments:
            content = TranscriptContent(segments)
        number_text = f"HQ-{number:03d}"
        people = [int(p) for p in linked[item.id] if int(p) in persons] if redacting else [
            int(p) for p in record.get("person_ids") or [] if int(p) in persons]
        if copy is not None:
            derivation = records[copy.id]["item"].get("derivation") or {}
            marks.append(RedactionRow(number_text, "faces of protected people and bystanders", "PW-ID, TP-PRIV",
                                      str(derivation.get("method") or "covered"),
                                      "the field team (redacted copy made in the field vault)",
                                      str(records[copy.id]["item"].get("ingested_at") or "")))
        exhibits.append(Exhibit(
            number=number_text, title=text(item.title), kind=item.kind,
            description=text(str(fields.get("description") or "")),
            captured_at=str(fields.get("captured_at") or ""), source=text(str(fields.get("source") or "")),
            sha256_original=None if redacting else item.sha256,
            original_commitment=redacted.commitment(hq, item) if redacting else None,
            sha256_derivative=copy.sha256 if copy is not None else None,
            media_facts=redacted.media_facts(item, copy) if redacting else {
                "Size": f"{item.size:,} bytes", "Field vault": item.origin,
                "Item in the field vault": str(item.field_item_id), "Archive item": str(item.id)},
            persons=[person_label(redacted.person(persons[p]), guard) for p in dict.fromkeys(people)] if redacting
            else [_label(persons[p]) for p in people],
            custody=custody_rows(own, guard, item.field_item_id) if redacting else [
                CustodyRow(e.time, e.actor, e.action, _summary(e, persons), e.chain_hash()) for e in own],
            proofs=proofs, content=content,
        ))
    produced_at = utc_now()
    manifest = canonical_json({"origin": origins[0], "tree_size": checkpoint.tree_size,
                               "root": checkpoint.root.hex(), "audience": audience, "level": level,
                               "exhibits": [{"archive_item": i.id, "sha256": None if redacting else i.sha256,
                                             "original_commitment": redacted.commitment(hq, i) if redacting else None,
                                             "redacted_sha256": copies[i.id].sha256 if i.id in copies else None}
                                            for i in chosen]})
    seal = _seal_identity(hq)
    dossier = Dossier(
        case_title=f"Archive of field vault {origins[0]}", organisation=hq.name, produced_at=produced_at,
        audience=audience,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        ern_prefix="HQ", manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        checkpoint_text=checkpoint_text, merkle_root=checkpoint.root.hex(), tree_size=checkpoint.tree_size,
        declaration=Declaration(actor, "Headquarters archivist", hq.name, produced_at[:10],
                                "I declare that the exhibits are shown through the redacted copies made in the field "
                                "vault named above, received with their originals and kept unaltered in "
                                "headquarters' archive." if redacting else
                                "I declare that the exhibits are true copies of the originals received from the "
                                "field vault named above and kept unaltered in headquarters' archive.",
                                organisation=hq.name),
        exhibits=exhibits, public_key_pem=field_pem, seal_certificate_pem=seal.cert_pem.decode("ascii"),
        redactions=marks if redacting else None,
        redaction_marks=sorted({f"[{redactor.replacement_for(p.person_id)}]" for p in redactor.protected})
        if redactor is not None else [],
    )
    stem = out.parent / f".{out.name}.{secrets.token_hex(6)}"
    temp = Path(f"{stem}.sealed.partial")
    made: list[Path] = []

    def scratch(part: str) -> Path:
        made.append(Path(f"{stem}.{part}.partial"))
        return made[-1]

    try:
        # The field exporter's own last step: render, PDF/A-3 with the seal certificate and the proofs
        # attached (what 'evidence-vault verify-pdf' reads), then the PAdES seal.
        with hq.conn.transaction():  # originals are read a chunk at a time, inside one snapshot
            # At the redacted level it also refuses to write when a protected name is left in the text.
            rendered = write_sealed_pdf(dossier, temp, scratch, vault=None, guard=guard,
                                        redactor=cast(Any, redactor), originals=[], render_progress=progress,
                                        cancel=cancel, org_seal=seal)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        digest = hashlib.sha256(temp.read_bytes()).hexdigest()
        # The same DAT/CSV/OPT load files as a field export of a lone PDF, checked for protected names too.
        loads = pdf_load_files.prepare(dossier, rendered, out, digest, scratch,
                                       redactor=redactor if redacting else None)
        with hq.conn.transaction():
            hq_log.append(hq.conn, actor=actor, action="exported", details={
                "items": [i.id for i in chosen], "originals": sorted({i.sha256 for i in chosen}), "out": out.name,
                "dossier_sha256": digest, "audience": audience, "level": level, "field_origin": origins[0],
                "field_tree_size": checkpoint.tree_size, "load_files": pdf_load_files.event_details(loads),
            })
            hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
        with pdf_load_files.published(loads, publish_new, remove_output):
            publish_new(temp, out)
    except OSError as exc:
        if exc.errno == 28:
            raise DiskFull(debug_detail=str(exc)) from exc
        raise InvalidInput(f"The dossier could not be written to {out.parent}: {exc.strerror}.") from exc
    finally:
        for path in (temp, *made):
            path.unlink(missing_ok=True)
    return DossierSummary(out, len(exhibits), origins[0], checkpoint.tree_size, digest,
                          [load.out for load in loads])
