"""People and consent; verification; the custody log."""

from __future__ import annotations

from app.ui.models import EventsTableModel
from app.ui.persons import PersonsDialog
from app.ui.verify import CustodyLogWindow, VerifyDialog
from tests.ui.conftest import make_png, type_text


def test_add_person_record_and_withdraw_consent(unlocked, tmp_path, qtbot):
    vault = unlocked.vault
    record = vault.ingest_file(make_png(tmp_path / "consent.png"), kind="document").item_id
    dialog = unlocked.open_persons()
    assert isinstance(dialog, PersonsDialog)
    dialog.new_person()
    type_text(qtbot, dialog.name_edit, "นางสาว สมศรี ใจดี")
    dialog.aliases_edit.setText("Som, 宋")
    dialog.role_combo.setCurrentIndex(dialog.role_combo.findData("survivor"))
    dialog.protected_check.setChecked(True)
    assert dialog.save_person() is None  # protected needs a pseudonym
    assert "pseudonym" in dialog.message.text()
    dialog.pseudonym_edit.setText("Survivor 7")
    person_id = dialog.save_person()
    person = vault.get_person(person_id)
    assert (person.name, person.aliases, person.pseudonym, person.role, person.protected) == (
        "นางสาว สมศรี ใจดี", ("Som", "宋"), "Survivor 7", "survivor", True)
    assert dialog.list.currentIndex().data() == "Survivor 7 (survivor)"  # lists show the pseudonym
    assert "No consent" in dialog.current_consent.text()
    # consent: court and UN, linked to the consent recording
    dialog.scope_checks["court"].setChecked(True)
    dialog.scope_checks["un"].setChecked(True)
    dialog.taken_by_edit.setText("Investigator B")
    dialog.record_combo.setCurrentIndex(dialog.record_combo.findData(record))
    assert dialog.record_consent()
    assert vault.consent_scopes(person_id) == frozenset({"court", "un"})
    assert "Court" in dialog.current_consent.text()
    consent = vault.consents(person_id)[-1]
    assert consent.record_item_id == record and consent.taken_by == "Investigator B"
    # withdraw
    assert dialog.withdraw_consent(reason="asked on the phone")
    assert vault.consent_scopes(person_id) == frozenset()
    assert "withdrawn" in dialog.message.text()
    assert not any(c.isChecked() for c in dialog.scope_checks.values())
    actions = [e.action for e in vault.events()]
    assert actions.count("person_added") == 1 and actions.count("consent_added") == 1
    assert actions[-1] == "consent_withdrawn"


def test_verify_reports_in_plain_words(unlocked, tmp_path, qtbot):
    unlocked.vault.ingest_file(make_png(tmp_path / "p.png"))
    dialog = unlocked.open_verify()
    assert isinstance(dialog, VerifyDialog)
    with qtbot.waitSignal(dialog.finished_with, timeout=30_000) as blocker:
        dialog.start()
    assert blocker.args == [True]
    assert dialog.verdict.text() == "Intact"
    assert "Everything checks out" in dialog.report_view.toPlainText()
    assert "1 item(s)" in dialog.report_view.toPlainText()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled())
    assert unlocked.gate.busy_with is None
    assert unlocked.vault.events()[-1].action == "verified"


def test_verify_finds_a_tampered_vault(unlocked, vault_path, passphrase, tmp_path, qtbot):
    """Alter a stored chunk behind the vault's back: the dialog must say so plainly."""
    from app.vault import db

    item = unlocked.vault.ingest_file(make_png(tmp_path / "p.png")).item_id
    unlocked.lock()
    conn = db.connect(vault_path, passphrase)  # as an insider with the passphrase could
    conn.execute("UPDATE chunks SET data = zeroblob(length(data)) WHERE blob_id = "
                 "(SELECT blob_id FROM items WHERE id = ?)", (item,))
    conn.close()
    unlocked.start_window.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(unlocked.unlocked, timeout=10_000):
        unlocked.start_window.unlock_button.click()
    dialog = unlocked.open_verify()
    with qtbot.waitSignal(dialog.finished_with, timeout=30_000) as blocker:
        dialog.start()
    assert blocker.args == [False]
    assert dialog.verdict.text() == "ALTERED OR DAMAGED"
    assert "FAILED" in dialog.report_view.toPlainText()


def test_custody_log_is_browsable_and_filterable(unlocked, tmp_path, qtbot):
    vault = unlocked.vault
    vault.add_case("Case one")
    vault.ingest_file(make_png(tmp_path / "p.png"))
    window = unlocked.open_custody_log()
    assert isinstance(window, CustodyLogWindow)
    total = window.model.rowCount()
    assert total == len(vault.events()) >= 3
    window.filter_edit.setText("case_added")
    assert window.proxy.rowCount() == 2  # "Case A" of the fixture and "Case one"
    assert window.proxy.index(0, EventsTableModel.COL_ACTION).data() == "Opened a case"
    assert window.count.text() == f"2 of {total} event(s)"
    window.filter_edit.setText("opened a case")  # the words on screen filter too
    assert window.proxy.rowCount() == 2
    window.filter_edit.setText("")
    assert window.proxy.rowCount() == total
