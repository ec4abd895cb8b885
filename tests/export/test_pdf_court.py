"""Dossiers a court registry and a UN mechanism accept (issue 11), parsed back from the real files.

A real vault (SQLCipher file) with a protected survivor (consent with its signed form, taken by an
interviewer), a witness who withdrew consent, an alleged perpetrator, a photo with GPS, an audio
interview with a Khmer transcript naming the survivor, and the consent form itself.  Court-original
and UN-redacted exports are written through the real exporter, then read back with pikepdf (via
app.export.pdf.inspect), pypdf and pdftotext: consent section, redaction log, persistent ERNs, the
confidentiality legend on every page, load files, certification, seal fingerprint, Letter paper.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pypdf import PdfReader

from app.export.bundle_verify import verify_bundle
from app.export.exporter import export
from app.export.load_files import parse_dat
from app.export.pdf.inspect import extract_everything
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

KHMER = "ខ្ញុំឈ្មោះ សុខ ចាន់ធា ខ្ញុំធ្វើការនៅលើទូក"
OVERRIDE = "Order of Trial Chamber II, case 01/26, filing 17"


@dataclass
class Court:
    vault: Vault
    folder: Path
    case_id: int
    photo: int
    interview: int
    form: int
    withdrawn_photo: int
    video: int
    survivor: int
    witness: int


@pytest.fixture(scope="module")
def court(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("court")
    form_file = folder / "consent-form.txt"
    form_file.write_text("I agree that my testimony may be shared with a court and a UN mechanism.\n")
    vault = Vault.create(folder / "court.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    vault.set_actor_profile(role="Legal officer", organisation="Test NGO")
    case_id = vault.add_case("Forced labour on the boat")
    survivor = vault.add_person(name="សុខ ចាន់ធា", aliases=["Sok Chantha"], pseudonym="Survivor KH-01",
                                role="survivor", protected=True)
    witness = vault.add_person(name="Somchai Boonmee", pseudonym="Witness W-2", role="witness", protected=True)
    perpetrator = vault.add_person(name="Captain Lo", role="perpetrator")
    form = vault.ingest_file(form_file, case_id=case_id, kind="document", title="Signed consent form").item_id
    vault.add_consent(survivor, scopes="court,un", date="2026-10-02", taken_by="Interviewer Kim",
                      record_item_id=form)
    vault.add_consent(witness, scopes="court,un", date="2026-10-03", taken_by="Interviewer Kim")
    vault.withdraw_consent(witness, date="2026-11-01", reason="afraid of retaliation")
    photo = vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg"), case_id=case_id,
                              title="The boat at the pier").item_id
    interview = vault.ingest_file(shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac"),
                                  case_id=case_id, kind="interview", title="Interview").item_id
    vault.set_transcript(interview, [dict(start=0.0, end=4.0, speaker="សុខ ចាន់ធា", language="km", text=KHMER)])
    withdrawn_photo = vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0021.jpg"), case_id=case_id,
                                        title="Dock at night").item_id
    video_file = folder / "boat.mp4"
    # 2 s over a real face photo with a tone for the voice (generated here, never stored in the repo)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-loop", "1", "-i",
                    str(shared_data_path("faces", "19_Couple_Couple_19_106.jpg")), "-f", "lavfi", "-i",
                    "sine=frequency=220:duration=2", "-t", "2", "-r", "10", "-vf", "scale=640:-2", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video_file)], check=True)
    video = vault.ingest_file(video_file, case_id=case_id, kind="video", title="On deck").item_id
    for item in (photo, interview, video):
        vault.link(item, survivor)
    vault.link(photo, perpetrator)
    vault.link(withdrawn_photo, witness)
    try:
        yield Court(vault, folder, case_id, photo, interview, form, withdrawn_photo, video, survivor, witness)
    finally:
        vault.close()
        mp.undo()


@pytest.fixture(scope="module")
def original(court: Court):
    out = court.folder / "court-original.pdf"
    result = export(court.vault, case_id=court.case_id, audience="court", level="original", out=out,
                    override_reason=OVERRIDE, place="Phnom Penh")
    return result, out, extract_everything(out)


@pytest.fixture(scope="module")
def un_bundle(court: Court):
    out = court.folder / "un-bundle"
    result = export(court.vault, case_id=court.case_id, audience="un", level="redacted", out=out, bundle=True,
                    leave_out_without_consent=True, review_required=True, accept_automatic_redaction="Reviewer R",
                    ern_prefix="UN")
    return result, out, extract_everything(out / "dossier.pdf")


def _page_of(contents, needle: str) -> str:
    """The first page after the table of contents (page 2) that holds ``needle``."""
    return next(text for text in contents.page_texts[2:] if needle in text)


def test_consent_section_lists_each_record_and_the_override(court: Court, original) -> None:
    _, _, contents = original
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    assert text.lower().count("consent") >= 10
    page = _page_of(contents, "The consent decision of this export")
    assert "court-only consent override" in page and "Trial Chamber II" in page
    # the survivor: scopes, date, who took it, the ERN of the consent form item; the withdrawal of the witness
    assert f"EV-{court.form:05d}" in text and "2026-10-02" in text and "Interviewer Kim" in text
    assert "a court, a UN mechanism" in text
    assert "withdrawn" in text and "afraid of retaliation" in text
    assert "no consent: court override" in text  # the withdrawn witness's photo in the index
    # every exhibit's status is in the index
    index = " ".join(_page_of(contents, "Exhibit index").split())
    assert "consent covers a court" in index


def test_confidentiality_legend_on_every_page(original) -> None:
    _, out, contents = original
    assert all("CONFIDENTIAL - UNDER SEAL" in text for text in contents.page_texts)
    plain = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True).stdout.decode()
    pages = plain.split("\f")[:len(contents.page_texts)]
    assert all("CONFIDENTIAL - UNDER SEAL" in page for page in pages)


def test_persistent_erns_survive_a_growing_custody_log(court: Court, original) -> None:
    result, _, contents = original
    first = next(e for e in court.vault.events() if e.seq == result.event_seq).details
    assert first["exhibit_erns"] == [f"EV-{i:05d}" for i in result.exhibits]
    # each exhibit's pages carry its own ERN with a page number
    photo_ern = f"EV-{court.photo:05d}"
    pages = [i for i, t in enumerate(contents.page_texts) if f"{photo_ern}-0001" in t]
    assert pages and "Exhibit EX-" in contents.page_texts[pages[-1]]
    # the index shows the first–last ERN, hash, language, kind
    index = _page_of(contents, "Exhibit index")
    assert f"{photo_ern}-0001 – {photo_ern}-" in index
    photo = court.vault.get_item(court.photo)
    assert photo.sha256[:20] in index.replace("\n", "") and "km" in index
    court.vault.add_note(court.photo, "Custody grows between two exports.")
    court.vault.record_event("item_viewed", item_id=court.photo)
    again = export(court.vault, case_id=court.case_id, audience="court", level="original",
                   out=court.folder / "court-original-later.pdf", override_reason=OVERRIDE)
    later = next(e for e in court.vault.events() if e.seq == again.event_seq).details
    assert later["exhibit_erns"] == first["exhibit_erns"]
    assert later["checkpoint_tree_size"] > first["checkpoint_tree_size"]


def test_certification_names_the_declarant_and_the_cover_the_seal_fingerprint(court: Court, original) -> None:
    _, _, contents = original
    cert = x509.load_pem_x509_certificate(court.vault.seal_identity.cert_pem)
    fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert fingerprint in contents.page_texts[0].replace("\n", "")
    assert "self-signed organisation seal" in contents.page_texts[0]
    page = _page_of(contents, "Certification")
    for expected in ("Investigator A", "Legal officer", "Test NGO", "Phnom Penh"):
        assert expected in page
    assert "____" not in page and "Investigator" in page


def test_redacted_bundle_natives_placeholders_and_load_files(court: Court, un_bundle) -> None:
    result, out, contents = un_bundle
    assert verify_bundle(out).ok
    assert result.excluded and result.excluded[0][0] == court.withdrawn_photo
    decision = " ".join(_page_of(contents, "The consent decision of this export").split())
    assert f"left out of this export because consent does not allow it: UN-{court.withdrawn_photo:05d}" in decision
    assert "withdrew their consent" in decision and "Somchai" not in decision
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert any(re.fullmatch(rf"exhibits/UN-{court.photo:05d}-Red\.(png|jpg)", name) for name in names)
    assert f"exhibits/UN-{court.interview:05d}-WITHHELD.txt" in names
    placeholder = (out / f"exhibits/UN-{court.interview:05d}-WITHHELD.txt").read_text()
    assert "recording" in placeholder and "cannot be redacted automatically" in placeholder
    # the withheld exhibit has its placeholder notice in the PDF too
    assert any("WITHHELD:" in t and f"UN-{court.interview:05d}" in t for t in contents.page_texts)
    # load files: DAT (Concordance delimiters), CSV, OPT
    rows = parse_dat((out / "loadfiles/production.dat").read_bytes())
    by_ern = {r["ERN"]: r for r in rows}
    photo = by_ern[f"UN-{court.photo:05d}-Red"]
    assert photo["NATIVE"] in names and photo["NATIVE"].startswith(f"exhibits/UN-{court.photo:05d}-Red.")
    native_sha = hashlib.sha256((out / photo["NATIVE"]).read_bytes()).hexdigest()
    assert photo["SHA256"] == native_sha and photo["CONFIDENTIALITY"] == "CONFIDENTIAL - REDACTED VERSION"
    assert photo["BEGDOC"] == f"UN-{court.photo:05d}-Red-0001" and photo["CUSTODIAN"] == "Test NGO"
    interview = by_ern[f"UN-{court.interview:05d}"]
    assert interview["NATIVE"] == "" and interview["TEXT"].startswith("transcripts/")
    with open(out / "loadfiles/production.csv", newline="", encoding="utf-8") as handle:
        assert [r["BEGDOC"] for r in csv.DictReader(handle)] == [r["BEGDOC"] for r in rows]
    opt = (out / "loadfiles/production.opt").read_text().splitlines()
    reader = PdfReader(str(out / "dossier.pdf"))
    assert len(opt) == len(reader.pages)
    # every page ERN of the OPT is printed on the page the OPT points at
    for line in opt:
        page_ern, volume, image, *_ = line.split(",")
        number = int(image.split("#page=")[1])
        assert volume == "VOL001" and page_ern in contents.page_texts[number - 1]
    assert sum(1 for line in opt if line.split(",")[3] == "Y") == len(rows)


def test_redaction_log_and_marked_text(court: Court, un_bundle) -> None:
    result, _, contents = un_bundle
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    page = _page_of(contents, "Redaction log")
    assert "PW-ID" in page and "Reason codes" in text
    assert "automatic at export, accepted by Reviewer R" in text
    assert "LOC" in text  # the photo's GPS position is left out
    assert "[Survivor KH-01]" in text and "សុខ ចាន់ធា" not in text
    exported = next(e for e in court.vault.events() if e.seq == result.event_seq)
    assert exported.details["automatic_redaction_accepted_by"] == "Reviewer R"
    assert all("CONFIDENTIAL - REDACTED VERSION" in t for t in contents.page_texts)


def test_letter_paper(court: Court) -> None:
    out = court.folder / "letter.pdf"
    export(court.vault, item_ids=[court.form], audience="court", level="original", out=out, paper="Letter",
           confidentiality="confidential")
    box = PdfReader(str(out)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert all("CONFIDENTIAL" in t for t in extract_everything(out).page_texts)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm not installed")
def test_pages_render(original, tmp_path: Path) -> None:
    _, out, _ = original
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "4", str(out), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == 4


def test_public_legend_is_refused_on_originals(court: Court) -> None:
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="public redacted version"):
        export(court.vault, item_ids=[court.form], audience="court", level="original",
               out=court.folder / "x.pdf", confidentiality="public-redacted")
    assert not (court.folder / "x.pdf").exists()


def test_protected_voice_is_removed_from_a_redacted_video(court: Court, un_bundle) -> None:
    _, out, contents = un_bundle
    native = next(out.glob(f"exhibits/UN-{court.video:05d}-Red.*"))
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                              str(native)], check=True, capture_output=True, text=True).stdout.split()
    assert streams == ["video"]
    original = court.vault.open_original(court.video)
    with original:
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                                "-"], input=original.read(), check=True, capture_output=True).stdout.split()
    assert b"audio" in probe  # the original keeps its sound in the vault
    log = _page_of(contents, "Redaction log")
    assert "PW-VOICE" in log and "sound removed" in log


def test_capture_time_camera_and_gps_are_shown_right(court: Court, original, un_bundle) -> None:
    _, _, contents = original
    page = " ".join(_page_of(contents, "Exhibit EX-002").split())
    # EXIF DateTimeOriginal without OffsetTimeOriginal: the camera's clock, not UTC
    assert "2008-10-22 16:28:39 camera's local time (time zone not recorded)" in page
    assert "NIKON COOLPIX P6000" in page and "43.467448, 11.885127" in page
    assert "2008-10-23 14:27:07 UTC" in page  # the GPS receiver's own UTC time
    redacted = un_bundle[2].attachments["dossier-text.txt"].decode("utf-8")
    assert "NIKON" not in redacted and "43.4674" not in redacted and "16:28:39" not in redacted


def test_redaction_marks_are_drawn_in_a_distinct_style(un_bundle) -> None:
    import pikepdf

    _, out, contents = un_bundle
    with pikepdf.open(out / "dossier.pdf") as pdf:
        streams = b"".join(page.Contents.read_bytes() if isinstance(page.Contents, pikepdf.Stream) else
                           b"".join(s.read_bytes() for s in page.Contents) for page in pdf.pages)
    # dark red (#9b0000) fill for the marks, underlined; the text itself still reads "[Survivor KH-01]"
    assert re.search(rb"\.607843\d* 0 0 rg", streams)
    assert any("[Survivor KH-01]" in t for t in contents.page_texts)


def test_reviewed_copy_passes_the_review_gate_and_a_kept_voice_is_logged(court: Court, un_bundle) -> None:
    from app.export.dossier_court import NeedsReview
    from app.redact import derive

    with pytest.raises(NeedsReview, match="no reviewed redacted copy"):
        export(court.vault, item_ids=[court.photo, court.withdrawn_photo], audience="court", level="redacted",
               out=court.folder / "refused.pdf", review_required=True, override_reason=OVERRIDE)
    assert not (court.folder / "refused.pdf").exists()
    # a reviewer redacts the video and deliberately keeps the sound
    derive.redact_item(court.vault, court.video, faces=True, names=True, audio="keep")
    out = court.folder / "reviewed.pdf"
    export(court.vault, item_ids=[court.video], audience="un", level="redacted", out=out, review_required=True)
    log = " ".join(_page_of(extract_everything(out), "Redaction log").split())
    assert "voice kept: the reviewer chose to keep the sound" in log and "Investigator A" in log
