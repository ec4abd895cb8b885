"""Keyed commitments: what a redacted export shows in place of values that would undo a redaction.

The custody chain keeps everything that was done (the voice-disguise factor and its ffmpeg filter,
the noise seed of a mosaic, the hash of the unredacted original), because a court holding the vault
must be able to check it.  Shipped to a partner, the same values undo the redaction (shift the pitch
back) or link the redacted copy to a candidate original.  So a redacted export shows, for each such
value, a commitment::

    commitment_key = HMAC-SHA256(record key, "evidence-vault:export-commitment:v1")
    commitment     = "hmac-sha256:" + hex(HMAC-SHA256(commitment_key, RFC 8785 JSON of
                     {"field": FIELD, "item_id": ITEM_OR_NULL, "seq": SEQ_OR_NULL, "value": VALUE}))

The record key (app.vault.record_digest) never leaves the encrypted vault file; whoever holds the vault
and its passphrase recomputes the commitment from the value in the chain.  ``field`` is the value's path
in the event (``details.derivation.audio.pitch_factor``, ``item_sha256``) or ``sha256`` for an exhibit's
original; ``seq`` the event's sequence number (None for an exhibit's original).  Binding the place
into the commitment means two equal values never show equal commitments.  docs/FORMAT.md
("Withheld values in redacted exports") is the specification.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.vault.canonical import canonical_json

PREFIX = "hmac-sha256:"
KEY_LABEL = b"evidence-vault:export-commitment:v1"
# Detail keys whose value inverts or links a redaction, wherever they sit in an event's details.
SECRET_KEYS = frozenset({"seed", "noise_seed", "pitch_factor", "filter", "original_sha256"})


def commitment_key(vault: Any) -> bytes:
    """The export commitment key of ``vault``, derived from its record key."""
    return bytes(vault.derived_key(KEY_LABEL))  # = derive_key(the vault's record key)


def derive_key(record_key: bytes) -> bytes:
    return hmac.new(record_key, KEY_LABEL, hashlib.sha256).digest()


def commit(key: bytes, *, field: str, value: Any, seq: int | None = None, item_id: int | None = None) -> str:
    message = canonical_json({"field": field, "item_id": item_id, "seq": seq, "value": value})
    return PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def is_secret_key(name: str) -> bool:
    return name in SECRET_KEYS or name.endswith("_seed")


NamesIn = Callable[[str], bool]


def withhold(value: Any, key: bytes, *, seq: int | None, item_id: int | None, path: str,
             withheld: list[str], names_in: NamesIn | None = None) -> Any:
    """``value`` (an event's details, recursively) with every secret value replaced by its commitment,
    and every string in which ``names_in`` finds a protected person's name; the path of each replaced
    value is appended to ``withheld``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, inner in value.items():
            inner_path = f"{path}.{name}"
            if is_secret_key(str(name)) and inner is not None:
                out[name] = commit(key, field=inner_path, value=inner, seq=seq, item_id=item_id)
                withheld.append(inner_path)
            else:
                out[name] = withhold(inner, key, seq=seq, item_id=item_id, path=inner_path, withheld=withheld,
                                     names_in=names_in)
        return out
    if isinstance(value, list):
        return [withhold(v, key, seq=seq, item_id=item_id, path=f"{path}[{i}]", withheld=withheld,
                         names_in=names_in)
                for i, v in enumerate(value)]
    if isinstance(value, str) and names_in is not None and names_in(value):
        withheld.append(path)
        return commit(key, field=path, value=value, seq=seq, item_id=item_id)
    return value


def public_view(event: Any, key: bytes, *, hidden_items: Iterable[int],
                names_in: NamesIn | None = None) -> dict[str, Any] | None:
    """The form of ``event`` a redacted export may show, or None when it can be shown as it is.

    Secret detail values become commitments; so does ``item_sha256`` when the event concerns an item
    in ``hidden_items`` (an unredacted original), and the ``actor`` and every string of the details in
    which ``names_in`` finds a protected person's name (a consent withdrawal's reason, a comment):
    an event is signed as recorded, so it cannot be pseudonymised, only withheld.  The result is the
    event's fields (with ``"v"``) plus ``"withheld"``: the paths replaced and the event's real leaf and
    chain hashes, so the inclusion proof and the chain can still be checked."""
    withheld: list[str] = []
    details = withhold(dict(event.details or {}), key, seq=event.seq, item_id=event.item_id, path="details",
                       withheld=withheld, names_in=names_in)
    actor = event.actor
    if names_in is not None and isinstance(actor, str) and names_in(actor):
        actor = commit(key, field="actor", value=actor, seq=event.seq, item_id=event.item_id)
        withheld.insert(0, "actor")
    item_sha256 = event.item_sha256
    hidden = event.item_id is not None and event.item_id in set(hidden_items)
    if hidden and isinstance(details.get("size"), int):
        # The exact byte size of an original confirms a candidate file almost as well as its hash.
        details["size"] = commit(key, field="details.size", value=details["size"], seq=event.seq,
                                 item_id=event.item_id)
        withheld.insert(0, "details.size")
    if item_sha256 is not None and hidden:
        item_sha256 = commit(key, field="item_sha256", value=item_sha256, seq=event.seq, item_id=event.item_id)
        withheld.insert(0, "item_sha256")
    if not withheld:
        return None
    return {
        "v": 1, "seq": event.seq, "time": event.time, "actor": actor, "action": event.action,
        "item_id": event.item_id, "item_sha256": item_sha256, "details": details, "prev_hash": event.prev_hash,
        "withheld": {"fields": withheld, "leaf_hash": event.leaf_hash().hex(), "chain_hash": event.chain_hash()},
    }


def original_commitment(key: bytes, item: Any) -> str:
    """The commitment printed instead of an unredacted original's SHA-256."""
    return commit(key, field="sha256", value=item.sha256, item_id=item.id)


_HEX64 = re.compile(r"[0-9a-f]{64}")
_COMMITMENT = re.compile(r"hmac-sha256:[0-9a-f]{64}")
_SHOWN_FIELDS = frozenset({"v", "seq", "time", "actor", "action", "item_id", "item_sha256", "details", "prev_hash",
                           "withheld"})


@dataclass(frozen=True)
class ShownEvent:
    """A custody event as a bundle shows it: whole, or with withheld values (then ``leaf`` and ``chain``
    come from the line's ``withheld`` member instead of being computed)."""

    seq: int
    action: str
    item_id: int | None
    item_sha256: str | None  # a commitment when "item_sha256" is withheld
    prev_hash: str
    leaf: bytes
    chain: str
    withheld: tuple[str, ...] = ()


def shown_event(line: bytes) -> ShownEvent:
    """Parse one line of custody/events.jsonl.  Raises IntegrityError when it is neither a canonical
    event nor a canonical withheld form (every listed field holding a commitment)."""
    from app.errors import IntegrityError
    from app.vault import merkle
    from app.vault.canonical import parse_canonical
    from app.vault.events import Event

    doc = parse_canonical(line) if b'"withheld":' in line else None
    if not isinstance(doc, dict) or "withheld" not in doc:
        event = Event.from_canonical(line)
        return ShownEvent(event.seq, event.action, event.item_id, event.item_sha256, event.prev_hash,
                          merkle.leaf_hash(line), event.chain_hash())
    if set(doc) != _SHOWN_FIELDS or doc.get("v") != 1 or canonical_json(doc) != line:
        raise IntegrityError("not a withheld custody event")
    withheld = doc["withheld"]
    if not isinstance(withheld, dict) or set(withheld) != {"fields", "leaf_hash", "chain_hash"}:
        raise IntegrityError("bad withheld member")
    fields = withheld["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields) or \
            len(set(fields)) != len(fields):
        raise IntegrityError("bad withheld field list")
    for name in ("leaf_hash", "chain_hash", "prev_hash"):
        source = withheld if name != "prev_hash" else doc
        if not isinstance(source[name], str) or not _HEX64.fullmatch(source[name]):
            raise IntegrityError(f"bad {name}")
    seq, item_id, sha = doc["seq"], doc["item_id"], doc["item_sha256"]
    if type(seq) is not int or seq < 0 or not (item_id is None or type(item_id) is int) or \
            not isinstance(doc["action"], str) or not isinstance(doc["details"], dict):
        raise IntegrityError("bad event fields")
    for path in fields:
        if not _COMMITMENT.fullmatch(str(_at(doc, path))):
            raise IntegrityError(f"withheld field {path} holds no commitment")
    if sha is not None and "item_sha256" not in fields and not (isinstance(sha, str) and _HEX64.fullmatch(sha)):
        raise IntegrityError("bad item_sha256")
    return ShownEvent(seq, doc["action"], item_id, sha, doc["prev_hash"], bytes.fromhex(withheld["leaf_hash"]),
                      withheld["chain_hash"], tuple(fields))


def _at(doc: Any, path: str) -> Any:
    """The value at ``path`` ("details.derivation.audio.pitch_factor", "details.boxes[2]"), or None."""
    value = doc
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
        for index in re.findall(r"(\d+)\]", "[" + rest if rest else ""):
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
    return value
