"""Organisational recovery set up from the GUI (Vault ▸ Set up recovery shares…): the vault is locked, the
shares are shown once, they really open the vault, and the passphrase still does.  Real vault file."""

from __future__ import annotations

from app.ui.recovery_dialog import RecoverySetupDialog, SharesDialog
from app.vault import recovery
from app.vault.vault import Vault


def test_recovery_shares_are_made_shown_once_and_open_the_vault(unlocked, vault_path, passphrase, qtbot):
    menu_texts = [a.text() for a in unlocked.main_window.menuBar().actions()[3].menu().actions()]
    assert any("recovery shares" in t for t in menu_texts)
    dialog = unlocked.open_recovery_setup()
    assert isinstance(dialog, RecoverySetupDialog)
    dialog.submit()
    assert "Type your passphrase" in dialog.message.text()
    dialog.passphrase.setText(passphrase)
    dialog.shares.setValue(3)
    dialog.threshold.setValue(4)
    dialog.submit()
    assert "cannot be more" in dialog.message.text() and unlocked.vault is not None
    dialog.threshold.setValue(2)
    dialog.submit()
    assert unlocked.vault is None and unlocked.start_window.isVisible()  # locked while the file is rewritten
    qtbot.waitUntil(lambda: getattr(unlocked, "shares_dialog", None) is not None, timeout=30_000)
    shown = unlocked.shares_dialog
    assert isinstance(shown, SharesDialog) and shown.isVisible()
    lines = shown.text.toPlainText().splitlines()
    shares = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("Share ")]
    assert len(shares) == 3 and "Any 2 of these 3 shares" in shown.findChildren(type(dialog.message))[0].text()
    assert not shown.close_button.isEnabled()
    shown.close()
    assert shown.isVisible()  # not closed by accident before the shares are written down
    shown.written.setChecked(True)
    shown.close_button.click()
    assert shown.text.toPlainText() == ""
    assert "Recovery is set up" in unlocked.start_window.open_message.text()

    # The passphrase still unlocks, through the GUI; the custody log says recovery was configured.
    start = unlocked.start_window
    start.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(unlocked.unlocked, timeout=10_000):
        start.unlock_button.click()
    events = [e for e in unlocked.vault.events() if e.action == "recovery_configured"]
    assert events and events[-1].details["threshold"] == 2 and events[-1].details["shares"] == 3
    unlocked.lock()
    # Any two of the shares written down open the vault with a new passphrase.
    new = "a completely new passphrase for the field laptop"
    recovery.recover(vault_path, [shares[0], shares[2]], new, actor="HQ")
    with recovery.open_vault(vault_path, new, actor="HQ") as vault:
        assert isinstance(vault, Vault)
