"""A bundle recipient who holds an earlier checkpoint catches a rewritten history (issue 9).

The insider here knows the passphrase: they swap an exhibit's bytes, rebuild a perfect chain, drop the
stored checkpoints and re-sign with the vault's own key.  The vault and a plain bundle check then say
"intact"; only the earlier checkpoint, compared through the bundle's consistency proofs, reveals it.
Everything runs against a real SQLCipher vault and real exported bundles.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from app.cli import bundle_cmds
from app.export import bundle as layout
from app.export.bundle_custody_checks import EARLIER
from app.export.bundle_verify import extract_bundle, verify_bundle
from app.export.exporter import export
from app.vault import keys
from app.vault.canonical import canonical_json
from app.vault.checkpoint import sign_checkpoint
from app.vault.events import Event
from app.vault.merkle import MerkleTree
from app.vault.proofs_file import format_proof_file
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.export.test_bundle_shell import command_blocks
from tests.export.test_bundle_support import Log, build_bundle, resign
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, speed_up
from tools import independent_verifier


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evidence-vault")
    parser.add_argument("--vault")
    parser.add_argument("--passphrase-stdin", action="store_true")
    parser.add_argument("--read-only", action="store_true")
    parser.add_argument("--actor", default=ACTOR)
    bundle_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two photos and a checkpoint that "left the laptop" (written to earlier.txt), then one more event."""
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    with new_vault(tmp_path) as v:
        for index, colour in enumerate(((200, 30, 90), (20, 160, 60)), 1):
            source = tmp_path / f"photo{index}.png"
            source.write_bytes(_png(colour))
            v.ingest_file(source)
        (tmp_path / "earlier.txt").write_text(v.checkpoint(), encoding="utf-8")
        v.add_note(2, "seen by the legal team")
        (tmp_path / "key.pem").write_bytes(v.public_key_pem())
    return tmp_path / "test.vault"


def _export(path: Path, out: Path) -> Path:
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        export(v, item_ids=[1, 2], audience="court", level="original", out=out, bundle=True)
    return out


def _rewrite_exhibit(path: Path) -> None:
    """The insider swaps item 1's bytes and makes everything agree again, signed with the vault's key."""
    conn = raw_connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    blob_id, old_sha = conn.execute("SELECT blob_id, sha256 FROM items WHERE id = 1").fetchone()
    forged = _png((0, 0, 255))
    new_sha = hashlib.sha256(forged).hexdigest()
    conn.execute("DELETE FROM chunks WHERE blob_id = ?", (blob_id,))
    conn.execute("INSERT INTO chunks(blob_id, seq, data) VALUES (?, 0, ?)", (blob_id, forged))
    conn.execute("UPDATE blobs SET sha256 = ?, size = ?, chunk_count = 1 WHERE id = ?", (new_sha, len(forged), blob_id))
    conn.execute("UPDATE items SET sha256 = ?, size = ? WHERE id = 1", (new_sha, len(forged)))
    events = [Event.from_canonical(r[0]) for r in conn.execute("SELECT canonical FROM events ORDER BY seq")]
    kept = [e for e in events if e.action != "checkpoint_made"]
    conn.execute("DELETE FROM events")
    prev = events[0].prev_hash
    for seq, event in enumerate(kept):
        sha = new_sha if event.item_sha256 == old_sha else event.item_sha256
        details = {k: (new_sha if v == old_sha else v) for k, v in event.details.items()}
        if "size" in details and event.item_id == 1:
            details["size"] = len(forged)
        rebuilt = replace(event, seq=seq, prev_hash=prev, item_sha256=sha, details=details)
        conn.execute("INSERT INTO events(seq, canonical, chain_hash, action, item_id) VALUES (?, ?, ?, ?, ?)",
                     (seq, rebuilt.canonical_bytes(), rebuilt.chain_hash(), rebuilt.action, rebuilt.item_id))
        prev = rebuilt.chain_hash()
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.checkpoint()  # validly signed, over the forged history
        assert v.verify(record=False).ok  # the vault alone cannot tell


