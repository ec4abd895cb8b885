"""`evidence-vault hq …` end to end: init, import, list, search, verify, export, witness, receipt."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from app.hq.export_bundle import verify_export
from app.transfer.identity import HqPublicIdentity
from tests.conftest import TEST_PASSPHRASE
from tests.hq.fieldkit import field_vault, transfer
from tests.vault.vaultkit import speed_up


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)


def _hq(args: list[str], folder: Path, db: str) -> list[str]:
    return ["hq", args[0], "--dir", str(folder), "--db", db, *args[1:]]


def test_cli_round_trip(tmp_path: Path, hq_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "hq"
    assert main(_hq(["init", "--name", "hq.example.org"], folder, hq_db)) == 0
    public = HqPublicIdentity.from_pem((folder / "hq-public.pem").read_bytes())
    vault, case_id = field_vault(tmp_path / "field", texts=("ការធ្វើទារុណកម្ម នៅភូមិ", "witness saw the trucks"))
    try:
        package = transfer(vault, case_id, public, tmp_path / "case.evt")
    finally:
        vault.close()
    capsys.readouterr()
    assert main(_hq(["import", str(package)], folder, hq_db)) == 0
    out = capsys.readouterr().out
    assert "2 items, 2 new originals" in out
    assert (tmp_path / "case.evt.receipt").is_file()
    assert main(_hq(["import", str(package)], folder, hq_db)) == 2  # replay: refused, clear message
    assert "already imported" in capsys.readouterr().err
    assert main(_hq(["search", "ទារុណកម្ម"], folder, hq_db)) == 0
    assert "ទារុណកម្ម" in capsys.readouterr().out
    assert main(_hq(["list", "--vaults"], folder, hq_db)) == 0
    assert "2 items  1 packages" in capsys.readouterr().out
    assert main(_hq(["verify"], folder, hq_db)) == 0
    assert capsys.readouterr().out.startswith("INTACT: 2 originals")
    # The receipt can be written again from the database; HQ's checkpoint verifies with its key.
    from app.transfer.receipt import read_receipt
    from app.vault.checkpoint import verify_checkpoint

    package_id = read_receipt((tmp_path / "case.evt.receipt").read_bytes(), public).package_id
    assert main(_hq(["receipt", package_id, "--out", str(tmp_path / "again.receipt")], folder, hq_db)) == 0
    assert (tmp_path / "again.receipt").read_bytes() == (tmp_path / "case.evt.receipt").read_bytes()
    capsys.readouterr()
    assert main(_hq(["checkpoint"], folder, hq_db)) == 0
    held = tmp_path / "hq-checkpoint.txt"
    held.write_text(capsys.readouterr().out)
    assert verify_checkpoint(held.read_text(), public.signing_key).tree_size >= 4
    assert main(_hq(["verify", "--checkpoint", str(held)], folder, hq_db)) == 0
    export = tmp_path / "export"
    assert main(_hq(["export", "--items", "all", "--out", str(export)], folder, hq_db)) == 0
    assert verify_export(export, public) == []
    assert main(["hq", "verify-export", str(export), "--hq", str(folder / "hq-public.pem")]) == 0
    # An altered exported original is caught by the export's own check.
    original = next((export / "originals").iterdir())
    original.write_bytes(original.read_bytes() + b"!")
    assert any("was altered" in p for p in verify_export(export, public))
    capsys.readouterr()
    assert main(["hq", "verify-export", str(export), "--hq", str(folder / "hq-public.pem")]) == 1
    assert "PROBLEM: originals/" in capsys.readouterr().out
    manifest = export / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"size":', b'"size": ', 1))
    assert "not signed by headquarters" in verify_export(export, public)[0]


ALTERATIONS = {
    "original": ("UPDATE blob_chunks SET data = overlay(data placing '\\x00'::bytea from 3)", "PROBLEM: original"),
    "field log": ("UPDATE field_events SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), "
                  "'Investigator A', 'Investigator B'), 'UTF8')", "PROBLEM: field vault"),
    "record": ("UPDATE persons SET record = overlay(record placing '\\x00'::bytea from 20)", "PROBLEM: persons"),
    "witness state": ("DELETE FROM field_events WHERE seq = (SELECT max(seq) FROM field_events)",
                      "PROBLEM: field vault"),
}


@pytest.mark.parametrize("what", sorted(ALTERATIONS))
def test_verify_fails_on_altered_archive(tmp_path: Path, hq_db: str, capsys: pytest.CaptureFixture[str],
                                         what: str) -> None:
    import psycopg

    sql, expected = ALTERATIONS[what]

    folder = tmp_path / "hq"
    assert main(_hq(["init", "--name", "hq.example.org"], folder, hq_db)) == 0
    public = HqPublicIdentity.from_pem((folder / "hq-public.pem").read_bytes())
    vault, case_id = field_vault(tmp_path / "field")
    try:
        assert main(_hq(["import", str(transfer(vault, case_id, public, tmp_path / "p.evt"))], folder, hq_db)) == 0
    finally:
        vault.close()
    with psycopg.connect(hq_db, autocommit=True) as conn:
        assert conn.execute(sql).rowcount >= 1
    capsys.readouterr()
    assert main(_hq(["verify"], folder, hq_db)) == 1
    assert expected in capsys.readouterr().out


def test_witness_cosigns_a_checkpoint_and_a_proof(tmp_path: Path, hq_db: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from app.transfer.witness import find_cosignature
    from app.vault.merkle import MerkleTree
    from app.vault.proofs_file import format_proof_file

    folder = tmp_path / "hq"
    assert main(_hq(["init", "--name", "witness.example.org"], folder, hq_db)) == 0
    public = HqPublicIdentity.from_pem((folder / "hq-public.pem").read_bytes())
    vault, _case_id = field_vault(tmp_path / "field")
    try:
        key = tmp_path / "field.pem"
        key.write_bytes(vault.public_key_pem())
        first = vault.checkpoint()
        vault.add_case("another case")
        second = vault.checkpoint()
        tree = MerkleTree(vault.leaf_hashes())
    finally:
        vault.close()
    (tmp_path / "cp1.txt").write_text(first)
    capsys.readouterr()
    assert main(_hq(["witness", str(tmp_path / "cp1.txt"), "--key", str(key)], folder, hq_db)) == 0
    assert find_cosignature(capsys.readouterr().out, public.signing_key, public.name) > 0
    from app.vault.checkpoint import parse_checkpoint

    old, new = parse_checkpoint(first), parse_checkpoint(second)
    proof = format_proof_file(first, second, tree.consistency_proof(old.tree_size, new.tree_size))
    (tmp_path / "proof.txt").write_text(proof)
    assert main(_hq(["witness", str(tmp_path / "proof.txt"), "--key", str(key)], folder, hq_db)) == 0
    assert find_cosignature(capsys.readouterr().out, public.signing_key, public.name) > 0
    # The first checkpoint again is older than the accepted one: refused.
    assert main(_hq(["witness", str(tmp_path / "cp1.txt"), "--key", str(key)], folder, hq_db)) == 2
    assert "older" in capsys.readouterr().err


def test_database_not_running_is_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "hq"
    nowhere = f"host={tmp_path} dbname=evidence_hq user=evhq"  # a folder with no server socket in it
    assert main(_hq(["init", "--name", "hq.example.org"], folder, nowhere)) == 2
    assert "not reachable. Start it with 'scripts/hq.sh start DIR'" in capsys.readouterr().err
    assert not folder.exists() or not any(folder.iterdir())  # nothing written
