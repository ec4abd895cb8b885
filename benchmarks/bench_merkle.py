"""Merkle tree speed for a 100,000-event custody log.

Baseline (measured in the same run): the bare SHA-256 work any RFC 9162 root needs, i.e. n leaf-sized
plus n-1 node-sized hashlib calls in a tight loop.  Prints seconds and ratios; no assertions.
Run: .venv/bin/python benchmarks/bench_merkle.py [n]
"""

from __future__ import annotations

import hashlib
import random
import sys
import time

from app.vault.merkle import MerkleTree, inclusion_proof, root_hash, verify_consistency, verify_inclusion


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
    node_input = b"\x01" + bytes(64)

    def baseline() -> None:
        for _ in range(n - 1):
            hashlib.sha256(node_input).digest()

    t_base, _ = timed(baseline)
    t_root, root = timed(lambda: root_hash(leaves))
    t_tree, tree = timed(lambda: MerkleTree(leaves))
    rng = random.Random(1)
    indices = [rng.randrange(n) for _ in range(1000)]
    t_incl, proofs = timed(lambda: [tree.inclusion_proof(i) for i in indices])
    t_vinc, _ = timed(lambda: [verify_inclusion(leaf_hash=leaves[i], index=i, tree_size=n, proof=p, root=root)
                               for i, p in zip(indices, proofs, strict=True)])
    olds = [rng.randrange(1, n) for _ in range(1000)]
    t_cons, cproofs = timed(lambda: [tree.consistency_proof(m) for m in olds])
    t_vcon, _ = timed(lambda: [verify_consistency(old_size=m, new_size=n, old_root=tree.root(m), new_root=root,
                                                  proof=p) for m, p in zip(olds, cproofs, strict=True)])
    t_one, _ = timed(lambda: inclusion_proof(indices[0], leaves))  # one-shot: builds the tree each call

    print(f"leaves: {n:,}")
    print(f"baseline {n - 1:,} bare SHA-256 node hashes: {t_base:.3f} s")
    print(f"root_hash:                      {t_root:.3f} s  ({t_root / t_base:.2f}x baseline)")
    print(f"MerkleTree build:               {t_tree:.3f} s  ({t_tree / t_base:.2f}x baseline)")
    print(f"1,000 inclusion proofs:         {t_incl * 1000:.1f} ms ({t_incl:.4f} ms each)")
    print(f"1,000 inclusion verifications:  {t_vinc * 1000:.1f} ms")
    print(f"1,000 consistency proofs:       {t_cons * 1000:.1f} ms")
    print(f"1,000 consistency verifications (incl. old root): {t_vcon * 1000:.1f} ms")
    print(f"one-shot inclusion_proof(i, leaves): {t_one:.3f} s ({t_one / t_base:.2f}x baseline)")


if __name__ == "__main__":
    main()
