"""Export wizard, issues 11 and 15: the options the command line has (legend, paper, place, the organisation's
PKCS#12 seal), the review stop before automatic redaction, the question on a damaged picture, and a cancel that
says which redacted copies were kept.  Real SQLCipher vaults, real widgets offscreen, the real PDF parsed back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.export.ern import item_ern
from app.ui.export_wizard import ExportWizard
from tests.conftest import shared_data_path
from tests.ui.conftest import make_png
from tests.vault.vaultkit import new_vault, speed_up

WAIT = 120_000


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    speed_up(monkeypatch)
    v = new_vault(tmp_path)
    yield v
    v.close()


def _wizard(vault, qtbot, **kwargs) -> ExportWizard:
    wizard = ExportWizard(vault, open_url=lambda url: None, **kwargs)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _to_options(wizard: ExportWizard, items: list[int], *, audience: str, level: str, out: Path) -> None:
    wizard.items_page.choose_items(items)
    wizard.next()
    wizard.set_choice(audience=audience)
    wizard.next()
    wizard.set_choice(level=level)
    wizard.next()
    wizard.output_page.path.setText(str(out))
    wizard.next()
    assert wizard.currentPage() is wizard.options_page


def _text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def _p12(folder: Path, passphrase: bytes) -> tuple[Path, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Registry-recognised seal")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(11).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=9)).sign(key, hashes.SHA256()))
    path = folder / "seal.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"seal", key, cert, None,
                                                           serialization.BestAvailableEncryption(passphrase)))
    return path, cert.public_bytes(serialization.Encoding.PEM)


def test_legend_letter_paper_place_and_organisation_seal(vault, tmp_path: Path, qtbot) -> None:
    from app.export.org_seal import cert_fingerprint
    from app.export.pdf.seal import validate_sealed_pdf

    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    p12, cert_pem = _p12(tmp_path, b"p12 secret")
    out = tmp_path / "letter.pdf"
    wizard = _wizard(vault, qtbot)
    _to_options(wizard, [photo], audience="court", level="original", out=out)
    page = wizard.options_page
    assert "CONFIDENTIAL - UNDER SEAL" in page.legend.itemText(0)  # the default for a court original, named
    page.legend.setCurrentIndex(page.legend.findData("confidential"))
    page.paper.setCurrentIndex(page.paper.findData("Letter"))
    page.place.setText("Phnom Penh,   Cambodia")
    page.use_seal.setChecked(True)
    assert not page.isComplete()  # a seal needs its file
    page.seal_path.setText(str(p12))
    page.seal_passphrase.setText("wrong")
    assert page.isComplete() and not page.validatePage()
    assert "passphrase" in page.problem.text()
    wizard.next()
    assert wizard.currentPage() is page  # a wrong passphrase keeps the user here, saying why
    page.seal_passphrase.setText("p12 secret")
    wizard.grab().save("/tmp/export_wizard_options.png")
    wizard.next()
    assert wizard.currentPage() is wizard.consent_page
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT):
        wizard.next()
    reader = PdfReader(str(out))
    for pdf_page in reader.pages:
        box = pdf_page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # US Letter
    text = _text(out)
    assert all("CONFIDENTIAL" in p.extract_text() and "UNDER SEAL" not in p.extract_text() for p in reader.pages)
    certification = text[text.index("Certification\n"):] if "Certification\n" in text else text
    assert "Phnom Penh, Cambodia" in certification
    with open(out, "rb") as handle:
        assert validate_sealed_pdf(handle, cert_pem=cert_pem).ok
    assert cert_fingerprint(cert_pem) in reader.pages[0].extract_text().replace("\n", "")
    exported = [e for e in vault.events() if e.action == "exported"][-1]
    assert exported.details["paper"] == "Letter" and exported.details["confidentiality"] == "CONFIDENTIAL"
    assert exported.details["seal"]["kind"] == "organisation"


def test_public_legend_is_refused_for_originals(vault, tmp_path: Path, qtbot) -> None:
    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    wizard = _wizard(vault, qtbot)
    _to_options(wizard, [photo], audience="court", level="original", out=tmp_path / "x.pdf")
    page = wizard.options_page
    page.legend.setCurrentIndex(page.legend.findData("public-redacted"))
    assert not page.validatePage() and "public redacted version" in page.problem.text()
    assert "--level" not in page.problem.text()  # no command-line words in the wizard


def test_redacted_export_stops_for_review_and_opens_redaction_review(vault, tmp_path: Path, qtbot) -> None:
    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    reviewed: list[int] = []
    out = tmp_path / "ngo.pdf"
    wizard = _wizard(vault, qtbot, open_review=reviewed.append)
    _to_options(wizard, [photo], audience="ngo", level="redacted", out=out)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)
    assert wizard.consent_page.auto_note.isVisibleTo(wizard)
    assert "stop and ask you to review" in wizard.consent_page.auto_note.text()
    with qtbot.waitSignal(wizard.exportFailed, timeout=WAIT):
        wizard.next()
    page = wizard.progress_page
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT)
    assert f"items {photo})" in page.message.text() and "Nothing was written" in page.message.text()
    assert "--accept" not in page.message.text()
    assert not out.exists() and not [i for i in vault.list_items() if i.derived_from is not None]
    stop = page.review_stop
    assert stop.isVisibleTo(wizard)
    with qtbot.waitSignal(wizard.reviewRequested, timeout=2000) as asked:
        stop.review_button.click()
    assert asked.args == [photo] and reviewed == [photo]
    stop.name.setText("  ")
    assert not stop.accept_button.isEnabled()  # acceptance needs a name
    stop.name.setText("Reviewer  Dara")
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT) as finished:
        stop.accept_button.click()
    assert finished.args[0].derivatives_created and out.is_file()
    exported = [e for e in vault.events() if e.action == "exported"][-1]
    assert exported.details["automatic_redaction_accepted_by"] == "Reviewer Dara"
    assert "Reviewer Dara" in " ".join(_text(out).split())  # in the redaction log


def test_damaged_photo_asks_and_is_included_as_native_with_a_placeholder(vault, tmp_path: Path, qtbot) -> None:
    good = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    damaged = vault.ingest_file(shared_data_path("media", "broken_truncated_50pct.jpg"), title="Pier").item_id
    out = tmp_path / "court-bundle"
    wizard = _wizard(vault, qtbot)
    _to_options(wizard, [good, damaged], audience="court", level="original", out=out)
    wizard.set_choice(fmt="folder")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)
    with qtbot.waitSignal(wizard.exportFailed, timeout=WAIT) as failed:
        wizard.next()
    page = wizard.progress_page
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT)
    assert failed.args[0].item_ids == [damaged]
    ern = item_ern("EV", damaged)
    assert f"item {damaged} (ERN {ern})" in page.message.text() and "Pier" not in page.message.text()
    assert "--damaged-as-native" not in page.message.text()  # no command-line words in the wizard
    question = page.damaged_question
    assert question.isVisibleTo(wizard)
    assert question.question.text().startswith("Include it as the original file with a placeholder page?")
    assert not out.exists()
    wizard.grab().save("/tmp/export_wizard_damaged.png")
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT) as finished:
        question.yes_button.click()
    assert [i for i, _ in finished.args[0].damaged] == [damaged]
    assert (out / "exhibits" / f"{ern}.jpg").read_bytes() == \
        shared_data_path("media", "broken_truncated_50pct.jpg").read_bytes()
    compact = "".join(_text(out / "dossier.pdf").split())
    assert f"EXHIBIT{ern}:thefilecouldnotbedisplayed" in compact
    assert f"nativefileexhibits/{ern}.jpginthebundle" in compact


def test_cancel_after_redacted_copies_were_made_says_they_were_kept(vault, tmp_path: Path, qtbot,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from app.errors import Cancelled
    from app.export import exporter

    photo = vault.ingest_file(make_png(tmp_path / "deck.png"), kind="photo", title="Boat deck").item_id
    real = exporter.ensure_face_derivatives

    def then_cancelled(*args, **kwargs):  # the user cancels just after the redacted copy was made
        real(*args, **kwargs)
        raise Cancelled()

    monkeypatch.setattr(exporter, "ensure_face_derivatives", then_cancelled)
    wizard = _wizard(vault, qtbot)
    _to_options(wizard, [photo], audience="ngo", level="redacted", out=tmp_path / "ngo.pdf")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)
    wizard.progress_page.automatic_accepted_by = "Reviewer Dara"
    wizard.next()
    page = wizard.progress_page
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT)
    kept = [i.id for i in vault.list_items() if i.derived_from == photo]
    text = page.message.text()
    assert len(kept) == 1 and "cancelled" in text
    assert "Nothing was written" not in text and f"(item {kept[0]}) was kept in the vault" in text, text
