"""A lone PDF dossier comes with its load files (NAME.dat, NAME.csv, NAME.opt beside NAME.pdf), issue 11.

Real vault (SQLCipher file), real exporter, the PDF parsed back with pypdf: every OPT line points at the page of
the PDF that prints its page ERN, each document's first page shows the exhibit's ERN, the hashes are the PDF
index's, a redacted export's load files name no protected person, and a failure leaves no file behind.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.errors import InvalidInput
from app.export import exporter, pdf_load_files
from app.export.dossier_files import NameLeak
from app.export.exporter import export
from app.export.load_files import LoadDocument, parse_dat
from app.export.pdf.inspect import extract_everything
from app.vault.vault import Vault
from tests.conftest import shared_data_path
from tests.vault.vaultkit import fast_vault

SURVIVOR = "Sok Chantha"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _case(vault: Vault, folder: Path) -> tuple[int, list[int]]:
    vault.set_actor_profile(role="Legal officer", organisation="Test NGO")
    case = vault.add_case("Forced labour on the boat")
    survivor = vault.add_person(name=SURVIVOR, pseudonym="Survivor KH-01", role="survivor", protected=True)
    vault.add_consent(survivor, scopes="court,un", date="2026-10-02", taken_by="Interviewer Kim")
    note = folder / "note.txt"
    note.write_text(f"Statement of {SURVIVOR}: the boat left at dawn.\n" * 3)
    items = [vault.ingest_file(note, case_id=case, kind="document", title=f"Statement of {SURVIVOR}").item_id,
             vault.ingest_file(shared_data_path("media", "audio_speech_librispeech_116-288045-0000.flac"),
                               case_id=case, kind="interview", title="Interview").item_id]
    vault.set_transcript(items[1], [dict(start=0.0, end=4.0, speaker=SURVIVOR, language="en",
                                         text=f"My name is {SURVIVOR} and I worked on the boat.")])
    for item in items:
        vault.link(item, survivor)
    return case, items


def _opt(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    return [line.split(",") for line in data.decode("utf-8").split("\r\n") if line]


def test_a_lone_pdf_gets_dat_csv_and_opt_that_point_at_its_pages(vault: Vault, tmp_path: Path) -> None:
    case, items = _case(vault, tmp_path)
    out = tmp_path / "case-01 court.pdf"
    result = export(vault, case_id=case, audience="court", level="original", out=out, ern_prefix="ICC")
    dat, csv_path, opt_path = (tmp_path / f"case-01 court{s}" for s in (".dat", ".csv", ".opt"))
    assert result.paths == [out, dat, csv_path, opt_path]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("case-01", ".case-01"))) == \
        sorted(p.name for p in result.paths)  # no temporary file left beside them
    rows = parse_dat(dat.read_bytes())
    with open(csv_path, newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == rows
    assert [r["ERN"] for r in rows[:2]] == [f"ICC-{i:05d}" for i in items]
    contents = extract_everything(out)
    reader = PdfReader(str(out))
    page_texts = [page.extract_text() or "" for page in reader.pages]
    opt = _opt(opt_path)
    assert len(opt) == len(reader.pages) == result.pages  # every page of the PDF, once
    assert sorted(int(line[2].split("#page=")[1]) for line in opt) == list(range(1, result.pages + 1))
    begins = [line for line in opt if line[3] == "Y"]
    assert len(begins) == len(rows)
    for line in opt:
        page_ern, volume, image = line[:3]
        assert volume == "VOL001" and image.startswith(f"{out.name}#page=")
        assert page_ern in page_texts[int(image.split("#page=")[1]) - 1]
    for row, begin in zip(rows, begins, strict=True):
        assert begin[0] == row["BEGDOC"] and begin[6] == row["PAGES"]
        assert row["ERN"] in page_texts[int(begin[2].split("#page=")[1]) - 1]  # the exhibit's first page
    # the hashes are the ones printed in the PDF's exhibit index; the originals are embedded: NATIVE names them
    index = " ".join(contents.page_texts[1:4]).replace("\n", "")
    for row, item_id in zip(rows, items, strict=False):
        item = vault.get_item(item_id)
        assert row["SHA256"] == item.sha256 and item.sha256 in index.replace(" ", "")
        assert row["NATIVE"].startswith(f"{out.name}#attachment=")
        assert row["NATIVE"].split("#attachment=")[1] in contents.attachments
        assert row["CUSTODIAN"] == "Test NGO" and row["CONFIDENTIALITY"] == "CONFIDENTIAL - UNDER SEAL"
        assert row["TEXT"] == ""
    own = rows[-1]
    assert own["KIND"] == "dossier" and own["NATIVE"] == out.name and own["SHA256"] == result.pdf_sha256
    details = next(e for e in vault.events() if e.seq == result.event_seq).details
    assert details["load_files"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                     for p in (dat, csv_path, opt_path)}


def test_redacted_load_files_name_no_protected_person(vault: Vault, tmp_path: Path) -> None:
    case, items = _case(vault, tmp_path)
    out = tmp_path / "un.pdf"
    result = export(vault, case_id=case, audience="un", level="redacted", out=out, ern_prefix="UN")
    texts = [(tmp_path / f"un{s}").read_bytes().decode("utf-8-sig") for s in (".dat", ".csv", ".opt")]
    assert all(SURVIVOR not in t and "Sok" not in t for t in texts)
    rows = parse_dat((tmp_path / "un.dat").read_bytes())
    statement = next(r for r in rows if r["ERN"] == f"UN-{items[0]:05d}")
    assert "[Survivor KH-01]" in statement["TITLE"]
    assert statement["NATIVE"] == "" and statement["CONFIDENTIALITY"] == "CONFIDENTIAL - REDACTED VERSION"
    # no native is delivered at the redacted level: the hash is the one the index shows (none for a withheld file)
    index = "".join(extract_everything(out).page_texts[1:4]).replace("\n", "").replace(" ", "")
    assert all(r["SHA256"] == "" or r["SHA256"] in index for r in rows[:-1])
    assert rows[-1]["SHA256"] == result.pdf_sha256


def test_a_name_in_the_load_files_stops_the_export_and_leaves_nothing(vault: Vault, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    case, _ = _case(vault, tmp_path)
    real = pdf_load_files.pdf_documents

    def leaking(*args: object, **kwargs: object) -> list[LoadDocument]:
        documents = real(*args, **kwargs)  # type: ignore[arg-type]
        first = documents[0]
        return [LoadDocument(**{**first.__dict__, "custodian": f"Custodian {SURVIVOR}"}), *documents[1:]]

    monkeypatch.setattr(pdf_load_files, "pdf_documents", leaking)
    before = len(vault.events())
    with pytest.raises(NameLeak, match="load files"):
        export(vault, case_id=case, audience="un", level="redacted", out=tmp_path / "leak.pdf")
    assert [p.name for p in tmp_path.iterdir() if "leak" in p.name] == []
    assert "exported" not in [e.action for e in vault.events()[before:]]


def test_a_failure_while_publishing_removes_the_load_files_already_written(vault: Vault, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    case, _ = _case(vault, tmp_path)
    real = exporter._publish

    def failing(temp: Path, out: Path) -> None:
        if out.suffix == ".pdf":
            raise OSError(5, "Input/output error")
        real(temp, out)

    monkeypatch.setattr(exporter, "_publish", failing)
    with pytest.raises(Exception, match="could not be written"):
        export(vault, case_id=case, audience="court", level="original", out=tmp_path / "broken.pdf")
    assert [p.name for p in tmp_path.iterdir() if "broken" in p.name] == []


def test_a_taken_load_file_name_is_refused_before_any_work(vault: Vault, tmp_path: Path) -> None:
    case, _ = _case(vault, tmp_path)
    (tmp_path / "taken.opt").write_text("someone else's page map\n")
    before = len(vault.events())
    with pytest.raises(InvalidInput, match=r"taken\.opt already exists"):
        export(vault, case_id=case, audience="court", level="original", out=tmp_path / "taken.pdf")
    with pytest.raises(InvalidInput, match="must not contain a comma"):
        export(vault, case_id=case, audience="court", level="original", out=tmp_path / "a,b.pdf")
    assert len(vault.events()) == before and not (tmp_path / "taken.pdf").exists()
