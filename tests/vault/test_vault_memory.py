"""Memory stays flat whatever the size of the file: a child process ingests and reads back 384 MiB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE

SIZE_MIB = 384

_CHILD = """
import hashlib, os, sys
from app.vault import db
db._unsafe_kdf_iter_for_tests = 2000
from app.vault.vault import Vault
vault_path, source = sys.argv[1:3]
def peak_kib():
    # VmHWM belongs to this process's own memory map; ru_maxrss would carry pytest's peak across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")
with open(source, "wb") as handle:
    for _ in range(int(sys.argv[4])):
        handle.write(os.urandom(1 << 20))
baseline = peak_kib()
with Vault.create(vault_path, sys.argv[3], actor="tester") as v:
    result = v.ingest_file(source)
    digest = hashlib.sha256()
    with v.open_original(result.item_id) as original:
        while block := original.read(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == result.sha256
    assert v.verify(record=False).ok
print(baseline, peak_kib())
"""


@pytest.mark.slow
def test_peak_memory_is_independent_of_file_size(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "v.vault"), str(tmp_path / "big.bin"), TEST_PASSPHRASE,
         str(SIZE_MIB)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    baseline_kib, peak_kib = (int(v) for v in result.stdout.split())
    growth_mib = (peak_kib - baseline_kib) / 1024
    assert growth_mib < 100, f"memory grew by {growth_mib:.0f} MiB while handling a {SIZE_MIB} MiB file"
