"""The insider tamper cases of benchmarks/tamper_table.py (issue 9), each applied to a fresh copy of one vault.

An insider who knows the passphrase: stock SQLCipher with the PRAGMAs of docs/FORMAT.md, triggers dropped,
events re-chained and checkpoints re-signed with the vault's own key where the case says so.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlcipher3
from PIL import Image

from app.vault import keys
from app.vault.checkpoint import sign_checkpoint
from app.vault.events import Event
from app.vault.merkle import root_hash
from app.vault.vault import Vault

PASSPHRASE = "correct horse battery staple orbit"
ACTOR = "Investigator A"
Tamper = Callable[[sqlcipher3.Connection, "Pristine"], None]


@dataclass(frozen=True)
class Pristine:
    vault: Path
    earlier: Path  # checkpoint printed before the last note (size = earlier_size)
    earlier_size: int
    key_id: str
    key_pem: Path  # the vault's public key, as headquarters received it


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), colour).save(out, format="PNG")
    return out.getvalue()


def make_pristine(folder: Path) -> Pristine:
    path = folder / "pristine.vault"
    with Vault.create(path, PASSPHRASE, actor=ACTOR) as vault:
        case_id = vault.add_case("Harbour case")
        for index, colour in enumerate(((200, 30, 90), (20, 160, 60)), 1):
            vault.ingest_stream(io.BytesIO(_png(colour)), name=f"photo{index}.png", kind="photo", case_id=case_id)
        vault.ingest_stream(io.BytesIO(os.urandom(2 * 1024 * 1024 + 10)), name="statement.bin", kind="document",
                            case_id=case_id)
        vault.add_note(2, "seen by the legal team")
        earlier = folder / "earlier.txt"
        earlier.write_text(vault.checkpoint(), encoding="utf-8")
        size = int(earlier.read_text(encoding="utf-8").splitlines()[1])
        vault.add_note(1, "the boat on the left")
        key_id = vault.key_id
        key_pem = folder / "vault-key.pem"
        key_pem.write_bytes(vault.public_key_pem())
    return Pristine(path, earlier, size, key_id, key_pem)


def raw_connect(path: Path) -> sqlcipher3.Connection:
    """The insider's connection: stock SQLCipher, the PRAGMAs of docs/FORMAT.md, triggers dropped."""
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute("PRAGMA key = '" + PASSPHRASE.replace("'", "''") + "'")
    conn.execute("PRAGMA cipher_page_size = 65536")
    conn.execute("PRAGMA kdf_iter = 256000")
    conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
    conn.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512")
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    return conn


# --- the tamper cases ------------------------------------------------------------------------------


def _events(conn: sqlcipher3.Connection) -> list[Event]:
    return [Event.from_canonical(bytes(r[0])) for r in conn.execute("SELECT canonical FROM events ORDER BY seq")]


def _rechain(conn: sqlcipher3.Connection, seq: int, **changes: Any) -> None:
    """Replace event ``seq`` and re-chain every later event, as a careful insider would."""
    prev: str | None = None
    for event in [e for e in _events(conn) if e.seq >= seq]:
        event = replace(event, **changes) if event.seq == seq else event
        event = replace(event, prev_hash=prev) if prev is not None else event
        prev = event.chain_hash()
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?",
                     (event.canonical_bytes(), prev, event.seq))


def _seq_of(conn: sqlcipher3.Connection, action: str, nth: int = 0) -> int:
    return [e.seq for e in _events(conn) if e.action == action][nth]


def flip_chunk_byte(conn: sqlcipher3.Connection, _: Pristine) -> None:
    blob_id, = conn.execute("SELECT blob_id FROM items WHERE id = 3").fetchone()
    data = bytearray(conn.execute("SELECT data FROM chunks WHERE blob_id = ? AND seq = 1", (blob_id,)).fetchone()[0])
    data[500] ^= 0x01
    conn.execute("UPDATE chunks SET data = ? WHERE blob_id = ? AND seq = 1", (bytes(data), blob_id))


def edit_event_field(conn: sqlcipher3.Connection, _: Pristine) -> None:
    stored = _events(conn)[3]
    conn.execute("UPDATE events SET canonical = ? WHERE seq = 3",
                 (replace(stored, actor="Somebody else").canonical_bytes(),))


def edit_event_and_hash(conn: sqlcipher3.Connection, _: Pristine) -> None:
    forged = replace(_events(conn)[1], time="2026-01-01T00:00:00.000000Z")
    conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = 1",
                 (forged.canonical_bytes(), forged.chain_hash()))


def delete_middle_event(conn: sqlcipher3.Connection, _: Pristine) -> None:
    conn.execute("DELETE FROM events WHERE seq = ?", (_seq_of(conn, "note_added"),))


def swap_events(conn: sqlcipher3.Connection, _: Pristine) -> None:
    found = conn.execute("SELECT seq, canonical, chain_hash FROM events WHERE seq IN (2, 3)")
    rows = {seq: (canonical, chain) for seq, canonical, chain in found}
    for seq, other in ((2, 3), (3, 2)):
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?", (*rows[other], seq))


def delete_item(conn: sqlcipher3.Connection, _: Pristine) -> None:
    conn.execute("DELETE FROM search_docs WHERE item_id = 3")
    conn.execute("DELETE FROM items WHERE id = 3")


