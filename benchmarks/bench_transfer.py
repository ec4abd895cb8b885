"""Transfer package throughput against OpenSSL on the same bytes, in the same run (tracker #12).

    .venv/bin/python benchmarks/bench_transfer.py [MIB]

Baseline: `openssl dgst -sha256` + `openssl enc -chacha20` over the same file (what any tool must at
least do: hash and encrypt every byte).  Ratio < 1 means the package writer is slower than that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.transfer.identity import generate_hq_identity
from app.transfer.package import open_transfer, write_transfer
from app.vault import db
from app.vault.vault import Vault

db._unsafe_kdf_iter_for_tests = 2000  # the KDF is not what is measured


def _openssl_baseline(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)
    subprocess.run(["openssl", "enc", "-chacha20", "-K", "00" * 32, "-iv", "00" * 16, "-in", str(path),
                    "-out", str(out)], check=True)
    return time.perf_counter() - start


def main() -> int:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    folder = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    try:
        vault = Vault.create(folder / "field.vault", "correct horse battery staple orbit", actor="bench")
        case_id = vault.add_case("Benchmark")
        source = folder / "original.bin"
        with open(source, "wb") as handle:
            for _ in range(mib):
                handle.write(os.urandom(1 << 20))
        baseline = _openssl_baseline(source, folder / "openssl.enc")
        vault.ingest_file(source, case_id=case_id)
        hq = generate_hq_identity("hq.example.org")
        start = time.perf_counter()
        write_transfer(vault, case_id=case_id, item_ids=None, recipient=hq.public(), out_path=folder / "p.evt")
        written = time.perf_counter() - start
        start = time.perf_counter()
        with open_transfer(folder / "p.evt", hq) as package:
            problems = package.verify()
        verified = time.perf_counter() - start
        vault.close()
        print(f"{mib} MiB original")
        print(f"openssl sha256 + chacha20:  {mib / baseline:7.0f} MiB/s")
        print(f"write_transfer:             {mib / written:7.0f} MiB/s   ratio {baseline / written:.2f}")
        print(f"open_transfer + verify:     {mib / verified:7.0f} MiB/s   ratio {baseline / verified:.2f}"
              f"   ({problems or 'intact'})")
        return 0 if not problems else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
