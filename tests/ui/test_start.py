"""First run and unlock: create a vault, wrong passphrase, backoff countdown, unlock."""

from __future__ import annotations

from app.errors import WrongPassphrase
from app.ui.main_window import MainWindow
from app.ui.start import Backoff


def test_create_vault_through_the_form(ui, tmp_path, passphrase, qtbot):
    start = ui.start_window
    start.tabs.setCurrentIndex(1)
    path = tmp_path / "new.evault"
    start.create_path.setText(str(path))
    start.create_org.setText("Test NGO")
    start.create_passphrase.setText("short")
    assert start.meter.bar.value() == 0
    assert "12" in start.meter.label.text()  # the reason says what to do
    start.create_passphrase.setText(passphrase)
    assert start.meter.bar.value() >= 50
    start.create_repeat.setText(passphrase + "x")
    start.create_button.click()
    assert "different" in start.create_message.text()
    start.create_repeat.setText(passphrase)
    start.create_button.click()
    assert "lost passphrase" in start.create_message.text()  # must acknowledge it cannot be recovered
    start.create_understood.setChecked(True)
    with qtbot.waitSignal(ui.unlocked, timeout=10_000):
        start.create_button.click()
    assert path.exists()
    assert isinstance(ui.main_window, MainWindow) and ui.main_window.isVisible()
    assert not start.isVisible()
    assert start.create_passphrase.text() == "" and start.create_repeat.text() == ""
    actions = [e.action for e in ui.vault.events()]
    assert actions[0] == "vault_created"


def test_weak_passphrase_is_refused_by_the_vault_with_its_reason(ui, tmp_path, qtbot):
    start = ui.start_window
    start.create_path.setText(str(tmp_path / "weak.evault"))
    start.create_passphrase.setText("password1234")
    start.create_repeat.setText("password1234")
    start.create_understood.setChecked(True)
    start.create_button.click()
    qtbot.waitUntil(lambda: start.create_message.text() != "", timeout=10_000)
    assert "common password" in start.create_message.text()
    assert not (tmp_path / "weak.evault").exists()


def test_wrong_passphrase_says_so_and_slows_down(ui, vault_path, passphrase, qtbot):
    from app.vault.vault import Vault

    Vault.create(vault_path, passphrase, actor="someone").close()
    start = ui.start_window
    start.open_path.setText(str(vault_path))
    for attempt in (1, 2):
        start.open_passphrase.setText("not the passphrase at all")
        start.unlock_button.click()
        qtbot.waitUntil(lambda: start.open_message.text() == WrongPassphrase().user_message(), timeout=10_000)
        if attempt == 1:
            assert start.countdown_label.text() == ""  # one typo costs nothing
            qtbot.waitUntil(start.unlock_button.isEnabled)
            start.open_message.clear()
    # the second failure starts a visible countdown and disables the button, without blocking
    qtbot.waitUntil(lambda: "Try again in" in start.countdown_label.text(), timeout=5000)
    assert not start.unlock_button.isEnabled()
    start.open_passphrase.setText(passphrase)
    start.try_unlock()  # pressing Enter during the countdown does nothing
    assert ui.vault is None
    qtbot.waitUntil(start.unlock_button.isEnabled, timeout=5000)
    assert start.countdown_label.text() == ""
    with qtbot.waitSignal(ui.unlocked, timeout=10_000):
        start.unlock_button.click()
    assert ui.vault is not None and start.open_passphrase.text() == ""


def test_backoff_grows_exponentially_and_is_capped():
    now = [100.0]
    backoff = Backoff(base_seconds=2, max_seconds=30, clock=lambda: now[0])
    delays = [backoff.record_failure() for _ in range(7)]
    assert delays == [0, 2, 4, 8, 16, 30, 30]
    assert backoff.remaining() == 30
    now[0] += 31
    assert backoff.remaining() == 0


def test_missing_vault_and_empty_fields_are_explained(ui, tmp_path, qtbot):
    start = ui.start_window
    start.unlock_button.click()
    assert "Choose the vault file" in start.open_message.text()
    start.open_path.setText(str(tmp_path / "nowhere.evault"))
    start.unlock_button.click()
    assert "passphrase" in start.open_message.text()
    start.open_passphrase.setText("whatever it is")
    start.unlock_button.click()
    qtbot.waitUntil(lambda: "No vault was found" in start.open_message.text(), timeout=5000)
