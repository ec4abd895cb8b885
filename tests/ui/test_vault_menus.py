"""The rest of the job from the menus (checkpoint, public key, passphrase, who is working, user guide,
player volume), verify warnings in plain words, and who acts across locks, launches and a panic."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.ui.guide import UserGuideWindow, guide_text
from app.ui.vault_dialogs import ChangePassphraseDialog, ProfileDialog, PublicTextDialog
from app.vault import keys
from app.vault.checkpoint import verify_checkpoint
from tests.ui.conftest import make_video

NEW_PASSPHRASE = "lanterns over the quiet harbour tonight"


def _unlock(app, qtbot, passphrase: str) -> None:
    app.start_window.open_passphrase.setText(passphrase)
    with qtbot.waitSignal(app.unlocked, timeout=10_000):
        app.start_window.unlock_button.click()


def test_checkpoint_is_signed_recorded_copied_and_saved(unlocked, tmp_path, qtbot):
    vault = unlocked.vault
    before = len(vault.events())
    dialog = unlocked.open_checkpoint()
    assert isinstance(dialog, PublicTextDialog) and dialog.isVisible()
    public = keys.load_public_key_pem(vault.public_key_pem())
    checkpoint = verify_checkpoint(dialog.text, public)
    assert checkpoint.tree_size == before
    assert vault.events()[-1].action == "checkpoint_made"
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == dialog.text
    out = tmp_path / "checkpoint.txt"
    assert dialog.save_to(out) and out.read_text(encoding="utf-8").strip() == dialog.text.strip()
    assert not dialog.save_to(tmp_path / "missing" / "x.txt")
    assert "could not be written" in dialog.message.text()


def test_public_key_is_exported(unlocked, tmp_path, qtbot):
    dialog = unlocked.open_public_key()
    assert unlocked.vault.key_id in dialog.file_name
    out = tmp_path / "key.pem"
    assert dialog.save_to(out)
    assert out.read_bytes().strip() == unlocked.vault.public_key_pem().strip()


def test_change_passphrase_then_unlock_with_the_new_one(unlocked, qtbot, passphrase):
    dialog = unlocked.open_change_passphrase()
    assert isinstance(dialog, ChangePassphraseDialog)
    dialog.new_edit.setText(NEW_PASSPHRASE)
    dialog.repeat_edit.setText(NEW_PASSPHRASE + " ")
    assert dialog.start() is None and "different" in dialog.message.text()
    dialog.repeat_edit.setText(NEW_PASSPHRASE)
    worker = dialog.start()
    with qtbot.waitSignal(worker.signals.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert unlocked.gate.busy_with is None
    assert unlocked.vault.events()[-1].action == "passphrase_changed"
    unlocked.lock()
    unlocked.start_window.open_passphrase.setText(passphrase)
    unlocked.start_window.unlock_button.click()
    qtbot.waitUntil(lambda: bool(unlocked.start_window.open_message.text()), timeout=10_000)
    assert unlocked.vault is None
    _unlock(unlocked, qtbot, NEW_PASSPHRASE)
    assert unlocked.vault.verify().ok


def test_weak_new_passphrase_is_refused_in_plain_words(unlocked, qtbot):
    dialog = unlocked.open_change_passphrase()
    dialog.new_edit.setText("short")
    dialog.repeat_edit.setText("short")
    worker = dialog.start()
    assert worker is not None
    # The weak passphrase is refused at once: the job may finish before a waitSignal could connect.
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=10_000)
    assert dialog.isVisible() and "too short" in dialog.message.text()
    dialog.reject()


def test_profile_stays_across_locks_and_launches_inside_the_vault(unlocked, ui_factory, vault_path, passphrase,
                                                                 qtbot, tmp_path):
    dialog = unlocked.open_profile()
    assert isinstance(dialog, ProfileDialog)
    dialog.role_combo.setCurrentText("Lawyer")
    dialog.org_edit.setText("Legal Aid Mae Sot")
    assert dialog.save()
    actor = unlocked.vault.actor
    unlocked.lock()
    start = unlocked.start_window
    assert start.open_path.text() == str(vault_path)
    assert start.typed_profile() == ("Lawyer", "Legal Aid Mae Sot")
    assert start.open_actor.text() == actor
    unlocked.shutdown()
    # Nothing about the person is written to the settings file.
    assert all(b"Lawyer" not in p.read_bytes() for p in tmp_path.rglob("*.ini"))

    later = ui_factory()  # a new launch: nothing remembered outside the vault
    later.start_window.open_path.setText(str(vault_path))
    later.start_window.open_actor.setText(actor)
    assert later.start_window.typed_profile() == ("", "")
    _unlock(later, qtbot, passphrase)
    assert later.vault.actor_profile().role == "Lawyer"
    later.lock()
    assert later.start_window.typed_profile() == ("Lawyer", "Legal Aid Mae Sot")


def test_role_typed_at_unlock_is_remembered(ui, vault, vault_path, passphrase, qtbot):
    vault.close()
    start = ui.start_window
    start.open_path.setText(str(vault_path))
    start.open_actor.setText("Somchai")
    start.open_role.setCurrentText("Lawyer")
    _unlock(ui, qtbot, passphrase)
    assert ui.vault.actor == "Somchai" and ui.vault.actor_profile().role == "Lawyer"


def test_panic_shows_a_neutral_screen(unlocked, qtbot, vault_path):
    start = unlocked.start_window
    start.open_role.setCurrentText("Investigator")
    with qtbot.waitSignal(unlocked.locked, timeout=10_000):
        unlocked.main_window.panic_action.trigger()
    texts = [start.open_path.text(), start.open_actor.text(), start.open_org.text(), start.open_role.currentText(),
             start.create_path.text(), start.create_actor.text()]
    assert texts == [""] * 6
    assert start.open_message.text() == "The vault is locked."


def test_user_guide_is_package_data_and_shown(unlocked, qtbot):
    text = guide_text()
    assert "Describe each item" in text and "Checkpoint" in text
    window = unlocked.open_guide()
    assert isinstance(window, UserGuideWindow)
    assert "Describe each item" in window.browser.toPlainText()
    unlocked.lock()
    assert window not in unlocked.content and not window.isVisible()


def test_player_has_a_volume_control(unlocked, tmp_path, qtbot):
    item_id = unlocked.vault.ingest_file(make_video(tmp_path / "v.mp4", 1), kind="video").item_id
    player = unlocked.open_item(unlocked.vault.get_item(item_id))
    player.volume.setValue(30)
    assert abs(player.audio.volume() - 0.30) < 0.02
    player.mute_button.click()
    assert player.audio.isMuted()
    player.mute_button.click()
    assert not player.audio.isMuted()


def test_verify_names_a_backdated_event_as_a_warning(unlocked, qtbot):
    from app.vault import custody

    vault = unlocked.vault
    with vault._tx() as conn:  # a clock set back: an event dated before the vault existed
        custody.append_event(conn, actor="tester", action="annotated", time="2020-01-01T00:00:00.000000Z",
                             details={})
    dialog = unlocked.open_verify()
    with qtbot.waitSignal(dialog.finished_with, timeout=30_000) as blocker:
        dialog.start()
    assert blocker.args == [True]
    assert dialog.verdict.text() == "Intact, with warnings"
    text = dialog.report_view.toPlainText()
    assert "do not mean anything was altered" in text
    assert "annotated" in text and "2020-01-01" in text and "FAILED" not in text


def test_all_new_windows_close_at_lock(unlocked, qtbot):
    opened = [unlocked.open_checkpoint(), unlocked.open_public_key(), unlocked.open_profile(),
              unlocked.open_change_passphrase(), unlocked.open_guide()]
    assert all(w is not None and w.isVisible() for w in opened)
    unlocked.lock()
    assert unlocked.content == []


def test_menus_reach_every_new_screen(unlocked):
    texts = {action.text() for menu in unlocked.main_window.menuBar().actions() for action in menu.menu().actions()}
    for wanted in ("Change pass&phrase…", "Export public &key…", "&User guide", "Show &hidden items",
                   "&Edit item details…", "&Checkpoint (proof of the log today)…"):
        assert wanted in texts
