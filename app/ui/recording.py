"""Record an interview (QtMultimedia) with consent first; the recording never touches the disk.

Qt can only record to a file.  We record into a private directory (mode 0700) on the RAM-backed
``/dev/shm``; when recording stops the file is ingested into the vault and then deleted (on tmpfs
nothing remains on any disk).  Without /dev/shm we refuse to record rather than write plaintext to
disk.  See docs/RECORDING.md.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtMultimedia import (
    QAudioInput,
    QCamera,
    QMediaCaptureSession,
    QMediaDevices,
    QMediaFormat,
    QMediaRecorder,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.ui.icons import icon
from app.ui.models import person_label
from app.ui.privacy import memory_dir, private_scratch
from app.ui.vault_gate import begin_job, end_job
from app.ui.workers import WorkerPool
from app.vault.service import VaultService

CONSENT_SCOPES = ("court", "un", "ngo", "media")


def has_capture_devices() -> tuple[bool, bool]:
    """(has a microphone, has a camera)."""
    return bool(QMediaDevices.audioInputs()), bool(QMediaDevices.videoInputs())


class MemoryRecordingFile:
    """A private RAM-backed place for one recording; ``destroy()`` removes it."""

    def __init__(self, suffix: str) -> None:
        base = memory_dir()
        if base is None:
            raise EvidenceVaultError(
                "This computer has no memory-backed storage (/dev/shm) to record into safely. "
                "Record with another device and import the file instead.")
        self.directory = Path(private_scratch("rec", base))  # mode 0700, removed at the next start after a crash
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.path = self.directory / f"interview-{stamp}{suffix}"

    def destroy(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class RecordingDialog(QDialog):
    """Consent, then record, then store.  ``stored(item_id)`` once the recording is in the vault."""

    stored = Signal(int)

    def __init__(self, vault: VaultService, pool: WorkerPool, *, case_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.pool = pool
        self.case_id = case_id
        self.file: MemoryRecordingFile | None = None
        self.session: QMediaCaptureSession | None = None
        self.recorder: QMediaRecorder | None = None
        self.setWindowTitle(self.tr("Record an interview"))

        consent = QGroupBox(self.tr("1. Consent"))
        form = QFormLayout(consent)
        self.person_combo = QComboBox()
        form.addRow(self.tr("Interviewee:"), self.person_combo)
        self.agreed = QCheckBox(self.tr("The interviewee agreed, freely and after explanation, to be recorded"))
        form.addRow("", self.agreed)
        scope_row = QHBoxLayout()
        self.scope_checks = {scope: QCheckBox(label) for scope, label in (
            ("court", self.tr("Court")), ("un", self.tr("UN mechanism")), ("ngo", self.tr("NGO")),
            ("media", self.tr("Media")))}
        for check in self.scope_checks.values():
            scope_row.addWidget(check)
        form.addRow(self.tr("May be shown to:"), scope_row)
        self.with_video = QCheckBox(self.tr("Record video as well as sound"))
        form.addRow("", self.with_video)

        record_box = QGroupBox(self.tr("2. Record"))
        record_layout = QVBoxLayout(record_box)
        self.device_message = QLabel()
        self.device_message.setWordWrap(True)
        self.device_message.setTextFormat(Qt.TextFormat.PlainText)
        self.record_button = QPushButton(icon("fa5s.circle", "#b00020"), self.tr("Start &recording"))
        self.record_button.clicked.connect(self.start_recording)
        self.stop_button = QPushButton(icon("fa5s.stop"), self.tr("&Stop and store"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_recording)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.stop_button)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        record_layout.addWidget(self.device_message)
        record_layout.addLayout(buttons)
        record_layout.addWidget(self.status)

        layout = QVBoxLayout(self)
        layout.addWidget(consent)
        layout.addWidget(record_box)
        self.resize(560, 380)
        self._load_persons()
        self._check_devices()

    def _load_persons(self) -> None:
        self.person_combo.addItem(self.tr("(choose the person — add them under People first)"), None)
        try:
            for person in self.vault.list_persons():
                self.person_combo.addItem(f"{person_label(person)} ({person.role})", person.id)
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())

    def _check_devices(self) -> None:
        microphone, camera = has_capture_devices()
        self.has_microphone = microphone
        self.with_video.setEnabled(camera)
        if not microphone:
            self.device_message.setText(self.tr(
                "No microphone was found on this computer, so nothing can be recorded here. "
                "Connect a microphone and open this window again, or record on another device "
                "and import the file."))
            self.device_message.setStyleSheet("color: #b00020; font-weight: bold;")
            self.record_button.setEnabled(False)
        else:
            self.device_message.setText(self.tr("Microphone ready.") if not camera
                                        else self.tr("Microphone and camera ready."))

    def _consent_problem(self) -> str | None:
        if self.person_combo.currentData() is None:
            return self.tr("Choose who is being interviewed first.")
        if not self.agreed.isChecked():
            return self.tr("Record only after the interviewee has agreed to it. Tick the consent box.")
        return None

    def start_recording(self) -> None:
        problem = self._consent_problem()
        if problem:
            self.status.setText(problem)
            return
        if not self.has_microphone:
            return
        video = self.with_video.isChecked()
        try:
            self.file = MemoryRecordingFile(".mkv" if video else ".m4a")
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())
            return
        self.session = QMediaCaptureSession(self)
        self.session.setAudioInput(QAudioInput(self))
        if video:
            camera = QCamera(self)
            self.session.setCamera(camera)
            camera.start()
        self.recorder = QMediaRecorder(self)
        media_format = QMediaFormat(QMediaFormat.FileFormat.Matroska if video else QMediaFormat.FileFormat.Mpeg4Audio)
        self.recorder.setMediaFormat(media_format)
        self.recorder.setQuality(QMediaRecorder.Quality.HighQuality)
        self.session.setRecorder(self.recorder)
        self.recorder.setOutputLocation(QUrl.fromLocalFile(str(self.file.path)))
        self.recorder.errorOccurred.connect(self._recorder_error)
        self.recorder.recorderStateChanged.connect(self._state_changed)
        self.recorder.record()
        self.record_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(self.tr("Recording… (kept in memory only)"))

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
            self.stop_button.setEnabled(False)

    def _recorder_error(self, _error: QMediaRecorder.Error, _text: str) -> None:
        self.status.setText(self.tr("Recording failed. Nothing was stored. Check the microphone and try again."))
        self._discard()

    def _state_changed(self, state: QMediaRecorder.RecorderState) -> None:
        if state != QMediaRecorder.RecorderState.StoppedState or self.file is None or self.recorder is None:
            return
        location = self.recorder.actualLocation().toLocalFile() or str(self.file.path)
        recording_file = self.file
        person_id = self.person_combo.currentData()
        scopes = frozenset(s for s, c in self.scope_checks.items() if c.isChecked())
        vault, case_id = self.vault, self.case_id

        def store(progress: ProgressCallback, cancel: CancelToken) -> int:
            try:
                result = vault.ingest_file(Path(location), case_id=case_id, kind="interview",
                                           progress=progress, cancel=cancel)
            finally:
                recording_file.destroy()  # ingest-then-destroy, even when the ingest failed
            vault.link(result.item_id, person_id)
            if scopes:
                vault.add_consent(person_id, scopes=scopes, record_item_id=result.item_id)
            return result.item_id

        self.file = None
        self.status.setText(self.tr("Storing the recording in the vault…"))
        token = begin_job(vault, self.tr("storing a recording"))
        self.pool.run(store, name="store-recording", on_result=self._stored,
                      on_error=lambda e: self.status.setText(e.user_message()),
                      on_finished=lambda: end_job(vault, token))

    def _stored(self, item_id: int) -> None:
        self.status.setText(self.tr("The recording is stored in the vault (item #%1).").replace("%1", str(item_id)))
        self.record_button.setEnabled(self.has_microphone)
        self.stored.emit(item_id)

    @property
    def recording(self) -> bool:
        return self.file is not None

    def _discard(self) -> None:
        recording_file, self.file = self.file, None  # first: the stop below must not store anything
        if self.recorder is not None:
            self.recorder.stop()
        if recording_file is not None:
            recording_file.destroy()
        self.record_button.setEnabled(self.has_microphone)
        self.stop_button.setEnabled(False)

    def release(self) -> None:
        """Lock: stop and discard an unfinished recording (nothing is stored)."""
        self._discard()

    def done(self, result: int) -> None:
        self._discard()
        super().done(result)


