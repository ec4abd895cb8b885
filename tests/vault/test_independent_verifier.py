"""tools/independent_verifier.py, written from docs/FORMAT.md alone, must reach the same verdict as
``Vault.verify()`` / ``verify_bundle`` on real vaults and bundles, and locate the same problem.

The tool runs in a subprocess (``python -I``), exactly as an outside auditor would run it; it imports
nothing from ``app``.  The vaults are made with the project's own API and tampered with as an insider
would, with stock SQLCipher (tests/vault/vaultkit.py ``raw_connect``)."""

from __future__ import annotations

import ast
import hashlib
import hmac
import importlib.util
import io
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from app.errors import BundleError
from app.export.bundle_verify import verify_bundle
from app.vault.events import Event
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
from tests.export.test_bundle_support import PHOTO_NAME, build_bundle, resign
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER, raw_connect, speed_up

TOOL = PROJECT_ROOT / "tools" / "independent_verifier.py"


def run_tool(*args: str | Path, passphrase: str | None = TEST_PASSPHRASE, stdin: str | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "EVIDENCE_VAULT_PASSPHRASE"}
    if passphrase is not None:
        env["EVIDENCE_VAULT_PASSPHRASE"] = passphrase
    done = subprocess.run([sys.executable, "-I", str(TOOL), *map(str, args)], env=env, input=stdin or "",
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def run_on_vault(path: Path, *args: str | Path, **kwargs: str | None) -> tuple[int, str]:
    return run_tool(path, "--kdf-iter", str(FAST_KDF_ITER), *args, **kwargs)


def tool_locations(output: str) -> list[str]:
    """The tool's problem locations, in the app's words ("event seq 4" -> "event 4")."""
    found = []
    for line in output.splitlines():
        if line.startswith("  PROBLEM  "):
            where = line[len("  PROBLEM  "):].split(":", 1)[0]
            where = where.replace("event seq ", "event ")
            found.append("given checkpoint" if where.startswith("given checkpoint") else where)
    return found


def app_verify(path: Path, checkpoint: str | None = None):
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        return vault.verify(checkpoint=checkpoint, record=False)


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One closed vault, made once: a case, 3 originals (the 2nd spans 3 chunks), a duplicate, a note and
    a checkpoint.  Events: 0 vault_created, 1 case_added, 2-4 item_ingested (items 1-3), 5 item_ingested
    (item 4, duplicate of 1), 6 note_added, 7 checkpoint_made (checkpoint of size 7)."""
    folder = tmp_path_factory.mktemp("pristine")
    with pytest.MonkeyPatch.context() as mp:
        speed_up(mp)
        with Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor=ACTOR) as vault:
            case_id = vault.add_case("Harbour case")
            for index, size in enumerate((1000, 2 * 1024 * 1024 + 10, 5000), 1):
                source = folder / f"file{index}.bin"
                source.write_bytes(os.urandom(size))
                vault.ingest_file(source, case_id=case_id)
            vault.ingest_stream(io.BytesIO((folder / "file1.bin").read_bytes()), name="copy.bin", kind="document")
            vault.add_note(2, "note")
            exported = vault.checkpoint()
            assert vault.verify(record=False).ok
    return folder / "case.vault", exported


@pytest.fixture
def vault(pristine: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "case.vault"
    shutil.copyfile(pristine[0], path)
    return path, pristine[1]


def test_the_tool_imports_nothing_from_the_project() -> None:
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not modules & {"app", "tests", "rfc8785"}, modules
    assert {"sqlcipher3", "cryptography"} <= modules


def _tool_module():
    spec = importlib.util.spec_from_file_location("independent_verifier", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_the_tool_reproduces_the_worked_examples_of_format_md() -> None:
    iv = _tool_module()
    c0 = ('{"action":"vault_created","actor":"Investigator A","details":{"organisation":"Example NGO"},"item_id":null,'
          '"item_sha256":null,"prev_hash":"' + "0" * 64 + '","seq":0,"time":"2026-11-25T14:56:22.123456Z","v":1}')
    c1 = ('{"action":"item_ingested","actor":"Investigator A","details":{"kind":"photo","size":5},"item_id":1,'
          '"item_sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","prev_hash":'
          '"966d6883bc52d2dfeb71da668a2c3c22bb7c57131d21212b30548e7947d75258","seq":1,'
          '"time":"2026-11-25T14:57:03.000001Z","v":1}')
    c2 = ('{"action":"item_viewed","actor":"Investigator A","details":{},"item_id":1,"item_sha256":'
          '"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","prev_hash":'
          '"20c63bb3d94cb36b89b9a4595918649b48ba85d6c0de92d7f38bcecc2ec1b8bf","seq":2,'
          '"time":"2026-11-25T14:58:10.500000Z","v":1}')
    events = [c.encode() for c in (c0, c1, c2)]
    for data in events:
        assert iv.canonical(iv.parse_event(data)) == data
    assert iv.chain_hash(events[2]) == "02939de68f0fc3aa5628e8a0128e3391b05121244c08de428d2a8bc283dee2e1"
    leaves = [iv.leaf_hash(data) for data in events]
    root = iv.mth(leaves)
    assert root.hex() == "41755b98a6694b383a67407379c9ad6844fdaa25a6f6940d264e698e0604cafe"
    assert iv.verify_inclusion(1, 3, leaves[1], [leaves[0], leaves[2]], root)
    assert iv.consistency_proof(2, leaves) == [leaves[2]]
    assert iv.verify_consistency(2, 3, iv.mth(leaves[:2]), root, [leaves[2]])
    assert not iv.verify_consistency(2, 3, iv.mth(leaves[1:3]), root, [leaves[2]])
    seed = hashlib.sha256(b"evidence-vault FORMAT.md example key").digest()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert iv.key_id(public) == "053fd518890fea59"
    assert iv.note_key_id("evidence-vault/053fd518890fea59", public).hex() == "5a7ee1f7"
    note = ("evidence-vault/053fd518890fea59\n3\nQXVbmKZpSzg6Z0BzecmtaET9qiWm9pQNJk5pjgYEyv4=\n"
            "time 2026-11-25T14:58:10Z\n\n\u2014 evidence-vault/053fd518890fea59 Wn7h93fvGCllSzoxVSvjvUDkXuaYp8hXa6ACg"
            "hpPTSF3UYlsjaxrC599lPpsbjATUUwog4IIa6AvBInMY/6ivG+Jtwg=\n")
    checkpoint = iv.parse_checkpoint(note, tolerant=False)
    assert checkpoint.root == root and iv.checkpoint_signature_problem(checkpoint, public) is None
    # RFC 6962 / transparency-dev known answers (entries "", 00, 10, 2021, 3031, 40414243, ...).
    entries = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    vectors = [iv.leaf_hash(bytes.fromhex(e)) for e in entries]
    assert iv.mth(vectors[:1]).hex().startswith("6e340b9c") and iv.mth(vectors).hex().endswith("4328")


def test_the_tools_own_rfc8785_agrees_with_the_rfc8785_package() -> None:
    import rfc8785

    iv = _tool_module()
    rng = random.Random(8785)
    values: list[object] = [1.0, -0.0, 1e21, 1e20, 1.5e-7, 1e-6, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3]
    while len(values) < 20_000:
        number = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(number):
            values.append(number)
    values.append({"b": [None, True, 2**53 - 1, "\u2028\x7f\x01\"\\\n"],
                   "a": {"\u20ac": 1, "\U0001f600": 2, "\ufb33": 3}})
    for value in values:
        assert iv.canonical(value) == rfc8785.dumps(value), value
    for bad in (float("nan"), 2**53, "\ud800", {1: 2}):
        with pytest.raises(ValueError):
            iv.canonical(bad)


def test_intact_vault_agrees_and_bad_input_is_exit_2(vault: tuple[Path, str], tmp_path: Path) -> None:
    path, exported = vault
    checkpoint_file = tmp_path / "kept.txt"
    checkpoint_file.write_text(exported.replace("\n", "\r\n") + "  \n", encoding="utf-8")  # e-mail damage
    code, out = run_on_vault(path, "--checkpoint", checkpoint_file)
    assert code == 0, out
    assert "8 custody events replayed" in out and "4 items agree" in out
    assert "stored checkpoint 1: signature and consistency proof 7 -> 8" in out
    assert "given checkpoint kept.txt: signature and consistency proof 7 -> 8" in out
    assert app_verify(path, exported).ok
    code, out = run_on_vault(path, passphrase=None, stdin=TEST_PASSPHRASE + "\n")  # passphrase on stdin
    assert code == 0, out
    code, out = run_on_vault(path, passphrase="not the passphrase")
    assert code == 2 and "wrong passphrase" in out
    assert run_tool(path, passphrase=TEST_PASSPHRASE)[0] == 2  # the documented 256,000 iterations: not this file
    assert run_tool(tmp_path / "missing.vault")[0] == 2


def _insider(path: Path):
    conn = raw_connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    return conn


def _flip_chunk_byte(conn) -> None:
    blob_id, = conn.execute("SELECT blob_id FROM items WHERE id = 2").fetchone()
    data = bytearray(conn.execute("SELECT data FROM chunks WHERE blob_id = ? AND seq = 1", (blob_id,)).fetchone()[0])
    data[500] ^= 0x01
    conn.execute("UPDATE chunks SET data = ? WHERE blob_id = ? AND seq = 1", (bytes(data), blob_id))


def _edit_event_field(conn) -> None:
    stored = Event.from_canonical(conn.execute("SELECT canonical FROM events WHERE seq = 3").fetchone()[0])
    forged = replace(stored, actor="Somebody else")
    conn.execute("UPDATE events SET canonical = ? WHERE seq = 3", (forged.canonical_bytes(),))


def _edit_event_and_its_hash(conn) -> None:
    stored = Event.from_canonical(conn.execute("SELECT canonical FROM events WHERE seq = 1").fetchone()[0])
    forged = replace(stored, time="2020-01-01T00:00:00.000000Z")
    conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = 1",
                 (forged.canonical_bytes(), forged.chain_hash()))


def _delete_event(conn) -> None:
    conn.execute("DELETE FROM events WHERE seq = 6")


def _swap_events(conn) -> None:
    rows = {seq: (canonical, chain) for seq, canonical, chain in
            conn.execute("SELECT seq, canonical, chain_hash FROM events WHERE seq IN (3, 4)")}
    for seq, other in ((3, 4), (4, 3)):
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?", (*rows[other], seq))


def _delete_item(conn) -> None:
    conn.execute("DELETE FROM search_docs WHERE item_id = 3")
    conn.execute("DELETE FROM items WHERE id = 3")


def _delete_tail(conn) -> None:
    conn.execute("DELETE FROM events WHERE seq >= 6")  # no gap left behind: only the checkpoint notices


def _replace_signing_key(conn) -> None:
    from app.vault import keys

    forged = keys.new_signing_key()
    conn.execute("UPDATE keys SET private_key = ?, public_pem = ? WHERE name = 'signing'",
                 (keys.private_key_bytes(forged), keys.public_key_pem(forged)))


@pytest.mark.parametrize(("tamper", "first_location"), [
    (_flip_chunk_byte, "item 2"),
    (_edit_event_field, "event 3"),
    (_edit_event_and_its_hash, "event 2"),
    (_delete_event, "event 6"),
    (_swap_events, "event 3"),
    (_delete_item, "item 3"),
    (_delete_tail, "stored checkpoint 1"),
    (_replace_signing_key, None),
])
def test_insider_tampering_is_found_and_located_like_the_app(
        vault: tuple[Path, str], tamper: Callable, first_location: str | None) -> None:
    path, _ = vault
    conn = _insider(path)
    tamper(conn)
    conn.close()
    code, out = run_on_vault(path)
    report = app_verify(path)
    assert code == 1 and not report.ok, out
    mine = tool_locations(out)
    theirs = [p.location for p in report.problems]
    if first_location is not None:
        assert theirs[0] == first_location and mine == theirs, (theirs, out)
    else:  # key replaced: both notice the key and the checkpoint signed by the old one
        assert "keys" in mine and "stored checkpoint 1" in mine and "event 0" in mine, out
        assert report.problems[0].kind == "key_replaced"


def _rechain(conn, seq: int, **changes) -> None:
    """Replace event ``seq`` and re-chain every later event, as a careful insider would."""
    prev = None
    for number, canonical in conn.execute("SELECT seq, canonical FROM events WHERE seq >= ? ORDER BY seq",
                                          (seq,)).fetchall():
        event = Event.from_canonical(bytes(canonical))
        event = replace(event, **changes) if number == seq else event
        event = replace(event, prev_hash=prev) if prev is not None else event
        prev = event.chain_hash()
        conn.execute("UPDATE events SET canonical = ?, chain_hash = ? WHERE seq = ?",
                     (event.canonical_bytes(), prev, number))


def _replace_key_columns(conn) -> None:
    from app.vault import keys

    other = keys.new_signing_key()
    conn.execute("UPDATE keys SET public_pem = ?, key_id = ? WHERE name = 'signing'",
                 (keys.public_key_pem(other), keys.key_id(other)))


def _stale_checkpoint_root(conn) -> None:
    """Event 6 edited and the chain rebuilt, the stored checkpoint re-signed with the vault's own key, but
    checkpoint_made (event 7) still names the old root."""
    from app.vault import keys
    from app.vault.checkpoint import sign_checkpoint
    from app.vault.merkle import root_hash

    _rechain(conn, 6, actor="Somebody else")
    seed, kid = conn.execute("SELECT private_key, key_id FROM keys WHERE name = 'signing'").fetchone()
    leaves = [hashlib.sha256(b"\x00" + bytes(c)).digest()
              for (c,) in conn.execute("SELECT canonical FROM events WHERE seq < 7 ORDER BY seq")]
    created = conn.execute("SELECT created_at FROM checkpoints").fetchone()[0]
    text = sign_checkpoint(origin=f"evidence-vault/{kid}", tree_size=7, root=root_hash(leaves), time=created,
                           key=keys.load_private_key(bytes(seed)))
    conn.execute("UPDATE checkpoints SET text = ?", (text,))


def _delete_checkpoint_row(conn) -> None:
    conn.execute("DELETE FROM checkpoints")


@pytest.mark.parametrize(("tamper", "locations"), [
    (_stale_checkpoint_root, ["event 7"]),
    (_delete_checkpoint_row, ["event 7"]),
    (_replace_key_columns, None),
])
def test_new_tamper_cases_agree_with_the_app(vault: tuple[Path, str], tamper: Callable,
                                             locations: list[str] | None) -> None:
    path, _ = vault
    conn = _insider(path)
    tamper(conn)
    conn.close()
    code, out = run_on_vault(path)
    report = app_verify(path)
    assert code == 1 and not report.ok, out
    if locations is not None:
        assert [p.location for p in report.problems] == locations == tool_locations(out), out
    else:  # the public columns no longer belong to the private key: both blame the keys
        assert {p.kind for p in report.problems} == {"key_replaced"}
        assert "keys" in tool_locations(out), out


def test_backdated_event_is_a_warning_in_both(vault: tuple[Path, str]) -> None:
    path, _ = vault
    conn = _insider(path)
    _rechain(conn, 6, time="2020-01-01T00:00:00.000000Z")  # before vault_created
    conn.execute("DELETE FROM checkpoints")  # and the checkpoint that would expose the rewrite
    conn.execute("DELETE FROM events WHERE seq = 7")
    conn.close()
    code, out = run_on_vault(path)
    report = app_verify(path)
    assert code == 0 and report.ok, (out, report.problems)
    assert [w.location for w in report.warnings] == ["event 6"]
    assert "note_added" in report.warnings[0].message
    warned = [line for line in out.splitlines() if line.startswith("  note     WARNING")]
    assert len(warned) == 1 and "event seq 6 (note_added)" in warned[0], out


def test_replaced_key_with_expected_key_id_is_altered_in_both(vault: tuple[Path, str]) -> None:
    from app.vault.verify import pin_key

    path, _ = vault
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        original = v.key_id
    assert run_on_vault(path, "--expect-key-id", original)[0] == 0
    conn = _insider(path)
    _replace_signing_key(conn)
    conn.execute("UPDATE keys SET key_id = (SELECT key_id FROM keys WHERE name = 'seal') WHERE name = 'signing'")
    conn.close()
    code, out = run_on_vault(path, "--expect-key-id", original)
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        report = pin_key(v.verify(record=False), expected_key_id=original, actual_key_id=v.key_id)
    assert code == 1 and "not the expected" in out, out
    assert not report.ok and report.problems[0].kind == "key_replaced"
    assert f"not the expected key {original}" in report.problems[0].message


def test_chain_rebuilt_by_an_insider_is_caught_only_by_the_kept_checkpoint(
        vault: tuple[Path, str], tmp_path: Path) -> None:
    path, exported = vault
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
    for table in ("notes", "checkpoints"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM search_docs WHERE item_id = 2")
    conn.execute("DELETE FROM items WHERE id = 2")
    conn.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as forged:
        for number in range(3):  # the forged log grows past the kept checkpoint's size again
            forged.ingest_stream(io.BytesIO(b"later file %d" % number), name=f"later{number}.txt", kind="document")
        forged.checkpoint()  # validly signed, over the forged history
    kept_file = tmp_path / "sent-by-sms.txt"
    kept_file.write_text(exported, encoding="utf-8")

    code, out = run_on_vault(path)
    assert code == 0 and app_verify(path).ok, out  # internally consistent: both agree
    code, out = run_on_vault(path, "--checkpoint", kept_file)
    report = app_verify(path, exported)
    assert code == 1 and not report.ok
    assert tool_locations(out) == ["given checkpoint"] == [p.location for p in report.problems], out
    assert "history was rewritten" in out


# --- Record replay (FORMAT.md "Record events" and the end of "Verification") -------------------


@pytest.fixture(scope="module")
def records_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed vault whose records were all made and changed through the app's API.  Ids: case 1 (changed);
    items 1 (photo, linked to person 1, title/capture time/GPS changed), 2 (statement, consent record of
    person 1, transcript set twice, kind changed), 3 (derived from 1 with a derivation), 4 (derived from 2
    without one); person 1 protected, person 2 (pseudonym, role and protection changed later); consent 1
    (person 1, later withdrawn), 2 (refusal of person 2, who had no consent), 3 (person 2, ngo), 4 (second
    withdrawal of person 1: a new refusal record, since 1 was already withdrawn); note 1 on item 1."""
    folder = tmp_path_factory.mktemp("records")
    png = io.BytesIO()
    Image.new("RGB", (32, 24), (1, 2, 3)).save(png, format="PNG")
    with pytest.MonkeyPatch.context() as mp:
        speed_up(mp)
        with Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor=ACTOR) as vault:
            case_id = vault.add_case("Harbour case", "Boats at the pier")
            lan = vault.add_person(name="Nguy\u1ec5n Th\u1ecb Lan", aliases=("Lan", "\u179b\u17b6\u1793"),
                                   pseudonym="W-1", role="survivor", protected=True)
            bob = vault.add_person(name="Bob", role="witness")
            photo = vault.ingest_stream(io.BytesIO(png.getvalue()), name="photo.png", kind="photo", case_id=case_id)
            statement = vault.ingest_stream(io.BytesIO(b"statement"), name="s.txt", kind="document", case_id=case_id)
            vault.ingest_stream(io.BytesIO(b"blurred"), name="blurred.bin", kind="photo",
                                derived_from=photo.item_id, derivation={"faces": 1, "radius": 12.5})
            vault.ingest_stream(io.BytesIO(b"excerpt"), name="excerpt.txt", kind="document",
                                derived_from=statement.item_id)
            vault.update_case(case_id, description="Boats at the north pier")
            vault.add_consent(lan, scopes=["un", "court"], taken_by="Investigator A",
                              record_item_id=statement.item_id)
            vault.withdraw_consent(lan, reason="afraid of reprisals")
            vault.withdraw_consent(bob, reason="refused")
            vault.add_consent(bob, scopes=["ngo"])
            vault.withdraw_consent(lan, reason="asked again, still no")
            vault.link(photo.item_id, lan)
            vault.update_item(photo.item_id, title="Pier at dawn", captured_at="2026-01-02T03:04:05Z",
                              metadata={"gps": [11.5564, 104.9282]})
            vault.update_item(statement.item_id, kind="interview")
            vault.update_person(bob, pseudonym="W-2", role="other", protected=True)
            vault.add_note(photo.item_id, "the boat on the left is the one she named")
            vault.set_transcript(statement.item_id, [{"start": 0, "end": 1, "speaker": None, "language": None,
                                                      "text": "first draft"}])
            vault.set_transcript(statement.item_id, [
                {"start": 0.0, "end": 2.5, "speaker": "W-1", "language": "vi", "text": "T\u00f4i \u0111\u00e3 \u0111i"},
                {"start": 2.5, "end": 4.0, "speaker": "Investigator A", "language": "en", "text": "Go on."},
            ], language="vi")
            assert vault.verify(record=False).ok
    return folder / "case.vault"