def test_honest_later_bundle_extends_the_earlier_checkpoint(vault_path: Path, capsys) -> None:
    folder = vault_path.parent
    out = _export(vault_path, folder / "bundle.zip")
    earlier = (folder / "earlier.txt").read_text(encoding="utf-8")
    report = verify_bundle(out, earlier_checkpoint=earlier)
    assert report.ok, report.problems
    assert report.earlier_checkpoint_consistent is True
    assert run(["verify-bundle", str(out), "--checkpoint", f"@{folder / 'earlier.txt'}"]) == 0
    assert "is an extension of the earlier checkpoint" in capsys.readouterr().out
    assert independent_verifier.main(["--bundle", str(out), "--checkpoint", str(folder / "earlier.txt")]) == 0


def test_full_insider_rewrite_is_caught_with_the_earlier_checkpoint(vault_path: Path, capsys) -> None:
    folder = vault_path.parent
    _rewrite_exhibit(vault_path)
    out = _export(vault_path, folder / "bundle.zip")
    assert verify_bundle(out).ok  # on its own, the re-signed bundle is consistent
    report = verify_bundle(out, earlier_checkpoint=(folder / "earlier.txt").read_text(encoding="utf-8"))
    assert not report.ok and report.earlier_checkpoint_consistent is False
    assert [p.file_or_part for p in report.problems] == [EARLIER]
    assert "rewritten" in report.problems[0].message
    capsys.readouterr()
    assert run(["verify-bundle", str(out), "--checkpoint", f"@{folder / 'earlier.txt'}"]) == 1
    printed = capsys.readouterr().out
    assert "NOT VERIFIED" in printed and "history was rewritten" in printed
    assert independent_verifier.main(["--bundle", str(out), "--checkpoint", str(folder / "earlier.txt")]) == 1


