"""The export orchestration against a real vault: consent, redaction, sealing, bundles, custody.

One vault per module (real SQLCipher file, real face photos, a generated video, a real speech
recording with a transcript in Thai, Khmer, Chinese and Vietnamese naming protected people).
Every exported PDF is parsed back completely (app.export.pdf.inspect) and its pictures are
searched for faces with the app's own detector.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from pikepdf import PdfImage
from PIL import Image

from app.errors import Cancelled, ConsentError, InvalidInput
from app.export.bundle_verify import verify_bundle
from app.export.ern import item_ern
from app.export.exporter import ExportResult, export
from app.export.pdf.inspect import extract_everything, find_strings
from app.export.pdf.seal import SealInvalid, validate_sealed_pdf
from app.progress import CancelToken
from app.redact.faces import FaceDetector
from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

SURVIVOR_NAMES = ["Nguyễn Thị Lan", "สมศรี แก้วมณี", "សុខ ចាន់ធា", "阮氏兰", "Lan Nguyen"]
WITNESS_NAMES = ["Somchai Boonmee", "สมชาย บุญมี", "宋猜", "ស៊ុំ ឆៃ"]
WITHDRAWN_NAMES = ["Trần Văn Hùng", "陈文雄"]
ALL_PROTECTED = SURVIVOR_NAMES + WITNESS_NAMES + WITHDRAWN_NAMES
TRANSCRIPT = [
    dict(start=0.0, end=4.0, speaker="Nguyễn Thị Lan", language="vi",
         text="Tôi là Nguyễn Thị Lan. Anh Somchai Boonmee cũng bị giữ trên tàu."),
    dict(start=4.0, end=8.0, speaker="Interviewer", language="th",
         text="คุณสมศรี แก้วมณี และสมชาย บุญมี ทำงานบนเรือประมงสิบสี่เดือน"),
    dict(start=8.0, end=12.0, speaker="Interviewer", language="km",
         text="ខ្ញុំឈ្មោះ សុខ ចាន់ធា ខ្ញុំធ្វើការនៅលើទូកជាមួយ ស៊ុំ ឆៃ"),
    dict(start=12.0, end=16.0, speaker="阮氏兰", language="zh",
         text="阮氏兰说她和宋猜在船上工作了十四个月。"),
]


@dataclass
class Case:
    vault: Vault
    folder: Path
    case_id: int
    withdrawn_case_id: int
    face_photo: int
    gps_photo: int
    video: int
    interview: int
    withdrawn_photo: int
    other_photo: int
    survivor: int
    witness: int


def _make_video(face: Path, out: Path) -> None:
    """A 2-second H.264 clip panning over a real face photo (generated here, never stored in the repo)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-loop", "1", "-i", str(face), "-t", "2", "-r", "10",
         "-vf", "scale=800:-2,crop=640:360:(iw-640)*t/2:0", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)],
        check=True)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    face = shared_data_path("faces", "19_Couple_Couple_19_106.jpg")
    face2 = shared_data_path("faces", "13_Interview_Interview_On_Location_13_129.jpg")
    other = shared_data_path("faces", "20_Family_Group_Family_Group_20_100.jpg")
    gps = shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")
    speech = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac")
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("export")
    inputs = folder / "inputs"
    inputs.mkdir()
    # The protected name in the file name itself: it must not reach the export.
    named = inputs / "Nguyen_Thi_Lan_at_harbour.jpg"
    named.symlink_to(face)
    video = inputs / "boat_Somchai_Boonmee.mp4"
    _make_video(face2, video)

    vault = Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    case_id = vault.add_case("Trafficking on the boat of Somchai Boonmee", "Testimony of Nguyễn Thị Lan")
    survivor = vault.add_person(name="Nguyễn Thị Lan", aliases=SURVIVOR_NAMES[1:], pseudonym="Survivor S-1",
                                role="survivor", protected=True)
    witness = vault.add_person(name="Somchai Boonmee", aliases=WITNESS_NAMES[1:], pseudonym="Witness W-2",
                               role="witness", protected=True)
    vault.add_person(name="Interviewer Kim", role="interviewer")
    vault.add_consent(survivor, scopes="court,un,ngo")
    vault.add_consent(witness, scopes="court,un,ngo,media")

    face_photo = vault.ingest_file(named, case_id=case_id).item_id
    gps_photo = vault.ingest_file(gps, case_id=case_id).item_id
    video_id = vault.ingest_file(video, case_id=case_id).item_id
    interview = vault.ingest_file(speech, case_id=case_id, kind="interview", title="Interview with 阮氏兰").item_id
    vault.update_item(face_photo, title="Nguyễn Thị Lan at the harbour",
                      description="Photographed by Somchai Boonmee; สมศรี แก้วมณี is on the left.",
                      tags=["阮氏兰", "harbour"], source="Phone of Lan Nguyen")
    vault.add_note(face_photo, "สมชาย บุญมี confirmed the date; ស៊ុំ ឆៃ was there too.")
    vault.set_transcript(interview, TRANSCRIPT)
    for item in (face_photo, video_id, interview):
        vault.link(item, survivor)
    vault.link(video_id, witness)

    # A second case: one exhibit tied to a witness who withdrew consent.
    withdrawn_case_id = vault.add_case("Second case")
    withdrawn = vault.add_person(name="Trần Văn Hùng", aliases=["陈文雄"], pseudonym="Witness W-3",
                                 role="witness", protected=True)
    vault.add_consent(withdrawn, scopes="court,un,ngo,media")
    vault.withdraw_consent(withdrawn, reason="afraid of retaliation")
    withdrawn_photo = vault.ingest_file(other, case_id=withdrawn_case_id, title="Dock at night").item_id
    vault.link(withdrawn_photo, withdrawn)
    other_photo = vault.ingest_file(gps, case_id=withdrawn_case_id, title="Harbour entrance").item_id
    try:
        yield Case(vault, folder, case_id, withdrawn_case_id, face_photo, gps_photo, video_id, interview,
                   withdrawn_photo, other_photo, survivor, witness)
    finally:
        vault.close()
        mp.undo()


