"""Custody event replay speed: parse stored canonical bytes strictly and compute both hashes.

Baseline (same run): plain ``json.loads`` of the same bytes, the least any reader must do.
Run: .venv/bin/python benchmarks/bench_events.py [n]
"""

from __future__ import annotations

import json
import sys
import time

from app.vault.events import GENESIS_PREV_HASH, Event


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    stored = []
    prev = GENESIS_PREV_HASH
    for seq in range(n):
        event = Event(seq=seq, time="2026-11-25T14:56:22.123456Z", actor="Investigator A",
                      action="item_ingested", item_id=seq, item_sha256="a" * 64,
                      details={"kind": "photo", "size": 123456, "name": f"IMG_{seq:05}.jpg"}, prev_hash=prev)
        prev = event.chain_hash()
        stored.append(event.canonical_bytes())

    start = time.perf_counter()
    for data in stored:
        json.loads(data)
    t_base = time.perf_counter() - start

    start = time.perf_counter()
    prev = GENESIS_PREV_HASH
    for data in stored:
        event = Event.from_canonical(data)
        assert event.prev_hash == prev
        prev = event.chain_hash()
        event.leaf_hash()
    t_replay = time.perf_counter() - start

    print(f"events: {n:,}")
    print(f"baseline json.loads:            {t_base:.3f} s ({t_base / n * 1e6:.1f} us/event)")
    print(f"strict parse + chain + leaf:    {t_replay:.3f} s ({t_replay / n * 1e6:.1f} us/event, "
          f"{t_replay / t_base:.1f}x baseline)")
    print(f"projected for 100,000 events:   {t_replay / n * 100_000:.1f} s")


if __name__ == "__main__":
    main()
