"""The export part of a bundle check (docs/FORMAT.md, "Bundles", verification steps 13-16): the bundle's
own ``exported`` event binds what the bundle holds to the custody log.

The manifest's signature is made with the vault's key, so an insider holding that key can replace any
file and re-sign.  What they cannot change is an event the checkpoint already covers, and the recipient
can hold that checkpoint (or its successor) from elsewhere.  So the exporter records, in the ``exported``
event, the hashes of the files it made (dossier, dossier manifest, transcripts, load files,
placeholders), which vault items it shipped and which other events it included, and only then makes the
bundle's checkpoint.  Here each of those records is compared with what the bundle actually holds.

Problems go into the shared Verifier; nothing is raised.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding

from app.errors import IntegrityError
from app.export import bundle as layout
from app.export.bundle_verifier import HEX64, Verifier
from app.export.commitments import ShownEvent
from app.vault.canonical import parse_canonical
from app.vault.checkpoint import Checkpoint, verify_checkpoint
from app.vault.events import Event
from app.vault.proofs_file import same_checkpoint

_NOT_BOUND = ("so the files made at export (the dossier, its manifest, transcripts, load files and "
              "placeholders) and the list of included events are not bound to the custody log: they could "
              "have been replaced or left out without a trace. Bundles made by earlier versions of Evidence "
              "Vault lack this record; ask the sender for a new export")


def check_export(v: Verifier, manifest: dict[str, Any], entries: list[dict[str, Any]], events: list[ShownEvent],
                 checkpoint: Checkpoint | None, key: Ed25519PublicKey | None,
                 proven: dict[tuple[int, str], list[bytes]]) -> None:
    """Steps 13-16.  ``entries``: the manifest's file entries; ``events``: the lines of
    custody/events.jsonl that parsed; ``proven``: the consistency proofs that verified."""
    if checkpoint is None or key is None:
        return  # the custody log itself could not be checked; that is reported already
    details = _exported_details(v, checkpoint)
    if details is None:
        return
    _check_labels(v, manifest, details)
    _check_made_files(v, entries, details)
    _check_items(v, entries, details)
    _check_seal_certificate(v, details)
    dossier = _dossier_manifest(v, entries, details)
    _check_complete(v, events, checkpoint.tree_size - 1, details, dossier)
    if dossier is not None:
        _check_dossier_checkpoint(v, dossier, details, checkpoint, key, proven)


def _exported_details(v: Verifier, checkpoint: Checkpoint) -> dict[str, Any] | None:
    """Step 13: the last line must be this bundle's own ``exported`` event, shown whole, with every record
    the later steps compare; its details, or None (problem noted)."""
    data = v.parsed.get(layout.EVENTS)
    if data is None:
        return None  # missing, changed or unreadable: reported already
    lines = data.split(b"\n")
    last = lines[-2] if data.endswith(b"\n") and len(lines) > 1 else lines[-1]
    seq = checkpoint.tree_size - 1
    try:
        event: Event | None = Event.from_canonical(last)
    except (IntegrityError, RecursionError):
        event = None
    if event is None and b'"action":"exported"' in last and b'"withheld":' in last:
        v.problem(layout.EVENTS, "shows the bundle's own exported event with withheld values, so what it "
                  "records about the bundle cannot be checked against the signed log")
        return None
    if event is None or event.action != layout.EXPORTED_ACTION or event.seq != seq:
        v.problem(layout.EVENTS, f"does not end with this bundle's own exported event (event {seq}, the last "
                  f"one its checkpoint covers), {_NOT_BOUND}")
        return None
    missing = [name for name, ok in _record_checks(event.details).items() if not ok]
    if missing:
        v.problem(layout.EVENTS, f"the bundle's exported event (event {seq}) does not record "
                  f"{', '.join(missing)} in the expected form, {_NOT_BOUND}")
        return None
    return event.details


def _record_checks(details: dict[str, Any]) -> dict[str, bool]:
    def hex64(value: Any) -> bool:
        return isinstance(value, str) and HEX64.fullmatch(value) is not None

    def count(value: Any) -> bool:
        return type(value) is int and value >= 0

    files, items, seqs, seal = (details.get(k) for k in ("bundle_files", "bundle_items", "bundle_event_seqs",
                                                         "seal"))
    return {
        "bundle_files": isinstance(files, list) and all(
            isinstance(f, list) and len(f) == 2 and isinstance(f[0], str) and hex64(f[1]) for f in files),
        "bundle_items": isinstance(items, list) and all(count(i) for i in items),
        "bundle_event_seqs": isinstance(seqs, list) and all(count(s) for s in seqs),
        "pdf_sha256": hex64(details.get("pdf_sha256")),
        "dossier_manifest_sha256": hex64(details.get("dossier_manifest_sha256")),
        "audience": isinstance(details.get("audience"), str),
        "level": isinstance(details.get("level"), str),
        "checkpoint_tree_size": count(details.get("checkpoint_tree_size")),
        "checkpoint_root": hex64(details.get("checkpoint_root")),
        "seal": isinstance(seal, dict) and hex64(seal.get("certificate_sha256")),
    }


def _check_labels(v: Verifier, manifest: dict[str, Any], details: dict[str, Any]) -> None:
    # The level decides whether withheld lines are allowed: it must be the one the export recorded.
    for name in ("audience", "level"):
        if manifest[name] != details[name]:
            v.problem(layout.MANIFEST, f"gives the {name} as {manifest[name]!r}, but the export recorded "
                      f"{details[name]!r} in the custody log")


def _check_made_files(v: Verifier, entries: list[dict[str, Any]], details: dict[str, Any]) -> None:
    """Step 14: the files without a vault item (other than the bundle's own files, made after the event)
    are exactly those the exported event lists, with the same SHA-256."""
    shipped = {e["path"]: e["sha256"] for e in entries
               if e["item_id"] is None and e["path"] not in layout.GENERATED_ROLES}
    recorded: dict[str, str] = {}
    for path, sha in details["bundle_files"]:
        if path in recorded:
            v.problem(layout.EVENTS, f"the bundle's exported event lists {path} twice")
        recorded[path] = sha
    for path, sha in shipped.items():
        if path not in recorded:
            v.problem(path, "was not made by this export: the export's record in the custody log does not "
                      "list it, so it was added afterwards")
        elif recorded[path] != sha:
            v.problem(path, "is not the file this export made: its SHA-256 differs from the one the export "
                      "recorded in the custody log, so it was replaced afterwards")
    for path in recorded:
        if path not in shipped:
            v.problem(path, "is missing: the export's record in the custody log lists it as part of this "
                      "bundle, so it was removed")
    dossiers = [e for e in entries if e["role"] == layout.DOSSIER_ROLE]
    if len(dossiers) != 1:
        v.problem(layout.MANIFEST, f"lists {len(dossiers)} files as the dossier; a bundle has exactly one")
    elif dossiers[0]["sha256"] != details["pdf_sha256"]:
        v.problem(dossiers[0]["path"], "is not the dossier this export sealed: its SHA-256 differs from the "
                  "one recorded in the custody log")


def _check_items(v: Verifier, entries: list[dict[str, Any]], details: dict[str, Any]) -> None:
    """The vault items shipped are exactly those the export recorded (their bytes are tied to the chain by
    their item_ingested events, step 10)."""
    shipped = Counter(e["item_id"] for e in entries if e["item_id"] is not None)
    recorded = Counter(details["bundle_items"])
    for entry in entries:
        if entry["item_id"] is not None and shipped[entry["item_id"]] > recorded[entry["item_id"]]:
            v.problem(entry["path"], f"is the file of vault item {entry['item_id']}, which the export's record "
                      "in the custody log does not list as part of this bundle, so it was added afterwards")
    for item_id in sorted(recorded - shipped):
        v.problem(layout.MANIFEST, f"does not list the file of vault item {item_id}, which the export's record "
                  "in the custody log lists as part of this bundle, so it was removed")


def _check_seal_certificate(v: Verifier, details: dict[str, Any]) -> None:
    pem = v.parsed.get(layout.SEAL_CERT)
    if pem is None:
        return
    try:
        der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    except (ValueError, TypeError):
        return  # reported by step 11
    if hashlib.sha256(der).hexdigest() != details["seal"]["certificate_sha256"]:
        v.problem(layout.SEAL_CERT, "is not the certificate the dossier was sealed with: its fingerprint "
                  "differs from the one the export recorded in the custody log")


def _dossier_manifest(v: Verifier, entries: list[dict[str, Any]], details: dict[str, Any]) -> dict[str, Any] | None:
    """dossier-manifest.json, bound by the exported event's dossier_manifest_sha256; None if unusable."""
    where = layout.DOSSIER_MANIFEST
    entry = next((e for e in entries if e["path"] == where), None)
    if entry is None:
        v.problem(layout.MANIFEST, f"does not list {where}, so the dossier's checkpoint cannot be checked")
        return None
    if entry["sha256"] != details["dossier_manifest_sha256"]:
        v.problem(where, "is not the dossier manifest this export made: its SHA-256 differs from the one "
                  "recorded in the custody log (and printed on the dossier's cover)")
        return None
    data = v.parsed.get(where)
    if data is None:
        return None  # changed, missing or too large: reported already
    try:
        doc = parse_canonical(data)
    except (IntegrityError, RecursionError):
        doc = None
    exhibits = doc.get("exhibits") if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and doc.get("format") == layout.DOSSIER_MANIFEST_FORMAT
            and isinstance(doc.get("checkpoint"), str) and isinstance(exhibits, list)
            and all(isinstance(x, dict) and isinstance(x.get("custody_event_seqs"), list)
                    and all(type(s) is int for s in x["custody_event_seqs"]) for x in exhibits)):
        v.problem(where, "is not a valid dossier manifest")
        return None
    return doc