def delete_tail_under_stored_checkpoint(conn: sqlcipher3.Connection, p: Pristine) -> None:
    conn.execute("DELETE FROM events WHERE seq >= ?", (p.earlier_size - 1,))
    conn.execute("DELETE FROM notes")


def replace_signing_key(conn: sqlcipher3.Connection, _: Pristine) -> None:
    forged = keys.new_signing_key()
    conn.execute("UPDATE keys SET private_key = ?, public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.private_key_bytes(forged), keys.public_key_pem(forged), keys.key_id(forged)))


def replace_key_columns(conn: sqlcipher3.Connection, _: Pristine) -> None:
    other = keys.new_signing_key()
    conn.execute("UPDATE keys SET public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.public_key_pem(other), keys.key_id(other)))


def stale_checkpoint_root(conn: sqlcipher3.Connection, p: Pristine) -> None:
    """The note before the checkpoint edited, the chain rebuilt, the stored checkpoint re-signed with the
    vault's own key -- but checkpoint_made still names the old root."""
    _rechain(conn, _seq_of(conn, "note_added"), actor="Somebody else")
    seed, kid = conn.execute("SELECT private_key, key_id FROM keys WHERE name = 'signing'").fetchone()
    leaves = [hashlib.sha256(b"\x00" + bytes(c)).digest()
              for (c,) in conn.execute("SELECT canonical FROM events WHERE seq < ? ORDER BY seq", (p.earlier_size,))]
    created = conn.execute("SELECT created_at FROM checkpoints").fetchone()[0]
    text = sign_checkpoint(origin=f"evidence-vault/{kid}", tree_size=p.earlier_size, root=root_hash(leaves),
                           time=created, key=keys.load_private_key(bytes(seed)))
    conn.execute("UPDATE checkpoints SET text = ?", (text,))


def delete_checkpoint_row(conn: sqlcipher3.Connection, _: Pristine) -> None:
    conn.execute("DELETE FROM checkpoints")


def backdate_last_event(conn: sqlcipher3.Connection, _: Pristine) -> None:
    """The note after the last checkpoint gets a time before vault_created (and the chain stays whole)."""
    _rechain(conn, _events(conn)[-1].seq, time="2020-01-01T00:00:00.000000Z")


def rewrite_exhibit(conn: sqlcipher3.Connection, _: Pristine) -> None:
    """Item 1's bytes swapped, every event rebuilt to agree (vault_created names the signing key in the
    keys table), the checkpoints dropped (re-made afterwards, signed with that key, by :func:`_resign`)."""
    blob_id, old_sha = conn.execute("SELECT blob_id, sha256 FROM items WHERE id = 1").fetchone()
    forged = _png((0, 0, 255))
    new_sha = hashlib.sha256(forged).hexdigest()
    conn.execute("DELETE FROM chunks WHERE blob_id = ?", (blob_id,))
    conn.execute("INSERT INTO chunks(blob_id, seq, data) VALUES (?, 0, ?)", (blob_id, forged))
    conn.execute("UPDATE blobs SET sha256 = ?, size = ?, chunk_count = 1 WHERE id = ?", (new_sha, len(forged), blob_id))
    conn.execute("UPDATE items SET sha256 = ?, size = ? WHERE id = 1", (new_sha, len(forged)))
    key_id, public_pem = conn.execute("SELECT key_id, public_pem FROM keys WHERE name = 'signing'").fetchone()
    events = _events(conn)
    kept = [e for e in events if e.action != "checkpoint_made"]
    conn.execute("DELETE FROM events")
    conn.execute("DELETE FROM checkpoints")
    prev = events[0].prev_hash
    for seq, event in enumerate(kept):
        details = {k: (new_sha if v == old_sha else v) for k, v in event.details.items()}
        if "size" in details and event.item_id == 1:
            details["size"] = len(forged)
        if event.action == "vault_created":  # agrees with the signing key, replaced or not
            details.update(key_id=key_id, public_key_pem=public_pem.decode("ascii"))
        sha = new_sha if event.item_sha256 == old_sha else event.item_sha256
        rebuilt = replace(event, seq=seq, prev_hash=prev, item_sha256=sha, details=details)
        conn.execute("INSERT INTO events(seq, canonical, chain_hash, action, item_id) VALUES (?, ?, ?, ?, ?)",
                     (seq, rebuilt.canonical_bytes(), rebuilt.chain_hash(), rebuilt.action, rebuilt.item_id))
        prev = rebuilt.chain_hash()


def rekey_and_rewrite(conn: sqlcipher3.Connection, p: Pristine) -> None:
    """A new signing key, then the full rewrite: nothing left in the vault names the old key."""
    replace_signing_key(conn, p)
    rewrite_exhibit(conn, p)


def resign(path: Path) -> None:
    with Vault.open(path, PASSPHRASE, actor=ACTOR) as vault:
        vault.checkpoint()


def truncate_tail(conn: sqlcipher3.Connection, p: Pristine) -> None:
    """Everything after the earlier checkpoint erased (the last note, the later checkpoint and its row)."""
    conn.execute("DELETE FROM events WHERE seq > ?", (p.earlier_size,))
    conn.execute("DELETE FROM notes WHERE id > 1")
    conn.execute("DELETE FROM checkpoints WHERE tree_size > ?", (p.earlier_size,))
