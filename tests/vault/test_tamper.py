"""An insider who knows the passphrase edits the vault with stock SQLCipher: verify() must notice,
and say where."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from app.vault.events import Event
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, speed_up


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A closed vault with 3 originals (the 2nd spans 3 chunks), a note and a checkpoint.

    Events: 0 vault_created, 1-3 item_ingested (items 1-3), 4 note_added, 5 checkpoint_made."""
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        for index, size in enumerate((1000, 2 * 1024 * 1024 + 10, 5000), 1):
            source = tmp_path / f"file{index}.bin"
            source.write_bytes(os.urandom(size))
            v.ingest_file(source)
        v.add_note(2, "note")
        checkpoint = v.checkpoint()
        assert v.verify(record=False).ok
    return tmp_path / "test.vault", checkpoint


def _verify(path: Path, checkpoint: str | None = None):
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        return v.verify(checkpoint=checkpoint, record=False)


def _insider(path: Path):
    conn = raw_connect(path)
    conn.execute("DROP TRIGGER events_no_update")  # nothing stops an insider from removing guards
    conn.execute("DROP TRIGGER events_no_delete")
    return conn


def test_modified_chunk_of_an_original(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    blob_id, = conn.execute("SELECT blob_id FROM items WHERE id = 2").fetchone()
    data = bytearray(conn.execute("SELECT data FROM chunks WHERE blob_id = ? AND seq = 1", (blob_id,)).fetchone()[0])
    data[500] ^= 0x01
    conn.execute("UPDATE chunks SET data = ? WHERE blob_id = ? AND seq = 1", (bytes(data), blob_id))
    conn.close()
    report = _verify(path)
    assert not report.ok
    assert [(p.kind, p.location) for p in report.problems] == [("item_content", "item 2")]


def test_edited_event_field(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    stored = Event.from_canonical(conn.execute("SELECT canonical FROM events WHERE seq = 2").fetchone()[0])
    forged = replace(stored, actor="Somebody else")
    conn.execute("UPDATE events SET canonical = ? WHERE seq = 2", (forged.canonical_bytes(),))
    conn.close()
    report = _verify(path)
    assert (report.problems[0].kind, report.problems[0].location) == ("event_hash", "event 2")
    assert "edited" in report.problems[0].message


def test_edited_event_with_its_hash_recomputed(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    stored = Event.from_canonical(conn.execute("SELECT canonical FROM events WHERE seq = 1").fetchone()[0])
    forged = replace(stored, time="2020-01-01T00:00:00.000000Z")
    conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = 1",
                 (forged.canonical_bytes(), forged.chain_hash()))
    conn.close()
    report = _verify(path)
    assert (report.problems[0].kind, report.problems[0].location) == ("event_chain", "event 2")


def test_deleted_event(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    conn.execute("DELETE FROM events WHERE seq = 4")
    conn.close()
    report = _verify(path)
    assert (report.problems[0].kind, report.problems[0].location) == ("event_sequence", "event 4")
    assert "removed" in report.problems[0].message


def test_two_events_swapped(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    rows = {seq: (canonical, chain) for seq, canonical, chain in
            conn.execute("SELECT seq, canonical, chain_hash FROM events WHERE seq IN (2, 3)")}
    for seq, other in ((2, 3), (3, 2)):
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?", (*rows[other], seq))
    conn.close()
    report = _verify(path)
    assert (report.problems[0].kind, report.problems[0].location) == ("event_sequence", "event 2")


def test_deleted_item(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    conn.execute("DELETE FROM search_docs WHERE item_id = 3")
    conn.execute("DELETE FROM items WHERE id = 3")
    conn.close()
    report = _verify(path)
    assert [(p.kind, p.location) for p in report.problems] == [("item_missing", "item 3")]


def test_deleted_last_events_caught_by_stored_checkpoint(setup) -> None:
    path, _ = setup
    conn = _insider(path)
    conn.execute("DELETE FROM events WHERE seq >= 4")  # the tail: no gap left behind
    conn.close()
    report = _verify(path)
    assert [(p.kind, p.location) for p in report.problems] == [
        ("checkpoint_inconsistent", "stored checkpoint 1")]


def test_chain_rewritten_after_checkpoint_export_is_caught_only_with_the_checkpoint(setup) -> None:
    """The insider removes item 2 and rebuilds a perfect chain without it, drops the stored
    checkpoints, and even re-signs a fresh one with the vault's own key.  Only the checkpoint that
    was exported earlier (e.g. sent by text message to the legal team) can reveal it."""
    path, exported = setup
    conn = _insider(path)
    events = [Event.from_canonical(row[0]) for row in conn.execute("SELECT canonical FROM events ORDER BY seq")]
    kept = [e for e in events if e.item_id != 2 and e.action != "checkpoint_made"]
    conn.execute("DELETE FROM events")
    prev = events[0].prev_hash
    for seq, event in enumerate(kept):
        rebuilt = replace(event, seq=seq, prev_hash=prev)
        conn.execute("INSERT INTO events(seq, canonical, chain_hash, action, item_id) VALUES (?, ?, ?, ?, ?)",
                     (seq, rebuilt.canonical_bytes(), rebuilt.chain_hash(), rebuilt.action, rebuilt.item_id))
        prev = rebuilt.chain_hash()
    conn.execute("DELETE FROM notes")
    conn.execute("DELETE FROM search_docs WHERE item_id = 2")
    conn.execute("DELETE FROM items WHERE id = 2")
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.checkpoint()  # a new, validly signed checkpoint over the forged history
        assert v.verify(record=False).ok  # internally consistent...
        report = v.verify(checkpoint=exported, record=False)
    assert not report.ok  # ...but not consistent with what was exported
    assert [(p.kind, p.location) for p in report.problems] == [("checkpoint_inconsistent", "given checkpoint")]


def test_checkpoint_from_another_vault_or_altered_is_rejected(setup, tmp_path: Path) -> None:
    path, exported = setup
    with new_vault(tmp_path, "other.vault") as other:
        foreign = other.checkpoint()
    assert _verify(path, foreign).problems[0].kind == "checkpoint_signature"
    altered = exported.replace("\n5\n", "\n4\n", 1)
    assert altered != exported
    assert _verify(path, altered).problems[0].kind == "checkpoint_signature"
    assert _verify(path, exported).ok


def test_replaced_signing_key(setup, tmp_path: Path) -> None:
    path, _ = setup
    from app.vault import keys

    conn = _insider(path)
    forged = keys.new_signing_key()
    conn.execute("UPDATE keys SET private_key = ?, public_pem = ? WHERE name = 'signing'",
                 (keys.private_key_bytes(forged), keys.public_key_pem(forged)))
    conn.close()
    kinds = [p.kind for p in _verify(path).problems]
    assert kinds[0] == "key_replaced" and "checkpoint_signature" in kinds


@pytest.mark.parametrize(("value", "ok"), [("hello", False), (7, False), ("same", True)])
def test_event_record_stored_as_text_or_number(setup, value, ok: bool) -> None:
    """An insider's plain SQL may store the record as TEXT: taken as its UTF-8 bytes, never a crash."""
    path, _ = setup
    conn = _insider(path)
    if value == "same":
        value = bytes(conn.execute("SELECT canonical FROM events WHERE seq = 2").fetchone()[0]).decode()
    conn.execute("UPDATE events SET canonical = ? WHERE seq = 2", (value,))
    conn.close()
    report = _verify(path)
    assert report.ok is ok
    if not ok:
        assert (report.problems[0].kind, report.problems[0].location) == ("event_damaged", "event 2")
        from app.errors import IntegrityError

        with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v, pytest.raises(IntegrityError):
            v.events()  # what `log` shows: one clear error, not a TypeError
    else:
        with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
            assert len(v.events()) == 6 and len(v.leaf_hashes()) == 6
