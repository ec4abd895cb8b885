"""`evidence-vault export` end to end through the real command line entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.export.bundle_verify import verify_bundle
from app.export.pdf.inspect import extract_everything
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity


@pytest.fixture
def cli_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    gps = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    path = tmp_path / "cli.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A") as vault:
        case_id = vault.add_case("Harbour case")
        photo = vault.ingest_file(gps, case_id=case_id, title="Harbour of Somchai Boonmee").item_id
        witness = vault.add_person(name="Somchai Boonmee", pseudonym="Witness W-2", role="witness", protected=True)
        vault.add_consent(witness, scopes="court")
        vault.link(photo, witness)
    return path, {"case": case_id, "photo": photo}


def _run(vault: Path, *args: str) -> int:
    return cli_main.main(["--vault", str(vault), "--actor", "Investigator A", "export", *args])


def test_cli_writes_a_sealed_pdf_and_prints_it(cli_vault, tmp_path: Path, capsys) -> None:
    vault, ids = cli_vault
    out = tmp_path / "court.pdf"
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "redacted",
                "--out", str(out), "--ern-prefix", "ICC-7", "--accept-automatic-redaction", "Reviewer R")
    printed = capsys.readouterr().out
    assert code == 0
    assert f"Wrote sealed PDF dossier: {out}" in printed and "ICC-7-000001" in printed
    contents = extract_everything(out)
    assert "ICC-7-000001" in contents.page_texts[0]
    assert "Somchai" not in contents.attachments["dossier-text.txt"].decode("utf-8")


def test_cli_refuses_without_consent_and_writes_nothing(cli_vault, tmp_path: Path, capsys) -> None:
    vault, ids = cli_vault
    out = tmp_path / "media.pdf"
    code = _run(vault, "--case", str(ids["case"]), "--audience", "media", "--level", "redacted", "--out", str(out))
    error = capsys.readouterr().err
    assert code == 2
    assert f"Item {ids['photo']} " in error and "not with the media" in error and "Somchai" not in error
    assert not out.exists()
    code = _run(vault, "--case", str(ids["case"]), "--audience", "media", "--level", "redacted", "--out",
                str(out), "--override-consent", "The editor insists on publishing")
    assert code == 2 and "only for a court" in capsys.readouterr().err
    assert list(tmp_path.glob("*media.pdf*")) == []


def test_cli_writes_a_zip_bundle(cli_vault, tmp_path: Path, capsys) -> None:
    vault, ids = cli_vault
    out = tmp_path / "bundle.zip"
    code = _run(vault, "--case", str(ids["case"]), "--audience", "court", "--level", "original",
                "--out", str(out), "--bundle")
    printed = capsys.readouterr().out
    assert code == 0 and "Wrote bundle (ZIP)" in printed and "bundle manifest SHA-256" in printed
    assert verify_bundle(out).ok


def test_cli_needs_exactly_one_selection(cli_vault, tmp_path: Path) -> None:
    vault, _ = cli_vault
    with pytest.raises(SystemExit) as caught:
        _run(vault, "--case", "1", "--items", "1", "--audience", "court", "--level", "original",
             "--out", str(tmp_path / "x.pdf"))
    assert caught.value.code == 2
    assert _run(vault, "--items", "1,x", "--audience", "court", "--level", "original",
                "--out", str(tmp_path / "x.pdf")) == 2
    assert not (tmp_path / "x.pdf").exists()


def test_cli_near_matches_stop_until_a_reviewer_clears_them(cli_vault, tmp_path: Path, capsys) -> None:
    vault, ids = cli_vault
    with Vault.open(vault, TEST_PASSPHRASE, actor="Investigator A") as opened:
        # A misspelling the redactor does not replace, but the near-match report must show.
        opened.edit_item(ids["photo"], description="Taken by Somchai Bonmee at dawn.")
    out = tmp_path / "near.pdf"
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "redacted", "--out", str(out),
                "--accept-automatic-redaction", "Reviewer R")
    error = capsys.readouterr().err
    assert code == 2 and not out.exists() and list(tmp_path.glob("*near.pdf*")) == []
    assert "description of exhibit EX-001" in error and "--accept-near-matches" in error
    assert "Bonmee" not in error and "Somchai" not in error
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "redacted", "--out", str(out),
                "--accept-near-matches", "Reviewer R", "--accept-automatic-redaction", "Reviewer R")
    assert code == 0 and out.exists()
    with Vault.open(vault, TEST_PASSPHRASE, actor="Investigator A", read_only=True) as opened:
        exported = [e for e in opened.events() if e.action == "exported"][-1]
    assert exported.details["near_matches"] >= 1 and exported.details["near_matches_cleared_by"] == "Reviewer R"


def test_cli_redacted_export_stops_for_review_unless_automatic_redaction_is_accepted(cli_vault, tmp_path: Path,
                                                                                      capsys) -> None:
    vault, ids = cli_vault
    out = tmp_path / "review.pdf"
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "redacted", "--out", str(out))
    error = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"Items {ids['photo']} have no reviewed redacted copy" in error and "--accept-automatic-redaction" in error
    with Vault.open(vault, TEST_PASSPHRASE, actor="Investigator A", read_only=True) as opened:
        assert not [e for e in opened.events() if e.action in ("exported", "redacted")]
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "redacted", "--out", str(out),
                "--accept-automatic-redaction", "Reviewer R", "--paper", "Letter", "--confidentiality",
                "confidential-redacted", "--place", "Mae Sot")
    assert code == 0
    contents = extract_everything(out)
    assert all("CONFIDENTIAL - REDACTED VERSION" in text for text in contents.page_texts)
    with Vault.open(vault, TEST_PASSPHRASE, actor="Investigator A", read_only=True) as opened:
        exported = [e for e in opened.events() if e.action == "exported"][-1]
    assert exported.details["automatic_redaction_accepted_by"] == "Reviewer R"
    assert exported.details["paper"] == "Letter"
    assert exported.details["exhibit_erns"] == [f"EV-{ids['photo']:05d}-Red"]


def test_cli_seals_with_an_organisation_pkcs12(cli_vault, tmp_path: Path, capsys, monkeypatch) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    from app.export.org_seal import cert_fingerprint
    from app.export.pdf.seal import validate_sealed_pdf

    vault, ids = cli_vault
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Registry-recognised seal")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"seal", key, cert, None,
                                                          serialization.BestAvailableEncryption(b"p12 secret")))
    out = tmp_path / "org.pdf"
    monkeypatch.setenv("EVIDENCE_VAULT_SEAL_PASSPHRASE", "wrong")
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "original", "--out", str(out),
                "--seal-p12", str(p12))
    assert code == 2 and "passphrase is wrong" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("EVIDENCE_VAULT_SEAL_PASSPHRASE", "p12 secret")
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "original", "--out", str(out),
                "--seal-p12", str(p12))
    assert code == 0
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(out, "rb") as handle:
        assert validate_sealed_pdf(handle, cert_pem=cert_pem).ok
    assert cert_fingerprint(cert_pem) in extract_everything(out).page_texts[0].replace("\n", "")


def test_cli_timestamp_command_failure_writes_nothing(cli_vault, tmp_path: Path, capsys) -> None:
    vault, ids = cli_vault
    out = tmp_path / "stamped.pdf"
    code = _run(vault, "--items", str(ids["photo"]), "--audience", "court", "--level", "original", "--out", str(out),
                "--timestamp-command", "sh -c 'cat >/dev/null; exit 1'")
    assert code == 2 and "timestamp authority command failed" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob("*stamped.pdf*")) == []