def _check_complete(v: Verifier, events: list[ShownEvent], exported_seq: int, details: dict[str, Any],
                    dossier: dict[str, Any] | None) -> None:
    """Step 15: the bundle holds exactly the events the export recorded (and so every event the dossier
    lists for its exhibits)."""
    shown = {e.seq for e in events} - {exported_seq}
    recorded = set(details["bundle_event_seqs"])
    missing, added = sorted(recorded - shown), sorted(shown - recorded)
    if missing:
        v.problem(layout.EVENTS, f"{_events_phrase(missing)} missing: the export's record in the custody log "
                  "lists them as part of this bundle, so they were removed")
    if added:
        v.problem(layout.EVENTS, f"{_events_phrase(added)} not among those the export's record in the custody "
                  "log lists for this bundle, so they were added")
    if dossier is None:
        return
    listed = {s for x in dossier["exhibits"] for s in x["custody_event_seqs"]}
    absent = sorted(listed - shown - set(missing))  # those already reported are not repeated
    if absent:
        v.problem(layout.EVENTS, f"{_events_phrase(absent)} missing: {layout.DOSSIER_MANIFEST} lists them in "
                  "the exhibits' custody, but the bundle does not include them")


def _events_phrase(seqs: list[int]) -> str:
    shown = ", ".join(str(s) for s in seqs[:20]) + (f" and {len(seqs) - 20} more" if len(seqs) > 20 else "")
    return f"event {shown} is" if len(seqs) == 1 else f"events {shown} are"


