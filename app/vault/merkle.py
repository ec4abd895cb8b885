"""Merkle tree hashing, inclusion and consistency proofs: RFC 9162 §2.1 (Certificate Transparency v2).

Everything here works on raw 32-byte SHA-256 digests (``bytes``), never hex.  The tree over ``n`` leaves
is the one RFC 9162 defines recursively: the left subtree holds the largest power of two ``k < n``
leaves, the right subtree the rest.  Leaves and interior nodes are domain-separated (``0x00`` / ``0x01``
prefixes) so a leaf can never be passed off as a node.

Proof *generation* follows the RFC's recursive definitions (``PATH`` and ``SUBPROOF``) but looks the
hashes of complete (power-of-two, aligned) subtrees up in levels built once, so a :class:`MerkleTree`
over 100,000 leaves costs O(n) to build and O(log² n) per proof.  Proof *verification* is a literal
transcription of the RFC's algorithms (§2.1.3.2 and §2.1.4.2), so an auditor can compare it line by line.

Verification raises :class:`~app.errors.ProofError`; it never returns False.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from app.errors import InvalidInput, ProofError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 §2.1.1: the largest power of two with k < n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hashes(leaf_hashes: Sequence[bytes]) -> None:
    for position, value in enumerate(leaf_hashes):
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
            raise InvalidInput(
                "A Merkle leaf hash must be 32 bytes.",
                debug_detail=f"leaf {position}: {type(value).__name__} of length {len(value)}",
            )


class MerkleTree:
    """The tree over a fixed list of leaf hashes; answers roots and proofs for any size up to it.

    ``levels[0]`` are the leaf hashes; ``levels[h][j]`` is the hash of the complete subtree over
    leaves ``[j * 2**h, (j + 1) * 2**h)``.  Incomplete right edges are never stored: they are
    recomputed on demand from O(log n) stored nodes, which keeps every answer exact for any size.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        _check_hashes(leaf_hashes)
        level = [bytes(h) for h in leaf_hashes]
        self.levels: list[list[bytes]] = [level]
        while len(level) >= 2:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that occurs as a node of some RFC 9162 tree (start aligned)."""
        width = end - start
        if width & (width - 1) == 0:  # complete subtree: stored
            height = width.bit_length() - 1
            return self.levels[height][start >> height]
        k = _largest_power_of_two_below(width)
        return node_hash(self._subtree(start, start + k), self._subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[0:size]); the whole tree when size is None.  The empty tree is SHA-256(b"")."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise InvalidInput(
                "The requested tree size is larger than the log.",
                debug_detail=f"size {size}, log has {self.size} leaves",
            )
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, ordered from the leaf up."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size or not 0 <= index < size:
            raise InvalidInput(
                "There is no leaf at that position in the log.",
                debug_detail=f"index {index}, tree size {size}, log has {self.size} leaves",
            )
        proof: list[bytes] = []
        start, end = 0, size
        # Walk down from the root; siblings are collected top-down, the RFC lists them bottom-up.
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start = start + k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1 (empty when old_size is 0 or equal)."""
        new_size = self.size if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size:
            raise InvalidInput(
                "A consistency proof needs an old size no larger than the new size.",
                debug_detail=f"old {old_size}, new {new_size}, log has {self.size} leaves",
            )
        if old_size in (0, new_size):
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        """SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, iterative; m counts from ``start``."""
        tail: list[bytes] = []  # hashes appended after the recursive part, innermost first
        while True:
            n = end - start
            if m == n:
                head = [] if complete else [self._subtree(start, end)]
                break
            k = _largest_power_of_two_below(n)
            if m <= k:
                tail.append(self._subtree(start + k, end))
                end = start + k
            else:
                tail.append(self._subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        return head + tail[::-1]


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over all leaves, O(n).  SHA-256(b"") for an empty tree."""
    _check_hashes(leaf_hashes)
    level = [bytes(h) for h in leaf_hashes]
    if not level:
        return EMPTY_ROOT
    # Pairing left to right and carrying an odd last node up unchanged gives exactly the RFC's tree.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree over all ``leaf_hashes`` (O(n); reuse a
    :class:`MerkleTree` for many proofs over one log)."""
    return MerkleTree(leaf_hashes).inclusion_proof(index)


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Proof that the tree over the first ``old_size`` leaves is a prefix of the tree over all."""
    return MerkleTree(leaf_hashes).consistency_proof(old_size)


def _check_sizes(**sizes: object) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProofError(
                f"The proof cannot be checked: the {name.replace('_', ' ')} is not a whole number.",
                debug_detail=f"{name}: {value!r}",
            )


def _check_proof_shape(proof: Sequence[bytes], *named: tuple[str, bytes]) -> None:
    if isinstance(proof, bytes | bytearray | str):  # a single hash is not a list of hashes
        raise ProofError("The proof is malformed: it is not a list of hashes.")
    for name, value in named:
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
            raise ProofError(
                f"The proof cannot be checked: the {name} is not a 32-byte SHA-256 hash.",
                debug_detail=f"{name}: {value!r}",
            )
    for position, value in enumerate(proof):
        if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
            raise ProofError(
                f"The proof is malformed: element {position} is not a 32-byte SHA-256 hash.",
                debug_detail=f"proof[{position}]: {value!r}",
            )


def verify_inclusion(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2.  Raises ProofError unless ``leaf_hash`` is leaf ``index`` of the tree
    of ``tree_size`` leaves whose root is ``root``."""
    _check_sizes(index=index, tree_size=tree_size)
    _check_proof_shape(proof, ("leaf hash", leaf_hash), ("root", root))
    # 1. leaf_index must be inside the tree.
    if not 0 <= index < tree_size:
        raise ProofError(
            f"The inclusion proof is invalid: position {index} is outside a log of {tree_size} entries."
        )
    # 2.-3.
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    # 4.
    for p in proof:
        if sn == 0:  # 4a: the proof is longer than the path
            raise ProofError(
                f"The inclusion proof is invalid: it has more hashes than a log of {tree_size} entries needs."
            )
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError(
            f"The inclusion proof is invalid: it has fewer hashes than a log of {tree_size} entries needs."
        )
    if r != root:
        raise ProofError(
            f"The inclusion proof does not match the root: entry {index} is not part of this log "
            "as signed, or the log was altered."
        )


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2.  Raises ProofError unless the tree of ``old_size`` leaves with root
    ``old_root`` is a prefix of the tree of ``new_size`` leaves with root ``new_root``.

    Edge cases the RFC leaves to the caller: ``old_size == new_size`` needs an empty proof and
    equal roots; ``old_size == 0`` needs an empty proof and ``old_root == SHA-256(b"")``.
    """
    _check_sizes(old_size=old_size, new_size=new_size)
    _check_proof_shape(proof, ("old root", old_root), ("new root", new_root))
    if not 0 <= old_size <= new_size:
        raise ProofError(
            f"The consistency proof is invalid: the old log ({old_size} entries) is not smaller "
            f"than the new one ({new_size} entries)."
        )
    if old_size == new_size:
        if proof:
            raise ProofError("The consistency proof is invalid: logs of equal size need an empty proof.")
        if old_root != new_root:
            raise ProofError(
                f"The two roots differ although both logs have {new_size} entries: the log was altered."
            )
        return
    if old_size == 0:
        if proof:
            raise ProofError("The consistency proof is invalid: an empty old log needs an empty proof.")
        if old_root != EMPTY_ROOT:
            raise ProofError("The old root is not the root of an empty log, although its size is 0.")
        return
    # 1.
    if not proof:
        raise ProofError("The consistency proof is invalid: it is empty.")
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # 6a
            raise ProofError(
                "The consistency proof is invalid: it has more hashes than these log sizes need."
            )
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError(
            "The consistency proof is invalid: it has fewer hashes than these log sizes need."
        )
    if fr != old_root:
        raise ProofError(
            f"The consistency proof does not reproduce the old root: the first {old_size} entries "
            "were changed since the old checkpoint."
        )
    if sr != new_root:
        raise ProofError(
            "The consistency proof does not reproduce the new root: the log was altered, "
            "or the proof belongs to another log."
        )


def proof_to_hex(proof: Sequence[bytes]) -> list[str]:
    """JSON form of a proof (or of any list of hashes): lowercase hex strings, in proof order."""
    return [bytes(h).hex() for h in proof]


def proof_from_hex(values: object) -> list[bytes]:
    """Inverse of :func:`proof_to_hex`, strict: a list of 64 lowercase hex digits each.

    Raises ProofError, so a damaged bundle reads as a failed proof, not a crash.
    """
    if not isinstance(values, list):
        raise ProofError("The proof is malformed: it is not a list of hashes.", debug_detail=repr(values)[:200])
    result = []
    for position, value in enumerate(values):
        if (
            not isinstance(value, str)
            or len(value) != 2 * HASH_SIZE
            or value.strip("0123456789abcdef") != ""
        ):
            raise ProofError(
                f"The proof is malformed: element {position} is not 64 lowercase hex digits.",
                debug_detail=repr(value)[:200],
            )
        result.append(bytes.fromhex(value))
    return result
