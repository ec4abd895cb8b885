"""The manifest of a transfer package: what the package holds and the custody that proves it.

It is canonical JSON (RFC 8785) at the end of the encrypted payload, signed by the field vault's
Ed25519 key together with the container header (docs/FORMAT.md, "Transfer packages" / "Manifest").  This module
reads and writes it and gathers its records from a vault; app.transfer.package does the rest.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from app.errors import EvidenceVaultError, IntegrityError
from app.transfer.errors import TransferError
from app.vault.canonical import JsonTooDeep, canonical_json, parse_json_strict
from app.vault.events import Event

FORMAT_NAME = "evidence-vault-transfer"
FORMAT_VERSION = 1
SIGNATURE_CONTEXT = b"evidence-vault transfer manifest v1\n"
TRAILER_MAGIC = b"EV-XFEND"
TRAILER_SIZE = 16  # u64 big-endian manifest length || TRAILER_MAGIC
SIGNATURE_SIZE = 64
# The manifest is read (and parsed) before its signature can be checked, since the key that signed it is
# inside it: anyone holding hq-public.pem can make headquarters read one.  Parsing costs several times
# its size in memory, so it is bounded.  64 MiB holds about 100,000 custody events (some 650 bytes each)
# plus a case's records, far beyond a field laptop's log; write_transfer refuses, before recording
# anything, a package whose manifest would be larger (docs/FORMAT.md, "Payload").
MAX_MANIFEST = 64 << 20

# (name, type) of every manifest field; the order is the documentation's, not the bytes' (RFC 8785 sorts).
_FIELDS: tuple[tuple[str, type], ...] = (
    ("package_id", str), ("created_at", str), ("recipient_key_id", str), ("recipient_name", str),
    ("field_origin", str), ("field_key_id", str), ("field_public_pem", str), ("checkpoint", str),
    ("checkpoints", list), ("consistency", list), ("events", list), ("case", dict), ("items", list),
    ("persons", list), ("consents", list), ("derivations", list), ("links", list), ("notes", list),
    ("transcripts", list), ("originals", list),
)


@dataclass(frozen=True)
class TransferManifest:
    package_id: str
    created_at: str
    recipient_key_id: str
    field_origin: str
    field_key_id: str
    field_public_pem: bytes
    checkpoint: str
    checkpoints: list[str]
    consistency: list[dict[str, Any]]
    events: list[dict[str, Any]]
    case: dict[str, Any]
    items: list[dict[str, Any]]
    persons: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    derivations: list[dict[str, Any]]
    originals: list[dict[str, Any]]
    recipient_name: str = ""
    links: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    transcripts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> bytes:
        record: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}
        for name, _ in _FIELDS:
            value = getattr(self, name)
            record[name] = value.decode("ascii") if isinstance(value, bytes) else value
        return canonical_json(record)

    @classmethod
    def from_json(cls, data: bytes) -> TransferManifest:
        try:
            record = parse_json_strict(data)
        except IntegrityError as exc:
            raise _bad("it is nested far too deeply" if isinstance(exc.__cause__, JsonTooDeep)
                       else "it is not valid JSON") from exc
        if not isinstance(record, dict):
            raise _bad("it is not a JSON object")
        if record.get("format") != FORMAT_NAME:
            raise _bad("its format is not " + FORMAT_NAME)
        if record.get("format_version") != FORMAT_VERSION:
            raise TransferError(f"This transfer package has manifest version {record.get('format_version')!r}, "
                                "which this program does not read. Update Evidence Vault and try again.")
        values: dict[str, Any] = {}
        for name, kind in _FIELDS:
            value = record.get(name)
            if not isinstance(value, kind):
                raise _bad(f"the field {name!r} is missing or of the wrong type")
            values[name] = value
        for name in ("checkpoints",):
            if not all(isinstance(v, str) for v in values[name]):
                raise _bad(f"the field {name!r} must list texts")
        for name, kind in _FIELDS:
            if kind is list and name != "checkpoints" and not all(isinstance(v, dict) for v in values[name]):
                raise _bad(f"the field {name!r} must list objects")
        values["field_public_pem"] = values["field_public_pem"].encode("ascii", "replace")
        return cls(**values)

    def item_hashes(self) -> list[str]:
        return [str(o["sha256"]) for o in self.originals]


def _bad(what: str) -> TransferError:
    return TransferError(f"The manifest of this transfer package is malformed ({what}). Ask the sender for a new "
                         "copy.")


def signed_message(header: bytes, manifest: bytes) -> bytes:
    return SIGNATURE_CONTEXT + header + manifest


def event_record(event: Event) -> dict[str, Any]:
    """An event as ``evidence-vault log --json`` prints it: the canonical object plus ``chain_hash``."""
    record: dict[str, Any] = json.loads(event.canonical_bytes())
    record["chain_hash"] = event.chain_hash()
    return record


def event_from_record(record: dict[str, Any]) -> Event:
    """The Event of a manifest record; raises TransferError when it is not a valid event."""
    body = {k: v for k, v in record.items() if k != "chain_hash"}
    try:
        event = Event.from_canonical(canonical_json(body))
    except EvidenceVaultError as exc:
        raise TransferError(f"Custody event {record.get('seq')!r} in this package is not a valid event.",
                            debug_detail=exc.debug_detail or exc.message) from exc
    if record.get("chain_hash") != event.chain_hash():
        raise TransferError(f"Custody event {event.seq} in this package does not match its recorded chain hash: "
                            "the log was altered.")
    return event


def plain(value: Any) -> Any:
    """A vault record (dataclass) as canonical-JSON values: tuples and sets become (sorted) lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value