def _check_dossier_checkpoint(v: Verifier, dossier: dict[str, Any], details: dict[str, Any],
                              checkpoint: Checkpoint, key: Ed25519PublicKey,
                              proven: dict[tuple[int, str], list[bytes]]) -> None:
    """Step 16: the checkpoint the dossier prints is signed by the bundle's key, is the one the export
    recorded, and the bundle's log provably extends it (so the dossier's proofs refer to this log)."""
    where = layout.DOSSIER_MANIFEST
    try:
        printed = verify_checkpoint(dossier["checkpoint"], key)
    except IntegrityError:
        v.problem(where, "its checkpoint (the one printed on the dossier) is not signed by this bundle's vault "
                  "key: the dossier comes from another vault, or the bundle was re-signed with another key")
        return
    if (printed.tree_size, printed.root.hex()) != (details["checkpoint_tree_size"], details["checkpoint_root"]):
        v.problem(where, f"its checkpoint of {printed.tree_size} events is not the one the export recorded in "
                  "the custody log")
    elif not same_checkpoint(printed, checkpoint) and (printed.tree_size, printed.root.hex()) not in proven:
        v.problem(where, f"its checkpoint of {printed.tree_size} events has no verified consistency proof in "
                  f"{layout.CONSISTENCY}, so the dossier cannot be shown to come from this bundle's log")
