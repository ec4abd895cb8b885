"""Receipts: headquarters' signed statement that it stored a package, carried back to the field.

A receipt file is canonical JSON (docs/FORMAT.md, "Transfer packages" / "Receipts")::

    {"receipt": {"format": "evidence-vault-receipt", "format_version": 1, "package_id": ..., "field_origin": ...,
                 "hq_name": ..., "hq_key_id": ..., "cosigned_checkpoint": ..., "item_hashes": [...],
                 "received_at": ...},
     "signature": base64(Ed25519 over "evidence-vault receipt v1\\n" || canonical JSON of "receipt")}

The cosigned checkpoint is the field checkpoint of the package with headquarters' cosignature/v1 line
(app.transfer.witness): imported into the field vault, it proves that a second party holds that log head.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature

from app.errors import EvidenceVaultError, IntegrityError
from app.transfer import actions
from app.transfer.errors import ForkError, TransferError
from app.transfer.identity import HqIdentity, HqPublicIdentity
from app.transfer.witness import find_cosignature
from app.vault.canonical import JsonTooDeep, canonical_json, parse_json_strict
from app.vault.checkpoint import parse_checkpoint, verify_checkpoint
from app.vault.keys import load_public_key_pem
from app.vault.merkle import MerkleTree
from app.vault.vault import Vault

FORMAT_NAME = "evidence-vault-receipt"
FORMAT_VERSION = 1
SIGNATURE_CONTEXT = b"evidence-vault receipt v1\n"
MAX_RECEIPT_BYTES = 16 << 20
_HEX64 = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Receipt:
    package_id: str
    field_origin: str
    hq_name: str
    hq_key_id: str
    cosigned_checkpoint: str
    item_hashes: list[str]
    received_at: str
    cosigned_at: int  # the cosignature's timestamp (seconds since 1970)
    sha256: str  # of the receipt file's bytes


def _body(*, identity: HqPublicIdentity, package_id: str, field_origin: str, cosigned_checkpoint: str,
          item_hashes: Sequence[str], received_at: str) -> dict[str, Any]:
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "package_id": package_id,
            "field_origin": field_origin, "hq_name": identity.name, "hq_key_id": identity.key_id(),
            "cosigned_checkpoint": cosigned_checkpoint, "item_hashes": sorted(set(item_hashes)),
            "received_at": received_at}


def make_receipt(identity: HqIdentity, *, package_id: str, field_origin: str, cosigned_checkpoint: str,
                 item_hashes: Sequence[str], received_at: str) -> bytes:
    body = canonical_json(_body(identity=identity.public(), package_id=package_id, field_origin=field_origin,
                                cosigned_checkpoint=cosigned_checkpoint, item_hashes=item_hashes,
                                received_at=received_at))
    signature = identity.signing_key.sign(SIGNATURE_CONTEXT + body)
    return canonical_json({"receipt": parse_json_strict(body),
                           "signature": base64.b64encode(signature).decode("ascii")}) + b"\n"


def _bad(what: str) -> TransferError:
    return TransferError(f"This is not a valid receipt ({what}). Ask headquarters to send it again.")


def read_receipt(data: bytes, hq: HqPublicIdentity) -> Receipt:
    """Parse and check a receipt: signed by ``hq``, carrying ``hq``'s cosignature of the checkpoint."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_RECEIPT_BYTES:
        raise _bad("the file is far too large")
    try:
        record = parse_json_strict(bytes(data))
    except IntegrityError as exc:
        too_deep = isinstance(exc.__cause__, JsonTooDeep)
        raise _bad("it is nested far too deeply" if too_deep else "it is not JSON") from None
    if not isinstance(record, dict) or set(record) != {"receipt", "signature"} or not isinstance(
            record["receipt"], dict) or not isinstance(record["signature"], str):
        raise _bad("it lacks the receipt or its signature")
    body = record["receipt"]
    if body.get("format") != FORMAT_NAME or body.get("format_version") != FORMAT_VERSION:
        raise _bad("unknown format or version")
    try:
        signature = base64.b64decode(record["signature"].encode("ascii"), validate=True)
        hq.signing_key.verify(signature, SIGNATURE_CONTEXT + canonical_json(body))
    except (binascii.Error, UnicodeEncodeError, ValueError, InvalidSignature):
        raise TransferError(f"This receipt is not signed by the headquarters key {hq.key_id()} ({hq.name}): it "
                            "was forged, altered, or comes from another headquarters. Nothing was recorded.") from None
    fields = ("package_id", "field_origin", "hq_name", "hq_key_id", "cosigned_checkpoint", "received_at")
    if not all(isinstance(body.get(f), str) for f in fields) or not isinstance(body.get("item_hashes"), list):
        raise _bad("a field is missing")
    hashes = body["item_hashes"]
    if not all(isinstance(h, str) and len(h) == 64 and set(h) <= _HEX64 for h in hashes):
        raise _bad("an item hash is not a SHA-256 hash")
    if body["hq_key_id"] != hq.key_id() or body["hq_name"] != hq.name:
        raise _bad("it names another headquarters key than the one that signed it")
    try:
        checkpoint = parse_checkpoint(body["cosigned_checkpoint"])
    except EvidenceVaultError as exc:
        raise _bad(f"its checkpoint is malformed: {exc.user_message()}") from exc
    if checkpoint.origin != body["field_origin"]:
        raise _bad("its checkpoint belongs to another vault than it names")
    cosigned_at = find_cosignature(body["cosigned_checkpoint"], hq.signing_key, hq.name)
    return Receipt(package_id=body["package_id"], field_origin=body["field_origin"], hq_name=body["hq_name"],
                   hq_key_id=body["hq_key_id"], cosigned_checkpoint=body["cosigned_checkpoint"],
                   item_hashes=list(hashes), received_at=body["received_at"], cosigned_at=cosigned_at,
                   sha256=hashlib.sha256(bytes(data)).hexdigest())


