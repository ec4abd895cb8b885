"""The organisation's seal imported once into the vault (issue 11): kept in the SQLCipher file, used by every export.

A test CA and the organisation's PKCS#12 are made here (as in test_pdf_org_seal.py); the vault is a real SQLCipher
file, the dossiers are really exported and their seals validated with pyHanko against the CA.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from app.errors import InvalidInput, NotFound
from app.export import org_seal as org_seal_module
from app.export.bundle_verify import verify_bundle
from app.export.exporter import export
from app.export.org_seal import cert_fingerprint, check_valid
from app.export.pdf.inspect import extract_everything
from app.export.pdf.seal import validate_sealed_pdf
from app.vault.org_seal_store import ORG_SEAL_KEY_NAME
from app.vault.vault import ReadOnlyVault, Vault
from tests.conftest import TEST_PASSPHRASE
from tests.export.test_pdf_org_seal import P12_PASSPHRASE, _name
from tests.vault.vaultkit import ACTOR, raw_connect, speed_up


def _issue(subject: str, ca_key: rsa.RSAPrivateKey, ca_name: x509.Name, *, start: dt.datetime,
           days: int = 30) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _p12(key: rsa.RSAPrivateKey, cert: x509.Certificate, ca: x509.Certificate) -> bytes:
    return pkcs12.serialize_key_and_certificates(b"seal", key, cert, [ca],
                                                 serialization.BestAvailableEncryption(P12_PASSPHRASE.encode()))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca = (x509.CertificateBuilder().subject_name(_name("Test Root CA")).issuer_name(_name("Test Root CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    files: dict[str, object] = {"ca": ca.public_bytes(serialization.Encoding.PEM)}
    for name, subject, start, days in (("org", "Legal Aid Org seal", now, 30),
                                       ("other", "Other Org seal", now, 30),
                                       ("expired", "Old Org seal", now - dt.timedelta(days=400), 30),
                                       ("future", "Future Org seal", now + dt.timedelta(days=10), 30)):
        key, cert = _issue(subject, ca_key, ca.subject, start=start, days=days)
        path = folder / f"{name}.p12"
        path.write_bytes(_p12(key, cert, ca))
        files[name] = path
        files[f"{name}_cert"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"{name}_key"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())
    return files


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An existing vault (made, used and closed before the seal existed), opened again by each test."""
    speed_up(monkeypatch)
    note = tmp_path / "note.txt"
    note.write_text("Field note: the boat left at dawn.\n")
    with Vault.create(tmp_path / "seal.vault", TEST_PASSPHRASE, actor=ACTOR, organisation="Test NGO") as vault:
        vault.ingest_file(note, kind="document", title="Field note")
    return tmp_path / "seal.vault"


def _events(vault: Vault, action: str) -> list[dict[str, object]]:
    return [e.details for e in vault.events() if e.action == action]


