"""`evidence-vault verify-pdf FILE`: an auditor holding only the sealed PDF checks its seal, checkpoint,
custody proofs and attached originals (issue 15).  Real vault, real export, real seal, real PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest

from app.cli import main as cli_main
from app.export.pdf.inspect import extract_everything
from app.export.pdf.proofs import CERT_ATTACHMENT_NAME, PROOFS_ATTACHMENT_NAME
from app.export.pdf.verify_pdf import PdfReport, _check_proofs, verify_pdf
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import _real_new_seal_identity, speed_up


@pytest.fixture(scope="module")
def dossiers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    gps = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    mp = pytest.MonkeyPatch()
    speed_up(mp)
    mp.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    folder = tmp_path_factory.mktemp("verify_pdf")
    path = folder / "case.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO") as vault:
        case_id = vault.add_case("Harbour case")
        photo = vault.ingest_file(gps, case_id=case_id, title="Harbour of Somchai Boonmee").item_id
        witness = vault.add_person(name="Somchai Boonmee", pseudonym="Witness W-2", role="witness", protected=True)
        vault.add_consent(witness, scopes="court,ngo")
        vault.link(photo, witness)
        vault.add_note(photo, "Seen from the quay.")
        key_id = vault.key_id
        cert = vault.seal_identity.cert_pem
    made: dict[str, Path | str] = {"key_id": key_id}
    for audience, level in (("court", "original"), ("ngo", "redacted")):
        out = folder / f"{audience}.pdf"
        review = ["--accept-automatic-redaction", "Investigator A"] if level == "redacted" else []
        code = cli_main.main(["--vault", str(path), "--actor", "Investigator A", "export", "--case", str(case_id),
                              "--audience", audience, "--level", level, "--out", str(out), *review])
        assert code == 0
        made[audience] = out
    (folder / "seal.pem").write_bytes(cert)
    made["cert"] = folder / "seal.pem"
    try:
        yield made
    finally:
        mp.undo()


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli_main.main(["verify-pdf", *args])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("audience", ["court", "ngo"])
def test_a_lone_pdf_verifies(dossiers: dict[str, Path | str], audience: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    pdf = Path(dossiers[audience])
    code, out = _verify(capsys, str(pdf), "--expect-key-id", str(dossiers["key_id"]))
    assert code == 0, out
    assert out.startswith("VERIFIED") and "The key matches the key you expected." in out
    report = verify_pdf(pdf)
    assert report.ok and report.exhibits == 1 and report.proofs_checked >= 3  # ingested, linked, noted...
    assert report.originals_checked == (1 if audience == "court" else 0)
    # The seal certificate travels inside the PDF and is printed in the appendix.
    contents = extract_everything(pdf)
    cert = Path(dossiers["cert"]).read_bytes()
    assert contents.attachments[CERT_ATTACHMENT_NAME] == cert
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    body = "".join(cert.decode("ascii").strip().splitlines()[1:-1])
    assert body[:60] in text.replace("\n", "") and "evidence-vault verify-pdf dossier.pdf" in text
    if audience == "ngo":
        assert "Somchai" not in contents.attachments[PROOFS_ATTACHMENT_NAME].decode("utf-8")


def test_the_seal_certificate_given_by_the_auditor(dossiers: dict[str, Path | str],
                                                   capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pdf = str(dossiers["ngo"])
    code, out = _verify(capsys, pdf, "--seal-cert", str(dossiers["cert"]))
    assert code == 0 and "given by you" in out
    other = tmp_path / "other.pem"
    other.write_bytes(_real_new_seal_identity("Someone else").cert_pem)
    code, out = _verify(capsys, pdf, "--seal-cert", str(other))
    assert code == 1 and "NOT VERIFIED" in out and "not the one you gave" in out


def test_a_changed_pdf_fails(dossiers: dict[str, Path | str], capsys: pytest.CaptureFixture[str],
                             tmp_path: Path) -> None:
    changed = tmp_path / "changed.pdf"
    with pikepdf.open(Path(dossiers["ngo"])) as pdf:
        pdf.docinfo["/Title"] = "Something else"
        pdf.save(changed)
    code, out = _verify(capsys, str(changed))
    assert code == 1 and "Seal:" in out
    code, out = _verify(capsys, str(dossiers["ngo"]), "--expect-key-id", "0" * 16)
    assert code == 1 and "not by the key" in out


def test_a_wrong_proof_or_hash_is_reported(dossiers: dict[str, Path | str]) -> None:
    contents = extract_everything(Path(dossiers["court"]))
    data = json.loads(contents.attachments[PROOFS_ATTACHMENT_NAME])
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    report = PdfReport()
    _check_proofs(data, text, report, None)
    assert report.ok and report.proofs_checked > 0
    row = data["exhibits"][0]["proofs"][0]
    row["leaf_hash"] = ("0" if row["leaf_hash"][0] != "0" else "1") + row["leaf_hash"][1:]
    data["exhibits"][0]["sha256"] = "ab" * 32
    report = PdfReport()
    _check_proofs(data, text, report, None)
    assert any("is not in the signed custody log" in p for p in report.problems), report.problems
    assert any("hash " + "ab" * 32 in p for p in report.problems), report.problems


def test_not_a_pdf_could_not_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    code, out = _verify(capsys, str(junk))
    assert code == 2 and "could not be read as a PDF" in out
    code, out = _verify(capsys, str(tmp_path / "missing.pdf"))
    assert code == 2 and "There is no file" in out
