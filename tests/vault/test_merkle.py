"""RFC 9162 Merkle tree: known CT vectors, exhaustive comparison with a naive recursive reference,
property tests, and tamper detection."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput, ProofError
from app.vault import merkle
from app.vault.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# --- Naive reference: the RFC 9162 §2.1 definitions written out literally, recursion on slices. ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: list[bytes]) -> bytes:
    """MTH over raw entries (not leaf hashes)."""
    n = len(entries)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + entries[0])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], b), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


# --- Known answers: transparency-dev/merkle testonly/constants.go (RFC 6962 test data). ---

CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index 0-based, tree size, proof)
CT_INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
# (old size, new size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

CT_HASHES = [leaf_hash(entry) for entry in CT_LEAVES]


def _entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def _flip(value: bytes, byte: int = 0, bit: int = 0) -> bytes:
    mutable = bytearray(value)
    mutable[byte] ^= 1 << bit
    return bytes(mutable)


def test_leaf_and_node_hash_are_domain_separated() -> None:
    assert leaf_hash(b"") == _sha(b"\x00")
    left, right = _sha(b"l"), _sha(b"r")
    assert node_hash(left, right) == _sha(b"\x01" + left + right)
    # A node can never be passed off as a leaf over the same 64 bytes.
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("size", range(9))
def test_ct_known_roots(size: int) -> None:
    assert root_hash(CT_HASHES[:size]).hex() == CT_ROOTS[size]
    assert MerkleTree(CT_HASHES).root(size).hex() == CT_ROOTS[size]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MerkleTree([]).root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_known_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(index, CT_HASHES[:size]) == expected
    verify_inclusion(
        leaf_hash=CT_HASHES[index], index=index, tree_size=size, proof=expected,
        root=bytes.fromhex(CT_ROOTS[size]),
    )


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_ct_known_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(old, CT_HASHES[:new]) == expected
    verify_consistency(
        old_size=old, new_size=new, old_root=bytes.fromhex(CT_ROOTS[old]),
        new_root=bytes.fromhex(CT_ROOTS[new]), proof=expected,
    )


def test_all_sizes_1_to_70_match_reference_and_verify() -> None:
    entries = _entries(70)
    hashes = [leaf_hash(e) for e in entries]
    tree = MerkleTree(hashes)
    for n in range(1, 71):
        root = ref_mth(entries[:n])
        assert root_hash(hashes[:n]) == root, n
        assert tree.root(n) == root, n
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert proof == ref_path(i, entries[:n]), (i, n)
            verify_inclusion(leaf_hash=hashes[i], index=i, tree_size=n, proof=proof, root=root)
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_proof(m, entries[:n]), (m, n)
            verify_consistency(
                old_size=m, new_size=n, old_root=ref_mth(entries[:m]), new_root=root, proof=proof
            )


def test_module_functions_agree_with_tree_class() -> None:
    hashes = [leaf_hash(e) for e in _entries(13)]
    assert inclusion_proof(7, hashes) == MerkleTree(hashes).inclusion_proof(7)
    assert consistency_proof(5, hashes) == MerkleTree(hashes).consistency_proof(5)


def test_consistency_from_empty_tree() -> None:
    hashes = [leaf_hash(e) for e in _entries(5)]
    assert consistency_proof(0, hashes) == []
    verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=root_hash(hashes), proof=[])
    with pytest.raises(ProofError, match="empty log"):
        verify_consistency(old_size=0, new_size=5, old_root=root_hash(hashes), new_root=root_hash(hashes),
                           proof=[])
    with pytest.raises(ProofError, match="empty proof"):
        verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=root_hash(hashes),
                           proof=[hashes[0]])


def test_consistency_equal_sizes() -> None:
    root = root_hash([leaf_hash(b"a")])
    verify_consistency(old_size=1, new_size=1, old_root=root, new_root=root, proof=[])
    with pytest.raises(ProofError, match="altered"):
        verify_consistency(old_size=1, new_size=1, old_root=root, new_root=_flip(root), proof=[])
    with pytest.raises(ProofError, match="empty proof"):
        verify_consistency(old_size=1, new_size=1, old_root=root, new_root=root, proof=[root])


def test_single_leaf_tree() -> None:
    h = leaf_hash(b"data")
    assert root_hash([h]) == h
    assert inclusion_proof(0, [h]) == []
    verify_inclusion(leaf_hash=h, index=0, tree_size=1, proof=[], root=h)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=h, index=0, tree_size=1, proof=[], root=EMPTY_ROOT)


def test_inclusion_rejects_out_of_range_and_bad_shapes() -> None:
    hashes = [leaf_hash(e) for e in _entries(6)]
    root, proof = root_hash(hashes), inclusion_proof(3, hashes)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(leaf_hash=hashes[3], index=6, tree_size=6, proof=proof, root=root)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(leaf_hash=hashes[0], index=0, tree_size=0, proof=[], root=EMPTY_ROOT)
    with pytest.raises(ProofError, match="more hashes"):
        verify_inclusion(leaf_hash=hashes[3], index=3, tree_size=6, proof=[*proof, root], root=root)
    with pytest.raises(ProofError, match="fewer hashes"):
        verify_inclusion(leaf_hash=hashes[3], index=3, tree_size=6, proof=proof[:-1], root=root)
    with pytest.raises(ProofError, match="element 1"):
        verify_inclusion(leaf_hash=hashes[3], index=3, tree_size=6, proof=[proof[0], b"short"], root=root)
    with pytest.raises(ProofError, match="leaf hash"):
        verify_inclusion(leaf_hash=b"WrongLeaf", index=3, tree_size=6, proof=proof, root=root)
    with pytest.raises(ProofError, match="tree size"):
        verify_inclusion(leaf_hash=hashes[3], index=3, tree_size="6", proof=proof, root=root)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="not a list"):
        verify_inclusion(leaf_hash=hashes[3], index=3, tree_size=6, proof=b"".join(proof), root=root)
    # Wrong index or tree size with an otherwise good proof (transparency-dev probe set).
    for index, size in ((2, 6), (4, 6), (3 ^ 2, 6), (3, 12), (3, 3)):
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=hashes[3], index=index, tree_size=size, proof=proof, root=root)


def test_consistency_rejects_wrong_sizes_and_shapes() -> None:
    hashes = [leaf_hash(e) for e in _entries(11)]
    tree = MerkleTree(hashes)
    old_root, new_root, proof = tree.root(5), tree.root(11), tree.consistency_proof(5, 11)
    verify_consistency(old_size=5, new_size=11, old_root=old_root, new_root=new_root, proof=proof)
    with pytest.raises(ProofError, match="not smaller"):
        verify_consistency(old_size=11, new_size=5, old_root=new_root, new_root=old_root, proof=proof)
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(old_size=5, new_size=11, old_root=old_root, new_root=new_root, proof=[])
    with pytest.raises(ProofError, match="more hashes"):
        verify_consistency(old_size=5, new_size=11, old_root=old_root, new_root=new_root,
                           proof=[*proof, new_root])
    with pytest.raises(ProofError, match="fewer hashes"):
        verify_consistency(old_size=5, new_size=11, old_root=old_root, new_root=new_root, proof=proof[:-1])
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(old_size=5, new_size=11, old_root=_flip(old_root), new_root=new_root, proof=proof)
    with pytest.raises(ProofError, match="new root"):
        verify_consistency(old_size=5, new_size=11, old_root=old_root, new_root=_flip(new_root), proof=proof)
    # Old size a power of two: the old root is the proof's first hash, so altering it breaks the new root.
    with pytest.raises(ProofError, match="new root"):
        verify_consistency(old_size=4, new_size=11, old_root=_flip(tree.root(4)), new_root=new_root,
                           proof=tree.consistency_proof(4, 11))
    for old, new in ((4, 11), (6, 11), (3, 11), (7, 11), (5, 6), (5, 22)):
        with pytest.raises(ProofError):
            verify_consistency(old_size=old, new_size=new, old_root=old_root, new_root=new_root, proof=proof)


def test_generation_rejects_bad_arguments() -> None:
    hashes = [leaf_hash(e) for e in _entries(4)]
    with pytest.raises(InvalidInput):
        inclusion_proof(4, hashes)
    with pytest.raises(InvalidInput):
        inclusion_proof(-1, hashes)
    with pytest.raises(InvalidInput):
        inclusion_proof(0, [])
    with pytest.raises(InvalidInput):
        consistency_proof(5, hashes)
    with pytest.raises(InvalidInput):
        root_hash([b"not a hash"])
    with pytest.raises(InvalidInput):
        MerkleTree(hashes).root(5)


def test_large_tree_root_and_proofs() -> None:
    # 100,000 leaves: the tree builds in O(n) and each proof is O(log^2 n) lookups.
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(100_000)]
    tree = MerkleTree(hashes)
    root = tree.root()
    assert root == root_hash(hashes)
    for index in (0, 1, 65_535, 65_536, 99_998, 99_999):
        proof = tree.inclusion_proof(index)
        assert len(proof) == 17 if index < 65_536 else len(proof) <= 17
        verify_inclusion(leaf_hash=hashes[index], index=index, tree_size=100_000, proof=proof, root=root)
    for old in (1, 2, 3, 65_536, 70_001, 99_999):
        verify_consistency(old_size=old, new_size=100_000, old_root=tree.root(old), new_root=root,
                           proof=tree.consistency_proof(old))


# --- Property tests ---------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=3000)


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_property_inclusion_verifies_and_any_flip_fails(size: int, data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in _entries(size)]
    tree = MerkleTree(hashes)
    index = data.draw(st.integers(0, size - 1))
    root, proof = tree.root(), tree.inclusion_proof(index)
    verify_inclusion(leaf_hash=hashes[index], index=index, tree_size=size, proof=proof, root=root)
    byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=_flip(hashes[index], byte, bit), index=index, tree_size=size,
                         proof=proof, root=root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=hashes[index], index=index, tree_size=size, proof=proof,
                         root=_flip(root, byte, bit))
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = _flip(bad[which], byte, bit)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash=hashes[index], index=index, tree_size=size, proof=bad, root=root)


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_property_consistency_verifies_and_any_flip_fails(size: int, data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in _entries(size)]
    tree = MerkleTree(hashes)
    old = data.draw(st.integers(1, size))
    old_root, new_root, proof = tree.root(old), tree.root(), tree.consistency_proof(old)
    verify_consistency(old_size=old, new_size=size, old_root=old_root, new_root=new_root, proof=proof)
    byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
    with pytest.raises(ProofError):
        verify_consistency(old_size=old, new_size=size, old_root=_flip(old_root, byte, bit),
                           new_root=new_root, proof=proof)
    with pytest.raises(ProofError):
        verify_consistency(old_size=old, new_size=size, old_root=old_root,
                           new_root=_flip(new_root, byte, bit), proof=proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[which] = _flip(bad[which], byte, bit)
        with pytest.raises(ProofError):
            verify_consistency(old_size=old, new_size=size, old_root=old_root, new_root=new_root, proof=bad)


@settings(max_examples=60, deadline=None)
@given(size=sizes, data=st.data())
def test_property_changed_leaf_changes_root(size: int, data: st.DataObject) -> None:
    hashes = [leaf_hash(e) for e in _entries(size)]
    index = data.draw(st.integers(0, size - 1))
    changed = list(hashes)
    changed[index] = leaf_hash(b"tampered")
    assert root_hash(changed) != root_hash(hashes)
    # The old proof does not carry the tampered leaf to the original root.
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash=changed[index], index=index, tree_size=size,
                         proof=inclusion_proof(index, hashes), root=root_hash(hashes))



def test_proof_hex_encoding_round_trip_and_strictness() -> None:
    hashes = [leaf_hash(e) for e in _entries(9)]
    proof = inclusion_proof(4, hashes)
    encoded = merkle.proof_to_hex(proof)
    assert all(len(h) == 64 and h == h.lower() for h in encoded)
    assert merkle.proof_from_hex(encoded) == proof
    for bad in ("abc", [encoded[0].upper()], [encoded[0][:-1]], [1], [encoded[0] + "00"], ["zz" * 32]):
        with pytest.raises(ProofError, match="malformed"):
            merkle.proof_from_hex(bad)
