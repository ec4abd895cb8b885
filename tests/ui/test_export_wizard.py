"""Export wizard against a real vault: consent shown before anything is written, a real sealed PDF
parsed back, the override recorded in the chain, cancel leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QWizard

from app.ui.export_wizard import ExportWizard
from tests.ui.conftest import make_png
from tests.vault.vaultkit import new_vault, speed_up

WAIT = 120_000


@pytest.fixture
def case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A case of three generated pictures: one whose survivor agreed to court only, one whose witness
    withdrew consent, one with nobody linked."""
    speed_up(monkeypatch)
    vault = new_vault(tmp_path)
    case_id = vault.add_case("Harbour case")
    survivor = vault.add_person(name="Nguyễn Thị Lan", pseudonym="Survivor S-1", role="survivor", protected=True)
    vault.add_consent(survivor, scopes="court")
    witness = vault.add_person(name="Trần Văn Hùng", pseudonym="Witness W-3", role="witness", protected=True)
    vault.add_consent(witness, scopes="court,un,ngo,media")
    vault.withdraw_consent(witness, reason="afraid of retaliation")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    court_only = vault.ingest_file(make_png(inputs / "a.png"), case_id=case_id, kind="photo",
                                   title="Boat deck").item_id
    withdrawn = vault.ingest_file(make_png(inputs / "b.png", 300, 180), case_id=case_id, kind="photo",
                                  title="Dock at night").item_id
    free = vault.ingest_file(make_png(inputs / "c.png", 280, 160), case_id=case_id, kind="photo",
                             title="Harbour entrance").item_id
    vault.link(court_only, survivor)
    vault.link(withdrawn, witness)
    out = tmp_path / "out"
    out.mkdir()
    yield vault, case_id, (court_only, withdrawn, free), out
    vault.close()


def _wizard(vault, qtbot, case_id=None) -> tuple[ExportWizard, list[QUrl]]:
    opened: list[QUrl] = []
    wizard = ExportWizard(vault, case_id=case_id, open_url=opened.append)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard, opened


def _to_consent_page(wizard: ExportWizard, qtbot, *, audience: str, level: str, out: Path) -> None:
    assert wizard.currentPage() is wizard.items_page and wizard.items_page.isComplete()
    wizard.next()
    assert not wizard.audience_page.isComplete()
    wizard.set_choice(audience=audience)
    wizard.next()
    wizard.set_choice(level=level)
    wizard.next()
    assert wizard.currentPage() is wizard.output_page and not wizard.output_page.isComplete()
    wizard.output_page.path.setText(str(out))
    assert wizard.output_page.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.options_page and wizard.options_page.isComplete()  # defaults suit
    wizard.next()
    assert wizard.currentPage() is wizard.consent_page
    qtbot.waitUntil(lambda: wizard.consent_page.report is not None, timeout=WAIT)


def accept_automatic_redaction(wizard: ExportWizard, qtbot, start) -> None:
    """A redacted export that would redact pictures itself stops and asks; accept under the actor's name."""
    with qtbot.waitSignal(wizard.exportFailed, timeout=WAIT) as failed:
        start()
    page = wizard.progress_page
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT)
    assert type(failed.args[0]).__name__ == "NeedsReview"
    assert "no reviewed redacted copy" in page.message.text() and "Nothing was written" in page.message.text()
    assert page.review_stop.isVisibleTo(wizard) and page.review_stop.name.text() == "Investigator A"
    assert page.review_stop.accept_button.isEnabled()


