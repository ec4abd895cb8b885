"""Redacted-level dossiers from headquarters' archive (``hq export --level redacted``).

Headquarters runs no redaction pipeline: a redacted dossier shows the redacted copies the field vault
made and sent with the originals (items whose derivation records a face redaction of exactly that
original, app.redact.derive), never a picture HQ redacted itself.  An exhibit whose picture would show
faces (a photo or a video) and that has no field-made redacted copy in the archive is refused before
anything is written, with the list of such items.

Text goes through the field exporter's own guard (app.export.dossier_builder.TextGuard with the
field's name redactor, app.redact.names, built from the protected persons headquarters received):
names become ``[pseudonym]``, persons appear by pseudonym, custody details lose the values that would
undo a redaction.  The field exporter's last step (app.export.dossier_files.write_sealed_pdf) then
checks the rendered text and metadata for any protected name left and refuses to write if one is.
The originals' hashes are not printed (they confirm a candidate file): a keyed commitment under a key
of headquarters' is, and the redacted copies' hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from app.errors import InvalidInput
from app.hq import query
from app.hq.headquarters import Headquarters
from app.hq.query import ArchiveItem
from app.redact.names import NameRedactor, redactor_from_persons

_PICTURES = ("photo", "video")


@dataclass(frozen=True)
class RedactedPlan:
    """The exhibits (originals) of a redacted dossier and the field-made redacted copy of each."""
    exhibits: list[ArchiveItem]
    copies: dict[int, ArchiveItem]  # archive id of an exhibit -> its redacted copy (pictures only)
    records: dict[int, dict[str, Any]]  # archive id -> decrypted item record, exhibits and copies


def redactor_for(persons: dict[int, dict[str, Any]]) -> NameRedactor:
    """The name redactor over every person headquarters holds for one field vault, protected or not:
    a redacted dossier lists everyone by pseudonym, so a name left in the text would link the two."""
    return redactor_from_persons([SimpleNamespace(**{"aliases": (), "pseudonym": None, **p, "protected": True})
                                  for p in persons.values()])


def person(record: dict[str, Any]) -> Any:
    """A person record as the field exporter's helpers read it (attributes, not keys)."""
    return SimpleNamespace(**{"aliases": (), "pseudonym": None, "role": "person", **record})


def _fields(record: dict[str, Any]) -> SimpleNamespace:
    item = record["item"]
    return SimpleNamespace(kind=item.get("kind"), mime=item.get("mime"), derivation=item.get("derivation"),
                           derived_from=item.get("derived_from"))


def is_redacted_copy(record: dict[str, Any]) -> bool:
    derivation = record["item"].get("derivation") or {}
    return record["item"].get("derived_from") is not None and bool(derivation.get("redaction"))


def plan_redacted(hq: Headquarters, origin: str, chosen: Sequence[ArchiveItem]) -> RedactedPlan:
    """Map the chosen archive items onto originals shown through their field-made redacted copies.
    A chosen redacted copy stands for its original.  Raises InvalidInput (nothing written) when a picture
    has no redacted copy."""
    from app.export.selection import is_face_redaction, media_class

    pairs = query.list_item_records(hq, origin=origin)
    vault_items = [item for item, _ in pairs]
    records = {item.id: record for item, record in pairs}
    by_field_id = {i.field_item_id: i for i in vault_items}
    exhibits: dict[int, ArchiveItem] = {}
    for item in chosen:
        record = records[item.id]
        source = by_field_id.get(int(record["item"]["derived_from"])) if is_redacted_copy(record) else item
        if source is None:
            raise InvalidInput(f"Archive item {item.id} is a redacted copy whose original never reached headquarters; "
                               "nothing was exported. Ask the field team to transfer the original too.")
        exhibits.setdefault(source.id, source)
    copies: dict[int, ArchiveItem] = {}
    missing: list[str] = []
    for item in exhibits.values():
        fields = _fields(records[item.id])
        if media_class(fields) not in _PICTURES:
            continue
        candidates = [
            other for other in vault_items
            if records[other.id]["item"].get("derived_from") == item.field_item_id
            and is_face_redaction(_fields(records[other.id]))
            and (records[other.id]["item"].get("derivation") or {}).get("original_sha256", item.sha256) == item.sha256
        ]
        if candidates:
            copies[item.id] = max(candidates, key=lambda c: c.field_item_id)  # the newest, as the field does
        else:
            missing.append(f"{item.id} ({media_class(fields)}, item {item.field_item_id} in the field vault)")
    if missing:
        raise InvalidInput(
            "A redacted dossier shows pictures only through the redacted copies made in the field, and these "
            f"archive items have none: {', '.join(missing)}. Nothing was exported. Ask the field team to redact "
            "them ('evidence-vault redact ITEM --faces') and send a new transfer, or leave them out (--items).",
        )
    return RedactedPlan(exhibits=sorted(exhibits.values(), key=lambda i: i.id), copies=copies, records=records)


def commitment(hq: Headquarters, item: ArchiveItem) -> str:
    """The keyed commitment printed instead of an original's SHA-256 (app.export.commitments' form), under a
    key derived from headquarters' identity: headquarters, which holds the original, can show it matches;
    a reader of the dossier cannot use it to confirm a candidate file."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from app.export.commitments import original_commitment
    from app.hq.headquarters import storage_secret

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"evidence-vault:hq-export-commitment:v1",
               info=b"commitment").derive(storage_secret(hq.identity))
    return original_commitment(key, SimpleNamespace(id=item.field_item_id, sha256=item.sha256))


def media_facts(item: ArchiveItem, copy: ArchiveItem | None) -> dict[str, str]:
    """What the redacted level may say about a file: not the original's size or name (they confirm it)."""
    facts = {"Field vault": item.origin, "Item in the field vault": str(item.field_item_id),
             "Archive item": str(item.id)}
    if copy is not None:
        facts["Redacted copy"] = f"archive item {copy.id}, made in the field vault ({copy.size:,} bytes)"
        facts["File"] = "the original is held in headquarters' archive"
    return facts
