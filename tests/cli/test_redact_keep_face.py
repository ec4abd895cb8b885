"""`redact ID --faces --keep-face X,Y,W,H --keep-person P --keep-reason …` on a real photo and vault."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.main import main
from tests.conftest import TEST_PASSPHRASE, shared_data_path

TWO_FACES = "13_Interview_Interview_On_Location_13_187.jpg"  # faces at [288, 76, …] and [652, 40, …]


def _run(capsys, *args: str, expect: int = 0) -> tuple[str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == expect, f"{args}: exit {code}: {err}"
    return out, err


def test_keep_face_is_shown_in_the_dry_run_then_recorded(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "v.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    _run(capsys, "init")
    item = _run(capsys, "ingest", str(shared_data_path("faces", TWO_FACES)))[0].strip()
    accused = _run(capsys, "person", "add", "--name", "Somchai Perp", "--pseudonym", "Accused 1",
                   "--role", "perpetrator")[0].strip()
    survivor = _run(capsys, "person", "add", "--name", "Dara Survivor", "--pseudonym", "Witness KH-01",
                    "--role", "survivor", "--protected")[0].strip()
    keep = ["--keep-face", "628,6,150,206", "--keep-reason", "identification of the accused, counsel's decision"]

    out, err = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", accused, "--decided-by", "Lawyer M")
    assert "face kept visible at [628, 6, 150, 206]" in out and "Accused 1" in out and "Lawyer M" in out
    assert "Nothing was changed" in err

    _, err = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", survivor, "--yes", expect=2)
    assert "is protected" in err and "Traceback" not in err
    _, err = _run(capsys, "redact", item, "--faces", "--keep-face", "628,6,150", "--keep-person", accused,
                  "--keep-reason", "x", expect=2)
    assert "is not a box" in err
    _, err = _run(capsys, "redact", item, "--faces", "--keep-face", "628,6,150,206", "--keep-person", accused,
                  expect=2)
    assert "--keep-reason" in err

    derivative = _run(capsys, "redact", item, "--faces", *keep, "--keep-person", accused, "--yes")[0].strip()
    shown = json.loads(_run(capsys, "show", derivative, "--json")[0])
    kept = shown["item"]["derivation"]["kept_faces"]
    decided_by = kept[0]["decided_by"]
    assert decided_by  # the vault's actor by default
    assert kept == [{"box": [628, 6, 150, 206], "person_id": int(accused),
                     "reason": "identification of the accused, counsel's decision", "decided_by": decided_by}]
    _run(capsys, "verify")