def test_consent_exclusions_are_shown_and_left_out(case, qtbot) -> None:
    vault, case_id, (court_only, withdrawn, free), out = case
    wizard, opened = _wizard(vault, qtbot, case_id=case_id)
    assert wizard.case_choice == case_id
    target = out / "ngo.pdf"
    _to_consent_page(wizard, qtbot, audience="ngo", level="redacted", out=target)
    page = wizard.consent_page
    # which exhibits consent excludes, and why, before anything is written
    assert page.table.rowCount() == 2
    rows = {page.table.item(r, 0).text(): page.table.item(r, 2).text() for r in range(2)}
    assert "court only" in rows[str(court_only)] or "a court only" in rows[str(court_only)]
    assert "withdrew" in rows[str(withdrawn)]
    assert "Nguyễn" not in " ".join(rows.values())  # messages name people by role and pseudonym only
    assert "Consent excludes 2 of 3" in page.summary.text()
    assert not page.isComplete() and not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert not page.override.isEnabled()  # never for an NGO report
    assert list(out.iterdir()) == []
    wizard.grab().save("/tmp/export_wizard_consent.png")

    page.leave_out.setChecked(True)
    assert page.isComplete()
    accept_automatic_redaction(wizard, qtbot, wizard.next)
    assert list(out.iterdir()) == []  # the stop comes before anything is made
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT) as finished:
        wizard.progress_page.review_stop.accept_button.click()
    result = finished.args[0]
    assert result.exhibits == [free]
    assert {i for i, _ in result.excluded} == {court_only, withdrawn}
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.done_page, timeout=WAIT)
    text = wizard.done_page.details.toPlainText()
    assert str(target) in text and "Left out because of consent" in text
    assert "evidence-vault verify-pdf" in text  # how the receiver checks the lone PDF
    assert result.derivatives_created and result.derivatives_used == {free: result.derivatives_created[0]}
    reader = PdfReader(str(target))
    first = reader.pages[0].extract_text()
    assert "EV-000001" in first
    assert len(reader.pages) == result.pages
    wizard.grab().save("/tmp/export_wizard_done.png")
    wizard.open_folder()
    assert opened == [QUrl.fromLocalFile(str(out))] and wizard.opened_url == opened[0]
    exported = [e for e in vault.events() if e.action == "exported"][-1]
    assert exported.details["excluded_items"] == sorted([court_only, withdrawn])
    assert exported.details["automatic_redaction_accepted_by"] == "Investigator A"


def test_court_override_needs_a_reason_and_is_recorded(case, qtbot) -> None:
    from app.ui.vault_gate import GatedVault

    vault, _case_id, (_court_only, withdrawn, free), out = case
    gate = GatedVault(vault)  # what the main window hands to its dialogs
    wizard, _opened = _wizard(gate, qtbot)
    wizard.items_page.choose_items([withdrawn, free])
    assert wizard.item_choice == [withdrawn, free] and wizard.case_choice is None
    target = out / "court.pdf"
    wizard.output_page.ern.setText("ICC-01")
    _to_consent_page(wizard, qtbot, audience="court", level="original", out=target)
    page = wizard.consent_page
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == str(withdrawn)
    assert page.override.isEnabled()
    page.override.setChecked(True)
    page.reason.setPlainText("too short")
    assert not page.isComplete()
    page.reason.setPlainText("Order of Trial Chamber II, 3 March 2026, case 01/26")
    assert page.isComplete() and page.override_reason.startswith("Order of Trial Chamber II")
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT) as finished:
        wizard.next()
        assert gate.busy_with == "exporting"
    result = finished.args[0]
    assert result.exhibits == [withdrawn, free] and target.is_file()
    assert gate.busy_with is None  # the export registered itself while running, and is gone
    assert "ICC-01-000001" in PdfReader(str(target)).pages[0].extract_text()
    override = [e for e in vault.events() if e.action == "consent_override"][-1]
    assert override.details["items"] == [withdrawn]
    assert "Trial Chamber" in override.details["reason"]
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.done_page, timeout=WAIT)


def test_media_cannot_override_and_nothing_remains(case, qtbot) -> None:
    vault, _case_id, (court_only, withdrawn, _free), out = case
    wizard, _opened = _wizard(vault, qtbot)
    wizard.items_page.choose_items([court_only, withdrawn])
    _to_consent_page(wizard, qtbot, audience="media", level="redacted", out=out / "media.pdf")
    page = wizard.consent_page
    assert page.table.rowCount() == 2
    assert not page.leave_out.isEnabled() and not page.override.isEnabled()
    assert not page.isComplete()