def test_records_made_through_the_app_replay_intact(records_vault: Path, tmp_path: Path) -> None:
    path = tmp_path / "case.vault"
    shutil.copyfile(records_vault, path)
    code, out = run_on_vault(path)
    assert code == 0, out
    assert ("record replay: 1 cases, 2 persons, 4 consents, 4 items, 1 notes, 1 transcripts and 1 links agree"
            in out), out
    assert app_verify(path).ok


def test_the_tools_record_digest_is_the_one_in_the_log(records_vault: Path) -> None:
    """FORMAT.md's construction, recomputed by hand for person 1 from its stored row."""
    iv = _tool_module()
    conn = raw_connect(records_vault)
    key, = conn.execute("SELECT private_key FROM keys WHERE name = 'record'").fetchone()
    name, aliases, pseudonym = conn.execute("SELECT name, aliases, pseudonym FROM persons WHERE id = 1").fetchone()
    event = json.loads(conn.execute("SELECT canonical FROM events WHERE action = 'person_added' "
                                    "ORDER BY seq LIMIT 1").fetchone()[0])
    conn.close()
    assert len(key) == 32 and isinstance(aliases, str)  # JSON columns are digested as their stored text
    record = {"aliases": aliases, "id": 1, "name": name, "pseudonym": pseudonym, "record": "person"}
    expected = hmac.new(key, iv.canonical(record), hashlib.sha256).hexdigest()
    assert event["details"]["record_digest"] == expected == iv.record_digest(
        key, "person", 1, {"name": name, "aliases": aliases, "pseudonym": pseudonym})