@pytest.fixture(scope="module")
def redacted(case: Case) -> tuple[ExportResult, Path]:
    out = case.folder / "redacted.pdf"
    return export(case.vault, case_id=case.case_id, audience="ngo", level="redacted", out=out,
                  ern_prefix="NGO-TEST"), out


def _pdf_images(path: Path) -> list[Image.Image]:
    images = []
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for obj in page.get_images().values():
                images.append(PdfImage(obj).as_pil_image().convert("RGB"))
    return images


def _siblings(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if name in p.name)


# --- consent --------------------------------------------------------------------------------------

def test_media_export_refused_before_anything_is_written(case: Case) -> None:
    out = case.folder / "media.pdf"
    before = len(case.vault.events())
    with pytest.raises(ConsentError) as caught:
        export(case.vault, case_id=case.case_id, audience="media", level="redacted", out=out)
    message = caught.value.user_message()
    # The survivor's exhibits are listed by number, with why; the real name never appears.
    for item in (case.face_photo, case.video, case.interview):
        assert f"Item {item} " in message
    assert f"Item {case.gps_photo} " not in message
    assert "not with the media" in message and "Survivor S-1" in message
    assert not any(name in message for name in ALL_PROTECTED)
    assert not out.exists() and _siblings(case.folder, "media.pdf") == []
    assert len(case.vault.events()) == before  # nothing recorded, no derivative made


def test_withdrawn_consent_blocks_or_is_left_out(case: Case) -> None:
    out = case.folder / "second.pdf"
    with pytest.raises(ConsentError) as caught:
        export(case.vault, case_id=case.withdrawn_case_id, audience="un", level="original", out=out)
    assert "withdrew their consent" in caught.value.user_message()
    assert f"Item {case.withdrawn_photo} " in caught.value.user_message()
    assert not out.exists()

    result = export(case.vault, case_id=case.withdrawn_case_id, audience="un", level="original", out=out,
                    leave_out_without_consent=True)
    assert [item for item, _ in result.excluded] == [case.withdrawn_photo]
    assert result.exhibits == [case.other_photo]
    text = extract_everything(out).attachments["dossier-text.txt"].decode("utf-8")
    assert case.vault.get_item(case.withdrawn_photo).sha256 not in text
    assert case.vault.get_item(case.other_photo).sha256 in text


def test_override_exists_only_for_court_and_is_recorded(case: Case) -> None:
    reason = "Order 2026/17 of the trial chamber; filed under seal; Trần Văn Hùng informed"
    for audience in ("un", "ngo", "media"):
        with pytest.raises(InvalidInput, match="only for a court"):
            export(case.vault, case_id=case.withdrawn_case_id, audience=audience, level="original",
                   out=case.folder / f"override-{audience}.pdf", override_reason=reason)
    with pytest.raises(InvalidInput, match="real reason"):
        export(case.vault, case_id=case.withdrawn_case_id, audience="court", level="original",
               out=case.folder / "override-court.pdf", override_reason="  ")
    out = case.folder / "override-court.pdf"
    result = export(case.vault, case_id=case.withdrawn_case_id, audience="court", level="original", out=out,
                    override_reason=reason)
    assert result.exhibits == [case.withdrawn_photo, case.other_photo]
    overrides = [e for e in case.vault.events() if e.action == "consent_override"]
    assert overrides and overrides[-1].details["items"] == [case.withdrawn_photo]
    assert overrides[-1].details["audience"] == "court"
    recorded = overrides[-1].details["reason"]
    # The reason is kept, but a protected name in it is replaced before it enters the chain for ever.
    assert "Order 2026/17" in recorded and "Trần Văn Hùng" not in recorded and "Witness W-3" in recorded
    exported = [e for e in case.vault.events() if e.action == "exported"][-1]
    assert exported.details["consent_override"] is True and exported.seq > overrides[-1].seq


# --- the redacted dossier -------------------------------------------------------------------------

def test_redacted_dossier_leaks_no_protected_name(redacted: tuple[ExportResult, Path]) -> None:
    _, path = redacted
    contents = extract_everything(path)
    assert contents.streams and contents.attachments and contents.outlines
    hits = find_strings(contents, [*ALL_PROTECTED, "Nguyen_Thi_Lan", "Somchai_Boonmee"])
    assert hits == [], hits[:5]
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    assert "Survivor S-1" in text and "Witness W-2" in text
    assert "Nguyen_Thi_Lan_at_harbour" not in text and "Survivor_S-1_at_harbour" not in text  # no file name
    # a title set by the investigator, pseudonymised and visibly marked as redacted
    assert "[Survivor S-1] at the harbour" in text
    assert "Interviewer Kim" not in text  # people appear by pseudonym or number only
    assert "afraid of retaliation" not in text


def test_redacted_dossier_images_have_no_metadata_and_no_faces(redacted: tuple[ExportResult, Path]) -> None:
    _, path = redacted
    contents = extract_everything(path)
    assert len(contents.images) >= 11  # two photos and nine key frames
    for image in contents.images:
        assert not image.has_gps and image.exif == {} and image.metadata_segments == [], image
    detector = FaceDetector()
    visible = {}
    for index, img in enumerate(_pdf_images(path)):
        rgb = np.asarray(img)
        fill = rgb.max(axis=2) < 24  # the black redaction fill (after JPEG re-encoding)
        for box in detector.detect(rgb):
            # The detector now and then reports the filled shape itself (head-shaped black box over
            # a neck) as a weak "face"; a face left visible has no fill over it at all.
            if fill[box.y:box.y2, box.x:box.x2].mean() < 0.25:
                visible.setdefault(index, []).append(box)
    assert visible == {}


def test_redacted_dossier_carries_erns_hashes_and_a_valid_seal(case: Case, redacted) -> None:
    result, path = redacted
    contents = extract_everything(path)
    pages = len(contents.page_texts)
    assert result.pages == pages and result.ern_last == f"NGO-TEST-{pages:06d}"
    for number, page in enumerate(contents.page_texts, start=1):
        assert f"NGO-TEST-{number:06d}" in page
        assert f"page {number} of {pages}" in page
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    from app.export.commitments import commitment_key, original_commitment

    key = commitment_key(case.vault)
    for item_id in (case.face_photo, case.gps_photo, case.video, case.interview):
        item = case.vault.get_item(item_id)
        # Redacted: the original's plain hash would confirm a candidate photo; a keyed commitment does not.
        assert item.sha256 not in text and original_commitment(key, item) in text
    for original, derivative in result.derivatives_used.items():
        assert case.vault.get_item(derivative).derived_from == original
        assert case.vault.get_item(derivative).sha256 in text
    assert set(result.derivatives_used) == {case.face_photo, case.gps_photo, case.video}
    assert result.manifest_sha256 in text
    report = validate_sealed_pdf(io.BytesIO(path.read_bytes()),
                                 cert_pem=case.vault.seal_identity.cert_pem)
    assert report.ok
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 3] ^= 0x01
    with pytest.raises(SealInvalid):
        validate_sealed_pdf(io.BytesIO(bytes(tampered)), cert_pem=case.vault.seal_identity.cert_pem)


def test_redacted_export_made_and_recorded_the_derivatives(case: Case, redacted) -> None:
    result, _ = redacted
    redactions = {e.item_id: e for e in case.vault.events() if e.action == "redacted"}
    for original in (case.face_photo, case.gps_photo, case.video):
        assert redactions[original].details["derivative_item"] == result.derivatives_used[original]
    derivative = case.vault.get_item(result.derivatives_used[case.face_photo])
    with case.vault.open_original(derivative.id) as stream:
        image = Image.open(stream)
        image.load()
        assert not image.getexif() and not image.info.get("exif")


def test_export_is_an_event_and_the_vault_still_verifies(case: Case, redacted) -> None:
    result, path = redacted
    event = next(e for e in case.vault.events() if e.seq == result.event_seq)
    assert event.action == "exported"
    assert event.details["dossier_manifest_sha256"] == result.manifest_sha256
    assert event.details["pdf_sha256"] == result.pdf_sha256
    assert event.details["audience"] == "ngo" and event.details["level"] == "redacted"
    assert event.details["items"] == [case.face_photo, case.gps_photo, case.video, case.interview]
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == result.pdf_sha256
    assert case.vault.verify().ok


# --- the original-level dossier for a court ---------------------------------------------------------

def test_court_original_strips_exif_from_pages_and_attaches_originals(case: Case) -> None:
    out = case.folder / "court.pdf"
    result = export(case.vault, item_ids=[case.gps_photo, case.face_photo], audience="court",
                    level="original", out=out)
    contents = extract_everything(out)
    assert result.derivatives_used == {}
    for image in contents.images:
        assert not image.has_gps and image.exif == {} and image.metadata_segments == []
    originals = {name: data for name, data in contents.attachments.items() if name.startswith("EV-")}
    gps_original = case.vault.get_item(case.gps_photo)
    # Named by ERN, as in bundles: an original file name may itself name a witness.
    assert sorted(originals) == sorted([f"{item_ern('EV', case.gps_photo)}.jpg",
                                        f"{item_ern('EV', case.face_photo)}.jpg"])
    assert not any(Path(case.vault.get_item(i).original_name).stem in name
                   for i in (case.gps_photo, case.face_photo) for name in originals)
    import hashlib

    assert hashlib.sha256(originals[f"{item_ern('EV', case.gps_photo)}.jpg"]).hexdigest() == gps_original.sha256
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    assert "Nguyễn Thị Lan" in text  # original level: names as recorded (court, under seal)


# --- bundles --------------------------------------------------------------------------------------