def test_bad_output_choices_are_explained(case, qtbot) -> None:
    vault, case_id, _items, out = case
    wizard, _opened = _wizard(vault, qtbot, case_id=case_id)
    page = wizard.output_page
    assert "evidence registration number" in page.ern_help.text()  # the ERN prefix explained in words
    page.path.setText(str(out / "x.txt"))
    assert not page.isComplete() and ".pdf" in page.problem.text()
    (out / "exists.pdf").write_bytes(b"")
    page.path.setText(str(out / "exists.pdf"))
    assert not page.isComplete() and "already exists" in page.problem.text()
    wizard.set_choice(fmt="zip")
    page.path.setText(str(out / "bundle.zip"))
    assert page.isComplete() and wizard.bundle
    page.ern.setText("")
    assert not page.isComplete()
    # originals for the media need a deliberate confirmation
    wizard.set_choice(audience="media", level="original")
    wizard.level_page.initializePage()
    assert not wizard.level_page.isComplete()
    wizard.level_page.confirm.setChecked(True)
    assert wizard.level_page.isComplete()


def test_cancel_writes_nothing(case, qtbot) -> None:
    """Cancel while the export waits for a worker thread: deterministic, and the same path as a
    cancel in the middle (the export checks its token between steps)."""
    import threading

    from app.ui.workers import WorkerPool

    vault, _case_id, (_a, _b, free), out = case
    pool = WorkerPool(max_threads=1)
    gate = threading.Event()
    wizard = ExportWizard(vault, pool=pool, open_url=lambda url: None)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.items_page.choose_items([free])
    _to_consent_page(wizard, qtbot, audience="ngo", level="original", out=out / "cancelled.pdf")
    assert wizard.consent_page.isComplete()  # nobody linked: consent is no obstacle
    before = len(vault.events())
    pool.run(lambda _p, _c: gate.wait(30), name="occupy the only thread")
    wizard.next()
    assert wizard.progress_page.running
    wizard.progress_page.cancel()
    gate.set()
    qtbot.waitUntil(lambda: not wizard.progress_page.running, timeout=WAIT)
    assert wizard.progress_page.result is None and "cancelled" in wizard.progress_page.message.text()
    assert list(out.iterdir()) == []  # no file, no temporary left behind
    assert len(vault.events()) == before
    assert wizard.currentPage() is wizard.progress_page and wizard.progress_page.retry_button.isVisible()
    # try again: this time it runs to the end
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT):
        wizard.progress_page.retry_button.click()
    assert (out / "cancelled.pdf").is_file()
    assert pool.shutdown(30_000)


def test_near_matches_stop_a_redacted_export_until_a_reviewer_clears_them(case, qtbot) -> None:
    vault, case_id, (_court_only, _withdrawn, free), out = case
    vault.edit_item(free, description="Hùngg was on the dock that night")  # one letter off a protected name
    wizard, _opened = _wizard(vault, qtbot, case_id=case_id)
    target = out / "ngo.pdf"
    _to_consent_page(wizard, qtbot, audience="ngo", level="redacted", out=target)
    wizard.consent_page.leave_out.setChecked(True)
    accept_automatic_redaction(wizard, qtbot, wizard.next)
    with qtbot.waitSignal(wizard.exportFailed, timeout=WAIT):
        wizard.progress_page.review_stop.accept_button.click()
    page = wizard.progress_page
    qtbot.waitUntil(lambda: not page.running, timeout=WAIT)
    assert "look like the name of a protected person" in page.message.text() or \
        "looks like the name of a protected person" in page.message.text()
    assert "Hùngg" not in page.message.text()  # the found text never appears, only where it is
    assert not target.exists()
    assert page.reviewer.isVisibleTo(wizard) and not page.clear_button.isEnabled()
    page.reviewer.setText("Reviewer Dara")
    assert page.clear_button.isEnabled()
    with qtbot.waitSignal(wizard.exportFinished, timeout=WAIT) as finished:
        page.clear_button.click()
    assert finished.args[0].exhibits == [free] and target.is_file()
    exported = [e for e in vault.events() if e.action == "exported"][-1]
    assert exported.details["near_matches"] >= 1
    assert exported.details["near_matches_cleared_by"] == "Reviewer Dara"