RECORD_EDITS = [
    ("consent widened", "UPDATE consents SET scopes = '[\"court\", \"media\", \"ngo\", \"un\"]' WHERE id = 3",
     "consent 3"),
    ("consent row deleted", "DELETE FROM consents WHERE id = 3", "consent 3"),
    ("refusal deleted", "DELETE FROM consents WHERE id = 4", "consent 4"),
    ("withdrawal undone", "UPDATE consents SET withdrawn_at = NULL WHERE id = 1", "consent 1"),
    ("protected flag cleared", "UPDATE persons SET protected = 0 WHERE id = 1", "person 1"),
    ("link deleted", "DELETE FROM item_persons WHERE item_id = 1 AND person_id = 1", "item 1"),
    ("link added", "INSERT INTO item_persons(item_id, person_id) VALUES (2, 2)", "item 2"),
    ("capture time edited", "UPDATE items SET captured_at = '2025-06-01T00:00:00Z' WHERE id = 1", "item 1"),
    ("GPS edited", "UPDATE items SET metadata = '{\"gps\": [13.7563, 100.5018]}' WHERE id = 1", "item 1"),
    ("title edited", "UPDATE items SET title = 'Unrelated' WHERE id = 2", "item 2"),
    ("kind edited", "UPDATE items SET kind = 'video' WHERE id = 2", "item 2"),
    ("provenance forged", "UPDATE items SET derived_from = NULL, derivation = NULL WHERE id = 3", "item 3"),
    ("derivation edited", "UPDATE items SET derivation = '{\"faces\": 0, \"radius\": 12.5}' WHERE id = 3", "item 3"),
    ("person added", "INSERT INTO persons(name, aliases, pseudonym, role, protected, created_at) VALUES "
     "('Someone', '[]', NULL, 'witness', 0, '2026-11-25T15:00:00.000000Z')", "person 3"),
    ("note deleted", "DELETE FROM notes WHERE id = 1", "note 1"),
    ("note text edited", "UPDATE notes SET text = 'nothing to see' WHERE id = 1", "note 1"),
    ("transcript segment edited", "UPDATE transcript_segments SET text = 'Go away.' WHERE item_id = 2 AND idx = 1",
     "transcript 2"),
    ("pseudonym edited", "UPDATE persons SET pseudonym = 'W-9' WHERE id = 1", "person 1"),
    ("case title edited", "UPDATE cases SET title = 'Other case' WHERE id = 1", "case 1"),
]


