"""Who acts (issue 15): a command-line export certifies the role the vault remembers for the person
exporting (`profile --role`), not a fixed "Investigator".  Real vault, real export, the PDF read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.cli.main import main
from app.export.pdf.inspect import extract_everything
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import speed_up


def test_cli_export_is_certified_with_the_remembered_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    path = tmp_path / "case.vault"
    photo = tmp_path / "dock.png"
    Image.new("RGB", (64, 48), (20, 90, 160)).save(photo)
    with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A", organisation="Legal Aid Mae Sot") as vault:
        case_id = vault.add_case("Dock")
        vault.ingest_file(photo, case_id=case_id, title="The dock at dawn")
    who = ["--vault", str(path), "--actor", "Lawyer Somchai"]
    assert main([*who, "profile", "--role", "Lawyer", "--organisation", "Legal Aid Mae Sot"]) == 0
    out = tmp_path / "court.pdf"
    assert main([*who, "export", "--case", str(case_id), "--audience", "court", "--level", "original",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    text = extract_everything(out).attachments["dossier-text.txt"].decode("utf-8")
    certification = text[text.rindex("Certification"):]
    assert "Lawyer Somchai" in certification
    role = certification[certification.index("Role"):].splitlines()
    assert "Lawyer" in " ".join(role[:2]) and "Investigator" not in " ".join(role[:2]), role[:3]
