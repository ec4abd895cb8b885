"""Verifying an opened transfer package as an auditor would, without the field vault.

Checks, in order: the checkpoint's signature with the package's field key; every event's hash link
and the Merkle root of the whole log against the checkpoint; the consistency proof from every earlier
checkpoint; the ``transferred`` event naming this package; each item's ingest record; and the SHA-256
of every original, decrypting it in full.  Each failure is one plain sentence in the returned list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.errors import Cancelled, EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.transfer.actions import TRANSFERRED, is_action
from app.transfer.manifest import event_from_record
from app.vault.checkpoint import Checkpoint, verify_checkpoint
from app.vault.events import GENESIS_PREV_HASH, Event
from app.vault.keys import load_public_key_pem
from app.vault.merkle import MerkleTree, proof_from_hex, verify_consistency

if TYPE_CHECKING:
    from app.transfer.package import TransferPackage

_READ = 1 << 20


def _events(records: list[dict[str, object]], problems: list[str]) -> list[Event] | None:
    events: list[Event] = []
    previous = GENESIS_PREV_HASH
    for index, record in enumerate(records):
        try:
            event = event_from_record(dict(record))
        except EvidenceVaultError as exc:
            problems.append(exc.user_message())
            return None
        if event.seq != index:
            problems.append(f"Custody event {index} in this package is numbered {event.seq}: events are missing "
                            "or out of order.")
            return None
        if event.prev_hash != previous:
            problems.append(f"The custody chain in this package is broken at event {index}: an event before it "
                            "was changed, removed or inserted.")
            return None
        previous = event.chain_hash()
        events.append(event)
    return events


def _check_log(package: TransferPackage, checkpoint: Checkpoint, problems: list[str]) -> list[Event]:
    manifest = package.manifest
    events = _events(manifest.events, problems)
    if events is None:
        return []
    if len(events) != checkpoint.tree_size:
        problems.append(f"The package carries {len(events)} custody events, but its checkpoint covers "
                        f"{checkpoint.tree_size}: the log is incomplete.")
        return events
    tree = MerkleTree([e.leaf_hash() for e in events])
    if tree.root(len(events)) != checkpoint.root:
        problems.append("The Merkle root of the custody events in this package differs from its signed checkpoint: "
                        "the log was altered.")
        return events
    if not events or events[0].action != "vault_created" or events[0].details.get("public_key_pem") != (
            manifest.field_public_pem.decode("ascii", "replace")):
        problems.append("The custody log in this package does not start with the creation of the field vault "
                        "that signed it.")
    _check_consistency(package, tree, checkpoint, problems)
    return events


def _check_consistency(package: TransferPackage, tree: MerkleTree, checkpoint: Checkpoint,
                       problems: list[str]) -> None:
    public = load_public_key_pem(package.manifest.field_public_pem)
    proven: set[tuple[int, bytes]] = set()
    for number, entry in enumerate(package.manifest.consistency, 1):
        try:
            earlier = verify_checkpoint(str(entry.get("checkpoint", "")), public)
            verify_consistency(old_size=earlier.tree_size, new_size=checkpoint.tree_size, old_root=earlier.root,
                               new_root=checkpoint.root, proof=proof_from_hex(entry.get("consistency_proof")))
        except EvidenceVaultError as exc:
            problems.append(f"Consistency proof {number} in this package does not verify: the field log is not an "
                            f"extension of an earlier checkpoint ({exc.user_message()})")
            continue
        proven.add((earlier.tree_size, earlier.root))
    for number, text in enumerate(package.manifest.checkpoints, 1):
        try:
            earlier = verify_checkpoint(text, public)
        except EvidenceVaultError as exc:
            problems.append(f"Earlier checkpoint {number} in this package is not valid ({exc.user_message()})")
            continue
        if (earlier.tree_size, earlier.root) not in proven:
            problems.append(f"Earlier checkpoint {number} in this package ({earlier.tree_size} events) has no "
                            "consistency proof to the package's checkpoint.")


def _check_records(package: TransferPackage, events: list[Event], problems: list[str]) -> None:
    manifest = package.manifest
    hashes = set(manifest.item_hashes())
    transfers = [e for e in events if is_action(e, TRANSFERRED) and e.details.get("package_id") == manifest.package_id]
    if not transfers:
        problems.append("The custody log in this package does not record this transfer (no 'transferred' event "
                        "names the package).")
    elif (transfers[-1].details.get("recipient_key_id") != manifest.recipient_key_id
          or set(transfers[-1].details.get("sha256s") or ()) != hashes):
        problems.append("The 'transferred' event in this package names other originals or another headquarters "
                        "than the package holds.")
    ingested = {(e.item_id, e.item_sha256) for e in events if e.action == "item_ingested"}
    for item in manifest.items:
        item_id, sha = item.get("id"), item.get("sha256")
        if (item_id, sha) not in ingested:
            problems.append(f"Item {item_id!r} in this package has no ingest record with its SHA-256 in the custody "
                            "log.")
        if sha not in hashes:
            problems.append(f"The original of item {item_id!r} is missing from this package.")
        if item.get("case_id") != manifest.case.get("id"):
            problems.append(f"Item {item_id!r} in this package belongs to another case than the package's.")
    item_hashes = {item.get("sha256") for item in manifest.items}
    for entry in manifest.originals:
        if entry["sha256"] not in item_hashes:
            problems.append("This package holds an original that belongs to none of its items.")


def _check_originals(package: TransferPackage, progress: ProgressCallback, cancel: CancelToken,
                     problems: list[str]) -> None:
    total = sum(int(o["size"]) for o in package.manifest.originals)
    done = 0
    for entry in package.manifest.originals:
        try:
            with package.open_original(str(entry["sha256"])) as stream:
                while chunk := stream.read(_READ):
                    cancel.check()
                    done += len(chunk)
                    progress(done, total, "Checking the originals")
        except Cancelled:
            raise
        except EvidenceVaultError as exc:
            problems.append(f"Item {entry.get('item_id')!r}: {exc.user_message()}")


def verify_package(package: TransferPackage, *, progress: ProgressCallback, cancel: CancelToken) -> list[str]:
    problems: list[str] = []
    manifest = package.manifest
    try:
        checkpoint = verify_checkpoint(manifest.checkpoint, load_public_key_pem(manifest.field_public_pem))
    except EvidenceVaultError as exc:
        problems.append(f"The checkpoint in this package is not valid: {exc.user_message()}")
        checkpoint = None
    if checkpoint is not None and checkpoint.origin != manifest.field_origin:
        problems.append("The checkpoint in this package was made by another vault than the one that signed it.")
    events = _check_log(package, checkpoint, problems) if checkpoint is not None else []
    _check_records(package, events, problems)
    _check_originals(package, progress, cancel, problems)
    return problems