@pytest.mark.parametrize(("sql", "location"), [edit[1:] for edit in RECORD_EDITS],
                         ids=[edit[0] for edit in RECORD_EDITS])
def test_insider_record_edits_are_found_and_located_like_the_app(
        records_vault: Path, tmp_path: Path, sql: str, location: str) -> None:
    path = tmp_path / "case.vault"
    shutil.copyfile(records_vault, path)
    conn = raw_connect(path)  # with the passphrase, through stock SQLCipher; no event is touched
    conn.execute(sql)
    conn.close()
    code, out = run_on_vault(path)
    report = app_verify(path)
    assert code == 1 and not report.ok, out
    assert tool_locations(out) == [p.location for p in report.problems] == [location], (report.problems, out)


def test_record_replay_waits_for_an_intact_log(records_vault: Path, tmp_path: Path) -> None:
    """FORMAT.md replays the records only over an intact log: with the note_added event removed (a gap in
    the chain) the event problem is reported, not a note "without its creating event"."""
    path = tmp_path / "case.vault"
    shutil.copyfile(records_vault, path)
    conn = _insider(path)
    last, = conn.execute("SELECT max(seq) FROM events").fetchone()
    conn.execute("DELETE FROM events WHERE seq = ?", (last - 1,))  # the note_added event: a gap
    conn.close()
    code, out = run_on_vault(path)
    assert code == 1 and "record replay skipped: the custody log itself is not intact" in out, out
    assert "note 1" not in tool_locations(out)


