"""Headquarters on PostgreSQL: import throughput, witness cosign rate, search latency on 100,000 items.

Each figure is printed with a baseline measured in the same run on the same server:

- ``hq import`` of a package holding one random original of --size-mib (default 1 GiB), in MiB/s, against
  a plain binary ``COPY`` of the same bytes in the same 1 MiB rows into an unencrypted table (the
  fastest way PostgreSQL takes bytes).  Import includes the auditor's full verification of the package
  (one decrypting, hashing pass), then decrypting, hashing, encrypting and storing it (a second pass).
- cosignatures per second (Ed25519, app.transfer.witness.cosign), and full witness rounds per second
  (one PostgreSQL transaction each: checks, cosignature, state update, an event in HQ's log).
- ``hq search`` latency over 100,000 synthetic items in Latin, Khmer, Thai and Chinese, with the pg_trgm
  index, against the same ILIKE with index scans disabled (a sequential scan).

Usage: .venv/bin/python benchmarks/bench_hq.py [--size-mib 1024] [--items 100000]
Needs PostgreSQL 15 (/usr/lib/postgresql/15/bin); the server runs in a temporary folder, on a Unix socket only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from app.hq import hq_log, pg_cluster, query
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from app.hq.storage_crypto import seal_record
from app.hq.witness_store import Offered, witness
from app.transfer.package import write_transfer
from app.transfer.witness import cosign
from app.vault import db, merkle
from app.vault.checkpoint import sign_checkpoint, vault_origin
from app.vault.events import utc_now
from app.vault.keys import new_signing_key, public_key_pem
from app.vault.vault import Vault

PASSPHRASE = "benchmark passphrase orbit lantern copper meadow"
MIB = 1 << 20
WORDS = {
    "latin": ["witness", "trucks", "village", "soldiers", "night", "river", "school", "market", "detained"],
    "khmer": ["សាក្សី", "ភូមិ", "ទាហាន", "យប់", "ទន្លេ", "សាលា", "ផ្សារ", "ឃុំខ្លួន"],
    "thai": ["พยาน", "หมู่บ้าน", "ทหาร", "กลางคืน", "แม่น้ำ", "โรงเรียน", "ตลาด", "ถูกควบคุมตัว"],
    "chinese": ["证人", "村庄", "士兵", "夜晚", "河流", "学校", "市场", "被拘留"],
}


def _random_file(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            piece = min(remaining, 16 * MIB)
            out.write(os.urandom(piece))
            remaining -= piece


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is missing from /proc/self/status")


def _reset_peak_rss() -> int:
    """Reset the kernel's high-water mark (VmHWM) to the current size, so the next reading is the import's
    own peak rather than one left by the search benchmark before it; returns the current size in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def bench_import(hq: Headquarters, work: Path, size: int) -> None:
    db._unsafe_kdf_iter_for_tests = 2000  # the field vault's KDF is not what is measured
    original = work / "original.bin"
    _random_file(original, size)
    vault = Vault.create(work / "field.vault", PASSPHRASE, actor="bench")
    try:
        case_id = vault.add_case("benchmark")
        vault.ingest_file(original, case_id=case_id, kind="document")
        package = work / "big.evt"
        write_transfer(vault, case_id=case_id, item_ids=None, recipient=hq.public(), out_path=package)
    finally:
        vault.close()

    baseline = psycopg.connect(hq.conn.info.dsn, autocommit=True)
    baseline.execute("CREATE TABLE copy_baseline (seq integer, data bytea)")
    baseline.execute("ALTER TABLE copy_baseline ALTER COLUMN data SET STORAGE EXTERNAL")
    start = time.perf_counter()
    with baseline.transaction(), baseline.cursor() as cursor, cursor.copy(
            "COPY copy_baseline (seq, data) FROM STDIN (FORMAT BINARY)") as copy, open(original, "rb") as source:
        copy.set_types(["int4", "bytea"])
        for seq, block in enumerate(iter(lambda: source.read(MIB), b"")):
            copy.write_row((seq, block))
    copy_seconds = time.perf_counter() - start
    baseline.execute("DROP TABLE copy_baseline")
    baseline.close()

    rss_before = _reset_peak_rss()
    start = time.perf_counter()
    result = import_package(hq, package, actor="bench")
    import_seconds = time.perf_counter() - start
    rss_after = _status_kib("VmHWM")
    mib = size / MIB
    print(f"import of a {mib:.0f} MiB package: {mib / import_seconds:.0f} MiB/s ({import_seconds:.1f} s, "
          f"{result.new_originals} originals stored)")
    print(f"  baseline: PostgreSQL binary COPY of the same bytes: {mib / copy_seconds:.0f} MiB/s "
          f"({copy_seconds:.1f} s); import / COPY = {copy_seconds / import_seconds:.2f}")
    print(f"  peak resident memory of this process during the import: {rss_after / 1024:.0f} MiB, "
          f"{(rss_after - rss_before) / 1024:.0f} MiB above its size before (streamed, not held)")
    for path in (original, package, work / "field.vault"):
        path.unlink(missing_ok=True)