def test_truncated_tail_is_caught_with_a_later_checkpoint(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The insider erases the last events (the note) after a checkpoint covering them was sent away, and
    exports later: a bundle signed after that checkpoint yet covering fewer events (a bundle signed before
    it is merely older, and is not compared: tests/export/test_bundle_export_binding.py)."""
    from datetime import UTC, datetime, timedelta

    from app.vault import events as events_module

    folder = vault_path.parent
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        later = v.checkpoint()
        size = len(v.leaf_hashes())
    conn = raw_connect(vault_path)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE seq >= ?", (size - 3,))
    conn.execute("DELETE FROM notes")
    conn.execute("DELETE FROM checkpoints WHERE tree_size > ?", (size - 3,))
    conn.close()
    monkeypatch.setattr(events_module, "_clock", lambda: datetime.now(UTC) + timedelta(hours=1))  # an hour later
    out = _export(vault_path, folder / "bundle")
    assert verify_bundle(out).ok
    report = verify_bundle(out, earlier_checkpoint=later)
    assert not report.ok and [p.file_or_part for p in report.problems] == [EARLIER]
    assert verify_bundle(out, earlier_checkpoint=(folder / "earlier.txt").read_text(encoding="utf-8")).ok


def test_forged_consistency_proof_in_a_bundle_is_reported(vault_path: Path) -> None:
    folder = vault_path.parent
    out = _export(vault_path, folder / "bundle")
    proofs = out / layout.CONSISTENCY
    data = proofs.read_bytes()
    first = data.index(b'"consistency_proof":["') + len(b'"consistency_proof":["')
    proofs.write_bytes(data[:first] + (b"0" if data[first:first + 1] != b"0" else b"1") + data[first + 1:])
    report = verify_bundle(out, earlier_checkpoint=(folder / "earlier.txt").read_text(encoding="utf-8"))
    assert not report.ok and report.earlier_checkpoint_consistent is False
    assert {layout.CONSISTENCY, EARLIER} <= {p.file_or_part for p in report.problems}


def test_proof_file_round_trip_and_forgery(vault_path: Path, capsys) -> None:
    folder = vault_path.parent
    cp = f"@{folder / 'earlier.txt'}"
    capsys.readouterr()
    assert run(["--vault", str(vault_path), "proof", "--from", cp]) == 0
    proof = folder / "proof.txt"
    proof.write_text(capsys.readouterr().out, encoding="utf-8")
    key = str(folder / "key.pem")
    assert run(["verify-proof", str(proof), "--key", key, "--from", cp]) == 0
    assert capsys.readouterr().out.startswith("CONSISTENT")
    text = proof.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("proof "))
    forged = line[:-1] + ("0" if line[-1] != "0" else "1")
    (folder / "forged.txt").write_text(text.replace(line, forged), encoding="utf-8")
    assert run(["verify-proof", str(folder / "forged.txt"), "--key", key]) == 1
    assert "NOT CONSISTENT" in capsys.readouterr().out
    _rewrite_exhibit(vault_path)
    from app.errors import IntegrityError

    with pytest.raises(IntegrityError, match="rewritten"):
        run(["--vault", str(vault_path), "proof", "--from", cp])


def test_independent_verifier_checks_proof_files_like_verify_proof(vault_path: Path, capsys) -> None:
    """tools/independent_verifier.py --proof (from FORMAT.md "Consistency proof files") and the app's
    verify-proof reach the same verdict: honest, a flipped proof hash, another key, a proof that does not
    start from the checkpoint headquarters holds, and a malformed file."""
    folder = vault_path.parent
    held = folder / "earlier.txt"
    capsys.readouterr()
    assert run(["--vault", str(vault_path), "proof", "--from", f"@{held}"]) == 0
    honest = capsys.readouterr().out
    key = folder / "key.pem"
    other_key = folder / "other.pem"
    other_key.write_bytes(keys.public_key_pem(keys.new_signing_key()))
    line = next(x for x in honest.splitlines() if x.startswith("proof "))
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:  # a valid proof from size 1, not 2
        new_cp = v.checkpoint()
        tree = MerkleTree(v.leaf_hashes())
        old_cp = sign_checkpoint(origin=v.origin, tree_size=1, root=tree.root(1), time="2026-01-01T00:00:00Z",
                                 key=v.signing_key)
        other_start = format_proof_file(old_cp, new_cp, tree.consistency_proof(1, tree.size))
    cases = {
        "honest": (honest, key, 0),
        "flipped hash": (honest.replace(line, line[:-1] + ("0" if line[-1] != "0" else "1")), key, 1),
        "another key": (honest, other_key, 1),
        "starts elsewhere": (other_start, key, 1),
        "malformed": (honest.replace("old-size", "old size"), key, 1),
    }
    for name, (text, pem, expected) in cases.items():
        path = folder / f"{name.replace(' ', '-')}.txt"
        path.write_text(text, encoding="utf-8")
        capsys.readouterr()
        app = run(["verify-proof", str(path), "--key", str(pem), "--from", f"@{held}"])
        tool = independent_verifier.main(["--proof", str(path), "--key", str(pem), "--checkpoint", str(held)])
        assert app == tool == expected, (name, app, tool, capsys.readouterr().out)
    assert independent_verifier.main(["--proof", str(folder / "missing.txt"), "--key", str(key)]) == 2
    assert independent_verifier.main(["--proof", str(folder / "honest.txt")]) == 2  # no key given


@pytest.mark.skipif(not all(shutil.which(t) for t in ("bash", "openssl", "base64", "python3")),
                    reason="needs bash, openssl, base64 and python3")
@pytest.mark.parametrize("rewritten", [False, True], ids=["honest", "rewritten"])
def test_verify_txt_earlier_checkpoint_steps(vault_path: Path, rewritten: bool) -> None:
    folder = vault_path.parent
    if rewritten:
        _rewrite_exhibit(vault_path)
    out = extract_bundle(_export(vault_path, folder / "bundle.zip"), folder / "extracted") and folder / "extracted"
    blocks = command_blocks((out / layout.INSTRUCTIONS).read_text(encoding="utf-8"))
    env = {**os.environ, "E": str(folder / "earlier.txt")}
    results = [subprocess.run(["bash", "-c", "set -o pipefail\n" + "\n".join(b)], cwd=out, env=env,
                              capture_output=True, text=True, timeout=60) for b in blocks[8:10]]
    assert results[0].stdout.strip() == "Signature Verified Successfully"  # signed by the same key either way
    if rewritten:
        assert results[1].returncode != 0 and "history was rewritten" in results[1].stderr
    else:
        assert results[1].returncode == 0, results[1].stderr
        assert results[1].stdout.splitlines()[-1].startswith("OK: the bundle's log of")


def test_transcript_is_listed_and_tied_to_the_chain_by_its_own_hash(vault_path: Path) -> None:
    folder = vault_path.parent
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.set_transcript(2, [dict(start=0.0, end=3.0, speaker="Interviewer", language="km", text="ភាសាខ្មែរ test")])
    out = _export(vault_path, folder / "bundle")
    assert verify_bundle(out).ok
    manifest_bytes = (out / layout.MANIFEST).read_bytes()
    entries = [e for e in json.loads(manifest_bytes)["files"] if e["role"] == "transcript"]
    assert len(entries) == 1 and re.fullmatch(r"transcripts/EX-[0-9A-Z-]+\.txt", entries[0]["path"])
    assert entries[0]["sha256"] == hashlib.sha256((out / entries[0]["path"]).read_bytes()).hexdigest()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        exported = [e for e in v.events() if e.action == "exported"][-1]
    # The exported event precedes the bundle (so the bundle's checkpoint covers it): it names every
    # file made at export by its SHA-256, and the bundle carries that event as its last.
    assert exported.details["bundle_manifest_sha256"] is None
    assert [entries[0]["path"], entries[0]["sha256"]] in exported.details["bundle_files"]
    last = json.loads((out / layout.EVENTS).read_bytes().splitlines()[-1])
    assert last["seq"] == exported.seq and last["details"]["bundle_files"] == exported.details["bundle_files"]


def test_bundle_without_consistency_file_is_not_intact(tmp_path: Path) -> None:
    """custody/consistency.json is required (format version 1 is pre-release: no bundle made before it
    must stay intact): without it the dossier's checkpoint, and any earlier one, cannot be tied to the
    bundle's log.  A signature from another vault is still named as such."""
    built = build_bundle(tmp_path, as_zip=False)
    earlier = built.log.checkpoint(3)
    assert verify_bundle(built.path, earlier_checkpoint=earlier).ok is False  # 3 was never printed: no proof
    out = built.path
    (out / layout.CONSISTENCY).unlink()
    manifest = json.loads((out / layout.MANIFEST).read_bytes())
    manifest["files"] = [e for e in manifest["files"] if e["path"] != layout.CONSISTENCY]
    (out / layout.MANIFEST).write_bytes(canonical_json(manifest))
    resign(out, built.key)
    report = verify_bundle(out)
    assert {str(p) for p in report.problems} == {
        f"{layout.MANIFEST}: does not list {layout.CONSISTENCY} as 'custody-consistency', so the bundle cannot "
        "be fully checked",
        f"{layout.DOSSIER_MANIFEST}: its checkpoint of 6 events has no verified consistency proof in "
        f"{layout.CONSISTENCY}, so the dossier cannot be shown to come from this bundle's log"}
    report = verify_bundle(out, earlier_checkpoint=built.log.checkpoint(6))
    assert not report.ok and report.earlier_checkpoint_consistent is False and EARLIER in {
        p.file_or_part for p in report.problems}
    foreign = Log(keys.new_signing_key())
    foreign.add("vault_created")
    report = verify_bundle(out, earlier_checkpoint=foreign.checkpoint())
    assert next(p for p in report.problems if p.file_or_part == EARLIER).message.startswith("is not signed")