# --- Bundles -------------------------------------------------------------------------------------


@pytest.fixture
def exported_bundle(pristine: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A ZIP bundle written by the real command line (`evidence-vault export ... --bundle`)."""
    from app.cli import main as cli_main

    path = tmp_path / "case.vault"
    shutil.copyfile(pristine[0], path)
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(png, format="PNG")
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        case_id = vault.add_case("Port case")
        photo = vault.ingest_stream(io.BytesIO(png.getvalue()), name="photo.png", kind="photo", case_id=case_id)
        vault.add_note(photo.item_id, "seen at the port")  # a second event of the exhibit
        (tmp_path / "earlier.txt").write_text(vault.checkpoint(), encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    out = tmp_path / "bundle.zip"
    code = cli_main.main(["--vault", str(path), "--actor", ACTOR, "export", "--case", str(case_id),
                          "--audience", "court", "--level", "original", "--out", str(out), "--bundle"])
    assert code == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    return out, manifest["vault_key_id"]


def test_exported_bundle_zip_and_folder(exported_bundle: tuple[Path, str], tmp_path: Path) -> None:
    bundle, key_id = exported_bundle
    code, out = run_tool("--bundle", bundle, "--expect-key-id", key_id, passphrase=None)
    assert code == 0 and verify_bundle(bundle).ok, out
    assert "inclusion proofs verified" in out and "(the expected key)" in out
    # The bundle's checkpoint covers the export itself: its exported event is the last one included.
    assert "is the export itself, covered by the checkpoint" in out
    with zipfile.ZipFile(bundle) as archive:
        last = json.loads(archive.read("custody/events.jsonl").splitlines()[-1])
        size = int(archive.read("custody/checkpoint.txt").decode().split("\n")[1])
    assert last["action"] == "exported" and last["seq"] == size - 1
    assert run_tool("--bundle", bundle, "--expect-key-id", "0123456789abcdef", passphrase=None)[0] == 1

    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)  # our own, trusted test bundle
    assert run_tool("--bundle", folder, passphrase=None)[0] == 0
    exhibit = next(folder.glob("exhibits/*"))
    data = bytearray(exhibit.read_bytes())
    data[len(data) // 2] ^= 0x01
    exhibit.write_bytes(bytes(data))
    code, out = run_tool("--bundle", folder, passphrase=None)
    assert code == 1 and not verify_bundle(folder).ok
    assert f"PROBLEM  {exhibit.relative_to(folder).as_posix()}: SHA-256 does not match the manifest" in out


def _resigned_as_insider(bundle: Path, folder: Path, edit: Callable[[Path], None]) -> Path:
    """Unpack the bundle, ``edit`` it, recompute every hash and the event count and sign the manifest with
    the vault's own key, read from the vault file (tmp_path/case.vault) with stock SQLCipher."""
    from app.vault import keys

    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)  # our own, trusted test bundle
    edit(folder)
    manifest = json.loads((folder / "manifest.json").read_bytes())
    manifest["events"] = (folder / "custody/events.jsonl").read_bytes().count(b"\n")
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, separators=(",", ":"),
                                                     sort_keys=True), encoding="utf-8")
    conn = raw_connect(bundle.parent / "case.vault")
    seed, = conn.execute("SELECT private_key FROM keys WHERE name = 'signing'").fetchone()
    conn.close()
    resign(folder, keys.load_private_key(bytes(seed)))
    return folder