def test_import_once_and_every_export_is_sealed_with_it(pki, vault_path: Path, tmp_path: Path) -> None:
    org_fp = cert_fingerprint(pki["org_cert"])  # type: ignore[arg-type]
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        assert vault.org_seal_info() is None and vault.org_seal() is None
        with pytest.raises(InvalidInput, match="passphrase is wrong"):
            vault.import_org_seal(pki["org"], "not the passphrase")  # type: ignore[arg-type]
        assert vault.org_seal_info() is None and _events(vault, "seal_imported") == []
        info = vault.import_org_seal(pki["org"], P12_PASSPHRASE)  # type: ignore[arg-type]
        assert info.fingerprint == org_fp and "Legal Aid Org seal" in info.subject
        assert "Test Root CA" in info.issuer and info.chain_length == 1 and info.not_after > info.not_before
        details = _events(vault, "seal_imported")
        assert details == [{"certificate_sha256": org_fp, "subject": info.subject, "issuer": info.issuer,
                            "not_before": info.not_before, "not_after": info.not_after,
                            "replaced_certificate_sha256": None}]
    # never the key in the custody log, never a loose file: the key is a row of the encrypted keys table
    key_body = b"".join(pki["org_key"].splitlines()[1:-1])  # type: ignore[union-attr]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".pem", ".key", ".p12")) == []
    assert key_body not in vault_path.read_bytes()
    conn = raw_connect(vault_path)
    try:
        row = conn.execute("SELECT private_key, certificate_pem, key_id FROM keys WHERE name = ?",
                           (ORG_SEAL_KEY_NAME,)).fetchone()
        events = b"".join(bytes(r[0]) for r in conn.execute("SELECT canonical FROM events"))
    finally:
        conn.close()
    assert b"".join(bytes(row[0]).splitlines()[1:-1]) == key_body and row[2] == org_fp
    assert bytes(row[1]).startswith(pki["org_cert"]) and key_body[:40] not in events  # type: ignore[arg-type]
    assert b"PRIVATE KEY" not in events

    # opened again: the stored seal seals the export; the cover prints its fingerprint
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        item = vault.list_items()[0].id
        out = tmp_path / "stored.pdf"
        result = export(vault, item_ids=[item], audience="court", level="original", out=out)
        with open(out, "rb") as handle:
            report = validate_sealed_pdf(handle, cert_pem=pki["org_cert"], trust_roots_pem=[pki["ca"]])
        assert report.ok and "Legal Aid Org seal" in report.signer
        cover = " ".join(extract_everything(out).page_texts[0].split())
        assert org_fp in cover.replace(" ", "") and "kept in this vault" in cover
        exported = next(e for e in vault.events() if e.seq == result.event_seq).details
        assert exported["seal"]["kind"] == "organisation" and exported["seal"]["certificate_sha256"] == org_fp
        # a bundle too: its seal certificate is the one that sealed its dossier
        bundle = tmp_path / "bundle"
        export(vault, item_ids=[item], audience="court", level="original", out=bundle, bundle=True)
        assert verify_bundle(bundle).ok and (bundle / "keys/vault-seal-cert.pem").read_bytes() == pki["org_cert"]
        with open(bundle / "dossier.pdf", "rb") as handle:
            assert validate_sealed_pdf(handle, cert_pem=pki["org_cert"], trust_roots_pem=[pki["ca"]]).ok

        # a seal given for one export wins over the stored one
        other = org_seal_module.load_pkcs12_file(pki["other"], P12_PASSPHRASE)  # type: ignore[arg-type]
        out = tmp_path / "given.pdf"
        export(vault, item_ids=[item], audience="court", level="original", out=out, seal=other)
        with open(out, "rb") as handle:
            assert validate_sealed_pdf(handle, cert_pem=pki["other_cert"], trust_roots_pem=[pki["ca"]]).ok
        assert other.fingerprint in extract_everything(out).page_texts[0].replace("\n", "").replace(" ", "")

        # importing another replaces it (the event says which); removing it brings back the self-signed seal
        vault.import_org_seal(pki["other"], P12_PASSPHRASE)  # type: ignore[arg-type]
        assert _events(vault, "seal_imported")[-1]["replaced_certificate_sha256"] == org_fp
        removed = vault.remove_org_seal()
        assert removed.fingerprint == other.fingerprint and vault.org_seal_info() is None
        assert _events(vault, "seal_removed")[0]["certificate_sha256"] == other.fingerprint
        with pytest.raises(NotFound, match="no organisation seal"):
            vault.remove_org_seal()
        out = tmp_path / "self.pdf"
        export(vault, item_ids=[item], audience="court", level="original", out=out)
        cover = " ".join(extract_everything(out).page_texts[0].split())
        assert "self-signed organisation seal made by this vault (the offline default)" in cover
        assert vault.verify(record=False).ok


def test_expired_or_not_yet_valid_certificates_are_refused(pki, vault_path: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        with pytest.raises(InvalidInput, match=r"Old Org seal expired on \d{4}-\d\d-\d\d"):
            vault.import_org_seal(pki["expired"], P12_PASSPHRASE)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="Future Org seal is not valid yet"):
            vault.import_org_seal(pki["future"], P12_PASSPHRASE)  # type: ignore[arg-type]
        assert vault.org_seal_info() is None and _events(vault, "seal_imported") == []
        # a stored certificate that has expired since stops the export before anything is written
        vault.import_org_seal(pki["org"], P12_PASSPHRASE)  # type: ignore[arg-type]
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)

        class Later(dt.datetime):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
                return later

        monkeypatch.setattr(org_seal_module, "datetime", Later)
        before = len(vault.events())
        out = tmp_path / "late.pdf"
        with pytest.raises(InvalidInput, match=r"expired on .* Import a renewed certificate"):
            export(vault, item_ids=[vault.list_items()[0].id], audience="court", level="original", out=out)
        assert not out.exists() and len(vault.events()) == before
    with pytest.raises(InvalidInput, match="not valid yet"):
        check_valid(pki["org_cert"], dt.datetime.now(dt.UTC) - dt.timedelta(days=3))  # type: ignore[arg-type]


def test_a_read_only_vault_stores_nothing(pki, vault_path: Path) -> None:
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        with pytest.raises(ReadOnlyVault):
            vault.import_org_seal(pki["org"], P12_PASSPHRASE)  # type: ignore[arg-type]
        assert vault.org_seal_info() is None
