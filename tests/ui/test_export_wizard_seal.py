"""Export wizard, issue 11: the options page says which seal the dossier gets, keeps an organisation's PKCS#12 in the
vault through the service API, and the done page lists the lone PDF's load files.  Real SQLCipher vault behind the
desktop's GatedVault, real widgets offscreen, the real sealed PDF validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.export.org_seal import cert_fingerprint
from app.export.pdf.seal import validate_sealed_pdf
from app.ui.export_wizard import ExportWizard
from app.ui.vault_gate import GatedVault
from tests.ui.conftest import make_png
from tests.ui.test_export_wizard_options import WAIT, _p12, _to_options
from tests.vault.vaultkit import new_vault, speed_up


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    v = new_vault(tmp_path)
    yield v
    v.close()


def test_options_page_shows_the_seal_and_keeps_a_pkcs12_in_the_vault(vault, tmp_path: Path, qtbot) -> None:
    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    p12, cert_pem = _p12(tmp_path, b"p12 secret")
    fingerprint = cert_fingerprint(cert_pem)
    out = tmp_path / "court.pdf"
    wizard = ExportWizard(GatedVault(vault), open_url=lambda url: None)
    qtbot.addWidget(wizard)
    wizard.show()
    _to_options(wizard, [photo], audience="court", level="original", out=out)
    page = wizard.options_page
    assert "self-signed, offline default" in page.seal_status.text()
    assert not page.remove_seal.isVisibleTo(wizard) and not page.keep_seal.isEnabled()
    page.use_seal.setChecked(True)
    page.seal_path.setText(str(p12))
    assert "for this export only" in page.seal_status.text() and page.keep_seal.isEnabled()
    page.seal_passphrase.setText("wrong")
    assert not page.keep_seal_in_vault() and "passphrase is wrong" in page.problem.text()
    assert vault.org_seal_info() is None  # nothing stored
    page.seal_passphrase.setText("p12 secret")
    page.keep_seal.click()
    assert vault.org_seal_info() is not None and vault.org_seal_info().fingerprint == fingerprint
    status = page.seal_status.text()
    assert "kept in this vault" in status and "Registry-recognised seal" in status and fingerprint in status
    assert not page.use_seal.isChecked() and page.seal_passphrase.text() == "" and page.remove_seal.isVisibleTo(wizard)
    assert [e.action for e in vault.events()][-1] == "seal_imported"
    wizard.grab().save("/tmp/export_wizard_seal.png")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT):
        wizard.next()
    with open(out, "rb") as handle:
        assert validate_sealed_pdf(handle, cert_pem=cert_pem).ok  # sealed with the stored seal
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.done_page, timeout=WAIT)
    done = wizard.done_page.details.toPlainText()
    for name in ("court.pdf", "court.dat", "court.csv", "court.opt"):
        assert str(tmp_path / name) in done and (tmp_path / name).is_file()
    assert "load files" in done


def test_removing_the_stored_seal_goes_back_to_the_self_signed_one(vault, tmp_path: Path, qtbot) -> None:
    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    p12, _ = _p12(tmp_path, b"p12 secret")
    vault.import_org_seal(p12, "p12 secret")
    wizard = ExportWizard(GatedVault(vault), open_url=lambda url: None)
    qtbot.addWidget(wizard)
    wizard.show()
    _to_options(wizard, [photo], audience="court", level="original", out=tmp_path / "x.pdf")
    page = wizard.options_page
    assert "kept in this vault" in page.seal_status.text()
    page.remove_seal.click()
    assert vault.org_seal_info() is None and "self-signed, offline default" in page.seal_status.text()
    assert [e.action for e in vault.events()][-1] == "seal_removed"
