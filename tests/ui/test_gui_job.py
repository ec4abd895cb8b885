"""The investigator's job in the GUI alone (issue 15): a transcript file attached to a recording and found
by searching as you type (with the matching line and timecode), documents read in a viewer, the
custody log and "Derived from" in words.  Real vault, real Qt widgets offscreen."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from reportlab.pdfgen import canvas

from app.errors import InvalidInput
from app.ui.document_viewer import DocumentViewer
from app.ui.media_viewer import MediaViewer
from app.ui.models import EventsTableModel
from app.ui.transcript_files import read_transcript_file
from tests.ui.conftest import make_png, make_video, type_text

VTT = """WEBVTT

00:00:00.000 --> 00:00:04.000
<v Interviewer>เล่าให้ฟังหน่อยว่าเกิดอะไรขึ้น

00:00:04.000 --> 00:00:09.500
<v Witness A>我们在渔船上工作了两年，没有工资。
"""
SRT = """1
00:00:01,000 --> 00:00:02,500
Witness A: They took our passports.

2
00:00:03,000 --> 00:00:05,000
Interviewer: Who did?
"""


def _import(window, paths, qtbot):
    worker = window.import_paths([str(p) for p in paths])
    assert worker is not None
    with qtbot.waitSignal(worker.signals.finished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.import_worker is None)
    return window.last_import.stored


def test_a_transcript_file_attached_from_the_menu_is_found_as_you_type(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    (video,) = _import(window, [make_video(tmp_path / "boat.mp4")], qtbot)
    vtt = tmp_path / "boat.vtt"
    vtt.write_text(VTT, encoding="utf-8")
    assert window.select_item(video)
    assert window.attach_transcript_current(vtt) == 2
    stored = unlocked.vault.transcript(video)
    assert [(s.start, s.speaker) for s in stored] == [(0.0, "Interviewer"), (4.0, "Witness A")]
    assert "transcript_set" in [e.action for e in unlocked.vault.events(video)]
    assert [i.id for i in unlocked.vault.list_items()] == [video]  # the .vtt is not an extra "document"

    window.items_view.clearSelection()
    type_text(qtbot, window.search_edit, "渔船")  # no Enter: the search runs while typing
    qtbot.waitUntil(lambda: window.search_hits.count() == 1, timeout=5_000)
    line = window.search_hits.item(0).text()
    assert "transcript at 0:00:04" in line and "渔船" in line and "boat" in line
    assert window.search_hits.isVisible()
    window.search_hits.itemClicked.emit(window.search_hits.item(0))
    assert window.current_item().id == video
    window.search_edit.clear()
    assert not window.search_hits.isVisible()


def test_the_player_loads_an_srt_file_into_the_transcript(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    (video,) = _import(window, [make_video(tmp_path / "talk.mp4")], qtbot)
    srt = tmp_path / "talk.srt"
    srt.write_text(SRT, encoding="utf-8")
    viewer = unlocked.open_item(unlocked.vault.get_item(video))
    assert isinstance(viewer, MediaViewer) and viewer.load_button.isVisibleTo(viewer)
    assert viewer.load_transcript_file(srt) == 2
    assert viewer.segments.dirty and "loaded" in viewer.status.text()
    assert viewer.save()
    assert [(s.speaker, s.text) for s in unlocked.vault.transcript(video)] == [
        ("Witness A", "They took our passports."), ("Interviewer", "Who did?")]
    empty = tmp_path / "empty.vtt"
    empty.write_text("WEBVTT\n\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no transcript text"):
        read_transcript_file(empty)
    viewer.close()


def _pdf(path: Path) -> Path:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Statement of witness A")
    page.showPage()
    page.drawString(72, 720, "Page two")
    page.save()
    path.write_bytes(buffer.getvalue())
    return path


def test_text_and_pdf_documents_open_in_a_viewer(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    note = tmp_path / "statement.txt"
    note.write_text("ខ្ញុំធ្វើការនៅលើទូក\nLine two\u202e reversed?\n", encoding="utf-8")
    subtitles = tmp_path / "interview.vtt"
    subtitles.write_text(VTT, encoding="utf-8")
    text_id, pdf_id, vtt_id = _import(window, [note, _pdf(tmp_path / "statement.pdf"), subtitles], qtbot)
    before = set(tmp_path.rglob("*"))
    # File > Import of a .vtt: a transcript item whose words are its transcript, so search finds them.
    assert unlocked.vault.get_item(vtt_id).kind == "transcript"
    assert [s.start for s in unlocked.vault.transcript(vtt_id)] == [0.0, 4.0]
    assert {h.item_id for h in unlocked.vault.search("渔船")} == {vtt_id}
    vtt_viewer = unlocked.open_item(unlocked.vault.get_item(vtt_id))
    assert isinstance(vtt_viewer, DocumentViewer) and "00:00:04.000 --> 00:00:09.500" in vtt_viewer.text.toPlainText()

    text_viewer = unlocked.open_item(unlocked.vault.get_item(text_id))
    assert isinstance(text_viewer, DocumentViewer) and text_viewer.text is not None
    shown = text_viewer.text.toPlainText()
    assert "ខ្ញុំធ្វើការនៅលើទូក" in shown and "Line two" in shown and "\u202e" not in shown
    assert text_viewer.text.isReadOnly()

    pdf_viewer = unlocked.open_item(unlocked.vault.get_item(pdf_id))
    assert isinstance(pdf_viewer, DocumentViewer) and pdf_viewer.pdf is not None
    assert pdf_viewer.pdf.status() == QPdfDocument.Status.Ready and pdf_viewer.pdf.pageCount() == 2
    assert "Statement of witness A" in pdf_viewer.pdf.getAllText(0).text()
    assert set(tmp_path.rglob("*")) == before  # read from the vault, nothing decrypted written
    viewed = [e for e in unlocked.vault.events(pdf_id) if e.action == "item_viewed"]
    assert viewed
    unlocked.lock()
    assert pdf_viewer.device is None  # the lock closed the vault stream


def test_custody_and_derived_from_in_plain_words(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    (photo,) = _import(window, [make_png(tmp_path / "IMG_7.png")], qtbot)
    vault = unlocked.vault
    derivation = {"redaction": 1, "original_item": photo, "media": "photo", "method": "blur",
                  "faces": [[1, 2, 30, 40]], "names": {"mode": "pseudonym", "persons": [1]}, "seed": 7}
    copy = vault.ingest_stream(io.BytesIO(make_png(tmp_path / "copy.png", colour=Qt.GlobalColor.black).read_bytes()),
                               name="IMG_7 (redacted).png", kind="photo", case_id=vault.get_item(photo).case_id,
                               derived_from=photo, derivation=derivation, mime="image/png").item_id
    window.refresh_items()
    assert window.select_item(copy)
    derived = window.details.values["derived"].text()
    assert derived == f"Redacted copy of item {photo}: faces covered (blurred), names replaced by pseudonyms"
    model = window.details.events_model
    actions = [model.index(r, EventsTableModel.COL_ACTION).data() for r in range(model.rowCount())]
    assert "Stored the file in the vault" in actions and "item_ingested" not in actions
    tip = model.index(0, EventsTableModel.COL_ACTION).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "item_ingested"  # the log's own word stays available to auditors


def test_the_start_screen_does_not_contradict_recovery(ui):
    start = ui.start_window
    texts = " ".join(label.text() for label in start.findChildren(type(start.create_message)))
    assert "Nobody can recover" not in texts and "recovery shares" in texts


def test_a_redacted_copy_is_titled_linked_and_listed_under_its_original(unlocked, tmp_path, qtbot):
    window = unlocked.main_window
    first, _second = _import(window, [make_png(tmp_path / "harbour.png"),
                                     make_png(tmp_path / "zz_dock.png", width=640, colour=Qt.GlobalColor.red)], qtbot)
    vault = unlocked.vault
    survivor = vault.add_person(name="Nguyễn Thị Lan", pseudonym="Survivor S-1", role="survivor", protected=True)
    vault.link(first, survivor)
    # The real redaction screen, from the app: a box drawn by the reviewer, applied in a worker.
    dialog = unlocked.open_redaction(vault.get_item(first))
    qtbot.waitUntil(lambda: dialog.proposal is not None and dialog.photo is not None, timeout=60_000)
    dialog.editor.add_box(20, 20, 80, 60)
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=60_000)
    with qtbot.waitSignal(dialog.derivativeCreated, timeout=60_000) as created:
        dialog.apply()
    copy = created.args[0]
    qtbot.waitUntil(lambda: window.current_item() is not None and window.current_item().id == copy, timeout=10_000)
    assert vault.get_item(copy).title == "harbour (redacted)"
    assert [p.id for p in vault.persons_for_item(copy)] == [survivor]
    # The core titles the copy as it stores it, then links it: no separate rename.
    assert [e.action for e in vault.events(copy)][-2:] == ["item_ingested", "item_linked"]
    assert vault.get_item(first).title == "harbour"  # the original is untouched
    assert "Redacted copy of item" in window.details.values["derived"].text()
    for column, order in ((0, Qt.SortOrder.AscendingOrder), (0, Qt.SortOrder.DescendingOrder),
                          (5, Qt.SortOrder.AscendingOrder), (5, Qt.SortOrder.DescendingOrder)):
        window.items_view.sortByColumn(column, order)
        listed = [window.items_proxy.index(r, 0).data() for r in range(window.items_proxy.rowCount())]
        at = listed.index("harbour")
        assert listed[at + 1] == "↳ harbour (redacted)", (column, order, listed)
        assert "zz_dock" in listed
    dialog.close()
