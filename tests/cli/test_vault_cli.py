"""The fixed command-line interface of the vault, run for real against SQLCipher files."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE


def _photo(path: Path, colour: tuple[int, int, int] = (10, 120, 200)) -> Path:
    Image.new("RGB", (80, 60), colour).save(path)
    return path


def test_full_walk_through(cli, tmp_path: Path) -> None:
    cli("init")
    case_id = cli("case", "add", "Compound K")[0].strip()
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "a.png")
    _photo(folder / "b.png", (1, 2, 3))
    ids = cli("ingest", str(folder), "--case", case_id)[0].split()
    assert len(ids) == 2

    listed = json.loads(cli("list", "--json")[0])
    assert {str(row["id"]) for row in listed} == set(ids)
    expected = hashlib.sha256((folder / "a.png").read_bytes()).hexdigest()
    assert expected in {row["sha256"] for row in listed}

    person = cli("person", "add", "--name", "Nguyễn Văn An", "--alias", "An", "--pseudonym", "Witness A",
                 "--role", "survivor", "--protected")[0].strip()
    cli("consent", "add", person, "--scope", "court,un", "--date", "2026-11-20")
    cli("link", ids[0], person)
    shown = json.loads(cli("show", ids[0], "--json")[0])
    assert shown["item"]["sha256"] in {row["sha256"] for row in listed}
    assert [p["pseudonym"] for p in shown["persons"]] == ["Witness A"]
    actions = [event["action"] for event in shown["custody"]]
    assert "item_ingested" in actions and "item_linked" in actions

    transcript = tmp_path / "interview.vtt"
    transcript.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Witness>พวกเขาขายฉันไปที่บริษัทอื่น\n\n"
        "00:00:04.000 --> 00:00:06.000\n<v Witness>他们把我卖到另一个园区\n",
        encoding="utf-8",
    )
    cli("transcript", "import", ids[0], str(transcript), "--language", "th")
    assert json.loads(cli("search", "ขายฉัน", "--json")[0])
    assert json.loads(cli("search", "另一个园区", "--json")[0])

    out, _ = cli("verify")
    assert out.startswith("Intact")
    report = json.loads(cli("verify", "--json")[0])
    assert report["ok"] is True

    checkpoint = cli("checkpoint")[0]
    checkpoint_file = tmp_path / "cp.txt"
    checkpoint_file.write_text(checkpoint, encoding="utf-8")
    cli("verify", "--checkpoint", f"@{checkpoint_file}")
    assert "BEGIN PUBLIC KEY" in cli("export-key")[0]
    log = json.loads(cli("log", "--json")[0])
    assert log[0]["action"] == "vault_created"
    assert [e["seq"] for e in log] == list(range(len(log)))


def test_wrong_passphrase_is_one_sentence_and_changes_nothing(cli, monkeypatch) -> None:
    cli("init")
    before = hashlib.sha256(cli.vault.read_bytes()).hexdigest()
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", "not the right passphrase at all")
    _, err = cli("list", expect=2)
    assert "passphrase is not correct" in err and "Traceback" not in err
    assert hashlib.sha256(cli.vault.read_bytes()).hexdigest() == before


def test_passphrase_from_stdin_and_passwd(cli, monkeypatch, tmp_path: Path) -> None:
    cli("init")
    monkeypatch.delenv("EVIDENCE_VAULT_PASSPHRASE")
    new = "a different long passphrase for the field"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{TEST_PASSPHRASE}\n{new}\n"))
    cli("--passphrase-stdin", "passwd")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{new}\n"))
    cli("--passphrase-stdin", "list")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{TEST_PASSPHRASE}\n"))
    cli("--passphrase-stdin", "list", expect=2)


def test_missing_vault_and_missing_file_are_clear(cli, tmp_path: Path) -> None:
    _, err = cli("list", expect=2)
    assert "No vault was found" in err
    cli("init")
    _, err = cli("ingest", str(tmp_path / "nope.jpg"), expect=2)
    assert "is not a file or folder" in err


def test_zero_byte_file_is_refused_but_batch_continues(cli, tmp_path: Path) -> None:
    cli("init")
    empty = tmp_path / "empty.jpg"
    empty.touch()
    good = _photo(tmp_path / "good.png")
    out, err = cli("ingest", str(empty), str(good), expect=1)
    assert len(out.split()) == 1
    assert "empty.jpg" in err


def test_list_marks_an_item_stored_with_a_warning_without_calling_it_damaged(cli, tmp_path: Path) -> None:
    cli("init")
    misnamed = tmp_path / "really_a_png.jpg"
    Image.new("RGB", (80, 60), (9, 9, 9)).save(misnamed, format="PNG")
    good = _photo(tmp_path / "good.png")
    cli("ingest", str(misnamed), str(good))
    rows = dict(line.split("\t")[0::3] for line in cli("list")[0].splitlines())
    assert rows == {"1": "really_a_png (stored with a warning: see show)", "2": "good"}
    assert "really a PNG image" in cli("show", "1")[0]


def test_weak_passphrase_is_refused_with_a_reason(cli, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", "short")
    _, err = cli("init", expect=2)
    assert "passphrase" in err.lower()
    assert not cli.vault.exists()


def test_the_console_script_runs_as_a_program(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("init", "ingest", "verify", "checkpoint", "export-key", "passwd", "transcript"):
        assert command in result.stdout
