"""Walk the main screens of the desktop app with a generated demo vault and save PNGs.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Runs under Xvfb at 1366×768, a common laptop screen (re-executes itself through ``xvfb-run`` when
there is no DISPLAY); every window is shown at a size that fits it.  Everything
shown is generated here: synthetic images (no photos of real people), a test-pattern video, demo
names.  The demo vault lives in a temporary directory that is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "orbit lantern meadow copper seventeen"


def _reexec_under_xvfb() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("EV_SCREENSHOTS_CHILD"):
        return
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.exit("xvfb-run is not installed (apt-get install xvfb xauth)")
    env = dict(os.environ, EV_SCREENSHOTS_CHILD="1")
    result = subprocess.run([xvfb, "-a", "-s", "-screen 0 1366x768x24", sys.executable, *sys.argv], env=env)
    sys.exit(result.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    _reexec_under_xvfb()
    sys.path.insert(0, str(ROOT))
    os.umask(0o077)

    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPolygonF
    from PySide6.QtWidgets import QApplication, QWidget

    from app.ui.app import EvidenceVaultApp
    from app.ui.privacy import UiSettings, cleanup_process, harden_process
    from app.ui.start import Backoff
    from app.vault.models import Segment
    from app.vault.vault import Vault

    harden_process()
    qapp = QApplication([sys.argv[0], "-platform", "xcb"] if os.environ.get("DISPLAY") else [sys.argv[0]])
    qapp.setFont(QFont("Noto Sans", 10))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ev-demo-"))
    shots: list[str] = []

    def settle(ms: int = 300) -> None:
        from PySide6.QtCore import QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(ms)
        while not deadline.hasExpired():
            qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    def wait_for(predicate, ms: int = 15000) -> None:
        from PySide6.QtCore import QDeadlineTimer

        deadline = QDeadlineTimer(ms)
        while not predicate() and not deadline.hasExpired():
            qapp.processEvents()
        if not predicate():
            raise RuntimeError("timed out waiting for the UI")

    def shot(widget: QWidget, name: str, *, from_screen: bool = False) -> None:
        settle()
        path = out / f"{name}.png"
        if from_screen:  # video surfaces are not part of QWidget.grab(); read the X screen instead
            widget.raise_()
            widget.activateWindow()
            settle(500)
            widget.screen().grabWindow(widget.winId()).save(str(path))
        else:
            widget.grab().save(str(path))
        shots.append(str(path))

    def scene(path: Path, hue: int, title: str) -> Path:
        """A synthetic 'photo': sky gradient, hills, a boat shape, a caption. No people."""
        image = QImage(1280, 800, QImage.Format.Format_RGB32)
        painter = QPainter(image)
        gradient = QLinearGradient(0, 0, 0, 800)
        gradient.setColorAt(0, QColor.fromHsv(hue, 90, 240))
        gradient.setColorAt(1, QColor.fromHsv((hue + 40) % 360, 160, 120))
        painter.fillRect(image.rect(), gradient)
        painter.setBrush(QColor.fromHsv((hue + 90) % 360, 120, 90))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(QPolygonF([QPointF(0, 560), QPointF(400, 380), QPointF(760, 540), QPointF(1280, 420),
                                       QPointF(1280, 800), QPointF(0, 800)]))
        painter.setBrush(QColor(60, 40, 30))
        painter.drawPolygon(QPolygonF([QPointF(420, 640), QPointF(860, 640), QPointF(800, 700), QPointF(480, 700)]))
        painter.setPen(QColor("white"))
        painter.setFont(QFont("Noto Sans", 28))
        painter.drawText(QRectF(40, 30, 1200, 60), title)
        painter.end()
        image.save(str(path), "JPEG", 88)
        return path

    try:
        vault_path = work / "demo.evault"
        vault = Vault.create(vault_path, PASSPHRASE, actor="demo investigator", organisation="Demo NGO")
        case = vault.add_case("Fishing fleet 2026", "Forced labour on long-haul vessels (demo data)")
        vault.add_case("Garment factory — Mae Sot")
        vault.add_case("Recruitment agency 仲介")
        media = work / "media"
        media.mkdir()
        files = [scene(media / f"harbour-{i}.jpg", hue, text) for i, (hue, text) in enumerate(
            [(200, "Harbour, evening"), (30, "Dormitory, exterior"), (120, "Pier 4"), (280, "Boat registry")])]
        video = media / "interview-01.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=640x360:rate=25:duration=6", "-f", "lavfi", "-i",
                        "sine=frequency=330:duration=6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                        "-shortest", str(video)], check=True)
        statement = media / "statement.txt"
        statement.write_text("Demo statement.\n", encoding="utf-8")
        damaged = media / "pier-night.jpg"  # a copy cut short, as from an interrupted phone transfer
        damaged.write_bytes(files[2].read_bytes()[:9000])
        ids = [vault.ingest_file(f, case_id=case).item_id for f in [*files, video, statement, damaged]]
        vault.edit_item(ids[0], title="Harbour where the boat docked", tags=["location", "ท่าเรือ"],
                        description="The survivor says the boat docked here every Friday night.",
                        place="Fishing port, Samut Sakhon", source="Photographed by the investigator",
                        captured_at="2026-03-14 18:40 +07:00")
        vault.edit_item(ids[4], title="Interview with Survivor 7", tags=["interview", "证词"],
                        source="Recorded in the shelter", place="Mae Sot")
        vault.edit_item(ids[5], title="Written statement (demo)")
        vault.set_item_hidden(ids[1])  # imported by mistake: hidden, its custody kept
        survivor = vault.add_person(name="Demo Person One", aliases=["D1"], pseudonym="Survivor 7",
                                    role="survivor", protected=True)
        witness = vault.add_person(name="Demo Witness", role="witness")
        vault.add_person(name="Demo Interviewer", role="interviewer")
        vault.link(ids[4], survivor)
        vault.link(ids[0], witness)
        vault.add_consent(survivor, scopes=["court", "un"], taken_by="Demo Interviewer", record_item_id=ids[4])
        vault.add_note(ids[0], "ผู้รอดชีวิตบอกว่าเรือจอดที่นี่ทุกคืนวันศุกร์")
        vault.add_note(ids[0], "Boat name visible in the second photo.")
        vault.set_transcript(ids[4], [
            Segment(0.0, 2.0, "Interviewer", "th", "เล่าให้ฟังหน่อยว่าเกิดอะไรขึ้นบนเรือ"),
            Segment(2.0, 4.5, "Survivor 7", "zh", "我们在船上工作了两年，没有拿到工资。"),
            Segment(4.5, 6.0, "Survivor 7", "km", "ពួកគេបានយកលិខិតឆ្លងដែនរបស់យើង។"),
        ])
        vault.close()

        ui = EvidenceVaultApp(qapp, settings=UiSettings(work / "ui.ini"), backoff=Backoff(base_seconds=30))
        ui.show()
        start = ui.start_window
        start.open_path.setText(str(vault_path))
        start.open_actor.setText("demo investigator")
        start.open_passphrase.setText("wrong passphrase typed")
        start.try_unlock()
        wait_for(lambda: start.open_message.text() != "")
        shot(start, "01-unlock-wrong-passphrase")
        start.tabs.setCurrentIndex(1)
        start.create_path.setText(str(work / "new.evault"))
        start.create_org.setText("Demo NGO")
        start.create_passphrase.setText("tiger river")
        shot(start, "02-create-vault-weak")
        start.create_passphrase.setText(PASSPHRASE)
        start.create_repeat.setText(PASSPHRASE)
        start.create_understood.setChecked(True)
        shot(start, "03-create-vault-strong")
        start.tabs.setCurrentIndex(0)
        start.backoff.reset()
        start._tick()
        start.open_passphrase.setText(PASSPHRASE)
        start.try_unlock()
        wait_for(lambda: ui.main_window is not None)
        window = ui.main_window
        window.resize(1340, 700)
        window.cases_view.setCurrentIndex(window.cases_model.index(window.cases_model.row_of(case)))
        wait_for(lambda: sum(window.items_model.has_thumbnail(i) for i in window.items_model.item_ids()) >= 3)
        window.select_item(ids[0])
        shot(window, "04-main-window")
        window.search_edit.setText("ท่าเรือ")
        window.run_search()
        shot(window, "05-search-thai")
        window.search_edit.setText("工资")  # a word of the transcript: the matching line and its timecode
        window.run_search()
        shot(window, "25-search-transcript-timecode")
        window.search_edit.setText("")
        window.select_item(ids[4])
        window.details.tabs.setCurrentIndex(2)
        shot(window, "06-custody-of-item")
        window.details.tabs.setCurrentIndex(0)

        viewer = ui.open_item(vault_item(ui, ids[0]))
        wait_for(lambda: viewer.image is not None)
        viewer.view.set_zoom(0.6)
        shot(viewer, "07-image-viewer")
        viewer.close()
        player = ui.open_item(vault_item(ui, ids[4]))
        player.player.play()
        wait_for(lambda: player.player.position() > 1500)
        player.player.pause()
        shot(player, "08-player-transcript", from_screen=True)
        player.close()
        persons = ui.open_persons()
        shot(persons, "09-people-consent")
        persons.close()
        verify = ui.open_verify()
        verify.start()
        wait_for(lambda: verify.report is not None)
        shot(verify, "10-verify")
        verify.close()
        log = ui.open_custody_log()
        shot(log, "11-custody-log")
        log.close()
        recording = ui.open_recording()
        shot(recording, "12-record-no-device")
        recording.close()

        window.select_item(ids[0])
        editor = window.edit_current()
        shot(editor, "15-edit-item-details")
        editor.reject()
        window.select_item(ids[6])
        shot(window, "16-damaged-file-marked")
        window.show_hidden_action.setChecked(True)
        window.select_item(ids[1])
        shot(window, "17-hidden-item-shown")
        window.show_hidden_action.setChecked(False)
        redaction = ui.open_redaction(vault_item(ui, ids[0]))
        wait_for(lambda: redaction.proposal is not None and redaction.photo is not None, 60000)
        redaction.resize(1340, 700)
        shot(redaction, "18-redaction-review-1366x768")
        redaction.close()
        wizard = ui.open_export()
        shot(wizard, "19-export-wizard")
        wizard.close()
        checkpoint = ui.open_checkpoint()
        shot(checkpoint, "20-checkpoint")
        checkpoint.close()
        key = ui.open_public_key()
        shot(key, "21-public-key")
        key.close()
        profile = ui.open_profile()
        profile.role_combo.setCurrentText("Lawyer")
        profile.org_edit.setText("Demo NGO")
        shot(profile, "22-who-is-working")
        profile.save()
        passphrase = ui.open_change_passphrase()
        passphrase.new_edit.setText("tiger river")
        shot(passphrase, "23-change-passphrase")
        passphrase.reject()
        guide = ui.open_guide()
        shot(guide, "24-user-guide")
        guide.close()
        document = ui.open_item(vault_item(ui, ids[5]))
        shot(document, "26-document-viewer")
        document.close()
        attached = media / "interview-01.vtt"  # a transcript typed elsewhere, attached from the Edit menu
        attached.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Interviewer>เล่าให้ฟังหน่อยว่าเกิดอะไรขึ้นบนเรือ\n\n"
                            "00:00:02.000 --> 00:00:04.500\n<v Survivor 7>我们在船上工作了两年，没有拿到工资。\n\n"
                            "00:00:04.500 --> 00:00:06.000\n<v Survivor 7>ពួកគេបានយកលិខិតឆ្លងដែនរបស់យើង។\n",
                            encoding="utf-8")
        from app.ui.transcript_files import attach_transcript

        # Edit ▸ Attach transcript file asks before replacing the typed transcript; answered yes here.
        if attach_transcript(window, ui.gate, vault_item(ui, ids[4]), attached, confirm=False) != 3:
            raise RuntimeError("the transcript was not attached")
        recovery = ui.open_recovery_setup()
        shot(recovery, "27-recovery-setup")
        recovery.reject()
        video_redaction = ui.open_redaction(vault_item(ui, ids[4]))
        wait_for(lambda: video_redaction.video is not None and video_redaction.frame_boxes is not None
                 and video_redaction.proposal is not None, 120000)
        video_redaction.resize(1340, 700)
        video_redaction.timeline.slider.setValue(40)
        settle(800)
        video_redaction.editor.add_box(220, 90, 200, 170)
        video_redaction.set_preview(True)
        shot(video_redaction, "28-video-redaction-preview")
        video_redaction.close()
        photo_redaction = ui.open_redaction(vault_item(ui, ids[0]))
        wait_for(lambda: photo_redaction.proposal is not None and photo_redaction.photo is not None, 60000)
        photo_redaction.editor.add_box(420, 560, 460, 160)  # the boat's registration, say
        copies, problems = [], []
        photo_redaction.derivativeCreated.connect(copies.append)
        photo_redaction.applyFailed.connect(problems.append)
        photo_redaction.residualFound.connect(lambda _boxes: problems.append("residual"))
        wait_for(lambda: photo_redaction.apply_button.isEnabled(), 60000)
        photo_redaction.apply()
        wait_for(lambda: bool(copies) or bool(problems), 300000)
        if problems == ["residual"]:  # the detector saw a "face" in the synthetic hills: checked, not a face
            problems.clear()
            photo_redaction.apply(accept_residual=True)
            wait_for(lambda: bool(copies) or bool(problems), 300000)
        if problems:
            raise RuntimeError(f"the demo redaction failed: {problems} ({photo_redaction.status.text()})")
        settle(500)
        photo_redaction.close()
        window.select_item(copies[0])
        shot(window, "29-redacted-copy-under-original")
        exported = export_walkthrough(ui, window, case, work, wait_for, shot, [ids[0], ids[4], ids[5]])
        report = verify_lone_pdf(exported)
        render_transcript_page(exported, out / "32-dossier-transcript-page.png", shots)
        print(f"verify-pdf {exported.name}: {'VERIFIED' if report.ok else report.problems} "
              f"({report.proofs_checked} custody proofs)")

        qapp.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        window.select_item(ids[0])
        shot(window, "13-main-window-rtl")
        qapp.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        ui.lock()
        shot(ui.start_window, "14-locked")
        ui.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        cleanup_process()
    print("\n".join(shots))
    return 0


def vault_item(ui, item_id):
    return ui.gate.get_item(item_id)


def export_walkthrough(ui, window, case, work, wait_for, shot, items):
    """File ▸ Export dossier for a court, original level, to the end.  The whole case first: it holds the
    damaged photo, and the wizard says which exhibit could not be read (shot); then the chosen ``items``."""
    window.cases_view.setCurrentIndex(window.cases_model.index(window.cases_model.row_of(case)))
    target = None
    for attempt, chosen in enumerate((None, items)):
        wizard = ui.open_export()
        target = work / f"court-dossier-{attempt}.pdf"
        if chosen is not None:
            wizard.items_page.choose_items(chosen)
        wizard.next()
        wizard.set_choice(audience="court")
        wizard.next()
        wizard.set_choice(level="original")
        wizard.next()
        wizard.output_page.ern.setText("FF-2026")
        wizard.output_page.path.setText(str(target))
        wizard.next()
        assert wizard.currentPage() is wizard.options_page  # legend, paper, place, seal: the defaults
        wizard.next()
        wait_for(lambda wizard=wizard: wizard.consent_page.report is not None, 60000)
        if not wizard.consent_page.isComplete():
            wizard.consent_page.leave_out.setChecked(True)
        wizard.next()
        wait_for(lambda wizard=wizard: not wizard.progress_page.running, 300000)
        if chosen is None:
            shot(wizard, "30-export-damaged-exhibit-named")
        else:
            wait_for(lambda wizard=wizard: wizard.currentPage() is wizard.done_page, 60000)
            shot(wizard, "31-export-done")
        wizard.close()
    return target


def verify_lone_pdf(path):
    """What `evidence-vault verify-pdf FILE` checks, on the exported file alone."""
    from app.export.pdf.verify_pdf import verify_pdf

    report = verify_pdf(path)
    if not report.ok:
        raise RuntimeError(f"the exported dossier does not verify: {report.problems}")
    return report


def render_transcript_page(path, png, shots):
    """The dossier page that carries the interview's transcript, rendered by Qt's PDF module."""
    from PySide6.QtCore import QSize
    from PySide6.QtPdf import QPdfDocument

    document = QPdfDocument()
    document.load(str(path))
    for page in range(document.pageCount()):
        if "Words spoken" in document.getAllText(page).text():
            document.render(page, QSize(850, 1202)).save(str(png))
            shots.append(str(png))
            return
    raise RuntimeError("no transcript page in the dossier")


if __name__ == "__main__":
    sys.exit(main())
