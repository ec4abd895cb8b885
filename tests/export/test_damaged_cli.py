"""`evidence-vault export --damaged-as-native` (issue 15): a truncated JPEG stops the export in plain words, and
with the flag it is given a placeholder page and shipped unchanged in the bundle, named by its ERN."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.export.ern import item_ern
from app.vault import db
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, speed_up


def test_cli_damaged_photo_stops_then_goes_in_as_native(tmp_path: Path, capsys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    damaged_file = shared_data_path("media", "broken_truncated_50pct.jpg")
    path = tmp_path / "cli.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A") as vault:
        case_id = vault.add_case("Harbour case")
        vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg"), case_id=case_id)
        damaged = vault.ingest_file(damaged_file, case_id=case_id).item_id

    def run(*extra: str) -> int:
        return cli_main.main(["--vault", str(path), "--actor", "Investigator A", "export", "--case", str(case_id),
                              "--audience", "court", "--level", "original", "--bundle", *extra])

    out = tmp_path / "bundle"
    assert run("--out", str(out)) == 2
    err = capsys.readouterr().err
    ern = item_ern("EV", damaged)
    assert f"item {damaged} (ERN {ern})" in err and "--damaged-as-native" in err and "Traceback" not in err
    assert not out.exists()
    assert run("--out", str(out), "--damaged-as-native") == 0
    captured = capsys.readouterr()
    assert f"item {damaged} could not be displayed" in captured.err and "placeholder page" in captured.err
    native = out / "exhibits" / f"{ern}.jpg"
    assert hashlib.sha256(native.read_bytes()).digest() == hashlib.sha256(damaged_file.read_bytes()).digest()