def bench_witness(hq: Headquarters, rounds: int) -> None:
    key = new_signing_key()
    origin = vault_origin(key)
    checkpoint = sign_checkpoint(origin=origin, tree_size=1, root=merkle.leaf_hash(b"x"), time=utc_now(), key=key)
    count = max(rounds * 10, 1000)
    start = time.perf_counter()
    for n in range(count):
        cosign(checkpoint, hq.identity.signing_key, hq.name, timestamp=1_700_000_000 + n)
    cosign_rate = count / (time.perf_counter() - start)
    leaves = [merkle.leaf_hash(f"event {i}".encode()) for i in range(rounds + 1)]
    pem = public_key_pem(key)
    texts = [sign_checkpoint(origin=origin, tree_size=size, root=merkle.root_hash(leaves[:size]), time=utc_now(),
                             key=key) for size in range(1, rounds + 1)]
    start = time.perf_counter()
    for size, text in enumerate(texts, 1):
        with hq.conn.transaction():
            witness(hq.conn, hq.identity, Offered(text, pem, leaf_hashes=leaves[:size]), package_id=None,
                    actor="bench")
    round_rate = rounds / (time.perf_counter() - start)
    print(f"witness: {cosign_rate:.0f} cosignatures/s (Ed25519 alone); {round_rate:.0f} full witness rounds/s "
          f"(each a PostgreSQL transaction); round / cosign = {round_rate / cosign_rate:.3f}")


def _text(rng: random.Random, n: int) -> str:
    script = rng.choice(list(WORDS))
    return " ".join(rng.choice(WORDS[script]) for _ in range(rng.randint(4, 12))) + f" #{n:07d}"


def bench_search(hq: Headquarters, count: int) -> None:
    rng = random.Random(12)
    conn = hq.conn
    with conn.transaction():
        vault_id = conn.execute(
            "INSERT INTO field_vaults(origin, key_id, public_pem, first_seen) VALUES ('evidence-vault/bench', 'b', "
            "'x', 't') RETURNING id").fetchone()[0]  # type: ignore[index]
        event = hq_log.append(conn, actor="bench", action="verified", details={})
        conn.execute("INSERT INTO packages VALUES ('bench', %s, 't', 't', 'c', 'c', %s, 0, %s, 'r')",
                     (vault_id, count, event.seq))
        sha = hashlib.sha256(b"bench").hexdigest()
        conn.execute("INSERT INTO blobs VALUES (%s, 5, 1048576, 0, 't')", (sha,))
        with conn.cursor() as cursor, cursor.copy(
                "COPY items (field_vault_id, field_item_id, package_id, sha256, kind, size, search_text, record, "
                "imported_at) FROM STDIN") as copy:
            for n in range(count):
                text = _text(rng, n)
                record = seal_record(hq.keys, "items", f"{vault_id}:{n}", {"item": {"title": text[:40]}})
                copy.write_row((vault_id, n, "bench", sha, "document", 5, text, record, "t"))
    conn.execute("ANALYZE items")
    common = ["ទាហាន", "ถูกควบคุมตัว", "被拘留", "soldiers"]
    rare = [f"#{n:07d}" for n in (42, count // 2, count - 1)] + ["ឃុំខ្លួន ផ្សារ ទន្លេ សាលា"]

    def timed(needles: list[str], repeat: int = 5) -> float:
        times = []
        for _ in range(repeat):
            for needle in needles:
                start = time.perf_counter()
                query.search(hq, needle, limit=50)
                times.append(time.perf_counter() - start)
        return statistics.median(times)

    indexed = {"common": timed(common), "rare": timed(rare)}
    conn.execute("SET enable_bitmapscan = off")
    conn.execute("SET enable_indexscan = off")
    scanned = {"common": timed(common, repeat=2), "rare": timed(rare, repeat=2)}
    conn.execute("RESET enable_bitmapscan")
    conn.execute("RESET enable_indexscan")
    for kind, what in (("common", "common words, first 50 hits"), ("rare", "rare text, few or no hits")):
        print(f"search over {count} items (Khmer, Thai, Chinese, Latin), {what}: median "
              f"{indexed[kind] * 1000:.1f} ms with the trigram index; baseline sequential scan "
              f"{scanned[kind] * 1000:.1f} ms; scan / index = {scanned[kind] / indexed[kind]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--witness-rounds", type=int, default=300)
    args = parser.parse_args()
    if not pg_cluster.postgres_available():
        print(f"PostgreSQL 15 is not installed ({pg_cluster.pg_bin()}); scripts/setup.sh installs it.")
        return 2
    work = Path(tempfile.mkdtemp(prefix="evhq-bench-"))
    if os.geteuid() == 0:
        os.chmod(work, 0o711)  # the 'postgres' account must enter it
    cluster = pg_cluster.init_cluster(work / "postgres")
    pg_cluster.start(cluster)
    try:
        pg_cluster.ensure_database(cluster)
        with Headquarters.create(work / "hq", PASSPHRASE, name="hq.example.org", actor="bench",
                                 conninfo=cluster.conninfo()) as hq:
            bench_witness(hq, args.witness_rounds)
            bench_search(hq, args.items)
            bench_import(hq, work, args.size_mib * MIB)
    finally:
        pg_cluster.stop(cluster)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
