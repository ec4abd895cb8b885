"""`hq export --out FILE.pdf`: the field app's sealed PDF dossier made from headquarters' archive.

A real field vault with a real photo from ../shared/data, a real transfer and import into PostgreSQL,
the dossier rendered, converted to PDF/A, sealed, then parsed back (pypdf) and its seal validated.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.cli.main import main
from app.export.pdf.seal import validate_sealed_pdf
from app.hq.archive import import_package
from app.hq.dossier import _seal_identity
from app.hq.headquarters import Headquarters
from app.hq.verify import verify_archive
from app.vault.checkpoint import parse_checkpoint
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.hq.fieldkit import field_vault, transfer
from tests.vault.vaultkit import speed_up


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)


def _args(hq: Headquarters, *rest: str) -> list[str]:
    return ["hq", "export", "--dir", str(hq.folder), "--db", hq.conn.info.dsn, *rest]


def _text(pdf: Path) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in PdfReader(pdf).pages))


def _imported(hq: Headquarters, tmp_path: Path, name: str = "field") -> str:
    photo = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    vault, case_id = field_vault(tmp_path / name, texts=("Statement about the checkpoint at the bridge",))
    try:
        vault.ingest_file(photo, case_id=case_id)
        result = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / f"{name}.evt"), actor="a")
    finally:
        vault.close()
    return result.cosigned_checkpoint


def test_dossier_from_the_archive_is_sealed_and_carries_the_witnessed_proofs(
        hq: Headquarters, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cosigned = _imported(hq, tmp_path)
    out = tmp_path / "dossier.pdf"
    capsys.readouterr()
    assert main(_args(hq, "--items", "all", "--out", str(out))) == 0
    assert "Dossier of 2 exhibits" in capsys.readouterr().out
    text = _text(out)
    checkpoint = parse_checkpoint(cosigned)
    assert "Statementaboutthecheckpointatthebridge" in text
    assert checkpoint.root.hex()[:32] in text.lower()
    assert "\u2014hq.example.org" in text  # the checkpoint printed carries headquarters' cosignature
    assert "WitnessA" in text and "Nguyễn" not in text  # the protected person by pseudonym only
    with out.open("rb") as handle:
        report = validate_sealed_pdf(handle, cert_pem=_seal_identity(hq).cert_pem)
    assert report.ok and report.intact and not report.modified_after_signing
    # The field app's own PDF check: seal, the field checkpoint (field key), every inclusion proof.
    from app.export.pdf.verify_pdf import verify_pdf

    checked = verify_pdf(out, seal_cert_pem=_seal_identity(hq).cert_pem)
    assert checked.ok, checked.problems
    assert (checked.tree_size, checked.root, checked.exhibits) == (checkpoint.tree_size, checkpoint.root.hex(), 2)
    assert checked.proofs_checked >= 2
    assert PdfReader(out).pages[0] is not None and len(PdfReader(out).pages) >= 4
    assert verify_archive(hq).ok  # the export is an event in headquarters' own log
    actions = [r[0] for r in hq.conn.execute(
        "SELECT convert_from(canonical, 'UTF8')::json->>'action' FROM hq_events ORDER BY seq")]
    assert actions[-2:] == ["exported", "verified"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    # Its load files beside it: the page map points at pages of this PDF that print the page's ERN,
    # and the dossier's own row carries the PDF's hash; the export event names each file's hash.
    opt = [line.split(",") for line in out.with_suffix(".opt").read_text("utf-8").splitlines() if line]
    pages = PdfReader(out).pages
    assert len(opt) == len(pages)
    for row in opt:
        number = int(row[2].rsplit("#page=", 1)[1])
        assert row[2].startswith("dossier.pdf#page=") and row[0] in (pages[number - 1].extract_text() or "")
    dat = out.with_suffix(".dat").read_bytes().decode("utf-8-sig")
    assert hashlib.sha256(out.read_bytes()).hexdigest() in dat
    assert "Nguyễn" not in dat and "Nguyễn" not in out.with_suffix(".csv").read_text("utf-8-sig")
    exported = json.loads(hq.conn.execute(
        "SELECT convert_from(canonical, 'UTF8') FROM hq_events WHERE convert_from(canonical, 'UTF8')::json->>'action'"
        " = 'exported'").fetchone()[0])
    assert exported["details"]["load_files"] == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in map(out.with_suffix, (".dat", ".csv", ".opt"))}


def test_dossier_refusals_write_nothing(hq: Headquarters, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _imported(hq, tmp_path, "north")
    _imported(hq, tmp_path, "south")
    out = tmp_path / "dossier.pdf"
    capsys.readouterr()
    # The protected witness consented to court and UN use, not to the media.
    assert main(_args(hq, "--items", "1", "--out", str(out), "--audience", "media")) == 2
    err = capsys.readouterr().err
    assert "No consent for the audience 'media'" in err and "Witness A" in err and "Nguyễn" not in err
    assert main(_args(hq, "--items", "all", "--out", str(out))) == 2
    assert "one field vault" in capsys.readouterr().err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    out.write_bytes(b"")
    assert main(_args(hq, "--items", "2", "--out", str(out))) == 2
    assert "already exists" in capsys.readouterr().err
    assert io.BytesIO(out.read_bytes()).read() == b""
    out.unlink()
    out.with_suffix(".opt").write_bytes(b"")  # a load file's name taken: refused before any work
    assert main(_args(hq, "--items", "2", "--out", str(out))) == 2
    assert "already exists" in capsys.readouterr().err and not out.exists()
