"""A 300 MB original through a real vault, write_transfer, open_transfer and verify: memory stays flat.

Each step runs in its own fresh process and reads its own peak RSS (VmHWM): ru_maxrss would not do, since
Linux carries the parent's (pytest's) high-water mark across exec into the child."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE

SIZE = 300 << 20
LIMIT = 150 << 20  # half the original; a whole-file buffer anywhere would exceed it
GROWTH = 64 << 20  # above the process's own size once its modules are loaded

_PRELUDE = """
import json, os, sys
from pathlib import Path
from app.vault import db
db._unsafe_kdf_iter_for_tests = 2000
from app.vault.vault import Vault
from app.transfer.identity import HqIdentity
folder = Path(sys.argv[1]); passphrase = sys.argv[2]
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")
from app.transfer import package, verify  # noqa: F401 - loaded before the baseline is taken
base = peak()
"""

_INGEST = """
from app.transfer.identity import generate_hq_identity
vault = Vault.create(folder / "f.vault", passphrase, actor="Investigator A")
case = vault.add_case("Large")
src = folder / "big.bin"
with open(src, "wb") as out:
    block = os.urandom(1 << 20)
    for i in range(int(sys.argv[3]) >> 20):
        out.write(block[:-8] + i.to_bytes(8, "big"))
vault.ingest_file(src, case_id=case)
src.unlink()
vault.close()
hq = generate_hq_identity("hq.example.org")
(folder / "hq.key").write_bytes(hq.to_encrypted_pem("pw"))
print(json.dumps({"case": case}))
"""

_TRANSFER = """
from app.transfer.package import write_transfer
hq = HqIdentity.from_encrypted_pem((folder / "hq.key").read_bytes(), "pw")
vault = Vault.open(folder / "f.vault", passphrase, actor="Investigator A")
summary = write_transfer(vault, case_id=int(sys.argv[3]), item_ids=None, recipient=hq.public(),
                         out_path=folder / "big.evt")
vault.close()
print(json.dumps({"base": base, "peak": peak(), "size": summary.file_size, "bytes": summary.original_bytes}))
"""

_VERIFY = """
from app.transfer.package import open_transfer
hq = HqIdentity.from_encrypted_pem((folder / "hq.key").read_bytes(), "pw")
with open_transfer(folder / "big.evt", hq) as package:
    problems = package.verify()
print(json.dumps({"base": base, "peak": peak(), "problems": problems}))
"""


def _run(script: str, folder: Path, extra: str) -> dict[str, object]:
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code, str(folder), TEST_PASSPHRASE, extra], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_300_mb_original_streams_in_flat_memory(tmp_path: Path) -> None:
    case = _run(_INGEST, tmp_path, str(SIZE))["case"]
    sent = _run(_TRANSFER, tmp_path, str(case))
    assert sent["bytes"] == SIZE
    assert int(str(sent["size"])) > SIZE
    assert int(str(sent["peak"])) < LIMIT, f"write_transfer peaked at {int(str(sent['peak'])) >> 20} MiB"
    assert int(str(sent["peak"])) - int(str(sent["base"])) < GROWTH
    checked = _run(_VERIFY, tmp_path, "")
    assert int(str(checked["peak"])) - int(str(checked["base"])) < GROWTH
    assert checked["problems"] == []
    assert int(str(checked["peak"])) < LIMIT, f"verify peaked at {int(str(checked['peak'])) >> 20} MiB"
    print(f"peak RSS for a {SIZE >> 20} MiB original: transfer {int(str(sent['peak'])) >> 20} MiB, "
          f"verify {int(str(checked['peak'])) >> 20} MiB (process baseline {int(str(sent['base'])) >> 20} MiB)")
