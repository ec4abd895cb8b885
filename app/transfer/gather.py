"""Collecting what a transfer package carries from a vault: the items and every record about them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput, NotFound
from app.transfer.actions import RECEIPT_IMPORTED, is_action
from app.transfer.manifest import plain
from app.vault.checkpoint import verify_checkpoint
from app.vault.keys import load_public_key_pem
from app.vault.merkle import MerkleTree
from app.vault.models import Item
from app.vault.vault import Vault


@dataclass(frozen=True)
class Records:
    case: dict[str, Any]
    items: list[Item]
    persons: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    derivations: list[dict[str, Any]]
    links: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    transcripts: list[dict[str, Any]]

    def unique_originals(self) -> list[Item]:
        """One item per distinct SHA-256, in item order: identical bytes travel once."""
        seen: set[str] = set()
        result = []
        for item in self.items:
            if item.sha256 not in seen:
                seen.add(item.sha256)
                result.append(item)
        return result


def select_items(vault: Vault, case_id: int, item_ids: Sequence[int] | None) -> list[Item]:
    try:
        vault.get_case(case_id)
    except NotFound:
        raise NotFound(f"There is no case number {case_id} in this vault. Nothing was transferred.") from None
    if item_ids is None:
        items = vault.list_items(case_id)
    else:
        items = []
        for item_id in dict.fromkeys(item_ids):
            try:
                item = vault.get_item(item_id)
            except NotFound:
                raise NotFound(f"There is no item number {item_id} in this vault. Nothing was "
                               "transferred.") from None
            if item.case_id != case_id:
                raise InvalidInput(f"Item {item_id} does not belong to case {case_id}. Choose items of that case; "
                                   "nothing was transferred.")
            items.append(item)
    if not items:
        raise InvalidInput(f"Case {case_id} has no items to transfer. Add evidence first.")
    return sorted(items, key=lambda i: i.id)


def gather(vault: Vault, case_id: int, item_ids: Sequence[int] | None) -> Records:
    items = select_items(vault, case_id, item_ids)
    persons: dict[int, Any] = {}
    links = []
    notes: list[dict[str, Any]] = []
    transcripts = []
    for item in items:
        for person in vault.persons_for_item(item.id):
            persons[person.id] = person
            links.append({"item_id": item.id, "person_id": person.id})
        notes += [plain(note) for note in vault.notes(item.id)]
        segments = vault.transcript(item.id)
        if segments:
            transcripts.append({"item_id": item.id, "segments": plain(segments)})
    consents = [plain(c) for pid in sorted(persons) for c in vault.consents(pid)]
    derivations = [{"item_id": i.id, "derived_from": i.derived_from, "derivation": plain(i.derivation)}
                   for i in items if i.derived_from is not None]
    return Records(case=plain(vault.get_case(case_id)), items=items,
                   persons=[plain(persons[pid]) for pid in sorted(persons)], consents=consents,
                   derivations=derivations, links=links, notes=notes, transcripts=transcripts)


def received_checkpoints(vault: Vault) -> list[str]:
    """Checkpoints of this vault that came back cosigned in imported receipts (their custody events)."""
    return [str(e.details["cosigned_checkpoint"]) for e in vault.events()
            if is_action(e, RECEIPT_IMPORTED) and isinstance(e.details.get("cosigned_checkpoint"), str)]


def consistency_entries(vault: Vault, checkpoint_text: str, leaf_hashes: Sequence[bytes]) -> tuple[
        list[str], list[dict[str, Any]]]:
    """(earlier checkpoints, a consistency proof from each to ``checkpoint_text``), as bundles carry them."""
    from app.export.bundle import consistency_document

    public = load_public_key_pem(vault.public_key_pem())
    new = verify_checkpoint(checkpoint_text, public)
    own = checkpoint_text.strip()
    # Cosigned copies first: of two copies of one checkpoint the proofs keep the first, with its cosignatures.
    earlier = received_checkpoints(vault) + [t for t in vault.checkpoints() if t.strip() != own]
    document = json.loads(consistency_document(earlier, MerkleTree(list(leaf_hashes[:new.tree_size])), new,
                                               vault.signing_key))
    kept = [t.replace("\r\n", "\n").strip() + "\n" for t in earlier]
    return kept, list(document["proofs"])
