"""`evidence-vault verify-bundle`: exit codes 0 intact / 1 integrity failure / 2 could not run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli import bundle_cmds
from app.vault import keys
from tests.export.test_bundle_support import PHOTO_NAME, build_bundle, flip_byte


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evidence-vault")
    bundle_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def built(tmp_path: Path):
    return build_bundle(tmp_path, as_zip=True)


def test_intact_bundle_exits_0_and_shows_the_key_id(built, capsys) -> None:
    assert run(["verify-bundle", str(built.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VERIFIED: 11 files and 6 custody events are intact.")
    assert f"Signed by vault key ID: {built.key_id}" in out
    assert "Compare this key ID" in out


def test_expected_key_id(built, capsys) -> None:
    assert run(["verify-bundle", str(built.path), "--expect-key-id", built.key_id.upper()]) == 0
    assert "matches the key you expected" in capsys.readouterr().out
    assert run(["verify-bundle", str(built.path), "--expect-key-id", "0123456789abcdef"]) == 1
    assert "not the expected 0123456789abcdef" in capsys.readouterr().out


def test_trusted_key_file(built, tmp_path: Path) -> None:
    good = tmp_path / "good.pem"
    good.write_bytes(keys.public_key_pem(built.key))
    other = tmp_path / "other.pem"
    other.write_bytes(keys.public_key_pem(keys.new_signing_key()))
    assert run(["verify-bundle", str(built.path), "--trusted-key", str(good)]) == 0
    assert run(["verify-bundle", str(built.path), "--trusted-key", str(other)]) == 1


def test_tampered_bundle_exits_1_with_json_problems(tmp_path: Path, capsys) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    flip_byte(built.path / PHOTO_NAME)
    assert run(["verify-bundle", str(built.path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["key_id"] == built.key_id
    assert {"file": PHOTO_NAME, "message": "SHA-256 does not match the manifest (the file was changed)"} in (
        report["problems"]
    )


def test_unreadable_bundle_exits_1(tmp_path: Path, capsys) -> None:
    path = tmp_path / "junk.zip"
    path.write_bytes(b"junk" * 100)
    assert run(["verify-bundle", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"].startswith("This bundle is not a ZIP file")


def test_missing_path_and_bad_key_id_exit_2(tmp_path: Path, built) -> None:
    assert run(["verify-bundle", str(tmp_path / "nope.zip")]) == 2
    assert run(["verify-bundle", str(built.path), "--expect-key-id", "not-hex"]) == 2
    assert run(["verify-bundle", str(built.path), "--trusted-key", str(tmp_path / "missing.pem")]) == 2


def test_unexpected_failure_is_exit_2_not_a_verdict(built, monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(bundle_cmds, "verify_bundle", broken)
    assert run(["verify-bundle", str(built.path)]) == 2
    assert "could not run" in capsys.readouterr().err
