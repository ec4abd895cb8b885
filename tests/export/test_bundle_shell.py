"""The commands printed in VERIFY.txt, run exactly as written (only the scratch folder /tmp/ is
replaced by a per-test folder) with this machine's sha256sum and openssl, on an extracted bundle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.export import bundle as layout
from app.export.bundle_verify import extract_bundle
from tests.export.test_bundle_support import PHOTO_NAME, build_bundle, flip_byte

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
    assert len(blocks) == 9  # the last two need an earlier checkpoint: test_bundle_consistency.py


def test_verify_txt_commands_succeed_on_an_intact_bundle(extracted) -> None:
    built, folder, scratch, blocks = extracted
    outputs = []
    for block in blocks[:7]:
        result = run_block(block, folder, scratch)
        assert result.returncode == 0, (block, result.stdout, result.stderr)
        outputs.append(result.stdout)
    key_id, signature, sums, extra, special, checkpoint, custody = outputs
    assert key_id.strip() == built.key_id
    assert signature.strip() == "Signature Verified Successfully"
    assert sums.splitlines()[0] == "1"
    assert all(line.endswith(": OK") for line in sums.splitlines()[1:]) and len(sums.splitlines()) == 10
    assert extra == "" and special == ""
    assert checkpoint.strip() == "Signature Verified Successfully"
    assert custody.strip() == "OK: 5 custody events are in the signed log of 6 events"


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
        (folder / tamper).write_text(text.replace("\n6\n", "\n7\n", 1))
    else:
        flip_byte(folder / tamper, 10 if tamper == layout.SUMS else None)
    result = run_block(blocks[failing_block], folder, scratch)
    assert result.returncode != 0, (blocks[failing_block], result.stdout)


def test_custody_script_fails_on_an_altered_event(extracted) -> None:
    _, folder, scratch, blocks = extracted
    events = folder / layout.EVENTS
    events.write_bytes(events.read_bytes().replace(b'"actor":"investigator-7"', b'"actor":"investigator-9"', 1))
    result = run_block(blocks[6], folder, scratch)
    assert result.returncode != 0
    assert "FAILED: event 0: its proof is for another event" in result.stderr


def test_extra_file_is_found_by_the_listing_commands(extracted) -> None:
    _, folder, scratch, blocks = extracted
    (folder / "exhibits" / "planted.png").write_bytes(b"x")
    result = run_block(blocks[3], folder, scratch)
    assert result.returncode != 0 and "planted.png" in result.stdout