def _drop_line(where: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        lines = (folder / "custody/events.jsonl").read_bytes().split(b"\n")[:-1]
        index = -1 if where == "last" else next(i for i, line in enumerate(lines)
                                                 if json.loads(line)["action"] == where)
        seq = json.loads(lines.pop(index))["seq"]
        (folder / "custody/events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        proofs = json.loads((folder / "custody/proofs.json").read_bytes())
        proofs["proofs"] = [p for p in proofs["proofs"] if p["seq"] != seq]
        (folder / "custody/proofs.json").write_text(json.dumps(proofs, separators=(",", ":"), sort_keys=True))
    return edit


def _append(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes() + b"x\r\n")


@pytest.mark.parametrize(("edit", "location"), [
    (_append("loadfiles/production.opt"), "loadfiles/production.opt"),  # a file made at export replaced
    (_append("dossier-manifest.json"), "dossier-manifest.json"),
    (_drop_line("last"), "custody/events.jsonl"),  # the export's own record dropped
    (_drop_line("note_added"), "custody/events.jsonl"),  # one event left out
], ids=["load-file", "dossier-manifest", "export-record-dropped", "event-left-out"])
def test_insider_bundle_edits_resigned_with_the_vault_key_are_found_by_both(
        exported_bundle: tuple[Path, str], tmp_path: Path, edit: Callable[[Path], None], location: str) -> None:
    """FORMAT.md "What the exported event binds": the tool, written from the document, and the app agree
    that a re-signed bundle whose content differs from its export record is altered, and where."""
    bundle, key_id = exported_bundle
    folder = _resigned_as_insider(bundle, tmp_path / "edited", edit)
    earlier = bundle.parent / "earlier.txt"
    code, out = run_tool("--bundle", folder, "--expect-key-id", key_id, "--checkpoint", earlier, passphrase=None)
    report = verify_bundle(folder, expected_key_id=key_id, earlier_checkpoint=earlier.read_text())
    assert code == 1 and not report.ok, out
    assert location in tool_locations(out) and location in [p.file_or_part for p in report.problems], out


def test_later_checkpoint_and_trailing_zip_bytes_agree(exported_bundle: tuple[Path, str], tmp_path: Path) -> None:
    bundle, _ = exported_bundle
    with Vault.open(bundle.parent / "case.vault", TEST_PASSPHRASE, actor=ACTOR) as vault:
        later = tmp_path / "later.txt"
        later.write_text(vault.checkpoint(), encoding="utf-8")
    code, out = run_tool("--bundle", bundle, "--checkpoint", later, passphrase=None)
    report = verify_bundle(bundle, earlier_checkpoint=later.read_text())
    assert code == 3 and "NOT COMPARED" in out, out  # intact, but a bundle cannot prove a later checkpoint
    assert report.ok and report.earlier_checkpoint_consistent is None and report.notes
    glued = tmp_path / "glued.zip"
    glued.write_bytes(bundle.read_bytes() + b"appended")
    code, out = run_tool("--bundle", glued, passphrase=None)
    assert code == 1 and "data after the end of the archive" in out
    with pytest.raises(BundleError):
        verify_bundle(glued)


def test_byte_flipped_inside_the_zip(exported_bundle: tuple[Path, str]) -> None:
    bundle, _ = exported_bundle
    with zipfile.ZipFile(bundle) as archive:
        info = next(i for i in archive.infolist() if i.filename.startswith("exhibits/"))
    raw = bytearray(bundle.read_bytes())
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:][:2], "little"), \
        int.from_bytes(raw[info.header_offset + 28:][:2], "little")
    raw[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0x01  # inside the data
    bundle.write_bytes(bytes(raw))
    code, out = run_tool("--bundle", bundle, passphrase=None)
    assert code == 1 and not verify_bundle(bundle).ok
    assert f"PROBLEM  {info.filename}:" in out


def test_resigned_bundle_with_an_edited_event_fails_on_the_proofs(tmp_path: Path) -> None:
    """An insider with the key edits an event line and re-signs the manifest: the hashes and the
    signature agree again, only the chain and the inclusion proof to the signed checkpoint object."""
    built = build_bundle(tmp_path, as_zip=False)
    assert run_tool("--bundle", built.path, passphrase=None)[0] == 0
    events = built.path / "custody" / "events.jsonl"
    events.write_bytes(events.read_bytes().replace(b"investigator-7", b"investigator-8", 1))
    resign(built.path, built.key)
    code, out = run_tool("--bundle", built.path, passphrase=None)
    assert code == 1 and not verify_bundle(built.path).ok
    assert "seq 0: the event is not in the signed log (inclusion proof fails)" in out
    assert "seq 1: prev_hash is not the chain hash of seq 0" in out


def test_bundle_resigned_with_another_key(tmp_path: Path) -> None:
    from app.vault import keys

    built = build_bundle(tmp_path, as_zip=False)
    (built.path / PHOTO_NAME).write_bytes(b"a different photo")
    resign(built.path, keys.new_signing_key(), set_key=True)  # consistent again, under a new key...
    code, out = run_tool("--bundle", built.path, passphrase=None)
    assert code == 1 and not verify_bundle(built.path).ok  # ...but the checkpoint was signed by the old key
    assert "custody/checkpoint.txt: no signature line by the vault's key" in out or "origin is" in out


def _damage_the_notes_page(path: Path) -> int:
    """Flip one byte inside the encrypted page that holds the notes table (a page verify() never
    reads: notes are not evidence, but the file was still altered).  Returns the page number."""
    conn = raw_connect(path)
    page, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'notes'").fetchone()
    page_size, = conn.execute("PRAGMA cipher_page_size").fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    data[(page - 1) * int(page_size) + 30_000] ^= 0x01
    path.write_bytes(bytes(data))
    return page


def test_damaged_page_outside_the_evidence_is_found(vault: tuple[Path, str]) -> None:
    path, _ = vault
    page = _damage_the_notes_page(path)
    code, out = run_on_vault(path)
    assert code == 1, out
    assert f"PROBLEM  vault file: HMAC verification failed for page {page}" in out


def test_app_verify_notices_a_damaged_page_outside_the_evidence(vault: tuple[Path, str]) -> None:
    path, _ = vault
    _damage_the_notes_page(path)
    assert not app_verify(path).ok


def test_vault_with_organisational_recovery(vault: tuple[Path, str]) -> None:
    """With recovery enabled the file is keyed with a raw key K, wrapped in VAULT.keyslot under the
    passphrase (FORMAT.md "Recovery and panic"): the tool unwraps it itself, or takes K directly."""
    from app.vault import keyslot, recovery

    path, _ = vault
    setup = recovery.enable(path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    key = recovery.key_from_shares(setup.shares[:2])
    code, out = run_on_vault(path)
    assert code == 0 and f"opened with the recovery key {setup.fingerprint} (keyslot 'current')" in out, out
    assert run_on_vault(path, "--raw-key", key.hex(), passphrase=None)[0] == 0
    assert run_on_vault(path, passphrase="not the passphrase")[0] == 2

    conn = raw_connect(path, passphrase=keyslot.raw_key_literal(key))
    conn.execute("UPDATE chunks SET data = zeroblob(length(data)) WHERE seq = 0 AND blob_id = "
                 "(SELECT blob_id FROM items WHERE id = 3)")
    conn.close()
    code, out = run_on_vault(path)
    with recovery.open_vault(path, TEST_PASSPHRASE, actor=ACTOR) as opened:
        report = opened.verify(record=False)
    assert code == 1 and not report.ok
    assert tool_locations(out) == [p.location for p in report.problems] == ["item 3"], out


def test_documented_kdf_opens_a_production_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --kdf-iter the tool uses FORMAT.md's 256,000 iterations: they must open a real vault."""
    from app.vault import keys
    from tests.vault.vaultkit import _one_seal_identity

    monkeypatch.undo()  # back to the production KDF; keep only the shared test seal identity (RSA keygen)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    path = tmp_path / "production.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as created:
        created.ingest_stream(io.BytesIO(b"statement"), name="statement.txt", kind="document")
    code, out = run_tool(path)
    assert code == 0 and "(kdf_iter 256000)" in out, out
