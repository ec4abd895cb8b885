"""Command-line behaviour found by QA: safe defaults, no silent data loss, one clear sentence per error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from app.cli.main import main
from tests.conftest import TEST_PASSPHRASE


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "case.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)

    def run(*args: str, expect: int = 0) -> tuple[str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == expect, f"{args} exited {code}: {err}"
        if expect == 2:
            assert "Traceback" not in err and err.startswith("evidence-vault: ")
        return out, err

    run("init")
    return run


def _clip(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=5:duration=1",
                    "-f", "lavfi", "-i", "sine=duration=1", "-shortest", "-c:v", "libx264", "-c:a", "aac",
                    str(path)], check=True)
    return path


def test_an_audio_choice_alone_still_covers_faces(cli, tmp_path: Path) -> None:
    item = cli("ingest", str(_clip(tmp_path / "clip.mp4")))[0].strip()
    derivative = cli("redact", item, "--audio", "mute", "--yes")[0].strip()
    derivation = json.loads(cli("show", derivative, "--json")[0])["item"]["derivation"]
    assert derivation["faces"] is True and derivation["audio"]["mode"] == "mute"


def test_a_protected_voice_is_removed_when_nobody_chose(cli, tmp_path: Path) -> None:
    clip = _clip(tmp_path / "clip.mp4")
    protected, other = cli("ingest", str(clip))[0].strip(), cli("ingest", str(_clip(tmp_path / "b.mp4")))[0].strip()
    survivor = cli("person", "add", "--name", "Aye Aye", "--role", "survivor", "--protected")[0].strip()
    cli("link", protected, survivor)
    out, _ = cli("redact", protected)
    assert "sound: removed" in out
    derivations = {item: json.loads(cli("show", cli("redact", item, "--yes")[0].strip(), "--json")[0])["item"]
                   ["derivation"] for item in (protected, other)}
    assert derivations[protected]["audio"]["mode"] == "mute"
    assert derivations[other]["audio"]["mode"] == "keep"  # nobody protected is linked to it
    kept = json.loads(cli("show", cli("redact", protected, "--audio", "keep", "--yes")[0].strip(), "--json")[0])
    assert kept["item"]["derivation"]["audio"]["mode"] == "keep"  # the reviewer's explicit choice stands


def test_transcript_is_not_replaced_silently(cli, tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(photo)
    item = cli("ingest", str(photo))[0].strip()
    first, empty = tmp_path / "a.vtt", tmp_path / "empty.vtt"
    first.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfirst words\n", encoding="utf-8")
    empty.write_text("WEBVTT\n", encoding="utf-8")
    cli("transcript", "import", item, str(first))
    _, err = cli("transcript", "import", item, str(empty), expect=2)
    assert "No text was found" in err
    _, err = cli("transcript", "import", item, str(first), expect=2)
    assert "--replace" in err
    cli("transcript", "import", item, str(first), "--replace")


def test_bad_checkpoints_cannot_run_rather_than_altered(cli, tmp_path: Path, monkeypatch) -> None:
    _, err = cli("verify", "--checkpoint", f"@{tmp_path / 'missing.txt'}", expect=2)
    assert "cannot be read" in err
    _, err = cli("verify", "--checkpoint", "not a checkpoint", expect=2)
    assert "not a valid checkpoint" in err
    out, _ = cli("verify", "--json", "--checkpoint", "x", expect=2)
    assert json.loads(out)["could_not_run"] is True
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "other.vault"))
    cli("init")
    foreign = cli("checkpoint")[0]
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "case.vault"))
    # Signed by another key: the vault in hand cannot be shown to extend it (rebuilt under a new key, or
    # the checkpoint is another vault's) -- altered, never "could not run" (issue 9).
    _, err = cli("verify", "--checkpoint", foreign, expect=1)
    assert "ALTERED" in err and "another vault" in err and "new key" in err


def test_wrong_numbers_are_errors(cli) -> None:
    cli("log", "999", expect=2)
    cli("list", "--case", "99", expect=2)


def test_redact_file_output_paths(cli, tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (32, 32)).save(photo)
    _, err = cli("redact-file", str(photo), str(tmp_path / "nope" / "x.png"), expect=2)
    assert "does not exist" in err
    _, err = cli("redact-file", str(photo), str(tmp_path), expect=2)
    assert "is a folder" in err
    _, err = cli("redact-file", str(_clip(tmp_path / "c.mp4")), str(tmp_path / "c.mkv"), expect=2)
    assert ".mp4" in err


def test_json_output_escapes_bidi_overrides(cli, tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(photo)
    item = cli("ingest", str(photo))[0].strip()
    vtt = tmp_path / "t.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nabc\u202edef spoof\n", encoding="utf-8")
    cli("transcript", "import", item, str(vtt))
    out, _ = cli("search", "spoof", "--json")
    assert "\u202e" not in out and "\\u202e" in out
    assert "abc\u202edef" in json.dumps(json.loads(out), ensure_ascii=False)


def test_read_only_verify_leaves_the_file_unchanged(cli, tmp_path: Path) -> None:
    import hashlib

    vault = tmp_path / "case.vault"
    before = hashlib.sha256(vault.read_bytes()).hexdigest()
    out, _ = cli("--read-only", "verify")
    assert out.startswith("Intact") and "Not recorded" in out
    cli("--read-only", "list")
    assert hashlib.sha256(vault.read_bytes()).hexdigest() == before
    _, err = cli("--read-only", "case", "add", "x", expect=2)
    assert "read-only" in err.lower() or "read only" in err.lower()


def test_no_screen_is_one_sentence_not_a_qt_abort(tmp_path: Path) -> None:
    import os
    import sys

    from tests.conftest import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "app"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "no screen is available" in result.stderr