def import_receipt(vault: Vault, data: bytes, hq: HqPublicIdentity) -> Receipt:
    """Check a receipt against this vault and record ``receipt_imported``; raises TransferError (nothing
    recorded) for a receipt of another vault or package, a forged one, or one imported before."""
    receipt = read_receipt(data, hq)
    if receipt.field_origin != vault.origin:
        raise TransferError(f"This receipt is for another field vault ({receipt.field_origin}); this vault is "
                            f"{vault.origin}. Import it into the vault that made the transfer. Nothing was recorded.")
    try:
        checkpoint = verify_checkpoint(receipt.cosigned_checkpoint, load_public_key_pem(vault.public_key_pem()))
    except EvidenceVaultError as exc:
        raise TransferError("The checkpoint in this receipt was not signed by this vault. Nothing was "
                            "recorded.", debug_detail=exc.message) from exc
    events = vault.events()
    leaves = vault.leaf_hashes()
    if checkpoint.tree_size > len(leaves) or MerkleTree(leaves).root(checkpoint.tree_size) != checkpoint.root:
        raise ForkError("A fork was detected: the checkpoint headquarters cosigned does not match this vault's "
                        "custody log, so one of the two logs was rewritten. Nothing was recorded; contact your "
                        "security lead.")
    sent = [e for e in events if actions.is_action(e, actions.TRANSFERRED)
            and e.details.get("package_id") == receipt.package_id]
    if not sent:
        raise TransferError("This vault made no transfer with the package number in this receipt. Check that it is "
                            "the receipt for this vault. Nothing was recorded.")
    if sent[-1].details.get("recipient_key_id") != hq.key_id():
        raise TransferError("That package was sent to another headquarters key than the one that signed this "
                            "receipt. Nothing was recorded.")
    for event in events:
        if actions.is_action(event, actions.RECEIPT_IMPORTED) and event.details.get("package_id") == receipt.package_id:
            raise TransferError(f"The receipt for this package was already imported on {event.time[:19]}Z. Nothing "
                                "was recorded.")
    if sorted(set(sent[-1].details.get("sha256s") or ())) != sorted(receipt.item_hashes):
        raise TransferError("This receipt does not list exactly the originals sent in that package, so the "
                            "transfer is not confirmed. Ask headquarters to check the import. Nothing was recorded.")
    vault.record_event(actions.RECEIPT_IMPORTED, details={
        "package_id": receipt.package_id, "hq_name": receipt.hq_name, "hq_key_id": receipt.hq_key_id,
        "received_at": receipt.received_at, "cosigned_at": receipt.cosigned_at,
        "cosigned_checkpoint": receipt.cosigned_checkpoint, "tree_size": checkpoint.tree_size,
        "items": len(receipt.item_hashes), "receipt_sha256": receipt.sha256})
    return receipt
