"""``hq list`` and ``hq search``: what the archive holds, per item, per field vault, per package.

Search is a case-insensitive substring match (ILIKE) over NFC-normalised text, served by a pg_trgm
GIN index for queries of three characters or more; shorter queries still work, by a scan.  Substring
matching is what Khmer, Thai, Burmese and Chinese need (no spaces between words).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.hq.headquarters import Headquarters
from app.hq.storage_crypto import open_record


@dataclass(frozen=True)
class ArchiveItem:
    id: int
    origin: str
    field_item_id: int
    kind: str
    title: str
    size: int
    sha256: str
    package_id: str
    imported_at: str


@dataclass(frozen=True)
class FieldVaultRow:
    origin: str
    key_id: str
    items: int
    packages: int
    last_tree_size: int | None
    checkpoints_witnessed: int
    forks: int


@dataclass(frozen=True)
class SearchHit:
    item: ArchiveItem
    snippet: str


_ITEM_SQL = (
    "SELECT i.id, v.origin, i.field_item_id, i.kind, i.size, i.sha256, i.package_id, i.imported_at, "
    "i.field_vault_id, i.record, i.search_text FROM items i JOIN field_vaults v ON v.id = i.field_vault_id"
)


def _record(hq: Headquarters, row: tuple[Any, ...]) -> dict[str, Any]:
    record: dict[str, Any] = open_record(hq.keys, "items", f"{row[8]}:{row[2]}", bytes(row[9]))
    return record


def _item(hq: Headquarters, row: tuple[Any, ...], record: dict[str, Any] | None = None) -> ArchiveItem:
    record = _record(hq, row) if record is None else record
    return ArchiveItem(id=int(row[0]), origin=str(row[1]), field_item_id=int(row[2]), kind=str(row[3]),
                       title=str(record["item"].get("title") or ""), size=int(row[4]), sha256=str(row[5]),
                       package_id=str(row[6]), imported_at=str(row[7]))


def _item_rows(hq: Headquarters, origin: str | None) -> list[tuple[Any, ...]]:
    if origin is None:
        return hq.conn.execute(_ITEM_SQL + " ORDER BY i.id").fetchall()
    return hq.conn.execute(_ITEM_SQL + " WHERE v.origin = %s ORDER BY i.id", (origin,)).fetchall()


def list_items(hq: Headquarters, *, origin: str | None = None) -> list[ArchiveItem]:
    return [_item(hq, row) for row in _item_rows(hq, origin)]


def list_item_records(hq: Headquarters, *, origin: str | None = None) -> list[tuple[ArchiveItem, dict[str, Any]]]:
    """Like list_items, with each item's decrypted record: one query, one decryption per item."""
    pairs = []
    for row in _item_rows(hq, origin):
        record = _record(hq, row)
        pairs.append((_item(hq, row, record), record))
    return pairs


def item_record(hq: Headquarters, item_id: int) -> tuple[ArchiveItem, dict[str, Any]]:
    row = hq.conn.execute(_ITEM_SQL + " WHERE i.id = %s", (item_id,)).fetchone()
    if row is None:
        raise InvalidInput(f"There is no item {item_id} in headquarters' archive. See 'hq list' for the numbers.")
    record = _record(hq, row)
    return _item(hq, row, record), record


def list_vaults(hq: Headquarters) -> list[FieldVaultRow]:
    rows = hq.conn.execute(
        "SELECT v.origin, v.key_id, v.last_tree_size, "
        "(SELECT count(*) FROM items i WHERE i.field_vault_id = v.id), "
        "(SELECT count(*) FROM packages p WHERE p.field_vault_id = v.id), "
        "(SELECT count(*) FROM witnessed_checkpoints w WHERE w.field_vault_id = v.id), "
        "(SELECT count(*) FROM forks f WHERE f.origin = v.origin) "
        "FROM field_vaults v ORDER BY v.id"
    ).fetchall()
    return [FieldVaultRow(origin=r[0], key_id=r[1], last_tree_size=r[2], items=int(r[3]), packages=int(r[4]),
                          checkpoints_witnessed=int(r[5]), forks=int(r[6])) for r in rows]


def list_packages(hq: Headquarters) -> list[dict[str, Any]]:
    rows = hq.conn.execute(
        "SELECT p.package_id, v.origin, p.received_at, p.item_count, p.bytes FROM packages p "
        "JOIN field_vaults v ON v.id = p.field_vault_id ORDER BY p.received_at"
    ).fetchall()
    return [{"package_id": r[0], "origin": r[1], "received_at": r[2], "items": r[3], "bytes": r[4]} for r in rows]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _snippet(text: str, needle: str, width: int = 40) -> str:
    position = text.casefold().find(needle.casefold())
    if position < 0:
        return text[: 2 * width].replace("\n", " ")
    start = max(0, position - width)
    return ("…" if start else "") + text[start : position + len(needle) + width].replace("\n", " ")


def search(hq: Headquarters, text: str, *, limit: int = 50) -> list[SearchHit]:
    needle = unicodedata.normalize("NFC", text).strip()
    if not needle:
        raise InvalidInput("Type something to search for.")
    rows = hq.conn.execute(
        _ITEM_SQL + " WHERE i.search_text ILIKE %s ORDER BY i.id LIMIT %s", (_like_pattern(needle), limit)
    ).fetchall()
    return [SearchHit(item=_item(hq, row), snippet=_snippet(str(row[10]), needle)) for row in rows]
