"""Cosignatures travelling in bundles from both sides, and a second organisation in the witness role.

Real field vaults (SQLCipher), real PostgreSQL databases for headquarters and for a second organisation,
real bundles exported by the field app and by headquarters, checked by their own verifiers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.export.bundle_verify import verify_bundle
from app.export.exporter import export
from app.hq import query
from app.hq.archive import import_package
from app.hq.export_bundle import export_items, verify_export
from app.hq.headquarters import Headquarters
from app.hq.verify import verify_archive
from app.transfer.identity import HqPublicIdentity
from app.transfer.receipt import import_receipt
from app.transfer.witness import find_cosignature
from app.vault.checkpoint import parse_checkpoint, sign_checkpoint
from app.vault.events import utc_now
from app.vault.merkle import MerkleTree
from app.vault.proofs_file import format_proof_file
from tests.conftest import TEST_PASSPHRASE
from tests.hq.conftest import create_database
from tests.hq.fieldkit import add_text, field_vault, transfer
from tests.vault.vaultkit import speed_up
from tools import independent_verifier

SECOND = "witness.rights-watch.example"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)


def _cosigners(text: str, *witnesses: HqPublicIdentity) -> list[str]:
    found = []
    for witness in witnesses:
        try:
            find_cosignature(text, witness.signing_key, witness.name)
        except Exception:
            continue
        found.append(witness.name)
    return found


def test_field_bundle_carries_the_cosignature_from_the_receipt(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field", texts=("statement one", "statement two"))
    try:
        result = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
        assert result.receipt_path is not None
        import_receipt(vault, result.receipt_path.read_bytes(), hq.public())
        vault.add_note(1, "read again by the legal team")  # the bundle's log is longer than the witnessed one
        out = tmp_path / "bundle"
        export(vault, case_id=case_id, audience="court", level="original", out=out, bundle=True)
    finally:
        vault.close()
    report = verify_bundle(out)
    assert report.ok, report.problems
    proofs = json.loads((out / "custody" / "consistency.json").read_text(encoding="utf-8"))["proofs"]
    witnessed = [p for p in proofs if _cosigners(p["checkpoint"], hq.public())]
    assert [p["tree_size"] for p in witnessed] == [parse_checkpoint(result.cosigned_checkpoint).tree_size]
    # A recipient holding the cosigned checkpoint checks that the bundle's log extends it.
    assert verify_bundle(out, earlier_checkpoint=witnessed[0]["checkpoint"]).ok
    held = tmp_path / "held.txt"
    held.write_text(witnessed[0]["checkpoint"], encoding="utf-8")
    assert independent_verifier.main(["--bundle", str(out), "--checkpoint", str(held)]) == 0


def test_hq_export_carries_the_cosigned_checkpoint(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field")
    try:
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
    finally:
        vault.close()
    out = tmp_path / "hq-export"
    export_items(hq, None, out, actor="legal team")
    assert verify_export(out, hq.public()) == []
    [checkpoint] = list((out / "custody").glob("*/checkpoint.txt"))
    assert _cosigners(checkpoint.read_text(encoding="utf-8"), hq.public()) == [hq.name]


def _witness(folder: Path, db: str, file: Path, key: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["hq", "witness", "--dir", str(folder), "--db", db, str(file), "--key", str(key)])
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


def test_a_second_organisation_runs_the_witness_role(hq: Headquarters, pg_server: object, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Another organisation, its own PostgreSQL database and key: cosigns the same field checkpoints on
    consistency proofs alone, adds its line beside headquarters' and refuses a fork of its own accord."""
    second_db = create_database(pg_server)
    second = tmp_path / "second"
    assert main(["hq", "init", "--dir", str(second), "--db", second_db, "--name", SECOND]) == 0
    other = HqPublicIdentity.from_pem((second / "hq-public.pem").read_bytes())
    folder = tmp_path / "field"
    vault, case_id = field_vault(folder)
    try:
        key = folder / "field.pem"
        key.write_bytes(vault.public_key_pem())
        result = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
        first = tmp_path / "first.txt"
        first.write_text(result.cosigned_checkpoint, encoding="utf-8")  # as it came back in the receipt
        code, both = _witness(second, second_db, first, key, capsys)
        assert code == 0
        assert _cosigners(both, hq.public(), other) == [hq.name, SECOND]
        add_text(vault, case_id, folder / "later.txt", "a later statement")
        later = vault.checkpoint()
        tree = MerkleTree(vault.leaf_hashes())
        signing_key = vault.signing_key
        origin = vault.origin
    finally:
        vault.close()
    old, new = parse_checkpoint(result.cosigned_checkpoint), parse_checkpoint(later)
    proof = tmp_path / "proof.txt"
    proof.write_text(format_proof_file(result.cosigned_checkpoint, later,
                                       tree.consistency_proof(old.tree_size, new.tree_size)), encoding="utf-8")
    code, cosigned = _witness(second, second_db, proof, key, capsys)
    assert code == 0 and _cosigners(cosigned, other) == [SECOND]
    # The same number of events with another root, signed with the vault's own key: a rewritten history.
    forged = tmp_path / "forged.txt"
    forged.write_text(sign_checkpoint(origin=origin, tree_size=new.tree_size, root=tree.root(old.tree_size),
                                      time=utc_now(), key=signing_key), encoding="utf-8")
    code, message = _witness(second, second_db, forged, key, capsys)
    assert code == 1 and "A fork was detected" in message, message  # exit 1: an integrity failure
    with Headquarters.open(second, TEST_PASSPHRASE, conninfo=second_db) as witness_org:
        [listed] = query.list_vaults(witness_org)
        assert listed.forks == 1
        report = verify_archive(witness_org)
        # Its own log and cosignatures verify; the standing fork is what it reports.
        assert report.checkpoints_witnessed == 2 and report.forks == 1
        assert [p for p in report.problems if "FORK" not in p] == []


def test_witnessing_on_a_proof_keeps_headquarters_verifiable(hq: Headquarters, tmp_path: Path) -> None:
    """A checkpoint cosigned on a proof alone ('hq witness') between two packages: 'hq verify' stays clean."""
    from app.hq.witness_store import Offered, witness

    folder = tmp_path / "field"
    vault, case_id = field_vault(folder)
    try:
        first = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
        vault.add_note(1, "checked")
        later = vault.checkpoint()
        tree = MerkleTree(vault.leaf_hashes())
        pem = vault.public_key_pem()
        old, new = parse_checkpoint(first.cosigned_checkpoint), parse_checkpoint(later)
        with hq.conn.transaction():
            witness(hq.conn, hq.identity, Offered(later, pem, proof_from=(
                old.tree_size, old.root, tree.consistency_proof(old.tree_size, new.tree_size))),
                package_id=None, actor="a")
        assert verify_archive(hq).ok, verify_archive(hq).problems
        add_text(vault, case_id, folder / "more.txt", "more")
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "two.evt"), actor="a")
    finally:
        vault.close()
    report = verify_archive(hq)
    assert report.ok, report.problems
    assert report.checkpoints_witnessed == 3
