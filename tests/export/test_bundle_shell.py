"""The commands printed in VERIFY.txt, run exactly as written (only the scratch folder /tmp/ is
replaced by a per-test folder) with this machine's sha256sum and openssl, on an extracted bundle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.export import bundle as layout
from app.export.bundle_verify import extract_bundle
from app.vault.canonical import canonical_json
from tests.export.test_bundle_support import PHOTO_NAME, build_bundle, flip_byte, resign

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "openssl", "sha256sum", "python3", "base64")),
    reason="needs bash, openssl, sha256sum, base64 and python3",
)

SIGNATURE_COMMAND = (
    "openssl pkeyutl -verify -pubin -inkey keys/vault-ed25519.pem -rawin -in manifest.json "
    "-sigfile manifest.json.sig"
)


def command_blocks(verify_text: str) -> list[list[str]]:
    """The indented command lines of VERIFY.txt, grouped as printed (blank lines separate groups)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    in_script = False
    for line in verify_text.splitlines():
        if line.startswith("# ---- begin"):
            in_script = True
        if in_script:
            in_script = not line.startswith("# ---- end")
            continue
        if line.startswith("     ") and not line.startswith("      "):
            current.append(line.strip())
        elif current:
            blocks.append(current)
            current = []
    return blocks


def run_block(block: list[str], folder: Path, scratch: Path) -> subprocess.CompletedProcess:
    script = "set -o pipefail\n" + "\n".join(line.replace("/tmp/", f"{scratch}/") for line in block) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60)


@pytest.fixture
def extracted(tmp_path: Path):
    built = build_bundle(tmp_path, as_zip=True)
    folder = tmp_path / "extracted"
    extract_bundle(built.path, folder)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    blocks = command_blocks((folder / layout.INSTRUCTIONS).read_text(encoding="utf-8"))
    return built, folder, scratch, blocks


def test_verify_txt_contains_the_exact_openssl_command(extracted) -> None:
    _, _, _, blocks = extracted
    assert [SIGNATURE_COMMAND] in blocks
    assert len(blocks) == 10  # the last two need an earlier checkpoint: test_bundle_consistency.py


def test_verify_txt_commands_succeed_on_an_intact_bundle(extracted) -> None:
    built, folder, scratch, blocks = extracted
    outputs = []
    for block in blocks[:8]:
        result = run_block(block, folder, scratch)
        assert result.returncode == 0, (block, result.stdout, result.stderr)
        outputs.append(result.stdout)
    key_id, signature, sums, extra, special, checkpoint, dossier_checkpoint, custody = outputs
    assert key_id.strip() == built.key_id
    assert signature.strip() == "Signature Verified Successfully"
    assert sums.splitlines()[0] == "1"
    assert all(line.endswith(": OK") for line in sums.splitlines()[1:]) and len(sums.splitlines()) == 11
    assert extra == "" and special == ""
    assert checkpoint.strip() == dossier_checkpoint.strip() == "Signature Verified Successfully"
    assert custody.strip() == ("OK: 6 custody events are in the signed log of 7 events; the files and events "
                               "are those the export recorded")


@pytest.mark.parametrize(
    ("tamper", "failing_block"),
    [
        (PHOTO_NAME, 2),  # sha256sum -c
        (layout.MANIFEST, 1),  # openssl on the manifest
        (layout.SIGNATURE, 1),
        (layout.SUMS, 2),  # its hash no longer matches the manifest entry (grep -c prints 0)
        (layout.CHECKPOINT, 5),  # openssl on the checkpoint
    ],
)
def test_verify_txt_commands_fail_after_tampering(extracted, tamper: str, failing_block: int) -> None:
    _, folder, scratch, blocks = extracted
    if tamper == layout.CHECKPOINT:  # change the tree size line: still parseable, signature breaks
        text = (folder / tamper).read_text()
        (folder / tamper).write_text(text.replace("\n7\n", "\n8\n", 1))
    else:
        flip_byte(folder / tamper, 10 if tamper == layout.SUMS else None)
    result = run_block(blocks[failing_block], folder, scratch)
    assert result.returncode != 0, (blocks[failing_block], result.stdout)


def test_custody_script_fails_on_an_altered_event(extracted) -> None:
    _, folder, scratch, blocks = extracted
    events = folder / layout.EVENTS
    events.write_bytes(events.read_bytes().replace(b'"actor":"investigator-7"', b'"actor":"investigator-9"', 1))
    result = run_block(blocks[7], folder, scratch)
    assert result.returncode != 0
    assert "FAILED: event 0: its proof is for another event" in result.stderr


def test_extra_file_is_found_by_the_listing_commands(extracted) -> None:
    _, folder, scratch, blocks = extracted
    (folder / "exhibits" / "planted.png").write_bytes(b"x")
    result = run_block(blocks[3], folder, scratch)
    assert result.returncode != 0 and "planted.png" in result.stdout


def _insider_edit(folder: Path, built, edit) -> None:
    """``edit`` the extracted bundle, then recompute the hashes and re-sign with the vault's own key."""
    edit(folder)
    manifest = json.loads((folder / layout.MANIFEST).read_bytes())
    manifest["events"] = (folder / layout.EVENTS).read_bytes().count(b"\n")
    (folder / layout.MANIFEST).write_bytes(canonical_json(manifest))
    resign(folder, built.key)


def _drop_export_record(folder: Path) -> None:
    lines = (folder / layout.EVENTS).read_bytes().split(b"\n")[:-2]
    (folder / layout.EVENTS).write_bytes(b"".join(line + b"\n" for line in lines))
    proofs = json.loads((folder / layout.PROOFS).read_bytes())
    proofs["proofs"] = proofs["proofs"][:-1]
    (folder / layout.PROOFS).write_bytes(canonical_json(proofs))


def _shorten_dossier_manifest(folder: Path) -> None:
    dossier = json.loads((folder / layout.DOSSIER_MANIFEST).read_bytes())
    dossier["exhibits"] = dossier["exhibits"][:1]
    (folder / layout.DOSSIER_MANIFEST).write_bytes(canonical_json(dossier))


@pytest.mark.parametrize(("edit", "failure"), [
    (_drop_export_record, "FAILED: the last event is not this bundle's own exported event (seq 6)"),
    (_shorten_dossier_manifest, "FAILED: the files made at export are not those the exported event records"),
])
def test_custody_script_checks_the_export_record(extracted, edit, failure: str) -> None:
    """Re-signed with the vault's key, so sha256sum and openssl pass; the script compares the bundle with
    what its exported event recorded (VERIFY.txt step 5)."""
    built, folder, scratch, blocks = extracted
    _insider_edit(folder, built, edit)
    assert run_block(blocks[1], folder, scratch).returncode == 0  # the signature is valid
    result = run_block(blocks[7], folder, scratch)
    assert result.returncode != 0 and failure in result.stderr, result.stderr


def test_custody_script_does_not_compare_a_later_checkpoint(extracted) -> None:
    built, folder, scratch, blocks = extracted
    built.log.add("item_viewed", 3)
    later = scratch / "later.txt"
    later.write_text(built.log.checkpoint(), encoding="utf-8")
    script = "\n".join(line.replace("/tmp/", f"{scratch}/") for line in blocks[9])
    result = subprocess.run(["bash", "-c", script], cwd=folder, env={**os.environ, "E": str(later)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines()[-1].startswith("NOT CHECKED: your checkpoint covers 8 events, more than "
                                                     "this bundle's log of 7 events")
