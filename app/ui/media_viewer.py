"""Audio/video player fed straight from the vault (no plaintext file), with a transcript editor.

The player reads through a VaultDevice (QIODevice over ``Vault.open_original``) via
``QMediaPlayer.setSourceDevice``.  The transcript table sits beside it: click a segment to seek,
Ctrl+T adds a segment at the current time, Ctrl+E ends the selected segment at the current time,
Ctrl+S saves through ``vault.set_transcript``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Q_ARG, QEventLoop, QMetaObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import EvidenceVaultError
from app.ui.icons import icon
from app.ui.models import SegmentsTableModel
from app.ui.safe_text import plain, timestamp
from app.ui.vault_device import VaultDevice
from app.vault.models import Item, Segment
from app.vault.service import VaultService

MEDIA_KINDS = frozenset({"video", "audio", "interview"})


def is_playable(item: Item) -> bool:
    mime = (item.mime or "").lower()
    return mime.startswith(("video/", "audio/")) or (item.kind in MEDIA_KINDS and not mime.startswith("image/"))


class MediaViewer(QWidget):
    saved = Signal()
    failed = Signal(object)

    def __init__(self, vault: VaultService, item: Item, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.vault = vault
        self.item = item
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(self.tr("Player — %1").replace("%1", plain(item.title or item.original_name,
                                                                        max_length=80)))
        self.device = VaultDevice.opened(vault.open_original(item.id), self)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget()
        self.player.setVideoOutput(self.video)
        self.player.errorOccurred.connect(self._media_error)

        self.play_button = QToolButton()
        self.play_button.setIcon(icon("fa5s.play"))
        self.play_button.setToolTip(self.tr("Play / pause (Space)"))
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName(self.tr("Position"))
        self.slider.sliderMoved.connect(self.player.setPosition)
        self.time_label = QLabel("00:00.0 / 00:00.0")
        self.player.positionChanged.connect(self._position_changed)
        self.player.durationChanged.connect(lambda d: self.slider.setRange(0, d))
        self.player.playbackStateChanged.connect(self._state_changed)
        self.mute_button = QToolButton()
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(icon("fa5s.volume-up"))
        self.mute_button.setToolTip(self.tr("Mute"))
        self.mute_button.toggled.connect(self.set_muted)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setAccessibleName(self.tr("Volume"))
        self.volume.setToolTip(self.tr("Volume"))
        self.volume.setRange(0, 100)
        self.volume.setFixedWidth(90)
        self.volume.valueChanged.connect(lambda value: self.audio.setVolume(value / 100))
        self.volume.setValue(round(self.audio.volume() * 100))
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.volume)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        player_box = QWidget()
        player_layout = QVBoxLayout(player_box)
        player_layout.addWidget(self.video, 1)
        player_layout.addLayout(controls)
        player_layout.addWidget(self.status)

        self.segments = SegmentsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.segments)
        self.table.setAccessibleName(self.tr("Transcript"))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for column in (SegmentsTableModel.COL_START, SegmentsTableModel.COL_END, SegmentsTableModel.COL_SPEAKER):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SegmentsTableModel.COL_TEXT, QHeaderView.ResizeMode.Stretch)
        self.table.clicked.connect(lambda index: self.seek_to_segment(index.row()))
        add = QPushButton(icon("fa5s.plus"), self.tr("Segment at current time (Ctrl+T)"))
        add.clicked.connect(self.insert_at_current_time)
        end = QPushButton(icon("fa5s.step-forward"), self.tr("End here (Ctrl+E)"))
        end.clicked.connect(self.end_at_current_time)
        remove = QPushButton(icon("fa5s.trash"), self.tr("Delete segment"))
        remove.clicked.connect(self.delete_selected)
        self.load_button = QPushButton(icon("fa5s.closed-captioning"), self.tr("&Load from file…"))
        self.load_button.setToolTip(self.tr("Fill the transcript from a VTT, SRT or text file; then save it"))
        self.load_button.clicked.connect(lambda: self.load_transcript_file())
        self.save_button = QPushButton(icon("fa5s.save"), self.tr("&Save transcript"))
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        for button in (add, end, remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.save_button)
        transcript_box = QWidget()
        transcript_layout = QVBoxLayout(transcript_box)
        transcript_layout.addWidget(QLabel(self.tr("Transcript")))
        transcript_layout.addWidget(self.table, 1)
        transcript_layout.addLayout(buttons)

        splitter = QSplitter()
        splitter.addWidget(player_box)
        splitter.addWidget(transcript_box)
        splitter.setSizes([520, 480])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        QShortcut(QKeySequence("Ctrl+T"), self).activated.connect(self.insert_at_current_time)
        QShortcut(QKeySequence("Ctrl+E"), self).activated.connect(self.end_at_current_time)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self).activated.connect(self.save)
        QShortcut(QKeySequence("Ctrl+Space"), self).activated.connect(self.toggle)
        self.resize(1100, 620)
        self._load_transcript()
        self.player.setSourceDevice(self.device, QUrl(f"vault:item-{item.id}"))

    # -- playback --------------------------------------------------------------------------------
    def set_muted(self, muted: bool) -> None:
        self.audio.setMuted(muted)
        self.mute_button.setIcon(icon("fa5s.volume-mute" if muted else "fa5s.volume-up"))
        self.mute_button.setToolTip(self.tr("Unmute") if muted else self.tr("Mute"))

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def _state_changed(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setIcon(icon("fa5s.pause" if playing else "fa5s.play"))

    def _position_changed(self, position: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(position)
        self.time_label.setText(f"{timestamp(position / 1000)} / {timestamp(self.player.duration() / 1000)}")

    def _media_error(self, _error: QMediaPlayer.Error, _text: str) -> None:
        # Qt's text may name codecs or internals; say something a person can act on.
        message = self.tr("This recording could not be played. The original is unchanged in the vault.")
        self.status.setText(message)
        self.failed.emit(EvidenceVaultError(message, debug_detail=_text))

    def seek_to_segment(self, row: int) -> None:
        if 0 <= row < self.segments.rowCount():
            self.player.setPosition(int(self.segments.start_of(row) * 1000))

    def stop(self) -> None:
        """Stop playback and release the vault stream, without deadlocking.

        QMediaPlayer.stop()/setSource() wait for FFmpeg's reader thread, which may be inside our
        Python ``readData`` waiting for the GIL; called from Python they would hold the GIL while
        waiting (a deadlock seen in the tests).  So both are invoked as queued C++ slots — the event
        loop runs them without the GIL — and we wait for them in a local event loop.
        """
        if not self.device.isOpen():
            return
        if self.player.source().isEmpty() and self.player.sourceDevice() is None:
            self.device.close()
            return
        loop = QEventLoop()
        self.player.sourceChanged.connect(loop.quit)
        QTimer.singleShot(5000, loop.quit)  # never hang a lock on a stuck backend
        QMetaObject.invokeMethod(self.player, "stop", Qt.ConnectionType.QueuedConnection)
        QMetaObject.invokeMethod(self.player, "setSource", Qt.ConnectionType.QueuedConnection, Q_ARG(QUrl, QUrl()))
        loop.exec()
        self.player.sourceChanged.disconnect(loop.quit)
        self.device.close()

    # -- transcript ------------------------------------------------------------------------------
    def _load_transcript(self) -> None:
        try:
            self.segments.set_segments(self.vault.transcript(self.item.id))
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())

    def current_seconds(self) -> float:
        return self.player.position() / 1000.0

    def insert_at_current_time(self) -> int:
        row = self.segments.insert_segment(self.current_seconds())
        index = self.segments.index(row, SegmentsTableModel.COL_TEXT)
        self.table.setCurrentIndex(index)
        self.table.edit(index)
        return row

    def end_at_current_time(self) -> None:
        row = self.table.currentIndex().row()
        if row >= 0:
            index = self.segments.index(row, SegmentsTableModel.COL_END)
            self.segments.setData(index, timestamp(self.current_seconds()))

    def delete_selected(self) -> None:
        self.segments.remove_segment(self.table.currentIndex().row())

    def load_transcript_file(self, path: Path | None = None) -> int:
        """Put the segments of a VTT/SRT/text file in the table (saved with Save, like typed ones)."""
        from app.ui.transcript_files import choose_transcript_file, read_transcript_file

        if path is None:
            path = choose_transcript_file(self)
            if path is None:
                return 0
        try:
            segments = read_transcript_file(path)
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())
            return 0
        self.segments.set_segments(segments)
        self.segments.dirty = True
        self.status.setText(self.tr("%n segment(s) loaded from the file. Check them, then save.", "",
                                    len(segments)))
        return len(segments)

    def save(self) -> bool:
        segments = [Segment(start=s["start"], end=max(s["end"], s["start"]), speaker=s["speaker"] or None,
                            language=s["language"], text=s["text"]) for s in self.segments.segments()]
        try:
            self.vault.set_transcript(self.item.id, segments)
        except EvidenceVaultError as error:
            self.status.setText(error.user_message())
            self.failed.emit(error)
            return False
        self.segments.dirty = False
        self.status.setText(self.tr("Transcript saved."))
        self.saved.emit()
        return True

    def release(self) -> None:
        """Lock: keep typed work (saved to the vault), stop playback, drop the stream."""
        if self.segments.dirty:
            self.save()
        self.stop()
        self.segments.set_segments([])

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.segments.dirty and self.vault is not None:
            answer = QMessageBox.question(
                self, self.tr("Unsaved transcript"), self.tr("Save the changes to the transcript?"),
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save and not self.save():
                event.ignore()
                return
        self.stop()
        super().closeEvent(event)
