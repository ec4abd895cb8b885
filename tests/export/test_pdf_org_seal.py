"""An organisation's PKCS#12 seal and an RFC 3161 timestamp (PAdES B-T) on a real exported dossier.

A certificate authority, the organisation's seal certificate and a timestamp authority are made here.
The timestamp authorities are pyHanko's in-process test TSA and a real ``openssl ts -reply`` reached
through the app's TSA command (app.export.tsa: the app never opens a socket, and the test run has no
sockets at all, loopback included: tests/conftest.py).  The PDFs are validated with pyHanko against the CA.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from app.errors import InvalidInput
from app.export.exporter import export
from app.export.org_seal import cert_fingerprint, load_pkcs12
from app.export.pdf.inspect import extract_everything
from app.export.pdf.seal import validate_sealed_pdf
from app.export.tsa import CommandTimeStamper, TimestampFailed
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

P12_PASSPHRASE = "seal passphrase"
SIGNATURE_TIMESTAMP_OID = "1.2.840.113549.1.9.16.2.14"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Authority")])


def _cert(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False,
          tsa: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                                            crl_sign=ca, encipher_only=False, decipher_only=False), critical=True))
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki():
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _cert("Test Root CA", ca_key, _name("Test Root CA"), ca_key, ca=True)
    org_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org = _cert("Legal Aid Org seal", org_key, ca.subject, ca_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _cert("Test TSA", tsa_key, ca.subject, ca_key, tsa=True)
    p12 = pkcs12.serialize_key_and_certificates(
        b"org seal", org_key, org, [ca], serialization.BestAvailableEncryption(P12_PASSPHRASE.encode()))
    tsa_key_pem = tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    timestamper = DummyTimeStamper(tsa_cert=_asn1_cert(_pem(tsa)),
                                   tsa_key=load_private_key_from_pemder_data(tsa_key_pem, None))
    return {"ca": _pem(ca), "org": _pem(org), "p12": p12, "timestamper": timestamper, "tsa": _pem(tsa),
            "tsa_key": tsa_key_pem}


def _asn1_cert(pem: bytes):
    return next(iter(load_certs_from_pemder_data(pem)))


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("orgseal")
    note = folder / "note.txt"
    note.write_text("Field note: the boat left at dawn.\n")
    opened = Vault.create(folder / "seal.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    item = opened.ingest_file(note, kind="document", title="Field note").item_id
    try:
        yield opened, item, folder
    finally:
        opened.close()
        mp.undo()


def test_pkcs12_seal_and_rfc3161_timestamp_validate(pki, vault) -> None:
    opened, item, folder = vault
    seal = load_pkcs12(pki["p12"], P12_PASSPHRASE)
    assert seal.cert_pem == pki["org"] and seal.chain_pem == (pki["ca"],)
    out = folder / "org-sealed.pdf"
    result = export(opened, item_ids=[item], audience="court", level="original", out=out, seal=seal,
                    timestamper=pki["timestamper"])
    with open(out, "rb") as handle:
        report = validate_sealed_pdf(handle, cert_pem=pki["org"], trust_roots_pem=[pki["ca"]])
    assert report.ok and report.timestamped_at is not None and "Test TSA" in report.timestamp_authority
    assert "Legal Aid Org seal" in report.signer
    # the CMS carries the signature timestamp token (unsigned attribute): PAdES B-T
    with open(out, "rb") as handle:
        signature = PdfFileReader(handle).embedded_signatures[0]
        unsigned = signature.signer_info["unsigned_attrs"]
        assert SIGNATURE_TIMESTAMP_OID in [attr["type"].dotted for attr in unsigned]
    cover = extract_everything(out).page_texts[0].replace("\n", " ")
    assert cert_fingerprint(pki["org"]) in cover.replace(" ", "")
    assert "organisation seal of" in cover and "RFC 3161" in cover
    details = next(e for e in opened.events() if e.seq == result.event_seq).details
    assert details["seal"] == {"kind": "organisation", "certificate_sha256": cert_fingerprint(pki["org"]),
                               "timestamp": True}


def test_self_signed_seal_is_the_offline_default_and_says_so(vault) -> None:
    opened, item, folder = vault
    out = folder / "default.pdf"
    export(opened, item_ids=[item], audience="court", level="original", out=out)
    with open(out, "rb") as handle:
        report = validate_sealed_pdf(handle, cert_pem=opened.seal_identity.cert_pem)
    assert report.ok and report.timestamped_at is None
    cover = extract_everything(out).page_texts[0]
    assert "self-signed organisation seal made by this vault (the offline default)" in " ".join(cover.split())
    assert cert_fingerprint(opened.seal_identity.cert_pem) in cover.replace("\n", "")


def test_bad_seal_files_are_refused_in_plain_words(pki) -> None:
    with pytest.raises(InvalidInput, match="passphrase is wrong"):
        load_pkcs12(pki["p12"], "not the passphrase")
    with pytest.raises(InvalidInput, match="not a PKCS#12"):
        load_pkcs12(b"hello", None)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("EC seal", ec_key, _name("EC seal"), ec_key)
    p12 = pkcs12.serialize_key_and_certificates(b"ec", ec_key, cert, None, serialization.NoEncryption())
    with pytest.raises(InvalidInput, match="must be an RSA key"):
        load_pkcs12(p12, None)


def test_the_seal_is_read_from_a_p12_file(pki, vault) -> None:
    folder = vault[2]
    p12 = folder / "org.p12"
    p12.write_bytes(pki["p12"])
    from app.export.org_seal import load_pkcs12_file

    assert load_pkcs12_file(p12, P12_PASSPHRASE).fingerprint == cert_fingerprint(pki["org"])
    with pytest.raises(InvalidInput, match=r"(could not|cannot) be read"):
        load_pkcs12_file(Path(folder / "missing.p12"), None)


OPENSSL_TSA_CONFIG = """[ tsa ]
default_tsa = local_tsa
[ local_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_timestamp_from_a_local_openssl_tsa(pki, vault, tmp_path: Path) -> None:
    """A real RFC 3161 authority (openssl ts -reply) started by the test, reached through its command."""
    opened, item, folder = vault
    tsa_dir = tmp_path / "tsa"
    tsa_dir.mkdir()
    (tsa_dir / "tsa.pem").write_bytes(pki["tsa"])
    (tsa_dir / "tsa.key").write_bytes(pki["tsa_key"])
    (tsa_dir / "ca.pem").write_bytes(pki["ca"])
    (tsa_dir / "serial").write_text("01\n")
    (tsa_dir / "tsa.cnf").write_text(OPENSSL_TSA_CONFIG.format(dir=tsa_dir))
    script = (f'cat > "{tsa_dir}/q.tsq" && openssl ts -reply -config "{tsa_dir}/tsa.cnf" -queryfile "{tsa_dir}/q.tsq" '
              f'-out "{tsa_dir}/r.tsr" 2>/dev/null && cat "{tsa_dir}/r.tsr"')
    out = folder / "openssl-tsa.pdf"
    export(opened, item_ids=[item], audience="court", level="original", out=out,
           seal=load_pkcs12(pki["p12"], P12_PASSPHRASE), timestamper=CommandTimeStamper(["sh", "-c", script]))
    with open(out, "rb") as handle:
        report = validate_sealed_pdf(handle, cert_pem=pki["org"], trust_roots_pem=[pki["ca"]])
    assert report.ok and report.timestamped_at is not None and "Test TSA" in report.timestamp_authority
    # the authority really answered: openssl counted its serial numbers up
    assert (tsa_dir / "serial").read_text().strip() != "01"


def test_a_failing_timestamp_authority_stops_the_export(vault) -> None:
    opened, item, folder = vault
    out = folder / "no-tsa.pdf"
    with pytest.raises(TimestampFailed, match="command failed"):
        export(opened, item_ids=[item], audience="court", level="original", out=out,
               timestamper=CommandTimeStamper(["sh", "-c", "cat > /dev/null; exit 3"]))
    with pytest.raises(TimestampFailed, match="not an RFC 3161"):
        export(opened, item_ids=[item], audience="court", level="original", out=out,
               timestamper=CommandTimeStamper(["sh", "-c", "cat > /dev/null; echo garbage"]))
    assert not out.exists() and not list(folder.glob(".no-tsa.pdf*"))
