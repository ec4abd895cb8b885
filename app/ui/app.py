"""The composition root: builds the windows, owns the vault, the worker pool and locking.

Nothing deeper reaches for globals: windows get the vault and the pool they need.  Locking (Ctrl+L,
or idle for the configured time) closes every window that shows content, stops players, drops
models and in-memory thumbnails, waits for worker threads, closes the vault, and shows the unlock
screen again.  Locking never waits for a job longer than LOCK_DEADLINE_S all told: a job that ignores
its cancel is abandoned (app/ui/workers.py) and the vault is closed under it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QWidget

from app.errors import EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.ui.autolock import IdleWatcher
from app.ui.document_viewer import DocumentViewer, is_readable_document
from app.ui.guide import UserGuideWindow
from app.ui.image_viewer import ImageViewer
from app.ui.imaging import IMAGE_KINDS
from app.ui.main_window import MainWindow
from app.ui.media_viewer import MediaViewer, is_playable
from app.ui.persons import PersonsDialog
from app.ui.privacy import UiSettings
from app.ui.recording import RecordingDialog
from app.ui.recovery_dialog import RecoveryRequest, RecoverySetupDialog, SharesDialog
from app.ui.start import Backoff, CreateVault, OpenVault, StartWindow, default_create, default_open
from app.ui.vault_dialogs import ChangePassphraseDialog, ProfileDialog, checkpoint_dialog, public_key_dialog
from app.ui.vault_gate import GatedVault
from app.ui.verify import CustodyLogWindow, VerifyDialog
from app.ui.workers import Worker, WorkerPool
from app.vault.models import Item
from app.vault.service import RecoverySetup, VaultService, enable_recovery
from app.vault.service import panic as destroy_keys_if_configured

log = logging.getLogger(__name__)

# Lock, panic and exit close the vault within this time whatever a worker is doing (tracker #10, #14).
LOCK_DEADLINE_S = 1.8
# Of which at most this long goes to waiting for workers to honour their cancel.
WORKER_WAIT_MS = 1000


class EvidenceVaultApp(QObject):
    locked = Signal()
    unlocked = Signal()

    def __init__(self, qapp: QApplication, *, settings: UiSettings, open_vault: OpenVault = default_open,
                 create_vault: CreateVault = default_create, backoff: Backoff | None = None,
                 idle_ms: int | None = None) -> None:
        super().__init__()
        self.qapp = qapp
        self.settings = settings
        # One worker thread, so jobs run one after another.  Not for safety: the vault serialises its own
        # database work (tests/ui/test_vault_device.py races it from several threads); every job spends most
        # of its time in that one connection, and a second thread would only queue behind it.
        self.pool = WorkerPool(self, max_threads=1)
        self.vault: VaultService | None = None  # the real vault: only this class closes it
        self.gate: GatedVault | None = None  # what windows get (see vault_gate)
        self.main_window: MainWindow | None = None
        self.content: list[QWidget] = []  # every window/dialog that may show evidence
        self.start_window = StartWindow(self.pool, open_vault=open_vault, create_vault=create_vault,
                                        backoff=backoff)
        self.start_window.unlocked.connect(self.on_unlocked)
        self.idle = IdleWatcher(idle_ms if idle_ms is not None else settings.auto_lock_minutes * 60_000, self)
        self.idle.idle.connect(self._idle_timeout)
        qapp.installEventFilter(self.idle)
        qapp.aboutToQuit.connect(self.shutdown)

    def show(self) -> None:
        self.start_window.show()

    # -- unlock ----------------------------------------------------------------------------------
    def on_unlocked(self, vault: VaultService) -> None:
        self.vault = vault
        self.gate = GatedVault(vault)
        window = MainWindow(self.gate, self.pool)
        window.lock_requested.connect(lambda: self.lock("manual"))
        window.panic_requested.connect(self.panic)
        window.open_item_requested.connect(self.open_item)
        window.persons_requested.connect(self.open_persons)
        window.verify_requested.connect(self.open_verify)
        window.custody_log_requested.connect(self.open_custody_log)
        window.record_requested.connect(self.open_recording)
        window.settings_requested.connect(self.edit_auto_lock)
        window.redact_requested.connect(self.open_redaction)
        window.export_requested.connect(self.open_export)
        window.passphrase_requested.connect(self.open_change_passphrase)
        window.checkpoint_requested.connect(self.open_checkpoint)
        window.export_key_requested.connect(self.open_public_key)
        window.profile_requested.connect(self.open_profile)
        window.recovery_requested.connect(self.open_recovery_setup)
        window.guide_requested.connect(self.open_guide)
        window.destroyed.connect(lambda *_: None)
        self.main_window = window
        self.start_window.remember_vault(str(vault.path))
        self._settle_profile(vault)
        window.show()
        self.start_window.hide()
        self.idle.start()
        self.unlocked.emit()

    def _settle_profile(self, vault: VaultService) -> None:
        """Role and organisation typed at unlock are remembered in the vault; left blank, the vault's
        remembered ones are shown and kept on the lock screen."""
        role, organisation = self.start_window.typed_profile()
        try:
            stored = vault.actor_profile()
            if (role or organisation) and (role, organisation) != (stored.role, stored.organisation) \
                    and not vault.read_only:
                vault.set_actor_profile(role=role or stored.role, organisation=organisation or stored.organisation)
                stored = vault.actor_profile()
        except EvidenceVaultError as error:
            log.debug("could not settle the actor profile: %r", error)
            return
        self.start_window.show_profile(stored.name, stored.role, stored.organisation)

    # -- content windows -------------------------------------------------------------------------
    def _track(self, widget: QWidget) -> QWidget:
        self.content.append(widget)
        widget.destroyed.connect(lambda *_, w=widget: self._untrack(w))
        return widget

    def _untrack(self, widget: QWidget) -> None:
        self.content = [w for w in self.content if w is not widget]

    def open_item(self, item: Item) -> QWidget | None:
        if self.gate is None:
            return None
        try:
            if item.kind in IMAGE_KINDS or (item.mime or "").startswith("image/"):
                viewer: QWidget = ImageViewer(self.gate, self.pool, item)
            elif is_playable(item):
                viewer = MediaViewer(self.gate, item)
                viewer.saved.connect(self._refresh_main)
            elif is_readable_document(item):
                viewer = DocumentViewer(self.gate, item)
            else:
                self._error(EvidenceVaultError(self.tr(
                    "There is no viewer for this kind of item yet. Its details and custody are shown on the right.")))
                return None
        except EvidenceVaultError as error:
            self._error(error)
            return None
        self._record_view(self.gate, item)
        self._track(viewer).show()
        return viewer

    def _record_view(self, gate: GatedVault, item: Item) -> None:
        # Who looked at which evidence belongs in the custody log.
        try:
            gate.record_event("item_viewed", item_id=item.id)
        except EvidenceVaultError as error:
            log.debug("could not record view: %r", error)

    def open_persons(self) -> PersonsDialog | None:
        if self.gate is None:
            return None
        dialog = PersonsDialog(self.gate, self.main_window)
        dialog.changed.connect(self._refresh_main)
        self._track(dialog).show()
        return dialog

    def open_verify(self) -> VerifyDialog | None:
        if self.gate is None:
            return None
        dialog = VerifyDialog(self.gate, self.pool, self.main_window)
        self._track(dialog).show()
        return dialog

    def open_custody_log(self) -> CustodyLogWindow | None:
        if self.gate is None:
            return None
        window = CustodyLogWindow(self.gate)
        self._track(window).show()
        return window

    def open_recording(self) -> RecordingDialog | None:
        if self.gate is None:
            return None
        case_id = self.main_window.current_case_id() if self.main_window else None
        dialog = RecordingDialog(self.gate, self.pool, case_id=case_id, parent=self.main_window)
        dialog.stored.connect(lambda _id: self._refresh_main())
        self._track(dialog).show()
        return dialog

    def open_redaction(self, item: Item | None) -> QWidget | None:
        """Redaction review (app/ui/redaction_review.py) for one item."""
        if self.gate is None or item is None:
            return None
        from app.ui.redaction_review import RedactionReviewDialog

        dialog = RedactionReviewDialog(self.gate, item.id, self.main_window, pool=self.pool)
        dialog.derivativeCreated.connect(self._redacted_copy_made)
        self._track(dialog).show()
        return dialog

    def _redacted_copy_made(self, copy_id: int) -> None:
        """Show the new copy (titled and linked by the core) under its original."""
        self._refresh_main()
        if self.main_window is not None:
            self.main_window.select_item(copy_id)

    def open_export(self) -> QWidget | None:
        """The export wizard (app/ui/export_wizard.py) for the current case."""
        if self.gate is None:
            return None
        from app.ui.export_wizard import ExportWizard

        case_id = self.main_window.current_case_id() if self.main_window else None
        gate = self.gate
        # The wizard's "Open redaction review" opens the same review window as the menu, so the list
        # refreshes when the copy is made.
        wizard = ExportWizard(gate, self.main_window, case_id=case_id, pool=self.pool,
                              open_review=lambda item_id: self.open_redaction(gate.get_item(item_id)))
        self._track(wizard).show()
        return wizard

    def _dialog(self, make: Callable[[GatedVault], QWidget]) -> QWidget | None:
        if self.gate is None:
            return None
        try:
            dialog: QWidget = make(self.gate)
        except EvidenceVaultError as error:
            self._error(error)
            return None
        self._track(dialog).show()
        return dialog

    def open_change_passphrase(self) -> QWidget | None:
        return self._dialog(lambda gate: ChangePassphraseDialog(gate, self.pool, self.main_window))

    def open_checkpoint(self) -> QWidget | None:
        return self._dialog(lambda gate: checkpoint_dialog(gate, self.main_window))

    def open_public_key(self) -> QWidget | None:
        return self._dialog(lambda gate: public_key_dialog(gate, self.main_window))

    def open_profile(self) -> QWidget | None:
        def make(gate: GatedVault) -> QWidget:
            dialog = ProfileDialog(gate, self.main_window)
            dialog.saved.connect(lambda p: self.start_window.show_profile(p.name, p.role, p.organisation))
            return dialog

        return self._dialog(make)

    def open_recovery_setup(self) -> QWidget | None:
        if self.vault is None:
            return None
        dialog = RecoverySetupDialog(self.main_window)
        dialog.requested.connect(self.set_up_recovery)
        self._track(dialog).show()
        return dialog

    def set_up_recovery(self, request: RecoveryRequest) -> Worker | None:
        """Lock (the vault file is rewritten with a new key), enable recovery, show the shares once."""
        if self.vault is None:
            return None
        path, actor = self.vault.path, self.vault.actor_profile().name
        self.lock("recovery set-up")
        self.start_window.show_message(self.tr("Setting up recovery… the vault stays locked until it is done."))

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> RecoverySetup:
            return enable_recovery(path, request.passphrase, actor=actor, shares=request.shares,
                                   threshold=request.threshold, panic_destroys_keys=request.panic_destroys_keys)

        def done(setup: RecoverySetup) -> None:
            self.start_window.remember_vault(str(path))
            self.start_window.show_message(self.tr(
                "Recovery is set up. Unlock the vault with your passphrase to go on."))
            self.shares_dialog = SharesDialog(setup, self.start_window)
            self.shares_dialog.show()

        def failed(error: EvidenceVaultError) -> None:
            self.start_window.show_message(self.tr("Recovery was not set up: %1 Unlock the vault to try again.")
                                           .replace("%1", error.user_message()))

        return self.pool.run(job, name="recovery", on_result=done, on_error=failed)

    def open_guide(self) -> QWidget | None:
        # Not evidence, but tracked anyway so a lock leaves nothing open but the unlock screen.
        return self._dialog(lambda _gate: UserGuideWindow())

    def edit_auto_lock(self) -> None:
        minutes, ok = QInputDialog.getInt(self.main_window, self.tr("Auto-lock"),
                                          self.tr("Lock the vault after this many minutes without input:"),
                                          self.settings.auto_lock_minutes, 1, 240)
        if ok:
            self.set_auto_lock_minutes(minutes)

    def set_auto_lock_minutes(self, minutes: int) -> None:
        self.settings.auto_lock_minutes = minutes
        self.idle.set_timeout(self.settings.auto_lock_minutes * 60_000)

    def _refresh_main(self) -> None:
        if self.main_window is not None and self.vault is not None:
            self.main_window.refresh_items()

    def _error(self, error: EvidenceVaultError) -> None:
        if self.main_window is not None:
            self.main_window.show_error(error)

    # -- lock ------------------------------------------------------------------------------------
    def _idle_timeout(self) -> None:
        # A recording in progress is not interrupted by inactivity (the investigator is interviewing,
        # not typing); Ctrl+L still locks at once.
        if any(isinstance(w, RecordingDialog) and w.recording for w in self.content):
            self.idle.start()
            return
        self.lock("idle")

    def lock(self, reason: str = "manual") -> None:
        if self.vault is None:
            return
        deadline = time.monotonic() + LOCK_DEADLINE_S
        self.idle.stop()
        self.pool.cancel_all()
        # The unlock screen first, so closing the last content window does not quit the app.
        self.start_window.reset_for_lock()
        self.start_window.show()
        for widget in list(self.content):
            release = getattr(widget, "release", None)
            if release is not None:
                release()
            widget.close()
            widget.deleteLater()
        self.content.clear()
        # Message boxes and input dialogs opened from the main window go with it.
        for widget in QApplication.topLevelWidgets():
            if widget is not self.start_window and widget is not self.main_window and widget.isVisible():
                widget.close()
        if self.main_window is not None:
            self.main_window.teardown()
            self.main_window.hide()
            self.main_window.deleteLater()
            self.main_window = None
        # Every worker has seen its cancel; wait a bounded time, then close the vault anyway.
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if not self.pool.shutdown(max(0, min(WORKER_WAIT_MS, remaining_ms))):
            log.warning("a task did not stop when the vault was locked; it was abandoned")
        vault, self.vault, self.gate = self.vault, None, None
        if not close_vault(vault, reason, wait_s=max(0.0, deadline - time.monotonic())):
            log.error("the vault could not be closed in time: a task is stuck inside it; it closes when the task ends")
        self.start_window.activateWindow()
        self.locked.emit()

    def panic(self) -> None:
        """Lock at once; then destroy the local key material if the organisation configured that
        (recovery enabled with --panic-destroys-keys): afterwards only the recovery shares open the vault."""
        if self.vault is None:
            return
        path = self.vault.path
        self.lock("panic")
        self.start_window.forget_identity()
        try:
            result = destroy_keys_if_configured(path)
        except EvidenceVaultError as error:
            self.start_window.show_message(error.user_message())
            return
        self.last_panic = result
        self.start_window.show_message(result.message)

    def shutdown(self) -> None:
        """Application exit: stop workers, close the vault."""
        self.idle.stop()
        if self.vault is not None:
            self.lock("exit")
        self.pool.shutdown(WORKER_WAIT_MS)  # jobs of the unlock screen; a stuck one is abandoned


def close_vault(vault: VaultService, reason: str, *, wait_s: float) -> bool:
    """Record the lock and close ``vault``, waiting at most ``wait_s``; True when it is closed.

    Done on a helper thread: an abandoned job stuck inside a vault call holds the vault's lock, and the
    UI must not freeze behind it (the close then completes as soon as that call returns)."""
    def record_and_close() -> None:
        try:
            vault.record_event("locked", details={"reason": reason})
        except Exception as error:  # the lock is more important than its custody entry
            log.debug("could not record the lock: %r", error)
        try:
            vault.close()
        except Exception as error:
            log.error("closing the vault failed: %r", error)

    closer = threading.Thread(target=record_and_close, name="vault-close", daemon=True)
    closer.start()
    closer.join(wait_s)
    return not closer.is_alive()


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes
