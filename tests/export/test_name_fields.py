"""Protected names written as people write them, in every field of a real vault, never reach a redacted
export (issues #10 and #14).

Each field holds another variant class: case title (Western order, no diacritics: also the PDF /Title
and XMP), item title (title + given name), description (full-width letters), note (zero-width
characters), tags (lower case, other order), file name (underscores), place (never shown at the
redacted level), source (Cyrillic look-alike capital), a WebVTT transcript imported with character
references and a name split across two cues, Thai and Burmese titles and honorifics, a Latin
transliteration registered as an alias, and a custody event's details.  The redacted PDF is read back
with pypdf and pdftotext, the bundle unzipped; none holds any of the names.  A misspelt name whose
distinctive part alone is redacted stops the export until a reviewer clears it (recorded in the chain).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest

from app.export.bundle_verify import verify_bundle
from app.export.exporter import export
from app.export.near_matches import NearMatchesFound
from app.export.pdf.inspect import extract_everything
from app.media.subtitles import parse_transcript_bytes
from app.vault import db, keys
from app.vault.models import Segment
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import FAST_KDF_ITER, _one_seal_identity

SURVIVOR = "Đặng Thị Xuyến"
WITNESS = "นายสมชาย ใจดี"
BURMESE = "ခင်မီမီလွင်"
SPLIT = "Nguyễn Thị Lan"
VTT = (
    "WEBVTT\n\n"
    "00:00:01.000 --> 00:00:04.000\n<v Interviewer>Đặng&nbsp;Thị&nbsp;Xuy&#7871;n, chị kể đi.\n\n"
    "00:00:04.000 --> 00:00:08.000\n<v Survivor>Tôi đi cùng chị Nguyễn\n\n"
    "00:00:08.000 --> 00:00:12.000\n<v Survivor>Thị Lan và คุณสมชาย lên tàu. "
    "Daw Khin Mi Mi Lwin &#x0026; ဒေါ်ခင်မီမီလွင် cũng vậy.\n"
)
# Every written form that must not leave (compared after NFC; the PDF text layer is NFC).
FORBIDDEN = ["Xuyến", "Xuyen", "XUYEN", "xuyen", "Ｘｕｙｅｎ", "Đặng", "Dang", "สมชาย", "ใจดี", "ခင်မီမီလွင်",
             "Khin Mi Mi Lwin", "Nguyễn", "Nguyen", "Thị Lan", "Xuуen"]


@dataclass
class Exported:
    vault: Vault
    folder: Path
    pdf: Path
    bundle: Path
    item: int


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    face = shared_data_path("faces", "19_Couple_Couple_19_106.jpg")
    mp = pytest.MonkeyPatch()
    mp.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    mp.setattr(keys, "new_seal_identity",
               lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))
    folder = tmp_path_factory.mktemp("fields")
    named = folder / "Xuyen_Dang_harbour.jpg"
    named.symlink_to(face)
    vault = Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    try:
        case_id = vault.add_case("Detention of Xuyen Dang", "Testimony of Đặng Thị Xuyến")
        survivor = vault.add_person(name=SURVIVOR, pseudonym="Survivor S-1", role="survivor", protected=True)
        witness = vault.add_person(name=WITNESS, pseudonym="Witness W-2", role="witness", protected=True)
        burmese = vault.add_person(name=BURMESE, aliases=["Khin Mi Mi Lwin"], pseudonym="Witness W-3",
                                   role="witness", protected=True)
        split = vault.add_person(name=SPLIT, pseudonym="Witness W-4", role="witness", protected=True)
        for person in (survivor, witness, burmese, split):
            vault.add_consent(person, scopes="court,un,ngo")
        item = vault.ingest_file(named, case_id=case_id, kind="interview").item_id
        vault.update_item(item, title="Chị Xuyến at the harbour",
                          description="Ｄａｎｇ Ｔｈｉ Ｘｕｙｅｎ was photographed here.",
                          tags=["xuyến đặng", "harbour"], source="Phone of Xuуen Dang\u0027s sister",
                          place="Nhà của Đặng Thị Xuyến, Cà Mau")
        vault.add_note(item, "Dang\u200bThi\u200bXuyen confirmed the date; ဦးခင်မီမီလွင် too.")
        parsed = parse_transcript_bytes(VTT.encode("utf-8"), name="interview.vtt", language="vi")
        vault.set_transcript(item, [Segment(start=s.start, end=s.end, speaker=s.speaker, language="vi", text=s.text)
                                    for s in parsed])
        # The same testimony as a recording: its dossier page is the redacted transcript.
        speech = shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac")
        recording = vault.ingest_file(speech, case_id=case_id, kind="interview", title="Interview").item_id
        vault.set_transcript(recording, [Segment(start=s.start, end=s.end, speaker=s.speaker, language="vi",
                                                 text=s.text) for s in parsed])
        vault.record_event("annotated", item_id=item, details={"comment": "shown to chị Xuyến at the shelter"})
        vault.link(item, survivor)
        vault.link(recording, survivor)
        pdf = folder / "redacted.pdf"
        export(vault, case_id=case_id, audience="ngo", level="redacted", out=pdf)
        bundle = folder / "redacted.zip"
        export(vault, case_id=case_id, audience="un", level="redacted", out=bundle, bundle=True)
        yield Exported(vault, folder, pdf, bundle, item)
    finally:
        vault.close()
        mp.undo()


def _assert_clean(where: str, text: str) -> None:
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    for form in FORBIDDEN:
        assert unicodedata.normalize("NFC", form) not in text, f"{form!r} found in {where}"


def test_the_vtt_import_decoded_character_references() -> None:
    parsed = parse_transcript_bytes(VTT.encode("utf-8"), name="interview.vtt")
    assert parsed[0].text == "Đặng\u00a0Thị\u00a0Xuyến, chị kể đi."
    assert "&" not in parsed[2].text.replace("& ", "")


def test_pdf_read_back_with_pypdf_and_pdftotext_holds_no_variant(exported: Exported) -> None:
    reader = pypdf.PdfReader(str(exported.pdf))
    pages = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert "Survivor S-1" in pages
    _assert_clean("pypdf page text", pages)
    _assert_clean("pypdf metadata", repr(dict(reader.metadata or {})))
    assert "Survivor S-1" in str((reader.metadata or {}).get("/Title", ""))
    shown = subprocess.run(["pdftotext", "-enc", "UTF-8", str(exported.pdf), "-"], capture_output=True,
                           check=True).stdout.decode("utf-8")
    _assert_clean("pdftotext output", shown)
    contents = extract_everything(exported.pdf)
    _assert_clean("XMP", contents.xmp)
    for name, data in contents.attachments.items():
        _assert_clean(f"attachment {name}", data.decode("utf-8", "replace"))
    text = contents.attachments["dossier-text.txt"].decode("utf-8")
    assert "Cà Mau" not in text  # the place is not shown at the redacted level
    # The name split between two cues: replaced once where it starts, nothing of it left in the next.
    assert "Tôi đi cùng chị [Witness W-4]" in text and "Thị Lan" not in text
    assert "comment: shown to chị [Survivor S-1] at the shelter" in text  # custody details


def test_bundle_unzipped_holds_no_variant(exported: Exported) -> None:
    with zipfile.ZipFile(exported.bundle) as archive:
        _assert_clean("member names", "\n".join(archive.namelist()))
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith(".pdf"):
                reader = pypdf.PdfReader(io.BytesIO(data))
                _assert_clean(name, "\n".join(page.extract_text() or "" for page in reader.pages))
            elif not name.startswith("exhibits/"):
                _assert_clean(name, data.decode("utf-8", "replace"))
        transcripts = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("transcripts/")]
        assert any("Tôi đi cùng chị [Witness W-4]" in t for t in transcripts)
        # A custody event is signed as recorded: the comment naming the survivor is withheld as a commitment.
        events = [json.loads(line) for line in archive.read("custody/events.jsonl").decode("utf-8").splitlines()]
    annotated = next(e for e in events if e["action"] == "annotated")
    assert "details.comment" in annotated["withheld"]["fields"]
    assert annotated["details"]["comment"].startswith("hmac-sha256:")
    assert verify_bundle(exported.bundle).ok
    tool = PROJECT_ROOT / "tools" / "independent_verifier.py"
    done = subprocess.run([sys.executable, "-I", str(tool), "--bundle", str(exported.bundle)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_partly_redacted_misspelling_stops_the_export_until_cleared(exported: Exported) -> None:
    vault = exported.vault
    vault.update_item(exported.item, description="Nguiễn Thị Lan was there too.")  # "Lan" alone is redacted
    out = exported.folder / "near.pdf"
    with pytest.raises(NearMatchesFound) as stopped:
        export(vault, item_ids=[exported.item], audience="ngo", level="redacted", out=out)
    assert not out.exists()
    assert "the description of exhibit" in stopped.value.user_message()
    assert "Nguiễn" not in stopped.value.user_message()
    result = export(vault, item_ids=[exported.item], audience="ngo", level="redacted", out=out,
                    accept_near_matches="Reviewer R")
    event = next(e for e in vault.events() if e.seq == result.event_seq)
    assert event.details["near_matches"] >= 1 and event.details["near_matches_cleared_by"] == "Reviewer R"
    report = event.details["near_match_report"]  # the cleared report, place by place, in the chain
    assert len(report) == event.details["near_matches"]
    assert any(r["place"].startswith("the description of exhibit") and r["person_id"] for r in report)
    assert "Nguiễn" not in json.dumps(report, ensure_ascii=False)
