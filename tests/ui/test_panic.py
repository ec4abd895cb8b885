"""The panic shortcut: locks at once from any window and, where the organisation set it up, destroys the
local key material so that only the recovery shares open the vault."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.errors import EvidenceVaultError
from app.vault import keyslot, recovery
from app.vault.vault import Vault


def test_panic_locks_without_destroying_when_not_configured(unlocked, qtbot, vault_path) -> None:
    window = unlocked.main_window
    assert window.panic_action.shortcut().toString() == "Ctrl+Shift+Q"
    assert window.panic_action.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut
    with qtbot.waitSignal(unlocked.locked, timeout=10_000):
        window.panic_action.trigger()
    assert unlocked.vault is None and unlocked.start_window.isVisible()
    assert "locked" in unlocked.start_window.open_message.text()
    assert all(w is unlocked.start_window for w in QApplication.topLevelWidgets() if w.isVisible())
    Vault.open(vault_path, "correct horse battery staple orbit", actor="check").close()


def test_panic_destroys_the_keyslot_when_configured(ui, qtbot, vault_path, passphrase) -> None:
    Vault.create(vault_path, passphrase, actor="t").close()
    setup = recovery.enable(vault_path, passphrase, actor="t", shares=3, threshold=2, panic_destroys_keys=True)
    start = ui.start_window
    start.open_path.setText(str(vault_path))
    start.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(ui.unlocked, timeout=10_000):
        start.unlock_button.click()
    with qtbot.waitSignal(ui.locked, timeout=10_000):
        ui.main_window.panic_action.trigger()
    assert ui.last_panic.keys_destroyed and not keyslot.exists(vault_path)
    with pytest.raises(EvidenceVaultError):
        Vault.open(vault_path, passphrase, actor="t")
    new = "headquarters recovered this vault today"
    recovery.recover(vault_path, list(setup.shares[:2]), new, actor="hq")
    reopened = Vault.open(vault_path, new, actor="hq")
    assert reopened.verify().ok
    reopened.close()


def test_command_line_is_told_the_vault_is_in_use_while_the_gui_has_it(unlocked, vault_path, passphrase) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    env = dict(os.environ, EVIDENCE_VAULT=str(vault_path), EVIDENCE_VAULT_PASSPHRASE=passphrase)
    before = vault_path.read_bytes()
    result = subprocess.run([sys.executable, "-m", "app", "case", "add", "from the CLI"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "already open" in result.stderr, result.stderr
    assert vault_path.read_bytes() == before
    assert unlocked.vault is not None and [c.title for c in unlocked.vault.list_cases()] == ["Case A"]
