"""Testimony in the PDF (issue 15): a transcript typed for a video (not marked "interview") is printed in
every dossier level, after the key frames, in its own script; at the redacted level names are replaced.

A real vault, a real (generated) video, the real export; the PDF is parsed back page by page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.export.exporter import export
from app.export.pdf.inspect import extract_everything, find_strings
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import speed_up

CHINESE = "她说她在船上工作了十四个月"
THAI = "เธอทำงานบนเรือประมงสิบสี่เดือน"
NAME_ZH = "阮氏兰"
NAME_TH = "สมศรี แก้วมณี"


@pytest.fixture(scope="module")
def vault_with_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Vault, int, Path]:
    mp = pytest.MonkeyPatch()
    speed_up(mp)
    folder = tmp_path_factory.mktemp("transcripts")
    clip = folder / "boat.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=5",
                    "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    vault = Vault.create(folder / "case.vault", TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO")
    case_id = vault.add_case("Boat")
    survivor = vault.add_person(name=NAME_ZH, aliases=[NAME_TH], pseudonym="Survivor S-1", role="survivor",
                                protected=True)
    vault.add_consent(survivor, scopes="court,un,ngo")
    video = vault.ingest_file(clip, case_id=case_id, title="On the boat").item_id
    assert vault.get_item(video).kind == "video"
    vault.link(video, survivor)
    vault.set_transcript(video, [
        dict(start=0.0, end=0.5, speaker=NAME_ZH, language="zh", text=f"{NAME_ZH}：{CHINESE}。"),
        dict(start=0.5, end=1.0, speaker="Interviewer", language="th", text=f"คุณ{NAME_TH} {THAI}"),
    ])
    try:
        yield vault, case_id, folder
    finally:
        vault.close()
        mp.undo()


def _page_hits(path: Path, needles: list[str]) -> dict[str, list[str]]:
    """Where on the pages (not in the attached text copy) each needle is found."""
    found: dict[str, list[str]] = {n: [] for n in needles}
    for hit in find_strings(extract_everything(path), needles):
        if hit.where.startswith("page "):
            found[hit.needle].append(hit.where)
    return found


@pytest.mark.parametrize(("audience", "level"), [("court", "original"), ("un", "redacted"), ("ngo", "redacted")])
def test_every_level_prints_the_video_transcript(vault_with_video: tuple[Vault, int, Path],
                                                 audience: str, level: str) -> None:
    vault, case_id, folder = vault_with_video
    out = folder / f"{audience}-{level}.pdf"
    review = {"accept_automatic_redaction": "Investigator A"} if level == "redacted" else {}
    export(vault, case_id=case_id, audience=audience, level=level, out=out, ern_prefix="T", **review)
    hits = _page_hits(out, [CHINESE, THAI, NAME_ZH, NAME_TH, "Survivor S-1", "Key frame"])
    assert hits[CHINESE] and hits[THAI], hits  # both scripts, on a page, as their own text
    assert any("ToUnicode" in where for where in hits[THAI])  # shaped glyphs map back to Thai
    assert hits["Key frame"]  # the transcript comes with the key frames, not instead of them
    text = extract_everything(out).attachments["dossier-text.txt"].decode("utf-8")
    assert text.index("Key frame") < text.index("Transcript") < text.index(CHINESE)
    if level == "redacted":
        assert not hits[NAME_ZH] and not hits[NAME_TH], hits
        assert hits["Survivor S-1"]
    else:
        assert hits[NAME_ZH] and hits[NAME_TH]
