"""Consistency proofs: their size for a 10,000-event log, and what `verify-bundle --checkpoint` costs.

    .venv/bin/python benchmarks/bench_consistency.py [--events 10000] [--bundle-mib 256]

Prints the proof length (hashes and bytes) for several earlier sizes, the size of a
custody/consistency.json holding one proof per earlier checkpoint (one every 100 events), and the time
of verify_bundle on a bundle with one large exhibit, with and without an earlier checkpoint (the
baseline, measured in the same run), with their ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from app.export.bundle import BundleFile, consistency_document, write_bundle
from app.export.bundle_verify import verify_bundle
from app.vault import keys
from app.vault.checkpoint import parse_checkpoint, sign_checkpoint
from app.vault.events import GENESIS_PREV_HASH, Event, utc_now
from app.vault.merkle import MerkleTree


def _log(count: int, item_sha: str) -> list[Event]:
    events: list[Event] = []
    for seq in range(count):
        prev = events[-1].chain_hash() if events else GENESIS_PREV_HASH
        first = seq == 1
        events.append(Event(seq=seq, time=utc_now(), actor="bench", action="item_ingested" if first else "note_added",
                            item_id=1 if first else None, item_sha256=item_sha if first else None,
                            details={"n": seq}, prev_hash=prev))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--bundle-mib", type=int, default=256)
    args = parser.parse_args()
    key = keys.new_signing_key()
    origin = f"evidence-vault/{keys.key_id(key)}"
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as scratch:
        folder = Path(scratch)
        exhibit = folder / "exhibit.bin"
        import hashlib

        digest = hashlib.sha256()
        with exhibit.open("wb") as out:
            for _ in range(args.bundle_mib):
                block = os.urandom(1 << 20)
                digest.update(block)
                out.write(block)
        events = _log(args.events, digest.hexdigest())
        leaves = [e.leaf_hash() for e in events]
        tree = MerkleTree(leaves)
        n = len(leaves)

        def cp(size: int) -> str:
            return sign_checkpoint(origin=origin, tree_size=size, root=tree.root(size), time=utc_now(), key=key)

        print(f"log of {n:,} events")
        for old in (1, 100, 1_000, 5_000, 6_143, 8_192, 9_999):
            if old < n:
                proof = tree.consistency_proof(old, n)
                print(f"  consistency proof {old:>6,} -> {n:,}: {len(proof):2d} hashes = {32 * len(proof):4d} bytes "
                      f"({66 * len(proof)} bytes as quoted hex in JSON)")
        earlier = [cp(size) for size in range(100, n, 100)]
        start = time.perf_counter()
        doc = consistency_document(earlier, tree, parse_checkpoint(cp(n)), key)
        made = time.perf_counter() - start
        print(f"  custody/consistency.json with {len(earlier)} earlier checkpoints: {len(doc):,} bytes, "
              f"made in {made:.2f} s")
        out = folder / "bundle.zip"
        big = BundleFile("exhibits/big.bin", lambda: exhibit.open("rb"), item_id=1)
        write_bundle(out=out, as_zip=True, files=[big],
                     events=events[:2], leaf_hashes=leaves, checkpoint_text=cp(n), signing_key=key,
                     seal_cert_pem=keys.new_seal_identity("bench").cert_pem, audience="court", level="original",
                     earlier_checkpoints=earlier)
        print(f"bundle: {out.stat().st_size / (1 << 20):,.0f} MiB")
        timings = {}
        middle = earlier[len(earlier) // 2]
        for label, given in (("baseline verify-bundle", None), ("verify-bundle --checkpoint", middle)):
            start = time.perf_counter()
            report = verify_bundle(out, earlier_checkpoint=given)
            timings[label] = time.perf_counter() - start
            assert report.ok, report.problems
            print(f"  {label}: {timings[label]:.2f} s")
        base, with_cp = timings.values()
        print(f"  ratio --checkpoint / baseline: {with_cp / base:.3f}")


if __name__ == "__main__":
    main()
