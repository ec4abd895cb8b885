"""`evidence-vault seal import|show|remove` on a real vault, and a command-line export sealed with the stored seal."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from app.cli.main import main
from app.export.org_seal import cert_fingerprint
from app.export.pdf.seal import validate_sealed_pdf
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import speed_up

P12_PASSPHRASE = "seal passphrase"


def _self_issued(start: dt.datetime) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Legal Aid Org seal")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(b"seal", key, cert, None,
                                                serialization.BestAvailableEncryption(P12_PASSPHRASE.encode()))
    return p12, cert.public_bytes(serialization.Encoding.PEM)


def test_seal_import_show_remove_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    path = tmp_path / "case.vault"
    note = tmp_path / "note.txt"
    note.write_text("Field note.\n")
    with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO") as vault:
        item = vault.ingest_file(note, kind="document", title="Field note").item_id
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    p12, cert_pem = _self_issued(now)
    (tmp_path / "org.p12").write_bytes(p12)
    (tmp_path / "old.p12").write_bytes(_self_issued(now - dt.timedelta(days=100))[0])
    fingerprint = cert_fingerprint(cert_pem)
    who = ["--vault", str(path), "--actor", "Lawyer B"]

    def run(*args: str, expect: int = 0) -> tuple[str, str]:
        code = main([*who, *args])
        out, err = capsys.readouterr()
        assert code == expect, err
        return out, err

    out, _ = run("seal", "show")
    assert "self-signed seal (the offline default)" in out
    monkeypatch.setenv("EVIDENCE_VAULT_SEAL_PASSPHRASE", "wrong")
    _, err = run("seal", "import", str(tmp_path / "org.p12"), expect=2)
    assert "passphrase is wrong" in err and "Traceback" not in err
    monkeypatch.setenv("EVIDENCE_VAULT_SEAL_PASSPHRASE", P12_PASSPHRASE)
    _, err = run("seal", "import", str(tmp_path / "old.p12"), expect=2)
    assert "expired on" in err
    out, _ = run("seal", "show")
    assert "No organisation seal" in out
    # the passphrases on standard input: the vault's first, then the seal file's
    monkeypatch.delenv("EVIDENCE_VAULT_SEAL_PASSPHRASE")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{TEST_PASSPHRASE}\n{P12_PASSPHRASE}\n"))
    out, _ = run("--passphrase-stdin", "seal", "import", str(tmp_path / "org.p12"))
    assert fingerprint in out and "CN=Legal Aid Org seal" in out
    out, _ = run("seal", "show")
    assert fingerprint in out and "valid from" in out
    pdf = tmp_path / "court.pdf"
    out, _ = run("export", "--items", str(item), "--audience", "court", "--level", "original", "--out", str(pdf))
    with open(pdf, "rb") as handle:
        report = validate_sealed_pdf(handle, cert_pem=cert_pem, trust_roots_pem=[cert_pem])
    assert report.ok and "Legal Aid Org seal" in report.signer
    assert (tmp_path / "court.dat").exists() and (tmp_path / "court.opt").exists()
    out, _ = run("seal", "remove")
    assert fingerprint in out
    _, err = run("seal", "remove", expect=2)
    assert "nothing to remove" in err
    with Vault.open(path, TEST_PASSPHRASE, actor="auditor", read_only=True) as vault:
        actions = [e.action for e in vault.events()]
        assert actions.count("seal_imported") == 1 and actions.count("seal_removed") == 1
        assert all(e.actor == "Lawyer B" for e in vault.events() if e.action.startswith("seal_"))
