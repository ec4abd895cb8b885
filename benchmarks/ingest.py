"""Ingest and verification speed of the vault against OpenSSL on the same file, and peak memory.

    .venv/bin/python benchmarks/ingest.py [--size-mib 1024] [--rss-size-mib 2048] [--keep-going]

1. A file of random bytes is generated under /tmp (it is not evidence).
2. Floor: ``openssl dgst -sha256`` then ``openssl enc -aes-256-cbc`` over the file, times added (what
   any tool must do at least: hash once, encrypt once).  Vault ingest MiB/s / floor MiB/s: target >= 0.6.
3. ``Vault.verify()`` (re-hash every original) vs ``openssl dgst -sha256``: target >= 0.5.
4. Peak RSS (ru_maxrss) of a child process that ingests a larger file: target < 200 MB.
Production settings throughout (256,000 KDF iterations, synchronous=FULL).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.vault.vault import Vault  # noqa: E402

PASSPHRASE = "benchmark passphrase with several words"
MIB = 1024 * 1024


def make_file(path: Path, size_mib: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size_mib // 16):
            handle.write(os.urandom(16 * MIB))
        handle.write(os.urandom((size_mib % 16) * MIB))


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a child process."""
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


_RSS_CHILD = """
import resource, sys, time
sys.path.insert(0, sys.argv[3])
from app.vault.vault import Vault
with Vault.create(sys.argv[1], "benchmark passphrase with several words", actor="benchmark") as v:
    began = time.perf_counter()
    v.ingest_file(sys.argv[2])
    took = time.perf_counter() - began
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, took)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rss-size-mib", type=int, default=2048, help="0 to skip the memory test")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ev-bench-", dir="/tmp"))
    failures = []
    try:
        data = work / "random.bin"
        make_file(data, args.size_mib)
        size = data.stat().st_size / MIB
        subprocess.run(["cat", str(data)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
        # The machine is shared: every figure is the best of --repeats runs, taken in the same window.
        t_dgst, c_dgst = min(timed(["openssl", "dgst", "-sha256", str(data)]) for _ in range(args.repeats))
        t_enc, c_enc = min(timed(["openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:benchmark", "-in",
                                  str(data), "-out", "/dev/null"]) for _ in range(args.repeats))
        floor = size / (t_dgst + t_enc)
        print(f"file: {size:.0f} MiB random bytes; best of {args.repeats} runs each; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"openssl dgst -sha256:        {size / t_dgst:8.0f} MiB/s")
        print(f"openssl enc -aes-256-cbc:    {size / t_enc:8.0f} MiB/s")
        print(f"floor (dgst + enc, added):   {floor:8.0f} MiB/s")

        vault_path = work / "bench.vault"
        with Vault.create(vault_path, PASSPHRASE, actor="benchmark") as vault:
            runs = []
            for run in range(args.repeats):
                with open(data, "r+b") as handle:  # a different file each run (no duplicate detection)
                    handle.write(run.to_bytes(8, "big"))
                last_chunk = [0.0]

                def progress(done: int, total: int, message: str, mark=last_chunk) -> None:
                    if done == total:
                        mark[0] = time.perf_counter()

                cpu = cpu_seconds(resource.RUSAGE_SELF)
                began = time.perf_counter()
                result = vault.ingest_file(data, progress=progress)
                ended = time.perf_counter()
                runs.append((ended - began, ended - last_chunk[0], cpu_seconds(resource.RUSAGE_SELF) - cpu))
            t_ingest, t_commit, c_ingest = min(runs)
            ingest_rate = size / t_ingest
            ratio = ingest_rate / floor
            print(f"vault ingest (incl. fsync):  {ingest_rate:8.0f} MiB/s   ratio to floor {ratio:.2f} "
                  f"(target >= 0.6) {'OK' if ratio >= 0.6 else 'BELOW TARGET'}")
            print(f"   of which commit + fsync:  {t_commit:8.2f} s;  runs: "
                  + ", ".join(f"{size / t:.0f}" for t, _, _ in runs) + " MiB/s")
            print(f"   CPU time (all threads) vs floor's CPU time: ratio {(c_dgst + c_enc) / c_ingest:.2f}  "
                  "(contention-independent view)")
            failures += [] if ratio >= 0.6 else ["ingest"]
            verify_runs = []
            verify_cpu = []
            for _ in range(args.repeats):
                cpu = cpu_seconds(resource.RUSAGE_SELF)
                began = time.perf_counter()
                report = vault.verify(record=False)
                verify_runs.append(time.perf_counter() - began)
                verify_cpu.append(cpu_seconds(resource.RUSAGE_SELF) - cpu)
                assert report.ok and report.bytes_hashed == args.repeats * result.size
            t_verify = min(verify_runs) / args.repeats  # per GiB-file: each verify hashes every run's file
            verify_ratio = (size / t_verify) / (size / t_dgst)
            print(f"vault verify:                {size / t_verify:8.0f} MiB/s   ratio to openssl dgst "
                  f"{verify_ratio:.2f} (target >= 0.5) {'OK' if verify_ratio >= 0.5 else 'BELOW TARGET'}")
            print(f"   CPU time vs openssl dgst's CPU time: ratio {c_dgst / (min(verify_cpu) / args.repeats):.2f}")
            failures += [] if verify_ratio >= 0.5 else ["verify"]
            began = time.perf_counter()
            with vault.open_original(result.item_id) as original:
                while original.read(MIB):
                    pass
            print(f"open_original sequential:    {size / (time.perf_counter() - began):8.0f} MiB/s")
        data.unlink()
        vault_path.unlink()

        if args.rss_size_mib:
            big = work / "big.bin"
            make_file(big, args.rss_size_mib)
            out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(work / "rss.vault"), str(big), str(ROOT)],
                                 check=True, capture_output=True, text=True).stdout.split()
            rss_mb = int(out[0]) / 1024
            print(f"peak RSS ingesting {args.rss_size_mib} MiB: {rss_mb:6.0f} MB (target < 200 MB) "
                  f"{'OK' if rss_mb < 200 else 'ABOVE TARGET'}   ({args.rss_size_mib / float(out[1]):.0f} MiB/s)")
            failures += [] if rss_mb < 200 else ["memory"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("self RSS:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