def test_redacted_zip_bundle_verifies(case: Case) -> None:
    out = case.folder / "bundle.zip"
    result = export(case.vault, case_id=case.case_id, audience="un", level="redacted", out=out, bundle=True)
    report = verify_bundle(out)
    assert report.ok, report.problems
    assert result.bundle_manifest_sha256 and result.paths == [out]
    import zipfile

    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert "dossier.pdf" in names and "dossier-manifest.json" in names
        exhibit_names = [n for n in names if n.startswith("exhibits/")]
        # photos and the video as their redacted copies, named by ERN; the voice recording is withheld and
        # a placeholder says so
        assert len(exhibit_names) == 4
        assert sorted(n.rsplit("-", 1)[-1] for n in exhibit_names) == ["Red.mp4", "Red.png", "Red.png",
                                                                        "WITHHELD.txt"]
        assert not any(name in n for n in names for name in ("Nguyen", "Somchai", "Boonmee"))
        transcript = archive.read("transcripts/EX-004.txt").decode("utf-8")
        assert "Survivor S-1" in transcript and not any(n in transcript for n in ALL_PROTECTED)
    assert [item for item, _ in result.withheld_files] == [case.interview]
    exported = next(e for e in case.vault.events() if e.seq == result.event_seq)
    # The exported event comes before the bundle (its own checkpoint covers it), so it names each file
    # made at export by hash; the manifest's hash cannot exist yet.
    assert exported.details["bundle_manifest_sha256"] is None
    with zipfile.ZipFile(out) as archive:
        made = {path: sha for path, sha in exported.details["bundle_files"]}
        assert set(made) == {"dossier.pdf", "dossier-manifest.json", "transcripts/EX-004.txt",
                             f"exhibits/EV-{case.interview:05d}-WITHHELD.txt", "loadfiles/production.dat",
                             "loadfiles/production.csv", "loadfiles/production.opt"}
        import hashlib

        assert all(hashlib.sha256(archive.read(path)).hexdigest() == sha for path, sha in made.items())


def test_folder_bundle_flipped_byte_in_each_kind_of_file_is_caught(case: Case) -> None:
    out = case.folder / "bundle-folder"
    export(case.vault, item_ids=[case.gps_photo, case.interview], audience="court", level="original",
           out=out, bundle=True)
    assert verify_bundle(out).ok
    files = sorted(p for p in out.rglob("*") if p.is_file())
    kinds = {p.relative_to(out).as_posix() for p in files}
    assert {"dossier.pdf", "custody/events.jsonl", "custody/proofs.json", "custody/checkpoint.txt",
            "manifest.json", "manifest.json.sig", "SHA256SUMS"} <= kinds
    assert any(k.startswith("exhibits/") for k in kinds) and any(k.startswith("transcripts/") for k in kinds)
    for path in files:
        data = path.read_bytes()
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(flipped))
        try:
            report = verify_bundle(out)
            assert not report.ok, f"a flipped byte in {path.relative_to(out)} was not detected"
        finally:
            path.write_bytes(data)
    assert verify_bundle(out).ok


# --- safety of the output ---------------------------------------------------------------------------

def test_existing_output_is_never_overwritten(case: Case) -> None:
    out = case.folder / "exists.pdf"
    out.write_bytes(b"keep me")
    with pytest.raises(InvalidInput, match="already exists"):
        export(case.vault, item_ids=[case.gps_photo], audience="court", level="original", out=out)
    assert out.read_bytes() == b"keep me"


def test_cancel_during_rendering_leaves_no_file(case: Case) -> None:
    out = case.folder / "cancelled.pdf"
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if "Laying out" in message:
            token.cancel()

    with pytest.raises(Cancelled):
        export(case.vault, item_ids=[case.gps_photo, case.other_photo], audience="court", level="original",
               out=out, progress=progress, cancel=token)
    assert not out.exists() and _siblings(case.folder, "cancelled.pdf") == []


def test_bundle_cancelled_after_its_export_event_is_marked_not_completed(case: Case) -> None:
    out = case.folder / "cancelled-bundle"
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith("Adding exhibits/"):
            token.cancel()

    with pytest.raises(Cancelled):
        export(case.vault, item_ids=[case.gps_photo], audience="court", level="original", out=out, bundle=True,
               progress=progress, cancel=token)
    assert not out.exists() and _siblings(case.folder, "cancelled-bundle") == []
    first, second = [e for e in case.vault.events() if e.action == "exported"][-2:]
    assert first.details["format"] == "bundle-folder" and first.details["items"] == [case.gps_photo]
    assert second.details == {"completed": False, "failed_export_event": first.seq, "reason": "cancelled"}
    assert case.vault.verify(record=False).ok


