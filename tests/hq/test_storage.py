"""The encrypted, content-addressed store of originals and HQ's own custody log, on real PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from app.errors import IntegrityError
from app.hq import blobstore, hq_log
from app.hq.headquarters import Headquarters
from app.vault.checkpoint import verify_checkpoint


def _store(hq: Headquarters, data: bytes, sha256: str | None = None) -> int:
    with hq.conn.transaction():
        return blobstore.store_original(hq.conn, hq.keys, io.BytesIO(data),
                                        sha256=sha256 or hashlib.sha256(data).hexdigest(), now="t")


def test_original_round_trips_encrypted_and_is_stored_once(hq: Headquarters) -> None:
    data = os.urandom(blobstore.CHUNK_SIZE * 2 + 12345)
    digest = hashlib.sha256(data).hexdigest()
    assert _store(hq, data) == len(data)
    assert _store(hq, data) == 0  # content-addressed: the second copy is not written
    row = hq.conn.execute("SELECT count(*), min(chunk_count) FROM blobs JOIN blob_chunks USING (sha256)").fetchone()
    assert row == (3, 3)
    # At rest the chunks are ciphertext: no 64-byte window of the original appears in them.
    stored = b"".join(bytes(r[0]) for r in hq.conn.execute("SELECT data FROM blob_chunks ORDER BY seq"))
    assert data[1000:1064] not in stored
    with hq.conn.transaction():
        assert blobstore.rehash(hq.conn, hq.keys, digest) == (digest, len(data))
    reader = blobstore.OriginalReader(hq.conn, hq.keys, digest)
    reader.seek(blobstore.CHUNK_SIZE - 10)
    assert reader.read(20) == data[blobstore.CHUNK_SIZE - 10: blobstore.CHUNK_SIZE + 10]


def test_wrong_fingerprint_stores_nothing(hq: Headquarters) -> None:
    with pytest.raises(IntegrityError, match="does not match its recorded fingerprint"):
        _store(hq, b"evidence bytes", sha256="0" * 64)
    assert hq.conn.execute("SELECT count(*) FROM blob_chunks").fetchone() == (0,)
    assert hq.conn.execute("SELECT count(*) FROM blobs").fetchone() == (0,)


@pytest.mark.parametrize("damage", ["flip", "swap", "drop_last"])
def test_damaged_chunks_are_detected(hq: Headquarters, damage: str) -> None:
    data = os.urandom(blobstore.CHUNK_SIZE * 2 + 7)
    digest = hashlib.sha256(data).hexdigest()
    _store(hq, data)
    if damage == "flip":
        hq.conn.execute("UPDATE blob_chunks SET data = overlay(data placing '\\x00'::bytea from 5) WHERE seq = 1")
    elif damage == "swap":
        with hq.conn.transaction():
            hq.conn.execute("UPDATE blob_chunks SET seq = 99 WHERE seq = 0")
            hq.conn.execute("UPDATE blob_chunks SET seq = 0 WHERE seq = 1")
            hq.conn.execute("UPDATE blob_chunks SET seq = 1 WHERE seq = 99")
    else:
        hq.conn.execute("DELETE FROM blob_chunks WHERE seq = 2")
    with pytest.raises(IntegrityError), hq.conn.transaction():
        blobstore.rehash(hq.conn, hq.keys, digest)


def test_hq_log_chain_and_checkpoints(hq: Headquarters) -> None:
    public = hq.identity.signing_key.public_key()
    with hq.conn.transaction():
        hq_log.append(hq.conn, actor="tester", action="verified", details={"problems": 0})
        text = hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
    checkpoint = verify_checkpoint(text, public)
    assert checkpoint.tree_size == 2  # hq_created + verified
    assert hq_log.verify_log(hq.conn, public) == []
    # Rewriting an event's details (and even its stored chain hash) is caught.
    event = hq_log.load_events(hq.conn)[1]
    forged = hq_log.HqEvent(event.seq, event.time, event.actor, event.action, {"problems": 5}, event.prev_hash)
    hq.conn.execute("UPDATE hq_events SET canonical = %s, chain_hash = %s WHERE seq = 1",
                    (forged.canonical_bytes(), forged.chain_hash()))
    problems = hq_log.verify_log(hq.conn, public)
    assert problems and "does not match its log" in problems[0]


def test_open_checks_passphrase_and_database(hq: Headquarters, hq_passphrase: str) -> None:
    from app.transfer.errors import TransferError

    conninfo = hq.conn.info.dsn
    with pytest.raises(TransferError, match="passphrase"):
        Headquarters.open(hq.folder, "not the passphrase at all", conninfo=conninfo)
    again = Headquarters.open(hq.folder, hq_passphrase, conninfo=conninfo, read_only=True)
    try:
        assert again.identity.key_id() == hq.identity.key_id()
        assert (hq.folder / "hq-public.pem").read_bytes() == hq.public().to_pem()
    finally:
        again.close()


@pytest.mark.parametrize("conninfo", [
    "host=db.example.org dbname=x", "host=127.0.0.1 dbname=x", "hostaddr=127.0.0.1 host=/tmp dbname=x",
    "dbname=x", "host=/tmp,db.example.org dbname=x",
])
def test_only_unix_sockets_are_used(conninfo: str) -> None:
    """Checked before libpq is called: no TCP connection is ever attempted, whatever --db says."""
    from app.hq.headquarters import HqError, connect

    with pytest.raises(HqError, match="only through a Unix socket"):
        connect(conninfo)


def test_verify_against_a_held_hq_checkpoint(hq: Headquarters) -> None:
    from app.hq.verify import verify_archive

    with hq.conn.transaction():
        held = hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
    assert verify_archive(hq, held_checkpoint=held).ok
    # An insider rewrites HQ's log from the start (a fresh, self-consistent chain) and re-signs it.
    hq.conn.execute("DELETE FROM hq_events")
    hq.conn.execute("DELETE FROM hq_checkpoints")
    with hq.conn.transaction():
        hq_log.append(hq.conn, actor="insider", action="hq_created", details={"name": "rewritten"})
        hq_log.append(hq.conn, actor="insider", action="verified", details={})
        hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
    assert verify_archive(hq, record=False).ok  # the rewrite is self-consistent...
    report = verify_archive(hq, record=False, held_checkpoint=held)
    assert any("no longer extends the checkpoint you hold" in p for p in report.problems)  # ...but not to a witness
