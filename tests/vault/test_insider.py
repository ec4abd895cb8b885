"""An insider who knows the passphrase rewrites parts of the vault with stock SQLCipher, carefully enough to
keep the hash chain valid: the checks docs/FORMAT.md promises must still catch (or name) it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.errors import IntegrityError
from app.vault import keys
from app.vault.checkpoint import parse_checkpoint, sign_checkpoint
from app.vault.events import Event
from app.vault.merkle import root_hash
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER, new_vault, raw_connect, speed_up
from tools import independent_verifier


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Events: 0 vault_created, 1 item_ingested, 2 person_added, 3 consent_added, 4 note_added,
    5 checkpoint_made (covering 0..4)."""
    speed_up(monkeypatch)
    source = tmp_path / "photo.bin"
    source.write_bytes(b"testimony bytes" * 100)
    with new_vault(tmp_path) as v:
        v.ingest_file(source)
        person = v.add_person(name="Nguyễn Văn An", pseudonym="Witness A", role="survivor", protected=True)
        v.add_consent(person, scopes=["court"], date="2026-11-20")
        v.add_note(1, "note")
        checkpoint = v.checkpoint()
        key_id = v.key_id
        assert v.verify(record=False).ok
    return tmp_path / "test.vault", checkpoint, key_id


def _verify(path: Path, checkpoint: str | None = None):
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        return v.verify(checkpoint=checkpoint, record=False)


def _insider(path: Path):
    conn = raw_connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    return conn


def _rewrite(conn, seq: int, **changes) -> None:
    """Replace event ``seq`` and re-chain every later event, as a careful insider would."""
    rows = conn.execute("SELECT seq, canonical FROM events WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
    prev = None
    for number, canonical in rows:
        event = Event.from_canonical(bytes(canonical))
        if number == seq:
            event = dataclasses.replace(event, **changes)
        if prev is not None:
            event = dataclasses.replace(event, prev_hash=prev)
        prev = event.chain_hash()
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?",
                     (event.canonical_bytes(), prev, number))


def _kinds(report) -> set[tuple[str, str]]:
    return {(p.kind, p.location) for p in report.problems}