def test_bad_arguments_are_refused_plainly(case: Case) -> None:
    with pytest.raises(InvalidInput, match=r"\.pdf"):
        export(case.vault, item_ids=[case.gps_photo], audience="court", level="original",
               out=case.folder / "dossier.txt")
    with pytest.raises(InvalidInput, match="ERN prefix"):
        export(case.vault, item_ids=[case.gps_photo], audience="court", level="original",
               out=case.folder / "x.pdf", ern_prefix="../x")
    with pytest.raises(InvalidInput, match="audience"):
        export(case.vault, item_ids=[case.gps_photo], audience="press", level="original",
               out=case.folder / "x.pdf")
    with pytest.raises(InvalidInput, match="not both"):
        export(case.vault, case_id=case.case_id, item_ids=[1], audience="court", level="original",
               out=case.folder / "x.pdf")
    assert not (case.folder / "x.pdf").exists()


def test_no_plaintext_left_beside_outputs(case: Case) -> None:
    leftovers = [p.name for p in case.folder.iterdir() if p.name.startswith(".") and "partial" in p.name]
    assert leftovers == []


def test_voice_disguised_copy_is_shipped_instead_of_the_recording(case: Case) -> None:
    from app.redact.derive import redact_item

    wav = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.wav")
    item = case.vault.ingest_file(wav, case_id=case.withdrawn_case_id, kind="interview").item_id
    case.vault.set_transcript(item, TRANSCRIPT[:2])
    disguised = redact_item(case.vault, item, faces=False, names=True, audio="disguise").item_id
    out = case.folder / "voice"
    result = export(case.vault, item_ids=[item], audience="un", level="redacted", out=out, bundle=True)
    assert result.derivatives_used == {item: disguised} and result.withheld_files == []
    assert verify_bundle(out).ok
    shipped = [p for p in (out / "exhibits").iterdir()]
    import hashlib

    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped] == [case.vault.get_item(disguised).sha256]
    text = extract_everything(out / "dossier.pdf").attachments["dossier-text.txt"].decode("utf-8")
    assert "voice disguised" in text and not any(n in text for n in ALL_PROTECTED)
    # Whoever knows the disguise factor shifts the voice back: it stays in the vault, the export
    # carries a keyed commitment instead (in the PDF, not even that).
    derivation = case.vault.get_item(disguised).derivation
    factor, chain = derivation["audio"]["pitch_factor"], derivation["audio"]["filter"]
    events = (out / "custody" / "events.jsonl").read_text("utf-8")
    assert '"pitch_factor":"hmac-sha256:' in events and '"filter":"hmac-sha256:' in events
    for secret in (f'"pitch_factor":{factor}', chain, f"pitch factor: {factor}"):
        assert secret not in events and secret not in text


def test_printed_inclusion_proofs_lead_to_the_checkpoint_root(case: Case, redacted) -> None:
    from app.export.dossier_builder import proof_rows
    from app.vault.merkle import MerkleTree, verify_inclusion

    result, path = redacted
    exported = next(e for e in case.vault.events() if e.seq == result.event_seq)
    size, root = exported.details["checkpoint_tree_size"], bytes.fromhex(exported.details["checkpoint_root"])
    text = extract_everything(path).attachments["dossier-text.txt"].decode("utf-8")
    assert f"Custody log size: {size} events" in text and root.hex() in text
    tree = MerkleTree(case.vault.leaf_hashes())
    events = [e for e in case.vault.events(case.face_photo) if e.seq < size]
    rows = proof_rows(events, tree, size)
    assert len(rows) == len(events) >= 4
    for event, row in zip(events, rows, strict=True):
        verify_inclusion(leaf_hash=event.leaf_hash(), index=event.seq, tree_size=size,
                         proof=[bytes.fromhex(h) for h in row.proof], root=root)
        assert row.leaf_hash in text and event.chain_hash() in text


