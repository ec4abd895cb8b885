"""`evidence-vault transfer` and `evidence-vault receipt import`, run through app.cli.main.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.transfer.identity import HqIdentity, generate_hq_identity
from app.transfer.package import open_transfer
from app.transfer.receipt import make_receipt
from app.transfer.witness import add_cosignature, cosign
from app.vault.events import utc_now
from tests.conftest import TEST_PASSPHRASE, shared_data_path


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "field.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)

    def run(*args: str, expect: int = 0) -> tuple[str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == expect, f"{args} exited {code}: {err}"
        return out, err

    return run


@pytest.fixture
def hq_files(tmp_path: Path) -> tuple[HqIdentity, Path]:
    hq = generate_hq_identity("hq.example.org")
    public = tmp_path / "hq-public.pem"
    public.write_bytes(hq.public().to_pem())
    return hq, public


def _field(cli, tmp_path: Path) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    cli("init")
    case_id = cli("case", "add", "Compound K")[0].strip()
    photo = shared_data_path("media", "jpeg_exif_gps_DSCN0021.jpg")
    note = tmp_path / "statement.txt"
    note.write_text("statement\n")
    ids = cli("ingest", str(photo), str(note), "--case", case_id)[0].split()
    return case_id, ids


def test_transfer_and_receipt_round_trip(cli, tmp_path: Path, hq_files) -> None:  # type: ignore[no-untyped-def]
    hq, public = hq_files
    case_id, _ids = _field(cli, tmp_path)
    out = tmp_path / "case.evt"
    stdout, stderr = cli("transfer", "--case", case_id, "--to", str(public), "--out", str(out))
    assert "Transfer: 0%" in stderr and "Transfer: 100%" in stderr
    assert "2 items" in stdout and hq.key_id() in stdout
    with open_transfer(out, hq) as pkg:
        assert pkg.verify() == []
        manifest = pkg.manifest
    log = json.loads(cli("log", "--json")[0])
    assert any(e["details"].get("package_id") == manifest.package_id for e in log)

    cosigned = add_cosignature(manifest.checkpoint, cosign(manifest.checkpoint, hq.signing_key, hq.name,
                                                           timestamp=1_800_000_000))
    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(make_receipt(hq, package_id=manifest.package_id, field_origin=manifest.field_origin,
                                     cosigned_checkpoint=cosigned, item_hashes=manifest.item_hashes(),
                                     received_at=utc_now()))
    stdout, _ = cli("receipt", "import", str(receipt), "--hq", str(public))
    assert "Receipt recorded" in stdout and manifest.package_id in stdout
    _, stderr = cli("receipt", "import", str(receipt), "--hq", str(public), expect=2)
    assert "already imported" in stderr
    assert cli("verify")[0].startswith("Intact")


def test_transfer_of_selected_items(cli, tmp_path: Path, hq_files) -> None:  # type: ignore[no-untyped-def]
    hq, public = hq_files
    case_id, ids = _field(cli, tmp_path)
    out = tmp_path / "one.evt"
    cli("transfer", "--case", case_id, "--items", ids[1], "--to", str(public), "--out", str(out))
    with open_transfer(out, hq) as pkg:
        assert [i["id"] for i in pkg.manifest.items] == [int(ids[1])]


def test_cli_errors_are_sentences(cli, tmp_path: Path, hq_files) -> None:  # type: ignore[no-untyped-def]
    _, public = hq_files
    case_id, _ = _field(cli, tmp_path)
    out = tmp_path / "x.evt"
    _, err = cli("transfer", "--case", case_id, "--to", str(tmp_path / "missing.pem"), "--out", str(out), expect=2)
    assert "does not exist" in err
    _, err = cli("transfer", "--case", case_id, "--items", "a,b", "--to", str(public), "--out", str(out), expect=2)
    assert "--items must be item numbers" in err
    _, err = cli("transfer", "--case", "99", "--to", str(public), "--out", str(out), expect=2)
    assert "no case number 99" in err
    not_a_key = tmp_path / "photo.pem"
    not_a_key.write_bytes(b"hello")
    _, err = cli("transfer", "--case", case_id, "--to", str(not_a_key), "--out", str(out), expect=2)
    assert "not a headquarters public key file" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    _, err = cli("receipt", "import", str(bad), "--hq", str(public), expect=2)
    assert "not a valid receipt" in err
    assert not out.exists()
    assert "Traceback" not in err