def test_key_columns_replaced_are_altered(setup) -> None:
    path, _, _ = setup
    other = keys.new_signing_key()
    conn = _insider(path)
    conn.execute("UPDATE keys SET public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.public_key_pem(other), keys.key_id(other)))
    conn.close()
    report = _verify(path)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["key_replaced", "key_replaced"]
    assert "keys table was altered" in report.problems[0].message


def test_sloppy_rewrite_leaves_a_stale_checkpoint_root(setup) -> None:
    """The insider edits event 4, re-chains, re-signs the stored checkpoint with the vault's own key, but
    leaves checkpoint_made's details.root as it was."""
    path, _, _ = setup
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        signing = v.signing_key
        origin = v.origin
    conn = _insider(path)
    _rewrite(conn, 4, actor="Someone else")
    leaves = [hashlib.sha256(b"\x00" + bytes(c)).digest()
              for (c,) in conn.execute("SELECT canonical FROM events WHERE seq < 5 ORDER BY seq")]
    created = conn.execute("SELECT created_at FROM checkpoints").fetchone()[0]
    text = sign_checkpoint(origin=origin, tree_size=5, root=root_hash(leaves), time=created, key=signing)
    conn.execute("UPDATE checkpoints SET text = ?", (text,))
    conn.close()
    report = _verify(path)
    assert ("checkpoint_event", "event 5") in _kinds(report)
    assert "not the Merkle root of the first 5 events" in report.problems[0].message


def test_deleted_checkpoint_row_is_detected(setup) -> None:
    path, _, _ = setup
    conn = raw_connect(path)
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    report = _verify(path)
    assert _kinds(report) == {("checkpoint_deleted", "event 5")}


def test_checkpoint_row_without_event_is_detected(setup) -> None:
    path, _, _ = setup
    conn = raw_connect(path)
    (text,) = conn.execute("SELECT text FROM checkpoints").fetchone()
    conn.execute("INSERT INTO checkpoints(tree_size, text, created_at) VALUES (5, ?, ?)",
                 (text, "2026-01-01T00:00:00.000000Z"))
    conn.close()
    assert ("checkpoint_unrecorded", "stored checkpoint 2") in _kinds(_verify(path))


@pytest.mark.parametrize("when", ["before_creation", "before_previous"])
def test_backdated_consent_is_named_in_a_warning(setup, when: str) -> None:
    path, _, _ = setup
    conn = _insider(path)
    rows = dict(conn.execute("SELECT seq, canonical FROM events WHERE seq IN (0, 2)").fetchall())
    created = Event.from_canonical(bytes(rows[0])).time
    person_time = Event.from_canonical(bytes(rows[2])).time
    # Before the vault existed, or back to the creation time itself: earlier than event 2, not before event 0.
    backdated = "2020-01-01T00:00:00.000000Z" if when == "before_creation" else created
    if backdated >= person_time:
        pytest.skip("event 2 was recorded in the same microsecond as the vault's creation")
    _rewrite(conn, 3, time=backdated)
    conn.execute("DELETE FROM checkpoints")  # the careful insider also drops what would expose the rewrite
    conn.execute("DELETE FROM events WHERE seq = 5")
    conn.close()
    report = _verify(path)
    assert report.ok, report.problems  # the chain is valid: the time is a claim, reported as doubtful
    assert [(w.kind, w.location) for w in report.warnings] == [("event_time", "event 3")]
    assert "consent_added" in report.warnings[0].message and backdated in report.warnings[0].message


def test_ok_is_computed_and_raise_if_failed(setup) -> None:
    path, _, _ = setup
    intact = _verify(path)
    intact.raise_if_failed()
    with pytest.raises(TypeError):
        type(intact)(ok=True)  # type: ignore[call-arg]
    conn = raw_connect(path)
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    report = _verify(path)
    assert report.ok is False
    with pytest.raises(IntegrityError) as caught:
        report.raise_if_failed()
    assert "no longer stored" in caught.value.user_message()


@pytest.fixture
def cli(setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    path, checkpoint, key_id = setup
    monkeypatch.setenv("EVIDENCE_VAULT", str(path))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)

    def run(*args: str, expect: int = 0) -> tuple[str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == expect, f"{args} exited {code}: {err}"
        return out, err

    return run, path, checkpoint, key_id


def test_replaced_key_is_altered_not_could_not_run(cli, tmp_path: Path) -> None:
    run, path, checkpoint, key_id = cli
    (tmp_path / "cp.txt").write_text(checkpoint)
    run("verify", "--expect-key-id", key_id.upper())
    _, err = run("verify", "--expect-key-id", "0123456789abcdef", expect=1)
    assert "not the expected key 0123456789abcdef" in err
    forged = keys.new_signing_key()
    conn = raw_connect(path)
    conn.execute("UPDATE keys SET private_key = ?, public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.private_key_bytes(forged), keys.public_key_pem(forged), keys.key_id(forged)))
    conn.close()
    _, err = run("verify", "--checkpoint", f"@{tmp_path / 'cp.txt'}", expect=1)
    assert err.startswith("ALTERED:") and "replaced" in err and "newer checkpoint" not in err
    out, _ = run("verify", "--json", "--expect-key-id", key_id, expect=1)
    report = json.loads(out)
    assert report["ok"] is False and report["problems"][0]["kind"] == "key_replaced"
    run("verify", "--expect-key-id", "not-a-key", expect=2)


def test_log_json_lets_every_link_be_recomputed_with_hashlib(cli) -> None:
    """FORMAT.md, Custody events: C = RFC 8785 of the nine members; chain_hash = SHA-256(prefix || 0 || C).
    With only strings, integers, booleans and null, RFC 8785 is json.dumps with sorted keys, no spaces and
    UTF-8 text."""
    run, _path, checkpoint, _ = cli
    out, _ = run("log", "--json")
    events = json.loads(out)
    assert len(events) == 6
    prev = "0" * 64
    leaves = []
    for event in events:
        members = {k: v for k, v in event.items() if k != "chain_hash"}
        assert set(members) == {"v", "seq", "time", "actor", "action", "item_id", "item_sha256", "details",
                                "prev_hash"}
        canonical = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert event["prev_hash"] == prev
        prev = hashlib.sha256(b"evidence-vault:event-chain:v1\x00" + canonical).hexdigest()
        assert prev == event["chain_hash"]
        leaves.append(hashlib.sha256(b"\x00" + canonical).digest())
    assert root_hash(leaves[:5]) == parse_checkpoint(checkpoint).root


def test_a_pinned_key_mismatch_is_recorded_as_a_failed_verification(setup) -> None:
    path, _, key_id = setup
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        assert vault.verify(expect_key_id=key_id).ok
        report = vault.verify(expect_key_id="0123456789abcdef")
        assert [p.kind for p in report.problems] == ["key_replaced"]
        recorded = [e for e in vault.events() if e.action == "verified"]
    assert [e.details["ok"] for e in recorded[-2:]] == [True, False]


def _rebuild_under_a_new_key(path: Path) -> str:
    """The careful insider: a new signing key, event 0 made to name it, the log re-chained without the
    checkpoints that the old key signed, then a fresh checkpoint signed with the new key.  Nothing left
    in the vault names the old key.  Returns the new key id."""
    forged = keys.new_signing_key()
    pem = keys.public_key_pem(forged)
    conn = _insider(path)
    conn.execute("UPDATE keys SET private_key = ?, public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.private_key_bytes(forged), pem, keys.key_id(forged)))
    events = [Event.from_canonical(bytes(r[0])) for r in conn.execute("SELECT canonical FROM events ORDER BY seq")]
    conn.execute("DELETE FROM events")
    conn.execute("DELETE FROM checkpoints")
    prev = events[0].prev_hash
    for seq, event in enumerate(e for e in events if e.action != "checkpoint_made"):
        details = dict(event.details)
        if event.action == "vault_created":
            details.update(key_id=keys.key_id(forged), public_key_pem=pem.decode("ascii"))
        rebuilt = dataclasses.replace(event, seq=seq, prev_hash=prev, details=details)
        conn.execute("INSERT INTO events(seq, canonical, chain_hash, action, item_id) VALUES (?, ?, ?, ?, ?)",
                     (seq, rebuilt.canonical_bytes(), rebuilt.chain_hash(), rebuilt.action, rebuilt.item_id))
        prev = rebuilt.chain_hash()
    conn.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.checkpoint()
    return keys.key_id(forged)


def test_vault_rebuilt_under_a_new_key_is_altered_against_the_kept_checkpoint(cli, tmp_path: Path) -> None:
    """Issue 9: a checkpoint signed by another key is altered (exit 1) in the app and in the independent
    verifier alike -- never "could not run, use a checkpoint printed by this vault"."""
    run, path, checkpoint, key_id = cli
    kept = tmp_path / "kept.txt"
    kept.write_text(checkpoint, encoding="utf-8")
    new_key_id = _rebuild_under_a_new_key(path)
    run("verify")  # nothing inside the vault can tell
    assert independent_verifier.main([str(path), "--kdf-iter", str(FAST_KDF_ITER)]) == 0
    _, err = run("verify", "--checkpoint", f"@{kept}", expect=1)
    assert err.startswith("ALTERED: The given checkpoint was signed by key " + key_id), err
    assert f"this vault signs with key {new_key_id}" in err and "another vault" in err
    assert independent_verifier.main([str(path), "--kdf-iter", str(FAST_KDF_ITER), "--checkpoint", str(kept)]) == 1
    run("verify", "--expect-key-id", key_id, expect=1)
    assert independent_verifier.main([str(path), "--kdf-iter", str(FAST_KDF_ITER), "--expect-key-id", key_id]) == 1