def test_full_disk_while_writing_raises_diskfull_and_leaves_nothing(case: Case, monkeypatch) -> None:
    import errno

    from app.errors import DiskFull
    from app.export import dossier_files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dossier_files, "make_pdfa", full)
    out = case.folder / "full.pdf"
    with pytest.raises(DiskFull):
        export(case.vault, item_ids=[case.gps_photo], audience="court", level="original", out=out)
    assert not out.exists() and _siblings(case.folder, "full.pdf") == []


def test_failed_redacted_export_says_which_redacted_copies_were_kept(case: Case, monkeypatch) -> None:
    from app.export import derivatives

    first = case.vault.ingest_file(shared_data_path("faces", "19_Couple_Couple_19_106.jpg"),
                                   case_id=case.withdrawn_case_id, title="Quay, first copy").item_id
    second = case.vault.ingest_file(shared_data_path("faces", "13_Interview_Interview_On_Location_13_129.jpg"),
                                    case_id=case.withdrawn_case_id, title="Quay, second copy").item_id
    real = derivatives._redact_photo

    def second_fails(vault, item, cancel):
        if item.id == second:
            raise derivatives.NeedsRedaction(
                f"Item {item.id}: faces could still be seen after redacting it automatically. Review it "
                f"with 'evidence-vault redact {item.id} --faces' and try the export again. Nothing was written.")
        return real(vault, item, cancel)

    monkeypatch.setattr(derivatives, "_redact_photo", second_fails)
    out = case.folder / "kept.pdf"
    with pytest.raises(derivatives.NeedsRedaction) as caught:
        export(case.vault, item_ids=[first, second], audience="un", level="redacted", out=out)
    kept = [i.id for i in case.vault.list_items() if i.derived_from == first]
    assert len(kept) == 1 and not [i for i in case.vault.list_items() if i.derived_from == second]
    message = caught.value.user_message()
    assert "Nothing was written" not in message and "No export file was written." in message
    assert f"(item {kept[0]}) was kept in the vault" in message
    assert not out.exists() and _siblings(case.folder, "kept.pdf") == []


def test_last_line_of_defence_refuses_a_surviving_name() -> None:
    from app.errors import IntegrityError
    from app.export.dossier_files import check_no_protected_names
    from app.redact.names import redactor_from_persons
    from app.vault.models import Person

    redactor = redactor_from_persons([Person(1, "Nguyễn Thị Lan", ("阮氏兰",), "Survivor S-1", "survivor", True)])
    check_no_protected_names("Survivor S-1 spoke first.", redactor, "dossier text")
    with pytest.raises(IntegrityError) as caught:
        check_no_protected_names("她叫阮氏兰。", redactor, "dossier text")
    assert "阮氏兰" not in caught.value.user_message()


def test_an_export_removes_what_a_killed_export_left_behind(tmp_path) -> None:
    import os
    import time

    from app.durable import STALE_PARTIAL_SECONDS, remove_stale_partials

    old_file = tmp_path / ".dossier.pdf.pdf-abc123.partial"
    old_dir = tmp_path / ".dossier.pdf.0a1b2c.partial"
    fresh = tmp_path / ".dossier.pdf.pdf-def456.partial"
    other = tmp_path / ".other.pdf.pdf-abc123.partial"
    old_file.write_bytes(b"evidence")
    old_dir.mkdir()
    (old_dir / "exhibit.jpg").write_bytes(b"evidence")
    fresh.write_bytes(b"in progress elsewhere")
    other.write_bytes(b"another export")
    past = time.time() - STALE_PARTIAL_SECONDS - 5
    for path in (old_file, old_dir, other):
        os.utime(path, (past, past))
    remove_stale_partials(tmp_path, "dossier.pdf")
    assert not old_file.exists() and not old_dir.exists()
    assert fresh.exists() and other.exists()
