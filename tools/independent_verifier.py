#!/usr/bin/env python3
"""Independent verifier for Evidence Vault files and bundles, written from docs/FORMAT.md alone.

It deliberately imports nothing from the project (``app``): an auditor must be able to check a vault
without trusting its authors' code. Dependencies: the Python standard library, ``cryptography``
(Ed25519, X.509 parsing) and ``sqlcipher3`` (to open the vault file). RFC 8785 canonical JSON,
the RFC 9162 Merkle root, inclusion and consistency proofs and the C2SP signed-note checkpoint are
implemented here, from the specifications.  When the custody log is intact, the record events are replayed
against the record tables (consent, protection, links, item provenance) and every record's keyed
``record_digest`` (HMAC-SHA256 under the vault's ``record`` key) is recomputed from its current row.
The key columns must belong to the private seed; every ``checkpoint_made`` root must be the true root of
the events before it and pair up with its ``checkpoints`` row; event times that go backwards or precede
``vault_created`` are printed as WARNING notes (times are claims; the verdict stays intact).

    python tools/independent_verifier.py VAULT [--checkpoint FILE] [--expect-key-id ID] [--kdf-iter N]
                                         [--raw-key HEX] [--no-copy]
    python tools/independent_verifier.py --bundle PATH [--expect-key-id ID] [--checkpoint FILE]
    python tools/independent_verifier.py --proof PROOF.txt --key VAULT-KEY.pem [--checkpoint FILE]

The passphrase comes from EVIDENCE_VAULT_PASSPHRASE, else from stdin (one line).  A vault with
organisational recovery enabled (a ``VAULT.keyslot`` beside it) is opened with the key the passphrase
unwraps from the keyslot, or with ``--raw-key`` (K, e.g. combined from the recovery shares).
Exit status: 0 intact, 1 altered (every problem is printed), 2 the check could not run, 3 (--bundle with
--checkpoint) intact, but the checkpoint given is later than the bundle's, which cannot show it agrees.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import itertools
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_INTACT, EXIT_ALTERED, EXIT_CANNOT_RUN, EXIT_NOT_COMPARED = 0, 1, 2, 3
DOCUMENTED_KDF_ITER = 256_000
CHUNK_SIZE = 1_048_576
GENESIS = "0" * 64
CHAIN_PREFIX = b"evidence-vault:event-chain:v1\x00"
EVENT_MEMBERS = {"v", "seq", "time", "actor", "action", "item_id", "item_sha256", "details", "prev_hash"}
ACTIONS = {
    "vault_created", "case_added", "case_changed", "person_added", "person_changed", "consent_added",
    "consent_withdrawn", "item_ingested", "item_changed", "item_viewed", "item_linked", "note_added",
    "transcript_set", "annotated", "redacted", "exported", "verified", "passphrase_changed",
    "checkpoint_made", "consent_override", "locked", "recovery_configured",
}
HEX64 = re.compile(r"[0-9a-f]{64}")
EVENT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SAFE_INT = 2**53 - 1
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class CannotRun(Exception):
    """The check could not be carried out (wrong passphrase, unreadable file, bad arguments)."""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)  # questions asked that this input cannot answer

    def problem(self, where: str, what: str) -> None:
        text = f"{where}: {what}".encode("utf-8", "backslashreplace").decode("utf-8")  # hostile names
        self.problems.append("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))

    def ok(self, what: str) -> None:
        self.checked.append(what)

    def note(self, what: str) -> None:
        self.notes.append(what)

    def print(self, title: str) -> int:
        print(title)
        for line in self.checked:
            print(f"  checked  {line}")
        for line in self.notes:
            print(f"  note     {line}")
        for line in self.problems:
            print(f"  PROBLEM  {line}")
        for line in self.not_compared:
            print(f"  NOT COMPARED  {line}")
        if self.problems:
            print(f"RESULT: ALTERED - {len(self.problems)} problem(s) found")
            return EXIT_ALTERED
        if self.not_compared:
            print("RESULT: INTACT - no problem found, but not everything asked could be compared")
            return EXIT_NOT_COMPARED
        print("RESULT: INTACT - no problem found")
        return EXIT_INTACT


# ---------------------------------------------------------------------------------------------
# RFC 8785 canonical JSON (own implementation for the value types FORMAT.md allows)
# ---------------------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _jcs_string(text: str) -> str:
    try:
        text.encode("utf-8")  # refuses lone surrogates
    except UnicodeEncodeError as exc:
        raise ValueError("string is not valid Unicode (lone surrogate)") from exc
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _jcs_float(number: float) -> str:
    """ECMAScript Number.prototype.toString, from Python's shortest round-trip repr."""
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinity are not allowed")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exp = repr(abs(number)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits, e10 = (whole + frac).lstrip("0"), (int(exp) if exp else 0) - len(frac)
    while digits.endswith("0"):
        digits, e10 = digits[:-1], e10 + 1
    k = len(digits)
    n = k + e10  # value = 0.digits * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + body


def canonical(value: Any) -> bytes:
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not -SAFE_INT <= value <= SAFE_INT:
            raise ValueError(f"integer {value} is outside the I-JSON safe range")
        return str(value)
    if isinstance(value, float):
        return _jcs_float(value)
    if isinstance(value, str):
        return _jcs_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("object keys must be strings")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_jcs_string(k) + ":" + _jcs(value[k]) for k in keys) + "}"
    raise ValueError(f"value of type {type(value).__name__} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def parse_canonical(data: bytes) -> Any:
    """Parse stored JSON and insist that it is exactly its own RFC 8785 form."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        again = canonical(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not valid JSON for this format ({exc})") from exc
    if again != data:
        raise ValueError("JSON is not in RFC 8785 canonical form (re-encoding gives different bytes)")
    return value


# ---------------------------------------------------------------------------------------------
# RFC 9162 Merkle tree
# ---------------------------------------------------------------------------------------------

def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(canonical_bytes: bytes) -> bytes:
    return sha256(b"\x00" + canonical_bytes)


def chain_hash(canonical_bytes: bytes) -> str:
    return hashlib.sha256(CHAIN_PREFIX + canonical_bytes).hexdigest()


def _node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    """Largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: list[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    hi = len(leaves) if hi is None else hi
    n = hi - lo
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return _node(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi))


def consistency_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (empty for m = 0 and m = n, as FORMAT.md fixes)."""
    n = len(leaves)
    if m in (0, n):
        return []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [mth(leaves, lo, hi)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, lo, lo + k, complete), mth(leaves, lo + k, hi)]
        return [*subproof(m - k, lo + k, hi, False), mth(leaves, lo, lo + k)]

    return subproof(m, 0, n, True)


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, with FORMAT.md's edge cases m = n and m = 0."""
    if first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof and first_hash == sha256(b"")
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# ---------------------------------------------------------------------------------------------
# Keys and checkpoints (C2SP signed note + tlog-checkpoint)
# ---------------------------------------------------------------------------------------------

def raw_public_key(pem: bytes | str) -> bytes:
    """32 raw Ed25519 public-key bytes from a SubjectPublicKeyInfo PEM (RFC 8410)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert der == ED25519_SPKI_PREFIX + raw
    return raw


def key_id(raw_pub: bytes) -> str:
    return hashlib.sha256(raw_pub).hexdigest()[:16]


def note_key_id(name: str, raw_pub: bytes) -> bytes:
    return sha256(name.encode("utf-8") + b"\n\x01" + raw_pub)[:4]


def ed25519_ok(raw_pub: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw_pub).verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str
    body: bytes  # the signed note text: lines 1-4 with their newlines
    signatures: list[tuple[str, bytes, bytes]]  # (name, key_id4, 64-byte signature)


def parse_checkpoint(text: str, *, tolerant: bool) -> Checkpoint:
    """Parse a checkpoint; ``tolerant`` accepts CRLF and surrounding whitespace (e-mail damage)."""
    if tolerant:
        text = text.strip().replace("\r\n", "\n") + "\n"
    if any(ord(c) < 0x20 and c != "\n" for c in text) or "\x7f" in text:
        raise ValueError("contains control characters")
    if not text.endswith("\n"):
        raise ValueError("the last line does not end with a newline")
    cut = text.rfind("\n\n")
    if cut < 0:
        raise ValueError("no empty line between the note text and the signatures")
    body, sig_block = text[: cut + 1], text[cut + 2:]
    lines = body[:-1].split("\n")
    if len(lines) != 4:
        raise ValueError(f"the note text has {len(lines)} lines, expected 4")
    origin, size_s, root_s, time_line = lines
    if not origin or len(origin) > 128 or " " in origin or "+" in origin:
        raise ValueError("invalid origin line")
    if not re.fullmatch(r"0|[1-9][0-9]*", size_s):
        raise ValueError("invalid tree size line")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error as exc:
        raise ValueError("root is not base64") from exc
    if len(root_s) != 44 or len(root) != 32 or base64.b64encode(root).decode() != root_s:
        raise ValueError("root is not the canonical base64 of 32 bytes")
    match = re.fullmatch(r"time (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z", time_line)
    if not match:
        raise ValueError("invalid time line")
    dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")  # raises on an impossible date
    signatures = []
    for line in sig_block.split("\n")[:-1]:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            raise ValueError("malformed signature line")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise ValueError("signature is not base64") from exc
        if len(blob) < 5:
            raise ValueError("signature too short")
        signatures.append((parts[1], blob[:4], blob[4:]))
    if not signatures:
        raise ValueError("no signature line")
    return Checkpoint(origin, int(size_s), root, match.group(1), body.encode("utf-8"), signatures)


def checkpoint_signature_problem(cp: Checkpoint, raw_pub: bytes) -> str | None:
    """None when the checkpoint is signed by this key under the expected origin, else what is wrong."""
    expected_origin = "evidence-vault/" + key_id(raw_pub)
    if cp.origin != expected_origin:
        return f"origin is {cp.origin!r}, expected {expected_origin!r} (another vault's key?)"
    kid = note_key_id(cp.origin, raw_pub)
    mine = [s for name, k, s in cp.signatures if name == cp.origin and k == kid]
    if not mine:
        return "no signature line by the vault's key"
    if not any(len(s) == 64 and ed25519_ok(raw_pub, s, cp.body) for s in mine):
        return "the Ed25519 signature does not verify (text changed or signed by another key)"
    return None


# ---------------------------------------------------------------------------------------------
# Custody events
# ---------------------------------------------------------------------------------------------

def parse_event(data: bytes) -> dict[str, Any]:
    """Check one event's canonical bytes and member types; return the parsed object."""
    event = parse_canonical(data)
    if not isinstance(event, dict) or set(event) != EVENT_MEMBERS:
        raise ValueError("an event must be an object with exactly the nine documented members")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if event["v"] != 1 or not is_int(event["v"]):
        raise ValueError(f"unknown format version v={event['v']!r}")
    if not is_int(event["seq"]) or event["seq"] < 0:
        raise ValueError("seq must be an integer >= 0")
    if not isinstance(event["time"], str) or not EVENT_TIME.fullmatch(event["time"]):
        raise ValueError("time is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    if not isinstance(event["actor"], str) or not event["actor"]:
        raise ValueError("actor must be a non-empty string")
    if event["action"] not in ACTIONS:
        raise ValueError(f"unknown action {event['action']!r}")
    if event["item_id"] is not None and (not is_int(event["item_id"]) or event["item_id"] < 0):
        raise ValueError("item_id must be an integer >= 0 or null")
    if event["item_sha256"] is not None and not (isinstance(event["item_sha256"], str)
                                                 and HEX64.fullmatch(event["item_sha256"])):
        raise ValueError("item_sha256 must be 64 lowercase hex digits or null")
    if not isinstance(event["details"], dict):
        raise ValueError("details must be an object")
    if not isinstance(event["prev_hash"], str) or not HEX64.fullmatch(event["prev_hash"]):
        raise ValueError("prev_hash must be 64 lowercase hex digits")
    return event


# ---------------------------------------------------------------------------------------------
# Vault
# ---------------------------------------------------------------------------------------------

@dataclass
class VaultKey:
    label: str  # for the report; never the key itself
    literal: str  # the SQL value of PRAGMA key
    kdf_iter: int | None  # None for a raw key (SQLCipher skips its KDF)


def passphrase_key(passphrase: str, kdf_iter: int) -> VaultKey:
    text = unicodedata.normalize("NFC", passphrase)
    return VaultKey("the passphrase", "'" + text.replace("'", "''") + "'", kdf_iter)


def raw_vault_key(key: bytes, label: str) -> VaultKey:
    return VaultKey(label, f"\"x'{key.hex()}'\"", None)


def keyslot_keys(vault: Path, passphrase: str, kdf_iter: int) -> list[VaultKey]:
    """Keys to try, per FORMAT.md "Recovery and panic": with a ``<vault>.keyslot`` the file is keyed with a
    raw key K wrapped under the passphrase (``pending`` first, then ``current``, else the passphrase)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    path = vault.with_name(vault.name + ".keyslot")
    if not path.exists():
        return [passphrase_key(passphrase, kdf_iter)]
    try:
        slot_file = parse_canonical(path.read_bytes())
        header = {k: v for k, v in slot_file.items() if k != "slots"}
        if (slot_file["format"], slot_file["version"], slot_file["cipher"], slot_file["kdf"]) != (
                "evidence-vault-keyslot", 1, "AES-256-GCM", "PBKDF2-HMAC-SHA512"):
            raise ValueError("unknown keyslot format")
        kek = hashlib.pbkdf2_hmac("sha512", unicodedata.normalize("NFC", passphrase).encode("utf-8"),
                                  bytes.fromhex(slot_file["salt"]), int(slot_file["iterations"]), 32)
        keys = {}
        for role, slot in slot_file["slots"].items():
            aad = canonical({**header, "role": role})
            keys[role] = AESGCM(kek).decrypt(bytes.fromhex(slot["nonce"]), bytes.fromhex(slot["ciphertext"]), aad)
    except InvalidTag as exc:
        raise CannotRun("wrong passphrase (the keyslot beside the vault does not open with it)") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CannotRun(f"the keyslot {path.name} cannot be read ({exc})") from exc
    found = []
    for role in ("pending", "current"):
        if role in keys:
            fingerprint = hashlib.sha256(b"evidence-vault recovery key fingerprint\x00" + keys[role]).hexdigest()[:16]
            if role == "current" and fingerprint != slot_file.get("fingerprint"):
                raise CannotRun(f"the keyslot's fingerprint {slot_file.get('fingerprint')} is not its key's")
            found.append(raw_vault_key(keys[role], f"the recovery key {fingerprint} (keyslot '{role}')"))
    if "current" not in keys:
        found.append(passphrase_key(passphrase, kdf_iter))
    return found


def open_vault(path: Path, candidates: list[VaultKey]) -> tuple[Any, VaultKey]:
    import sqlcipher3

    errors = []
    for key in candidates:
        conn = sqlcipher3.connect(str(path), isolation_level=None)
        with contextlib.suppress(sqlcipher3.DatabaseError):
            conn.execute("PRAGMA cipher_log_level = NONE")  # not in FORMAT.md: only silences stderr noise
        conn.execute(f"PRAGMA key = {key.literal}")
        conn.execute("PRAGMA cipher_page_size = 65536")
        if key.kdf_iter is not None:
            conn.execute(f"PRAGMA kdf_iter = {int(key.kdf_iter)}")
        conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
        conn.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            conn.close()
            errors.append(f"{key.label}: {exc}")
            continue
        conn.execute("PRAGMA query_only = ON")
        return conn, key
    raise CannotRun("the vault cannot be opened: wrong passphrase, wrong --kdf-iter, or not a vault ("
                    + "; ".join(errors) + ")")


def as_bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def check_file_integrity(conn: Any, report: Report) -> None:
    """Every page's HMAC (SQLCipher) and the b-tree structure (SQLite), including pages that hold no
    evidence (search index, notes, free pages): damage there is still an alteration of the file."""
    import sqlcipher3

    failed = [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")]
    for message in failed[:20]:
        report.problem("vault file", f"{message} (the encrypted file was altered or damaged)")
    if failed:
        return  # the structure check would only stop at the first damaged page
    try:
        result = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlcipher3.DatabaseError as exc:
        result = [str(exc)]
    if result != ["ok"]:
        report.problem("vault file", f"SQLite structure check failed: {'; '.join(result[:5])}")
    else:
        report.ok("every page's HMAC and the database structure (cipher_integrity_check, quick_check)")


def check_blobs(conn: Any, report: Report) -> tuple[dict[int, tuple[str, int]], dict[int, list[str]]]:
    """Re-hash every blob from its chunks; return blob id -> (recorded sha256, size), and what is wrong with
    each damaged blob (reported by check_items under the items that use it: one blob can serve several)."""
    blobs: dict[int, tuple[str, int]] = {}
    damaged: dict[int, list[str]] = {}
    blob_report = Report()
    total = 0
    rows = conn.execute("SELECT id, sha256, size, chunk_size, chunk_count FROM blobs ORDER BY id").fetchall()
    for blob_id, recorded, size, chunk_size, chunk_count in rows:
        blobs[blob_id] = (recorded, size)
        where = f"blob {blob_id}"
        blob_report.problems.clear()
        if chunk_size != CHUNK_SIZE:
            report.note(f"{where}: chunk_size {chunk_size}, FORMAT.md documents {CHUNK_SIZE}")
        digest, length, expected_seq, last_len = hashlib.sha256(), 0, 0, None
        for seq, data in conn.execute("SELECT seq, data FROM chunks WHERE blob_id = ? ORDER BY seq", (blob_id,)):
            data = as_bytes(data)
            if seq != expected_seq:
                blob_report.problem(where, f"chunk {expected_seq} is missing (next stored chunk is {seq})")
                expected_seq = seq
            if last_len is not None and last_len != chunk_size:
                blob_report.problem(where, f"chunk {seq - 1} has {last_len} bytes but is not the last chunk")
            digest.update(data)
            length += len(data)
            last_len = len(data)
            expected_seq += 1
        if last_len is not None and not 0 < last_len <= chunk_size:
            blob_report.problem(where, f"last chunk has {last_len} bytes")
        if expected_seq != chunk_count:
            blob_report.problem(where, f"{expected_seq} chunks stored, chunk_count says {chunk_count}")
        if length != size:
            blob_report.problem(where, f"the chunks hold {length} bytes, the recorded size is {size}")
        if digest.hexdigest() != recorded:
            blob_report.problem(where, f"SHA-256 of the stored bytes is {digest.hexdigest()}, recorded {recorded} "
                           "(the original was altered)")
        total += length
        if blob_report.problems:
            damaged[blob_id] = list(blob_report.problems)
    orphans = conn.execute("SELECT count(*) FROM chunks WHERE blob_id NOT IN (SELECT id FROM blobs)").fetchone()[0]
    if orphans:
        report.note(f"{orphans} chunk rows belong to no blob")
    report.ok(f"{len(blobs)} stored blobs re-hashed from their chunks ({total:,} bytes)")
    return blobs, damaged


def check_events(conn: Any, report: Report) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Replay the custody log; return the parsed events and their Merkle leaves (in seq order)."""
    events: list[dict[str, Any]] = []
    leaves: list[bytes] = []
    prev = GENESIS
    rows = conn.execute("SELECT seq, canonical, chain_hash, action, item_id FROM events ORDER BY seq")
    expected = 0
    for seq, stored, stored_chain, action, item_id in rows:
        where = f"event seq {seq}"
        data = as_bytes(stored)
        if not isinstance(seq, int) or seq < expected:
            report.problem(where, "seq is not the next integer position in the log")
        elif seq != expected:  # seq is the table's primary key: a gap means removed events
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            report.problem(f"event seq {expected}", f"missing: event(s) {missing} were removed from the log")
        try:
            event = parse_event(data)
        except ValueError as exc:
            report.problem(where, f"invalid record: {exc}")
            event = None
        if event is not None:
            if event["seq"] != seq:
                report.problem(where, f"the record says seq {event['seq']}, stored in row seq {seq}")
            if event["prev_hash"] != prev:
                report.problem(where, "prev_hash does not match the chain hash of the previous event "
                               "(an event before it was changed, removed or inserted)")
            if event["action"] != action or event["item_id"] != item_id:
                report.problem(where, "the action/item_id columns disagree with the canonical record")
            events.append(event)
        this_chain = chain_hash(data)
        if stored_chain != this_chain:
            report.problem(where, "stored chain_hash does not match the record (the record was changed)")
        prev = this_chain
        expected = seq + 1 if isinstance(seq, int) else expected + 1
        leaves.append(leaf_hash(data))
    report.ok(f"{len(leaves)} custody events replayed (seq, canonical form, prev_hash, chain_hash)")
    return events, leaves


def check_items(conn: Any, events: list[dict[str, Any]], blobs: dict[int, tuple[str, int]],
                damaged: dict[int, list[str]], report: Report) -> None:
    ingested: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        if event["action"] == "item_ingested":
            ingested.setdefault(event["item_id"], []).append(event)
    items = conn.execute("SELECT id, sha256, size, blob_id FROM items ORDER BY id").fetchall()
    known = {row[0]: row for row in items}
    for item_id, sha, size, blob_id in items:
        where = f"item {item_id}"
        for detail in damaged.get(blob_id, []):
            report.problem(where, f"its stored original was altered: {detail}")
        if blob_id not in blobs:
            report.problem(where, f"its blob {blob_id} does not exist")
        elif blobs[blob_id] != (sha, size):
            report.problem(where, "sha256/size differ from its blob's")
        found = ingested.get(item_id, [])
        if len(found) != 1:
            report.problem(where, f"{len(found)} item_ingested events, expected exactly 1")
        for event in found:
            if event["item_sha256"] != sha:
                report.problem(where, f"item_sha256 of its item_ingested event (seq {event['seq']}) differs from "
                               "the item's sha256")
            if event["details"].get("size") != size:
                report.problem(where, f"details.size of its item_ingested event (seq {event['seq']}) differs from "
                               "the item's size")
    used = {row[3] for row in items}
    for blob_id, details in damaged.items():
        if blob_id not in used:
            for detail in details:
                report.problem(f"blob {blob_id}", f"(used by no item) {detail}")
    for item_id, found in ingested.items():
        if item_id not in known:
            seqs = ", ".join(str(e["seq"]) for e in found)
            report.problem(f"item {item_id}", f"ingested by event seq {seqs} but the item is missing (deleted)")
    for event in events:  # every event naming an item carries that item's hash
        row = known.get(event["item_id"])
        if row is not None and event["item_sha256"] is not None and event["item_sha256"] != row[1]:
            report.problem(f"event seq {event['seq']}", f"item_sha256 differs from item {row[0]}'s sha256")
    report.ok(f"{len(items)} items agree with their blobs and item_ingested events")


def check_keys(conn: Any, events: list[dict[str, Any]], report: Report) -> bytes | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    row = conn.execute("SELECT private_key, public_pem, key_id FROM keys WHERE name = 'signing'").fetchone()
    if row is None:
        report.problem("keys", "no signing key in the vault")
        return None
    seed, pem, stored_id = row
    try:
        raw = raw_public_key(as_bytes(pem))
    except ValueError as exc:
        report.problem("keys", f"signing public key unreadable: {exc}")
        return None
    if stored_id != key_id(raw):
        report.problem("keys", f"stored key_id {stored_id} is not the public key's id {key_id(raw)}")
    derived = Ed25519PrivateKey.from_private_bytes(as_bytes(seed)).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if derived != raw:
        report.problem("keys", "the stored public key does not belong to the stored private seed")
    created = [e for e in events if e["action"] == "vault_created"]
    if len(created) != 1 or created[0]["seq"] != 0:
        report.problem("event seq 0", "the log must start with exactly one vault_created event")
    for event in created:
        pem_in_event = event["details"].get("public_key_pem")
        try:
            if not isinstance(pem_in_event, str) or raw_public_key(pem_in_event) != raw:
                report.problem(f"event seq {event['seq']}", "vault_created names another signing key than the "
                               "vault's (the key was replaced)")
        except ValueError as exc:
            report.problem(f"event seq {event['seq']}", f"vault_created public_key_pem unreadable: {exc}")
    report.ok(f"signing key {key_id(raw)} matches its seed and the vault_created event")
    return raw


def check_checkpoint(cp_text: str, where: str, raw_pub: bytes, leaves: list[bytes], report: Report,
                     *, tolerant: bool, column_size: int | None = None) -> None:
    try:
        cp = parse_checkpoint(cp_text, tolerant=tolerant)
    except ValueError as exc:
        report.problem(where, f"not a valid checkpoint: {exc}")
        return
    if column_size is not None and column_size != cp.size:
        report.problem(where, f"tree_size column {column_size} differs from the signed size {cp.size}")
    problem = checkpoint_signature_problem(cp, raw_pub)
    if problem:
        report.problem(where, problem)
        return
    n = len(leaves)
    if cp.size > n:
        report.problem(where, f"signed for {cp.size} events but the log now has only {n} (events were removed)")
        return
    proof = consistency_proof(cp.size, leaves)
    if not verify_consistency(cp.size, n, cp.root, mth(leaves), proof):
        report.problem(where, f"the first {cp.size} events are no longer the ones signed at {cp.time}Z "
                       "(history was rewritten)")
        return
    report.ok(f"{where}: signature and consistency proof {cp.size} -> {n} ({len(proof)} hashes)")


def check_checkpoint_events(events: list[dict[str, Any]], leaves: list[bytes], rows: list[Any],
                            report: Report) -> None:
    """FORMAT.md: each checkpoint_made event records (tree_size, hex root) of the checkpoint it announces:
    that root must still be the root of that prefix, and the checkpoint must still be stored."""
    stored = set()
    for _, _, text, _ in rows:
        with contextlib.suppress(ValueError):
            cp = parse_checkpoint(as_bytes(text).decode("utf-8", "replace"), tolerant=False)
            stored.add((cp.size, cp.root.hex()))
    for event in events:
        if event["action"] != "checkpoint_made":
            continue
        where, size, root = f"event seq {event['seq']}", event["details"].get("tree_size"), event["details"].get("root")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= event["seq"] \
                or not isinstance(root, str) or not HEX64.fullmatch(root):
            report.note(f"{where}: checkpoint_made without a readable tree_size/root")
            continue
        if mth(leaves[:size]).hex() != root:
            report.problem(where, f"announced a checkpoint of the first {size} events with root {root}, but those "
                           "events now have another root (history was rewritten)")
        elif (size, root) not in stored:
            report.problem(where, f"the checkpoint it announces (size {size}) is no longer stored in the vault "
                           "(the checkpoints row was deleted or replaced)")
    # FORMAT.md: a checkpoints row and its checkpoint_made event are written together: same tree size,
    # created_at = the event's time, and the row's signed root = details.root.
    announced = {(e["details"].get("tree_size"), e["time"]) for e in events if e["action"] == "checkpoint_made"}
    for cid, size, _text, created_at in rows:
        # its event would lie past the log's end: the removal is reported by the consistency check
        if (size, created_at) not in announced and isinstance(size, int) and size < len(leaves):
            report.problem(f"stored checkpoint {cid}", f"no checkpoint_made event announces it (size {size}, "
                           f"made {created_at}): it was added or edited outside the application")


def check_event_times(events: list[dict[str, Any]], report: Report) -> list[str]:
    """FORMAT.md: times never go backwards and never precede vault_created; a violation is a warning (times
    are claims of the recording laptop's clock), named by seq and action.  Returns the warned locations."""
    warned: list[str] = []
    if not events or events[0]["action"] != "vault_created":
        return warned
    created, previous = events[0]["time"], events[0]
    for event in events[1:]:
        if event["time"] < created or event["time"] < previous["time"]:
            what = "the vault's creation" if event["time"] < created else f"event seq {previous['seq']}"
            report.note(f"WARNING event seq {event['seq']} ({event['action']}) is dated {event['time']}, "
                        f"earlier than {what}")
            warned.append(f"event {event['seq']}")
        previous = event
    return warned


# ---------------------------------------------------------------------------------------------
# Record replay (FORMAT.md "Custody events" > Record events, and the end of "Vault file" > Verification)
# ---------------------------------------------------------------------------------------------

# record type -> (table, protected columns in its record_digest)
RECORD_TABLES = {
    "case": ("cases", ("title", "description")),
    "person": ("persons", ("name", "aliases", "pseudonym")),
    "consent": ("consents", ("taken_by", "reason")),
    "item": ("items", ("title", "description", "captured_at", "place", "source", "tags", "original_name",
                       "metadata")),
    "note": ("notes", ("item_id", "text", "author")),
}
# columns replayed from what the events carry in clear
REPLAYED_COLUMNS = {
    "person": ("role", "protected"),
    "consent": ("person_id", "scopes", "date", "withdrawn_at", "record_item_id"),
    "item": ("case_id", "kind", "mime", "derived_from", "derivation"),
}
SEGMENT_COLUMNS = ("idx", "start", "end", "speaker", "language", "text")
LOG_LOCATIONS = ("event seq", "stored checkpoint", "given checkpoint")
RECORD_ACTIONS = {"case_added", "case_changed", "person_added", "person_changed", "consent_added",
                  "consent_withdrawn", "item_ingested", "item_changed", "item_linked", "note_added",
                  "transcript_set"}


def record_digest(key: bytes, record: str, record_id: int, columns: dict[str, Any]) -> str:
    """hex(HMAC-SHA256(record key, RFC8785({"record", "id", protected columns as stored})))."""
    import hmac

    return hmac.new(key, canonical({"record": record, "id": record_id, **columns}), hashlib.sha256).hexdigest()


class BadRecordEvent(ValueError):
    """A record event whose details cannot be replayed."""


def _id(details: dict[str, Any], name: str, *, nullable: bool = False) -> Any:
    value = details.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRecordEvent(f"details.{name} is missing or not an id")
    return value


def _digest_of(details: dict[str, Any]) -> str | None:
    value = details.get("record_digest")
    if value is None:
        return None
    if not isinstance(value, str) or not HEX64.fullmatch(value):
        raise BadRecordEvent("details.record_digest is not 64 lowercase hex digits")
    return value


@dataclass
class Replayed:
    """The record tables as the custody log says they should be."""

    created: dict[tuple[str, int], int] = field(default_factory=dict)  # (record, id) -> seq of the creating event
    digests: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)  # latest (seq, digest)
    persons: dict[int, dict[str, Any]] = field(default_factory=dict)  # role, protected
    consents: dict[int, dict[str, Any]] = field(default_factory=dict)  # person_id, scopes, date, withdrawn_at, ...
    items: dict[int, dict[str, Any]] = field(default_factory=dict)  # case_id, kind, mime, derived_from, derivation
    links: dict[tuple[int, int], int] = field(default_factory=dict)  # (item, person) -> seq
    uses_digests: bool = False

    def touch(self, record: str, record_id: int, seq: int, digest: str | None, *, creates: bool) -> None:
        if creates:
            self.created.setdefault((record, record_id), seq)
        self.digests[(record, record_id)] = (seq, digest)
        self.uses_digests |= digest is not None


def replay_record_events(events: list[dict[str, Any]], report: Report) -> Replayed:
    state = Replayed()
    for event in events:
        action, details, seq = event["action"], event["details"], event["seq"]
        if action not in RECORD_ACTIONS:
            continue
        try:
            _replay_one(state, action, details, event["item_id"], seq)
        except BadRecordEvent as exc:
            report.problem(f"event seq {seq}", f"{action} cannot be replayed: {exc}")
    return state


def _replay_one(state: Replayed, action: str, details: dict[str, Any], item_id: int | None, seq: int) -> None:
    if action in ("case_added", "case_changed"):
        state.touch("case", _id(details, "case_id"), seq, _digest_of(details), creates=action == "case_added")
    elif action in ("person_added", "person_changed"):
        person_id = _id(details, "person_id")
        person = state.persons.setdefault(person_id, {})
        for name in ("role", "protected"):
            if name in details:  # person_added always; person_changed only when changed
                person[name] = details[name]
        person["seq"] = seq
        state.touch("person", person_id, seq, _digest_of(details), creates=action == "person_added")
    elif action == "consent_added":
        consent_id = _id(details, "consent_id")
        scopes = details.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise BadRecordEvent("details.scopes is not an array of strings")
        state.consents[consent_id] = {
            "person_id": _id(details, "person_id"), "scopes": sorted(scopes), "date": details.get("date"),
            "withdrawn_at": None, "record_item_id": _id(details, "record_item_id", nullable=True), "seq": seq}
        state.touch("consent", consent_id, seq, _digest_of(details), creates=True)
    elif action == "consent_withdrawn":
        person_id, date = _id(details, "person_id"), details.get("date")
        ids, digests = details.get("consent_ids"), details.get("record_digests")
        if not isinstance(ids, list) or not isinstance(digests, dict):
            raise BadRecordEvent("details.consent_ids / record_digests missing")
        for consent_id in ids:
            if not isinstance(consent_id, int) or isinstance(consent_id, bool):
                raise BadRecordEvent("details.consent_ids holds a non-id")
            # An id not created before is a refusal (the person had no consent still in force): a new record
            # with scopes [], date = withdrawn_at = details.date and no record item.
            consent = state.consents.setdefault(consent_id, {
                "person_id": person_id, "scopes": [], "date": date, "record_item_id": None})
            consent["withdrawn_at"], consent["seq"] = date, seq
            digest = _digest_of({"record_digest": digests.get(str(consent_id))})
            state.touch("consent", consent_id, seq, digest, creates=True)
    elif action == "item_ingested":
        item = state.items[_id({"item_id": item_id}, "item_id")] = {
            "case_id": _id(details, "case_id", nullable=True), "kind": details.get("kind"),
            "mime": details.get("mime"), "derived_from": _id(details, "derived_from", nullable=True), "seq": seq}
        if "derivation" in details:  # compared only when the ingest event has one (FORMAT.md)
            item["derivation"] = details["derivation"]
        state.touch("item", item_id, seq, _digest_of(details), creates=True)
    elif action == "item_changed":
        item = state.items.setdefault(_id({"item_id": item_id}, "item_id"), {})
        for name in ("case_id", "kind"):
            if name in details:  # present only when changed
                item[name] = details[name]
        item["seq"] = seq
        state.touch("item", item_id, seq, _digest_of(details), creates=False)
    elif action == "item_linked":
        state.links.setdefault((_id({"item_id": item_id}, "item_id"), _id(details, "person_id")), seq)
    elif action == "note_added":
        state.touch("note", _id(details, "note_id"), seq, _digest_of(details), creates=True)
    elif action == "transcript_set":
        state.touch("transcript", _id({"item_id": item_id}, "item_id"), seq, _digest_of(details), creates=True)


def _stored_json(text: Any) -> Any:
    if text is None:
        return None
    return json.loads(as_bytes(text).decode("utf-8"))


def check_records(conn: Any, events: list[dict[str, Any]], report: Report) -> None:
    """Replay the record events and compare with the tables: consent, protection, links, item provenance
    columns, and every record's latest record_digest against the digest of its current row."""
    state = replay_record_events(events, report)
    row = conn.execute("SELECT private_key FROM keys WHERE name = 'record'").fetchone()
    key = as_bytes(row[0]) if row is not None and row[0] is not None else None
    if state.uses_digests and (key is None or len(key) != 32):
        report.problem("keys", "the 32-byte record key (keys row 'record') is missing or damaged: "
                       "no record_digest can be checked")
        key = None
    before = len(report.problems)
    present: dict[str, set[int]] = {}
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for record, (table, columns) in RECORD_TABLES.items():
        names = [*columns, *REPLAYED_COLUMNS.get(record, ())]
        cursor = conn.execute(f"SELECT id, {', '.join(names)} FROM {table} ORDER BY id")  # noqa: S608 (constants)
        rows[record] = {r[0]: dict(zip(names, r[1:], strict=True)) for r in cursor}
        present[record] = set(rows[record])
    segments: dict[int, list[dict[str, Any]]] = {}
    for values in conn.execute('SELECT item_id, idx, start, "end", speaker, language, text '
                               "FROM transcript_segments ORDER BY item_id, idx"):  # "end" is an SQL keyword
        segments.setdefault(values[0], []).append(dict(zip(SEGMENT_COLUMNS, values[1:], strict=True)))
    links = {(a, b) for a, b in conn.execute("SELECT item_id, person_id FROM item_persons")}
    noun = {"case": "Case", "person": "Person", "consent": "Consent record", "note": "Note"}
    creating = {"case": "case_added", "person": "person_added", "consent": "consent_added or consent_withdrawn",
                "note": "note_added"}

    for record in ("case", "person", "consent", "item", "note"):
        if record != "item":  # an item without its ingest event, or gone, is reported by check_items
            for record_id in sorted(present[record] - {i for r, i in state.created if r == record}):
                report.problem(f"{record} {record_id}", f"{noun[record]} {record_id} has no {creating[record]} "
                               "event in the custody log: it was added outside the application")
            for (kind, record_id), seq in sorted(state.created.items()):
                if kind == record and record_id not in present[record]:
                    report.problem(f"{record} {record_id}", f"{noun[record]} {record_id} was recorded (event seq "
                                   f"{seq}) but is no longer in the vault: it was deleted")
        for record_id, values in rows[record].items():
            where = f"{record} {record_id}"
            if record == "person":
                _compare(report, where, state.persons.get(record_id), values, REPLAYED_COLUMNS["person"])
            elif record == "consent":
                _compare(report, where, state.consents.get(record_id), values, REPLAYED_COLUMNS["consent"])
            elif record == "item":
                _compare(report, where, state.items.get(record_id), values, REPLAYED_COLUMNS["item"])
            columns = {c: values[c] for c in RECORD_TABLES[record][1]}
            _check_digest(report, where, key, state, record, record_id, columns)
    items = present["item"]
    for item_id in sorted(set(segments) - {i for r, i in state.created if r == "transcript"}):
        report.problem(f"transcript {item_id}", f"the transcript of item {item_id} has no transcript_set event: "
                       "it was added outside the application")
    for (record, item_id) in sorted(state.created):
        if record == "transcript" and item_id in items:
            _check_digest(report, f"transcript {item_id}", key, state, "transcript", item_id,
                          {"segments": segments.get(item_id, [])})
    for (item_id, person_id), seq in sorted(state.links.items()):
        if (item_id, person_id) not in links and item_id in items:
            report.problem(f"item {item_id}", f"the link between item {item_id} and person {person_id} (event seq "
                           f"{seq}) was removed outside the application")
    for item_id, person_id in sorted(links - set(state.links)):
        report.problem(f"item {item_id}", f"item {item_id} is linked to person {person_id} without an item_linked "
                       "event: the link was added outside the application")
    if len(report.problems) == before:
        counts = ", ".join(f"{len(present[r])} {RECORD_TABLES[r][0]}" for r in RECORD_TABLES)
        transcripts = sum(1 for r, i in state.created if r == "transcript" and i in items)
        report.ok(f"record replay: {counts}, {transcripts} transcripts and {len(links)} links agree with the "
                  "custody log and their record digests")


def _differences(expected: dict[str, Any], values: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """'name is X, the log says Y' for every replayed column whose stored value differs."""
    found = []
    for name in names:
        if name not in expected:
            continue
        stored, wanted = values[name], expected[name]
        try:
            if name == "derivation":  # stored JSON text; NULL is what the app stores for an empty {}
                stored = _stored_json(stored)
                stored, wanted = ({} if stored is None else stored), ({} if wanted is None else wanted)
            elif name == "scopes":
                stored = _stored_json(stored)
                if not isinstance(stored, list) or not all(isinstance(s, str) for s in stored):
                    raise ValueError("not an array of strings")
                stored = sorted(stored)
        except (ValueError, UnicodeDecodeError) as exc:
            found.append(f"{name} cannot be read ({exc})")
            continue
        if name == "protected":
            same = stored in (0, 1) and bool(stored) == wanted
        else:
            same = stored == wanted and type(stored) is not bool
        if not same:
            found.append(f"{name} is {stored!r}, the log says {wanted!r}")
    return found


def _compare(report: Report, where: str, expected: dict[str, Any] | None, values: dict[str, Any],
             names: tuple[str, ...]) -> None:
    """One problem per record for all its columns that the events carry in clear (as the app does)."""
    if expected is None:
        return  # no creating event: reported by the caller (or by check_items for items)
    found = _differences(expected, values, names)
    if found:
        report.problem(where, "; ".join(found) + f" (custody log up to event seq {expected['seq']}): changed "
                       "outside the application")


def _check_digest(report: Report, where: str, key: bytes | None, state: Replayed, record: str, record_id: int,
                  columns: dict[str, Any]) -> None:
    latest = state.digests.get((record, record_id))
    if latest is None or key is None:
        return
    seq, expected = latest
    if expected is None:
        report.note(f"{where}: its latest record event (seq {seq}) carries no record_digest (not checked)")
        return
    try:
        actual = record_digest(key, record, record_id, columns)
    except ValueError as exc:
        report.problem(where, f"a protected column holds a value that cannot be stored by the app ({exc})")
        return
    if actual != expected:
        report.problem(where, f"its protected columns ({', '.join(columns)}) no longer match the record_digest "
                       f"of event seq {seq}: changed outside the application")



def locked_copy(vault: Path, folder: Path) -> Path:
    """Copy the vault (and a hot rollback journal) so that opening it cannot write to the original."""
    lock_path = vault.with_name(vault.name + ".lock")
    with contextlib.ExitStack() as stack:
        if lock_path.exists():
            handle = stack.enter_context(open(lock_path, "rb"))
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise CannotRun("the vault is in use by Evidence Vault: close it and try again") from exc
        copy = folder / vault.name
        shutil.copyfile(vault, copy)
        journal = vault.with_name(vault.name + "-journal")
        if journal.exists() and journal.stat().st_size:
            shutil.copyfile(journal, folder / journal.name)
        return copy


def verify_vault(vault: Path, candidates: list[VaultKey], external: Path | None, copy: bool,
                 expect_key_id: str | None = None) -> int:
    import sqlcipher3

    report = Report()
    with tempfile.TemporaryDirectory(prefix="ev-verify-") as tmp:
        path = locked_copy(vault, Path(tmp)) if copy else vault
        conn, used = open_vault(path, candidates)
        try:
            fmt = conn.execute("SELECT value FROM settings WHERE key = 'format'").fetchone()
            if fmt is None or fmt[0] != "evidence-vault":
                raise CannotRun("this SQLCipher file is not an Evidence Vault (settings.format is missing)")
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            if version != 1:
                report.note(f"schema version {version}; this verifier was written for version 1")
            how = f"kdf_iter {used.kdf_iter}" if used.kdf_iter is not None else "raw key"
            report.ok(f"opened with {used.label} and the documented SQLCipher settings ({how}), schema {version}")
            check_file_integrity(conn, report)
            blobs, damaged = check_blobs(conn, report)
            events, leaves = check_events(conn, report)
            check_items(conn, events, blobs, damaged, report)
            raw_pub = check_keys(conn, events, report)
            check_event_times(events, report)
            if expect_key_id is not None and raw_pub is not None and key_id(raw_pub) != expect_key_id.lower():
                report.problem("keys", f"the vault's signing key is {key_id(raw_pub)}, not the expected "
                               f"{expect_key_id.lower()} (the key was replaced, or this is another vault)")
            report.ok(f"Merkle root of {len(leaves)} events: {mth(leaves).hex()}")
            if raw_pub is not None:
                rows = conn.execute("SELECT id, tree_size, text, created_at FROM checkpoints ORDER BY id").fetchall()
                for cid, size, text, _created in rows:
                    check_checkpoint(as_bytes(text).decode("utf-8", "replace"), f"stored checkpoint {cid}",
                                     raw_pub, leaves, report, tolerant=False, column_size=size)
                check_checkpoint_events(events, leaves, rows, report)
                if external is not None:
                    try:
                        text = external.read_bytes().decode("utf-8")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise CannotRun(f"cannot read the checkpoint file {external}: {exc}") from exc
                    check_checkpoint(text, f"given checkpoint {external.name}", raw_pub, leaves, report,
                                     tolerant=True)
            if any(p.startswith(LOG_LOCATIONS) for p in report.problems):
                report.note("record replay skipped: the custody log itself is not intact")
            else:
                check_records(conn, events, report)
        except sqlcipher3.DatabaseError as exc:  # a damaged page met while reading: the file was altered
            report.problem("vault file", f"cannot be read past a damaged page ({exc})")
        finally:
            conn.close()
    return report.print(f"Evidence Vault {vault} (independent verifier, written from docs/FORMAT.md)")


# ---------------------------------------------------------------------------------------------
# Bundles
# ---------------------------------------------------------------------------------------------

MANIFEST, SIGNATURE = "manifest.json", "manifest.json.sig"
READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)
FIXED_ROLES = {
    "custody/events.jsonl": "custody-events", "custody/proofs.json": "custody-proofs",
    "custody/checkpoint.txt": "checkpoint", "custody/consistency.json": "custody-consistency",
    "keys/vault-ed25519.pem": "public-key", "keys/vault-seal-cert.pem": "seal-certificate",
    "VERIFY.txt": "instructions", "SHA256SUMS": "checksums",
}
FREE_ROLES = {"dossier", "exhibit", "transcript", "attachment"}
OPTIONAL_FILES: set[str] = set()  # every file of the table is required (FORMAT.md "Layout")
DOSSIER_MANIFEST = "dossier-manifest.json"
MANIFEST_KEYS = {"audience", "checkpoint", "created_at", "events", "files", "format", "format_version", "level",
                 "vault_key_id"}
FILE_KEYS = {"path", "sha256", "size", "role", "item_id"}
PARSED_LIMITS = {MANIFEST: 64 << 20, "custody/events.jsonl": 256 << 20, "custody/proofs.json": 256 << 20,
                 "custody/checkpoint.txt": 64 << 10, "custody/consistency.json": 64 << 20,
                 "keys/vault-ed25519.pem": 64 << 10,
                 "keys/vault-seal-cert.pem": 1 << 20, "SHA256SUMS": 64 << 20, SIGNATURE: 64,
                 DOSSIER_MANIFEST: 64 << 20}
DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8"
    if not name or name.startswith("/") or "\\" in name or ":" in name:
        return "absolute path or forbidden character"
    if unicodedata.normalize("NFC", name) != name:
        return "name is not in Unicode NFC"
    parts = name.split("/")
    if len(parts) > 16 or len(name.encode()) > 1024:
        return "name too long or too deep"
    for part in parts:
        if part in ("", ".", "..") or len(part.encode()) > 255 or part[-1] in ". ":
            return "empty, '.', '..', too long or ending in a dot or space"
        if any(unicodedata.category(c) == "Cc" or c in BIDI for c in part):
            return "control or bidi-control character"
        if part.split(".")[0].upper() in DEVICE_NAMES:
            return "Windows device name"
    return None


class Unreadable(Exception):
    """The bundle cannot be read at all (not a ZIP, damaged or hostile structure): it is not intact."""


def zip_entry_count(path: Path) -> int:
    """Entry count from the raw end-of-central-directory record (ZIP64 if present), before any parsing."""
    import struct

    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise Unreadable("it is not a ZIP file (no end-of-central-directory record)")
        disk, cd_disk, _, total = struct.unpack("<HHHH", tail[at + 4:at + 12])
        if disk or cd_disk:
            raise Unreadable("it is a split (multi-part) archive")
        if tail[at + 20:at + 22] != b"\0\0" or at + 22 != len(tail):
            raise Unreadable("there is data after the end of the archive (or an archive comment)")
        if total == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
            offset, = struct.unpack("<Q", tail[at - 12:at - 4])
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] != b"PK\x06\x06":
                raise Unreadable("its ZIP64 end record is damaged")
            total, = struct.unpack("<Q", record[32:40])
        return total


class BundleSource:
    """Read-only view of a ZIP or folder bundle: name -> size, and bounded reads."""

    def __init__(self, path: Path, report: Report) -> None:
        self.path, self.report = path, report
        self.sizes: dict[str, int] = {}
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir() and not path.is_symlink():
            self._scan_folder()
        elif path.is_file():
            if zip_entry_count(path) > 20_000:
                raise Unreadable("it has more than 20,000 entries")
            try:
                self.zip = zipfile.ZipFile(path)  # closed in close()
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise Unreadable(f"it is not a readable ZIP file ({exc})") from exc
            self._check_layout()
            self._scan_zip()
        else:
            raise CannotRun(f"{path} is not a bundle folder or ZIP file")
        folded: dict[str, str] = {}
        for name in list(self.sizes):
            key = unicodedata.normalize("NFKC", name).casefold()
            if key in folded:
                report.problem(name, f"clashes with {folded[key]} (same name after case folding)")
                del self.sizes[name]
            folded[key] = name
        folders = {"/".join(n.split("/")[:i]) for n in self.sizes for i in range(1, n.count("/") + 1)}
        for name in folders & set(self.sizes):
            report.problem(name, "a file has the same name as a folder")

    def _check_layout(self) -> None:
        """No data before the archive, local headers agreeing with the central directory, no overlaps."""
        assert self.zip is not None
        infos = sorted(self.zip.infolist(), key=lambda i: i.header_offset)
        end_of_data = 0
        with open(self.path, "rb") as handle:
            for info in infos:
                if info.header_offset != end_of_data:
                    raise Unreadable(f"{info.filename!r} does not start where the previous entry ends "
                                     "(data before the archive, or overlapping entries)")
                handle.seek(info.header_offset)
                local = handle.read(30)
                if len(local) < 30 or local[:4] != b"PK\x03\x04":
                    raise Unreadable(f"the local header of {info.filename!r} is missing")
                flags = int.from_bytes(local[6:8], "little")
                name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
                raw_name = handle.read(name_len)
                central = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
                if raw_name != central or (flags & 0x801) != (info.flag_bits & 0x801):
                    raise Unreadable(f"local and central entries of {info.filename!r} disagree")
                end_of_data = info.header_offset + 30 + name_len + extra_len + info.compress_size
                if flags & 0x08:  # a data descriptor may follow the data
                    handle.seek(end_of_data)
                    descriptor = handle.read(24)
                    skip = 4 if descriptor[:4] == b"PK\x07\x08" else 0
                    end_of_data += skip + (20 if info.file_size > 0xFFFFFFFF else 12)
        if end_of_data > self.zip.start_dir:
            raise Unreadable("entry data overlaps the central directory")

    def _scan_zip(self) -> None:
        assert self.zip is not None
        infos = self.zip.infolist()
        for info in infos:
            name = info.filename
            if name.endswith("/"):
                if info.file_size:
                    self.report.problem(name, "directory entry with content")
                continue
            problem = name_problem(name)
            mode = info.external_attr >> 16
            if problem is None and name in self.sizes:
                problem = "the name appears twice in the ZIP"
            if problem is None and mode and not stat.S_ISREG(mode):
                problem = "not a regular file (symlink or special file)"
            if problem is None and info.flag_bits & 0x1:
                problem = "encrypted entry"
            if problem is None and info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                problem = "unsupported compression"
            if problem is None and info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                problem = "stored with two different sizes"
            if problem is None and info.file_size >= 1 << 20 and info.file_size > 200 * max(info.compress_size, 1):
                problem = "compression ratio above 200:1"
            if problem:
                self.report.problem(name, problem + " (not read)")
                self.sizes.pop(name, None)
            else:
                self.sizes[name] = info.file_size

    def _scan_folder(self) -> None:
        for root, dirs, files in os.walk(self.path, followlinks=False):
            for entry in list(dirs) + files:
                full = Path(root, entry)
                name = full.relative_to(self.path).as_posix()
                st = full.lstat()
                if stat.S_ISDIR(st.st_mode):
                    continue
                problem = name_problem(name)
                if problem is None and not stat.S_ISREG(st.st_mode):
                    problem = "not a regular file (symlink, device, pipe or socket)"
                if problem:
                    self.report.problem(name, problem + " (not read)")
                else:
                    self.sizes[name] = st.st_size
            dirs[:] = [d for d in dirs if not Path(root, d).is_symlink()]

    def chunks(self, name: str, limit: int) -> Any:
        """Yield the member's bytes, never more than ``limit``; raise ValueError if it is longer."""
        if self.zip is not None:
            handle: Any = self.zip.open(name)
        else:
            fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW)
            handle = os.fdopen(fd, "rb")
        with handle:
            left = limit
            while True:
                block = handle.read(min(1 << 20, left + 1))
                if not block:
                    return
                if len(block) > left:
                    raise ValueError("longer than declared")
                left -= len(block)
                yield block

    def read(self, name: str, limit: int) -> bytes:
        if self.sizes.get(name, limit + 1) > limit:
            raise ValueError(f"missing or larger than {limit:,} bytes")
        return b"".join(self.chunks(name, limit))

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def check_manifest_schema(manifest: Any, report: Report) -> list[dict[str, Any]]:
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_KEYS:
        report.problem(MANIFEST, "does not have exactly the documented fields")
        return []
    if manifest["format"] != "evidence-vault-bundle" or manifest["format_version"] != 1 \
            or isinstance(manifest["format_version"], bool):
        report.problem(MANIFEST, "not an evidence-vault-bundle of format_version 1")
    if not isinstance(manifest["created_at"], str) or not EVENT_TIME.fullmatch(manifest["created_at"]):
        report.problem(MANIFEST, "created_at is not UTC with microseconds and Z")
    if not isinstance(manifest["vault_key_id"], str) or not re.fullmatch(r"[0-9a-f]{16}", manifest["vault_key_id"]):
        report.problem(MANIFEST, "vault_key_id is not 16 lowercase hex digits")
    if not all(isinstance(manifest[k], str) for k in ("audience", "level", "checkpoint")):
        report.problem(MANIFEST, "audience, level and checkpoint must be strings")
    if not isinstance(manifest["events"], int) or isinstance(manifest["events"], bool) or manifest["events"] < 0:
        report.problem(MANIFEST, "events must be an integer >= 0")
    files = manifest["files"] if isinstance(manifest["files"], list) else []
    good, seen = [], set()
    for entry in files:
        if not isinstance(entry, dict) or set(entry) != FILE_KEYS:
            report.problem(MANIFEST, f"file entry {entry!r:.80} does not have exactly path/sha256/size/role/item_id")
            continue
        path, role, item = entry["path"], entry["role"], entry["item_id"]
        bad = (not isinstance(path, str) or name_problem(path) or path in seen or path in (MANIFEST, SIGNATURE)
               or not isinstance(entry["sha256"], str) or not HEX64.fullmatch(entry["sha256"])
               or not isinstance(entry["size"], int) or isinstance(entry["size"], bool) or entry["size"] < 0
               or not (item is None or (isinstance(item, int) and not isinstance(item, bool) and item >= 0)))
        if bad:
            report.problem(MANIFEST, f"invalid or repeated file entry for {path!r:.200}")
            continue
        if FIXED_ROLES.get(path, role) != role or (role in FIXED_ROLES.values() and FIXED_ROLES.get(path) != role) \
                or (role not in FREE_ROLES and path not in FIXED_ROLES):
            report.problem(path, f"listed with role {role!r}, which does not fit its path")
        if role in FREE_ROLES and path.split("/")[0] in ("custody", "keys"):
            report.problem(path, "reserved folder used for an evidence file")
        seen.add(path)
        good.append(entry)
    for path, role in FIXED_ROLES.items():
        if path not in seen and path not in OPTIONAL_FILES:
            report.problem(MANIFEST, f"{path} ({role}) is not listed")
    if sum(1 for e in good if e["role"] == "dossier") != 1:
        report.problem(MANIFEST, "expected exactly one file with role dossier")
    return good


def verify_bundle(path: Path, expect_key_id: str | None, earlier: Path | None = None) -> int:
    report = Report()
    if not path.exists():
        raise CannotRun(f"{path} does not exist")
    try:
        source = BundleSource(path, report)
    except Unreadable as exc:
        report.problem(path.name, f"this bundle cannot be read at all: {exc}")
    except OSError as exc:
        raise CannotRun(f"cannot read {path}: {exc}") from exc
    else:
        try:
            _verify_bundle(source, report, expect_key_id, earlier)
        finally:
            source.close()
    return report.print(f"Evidence Vault bundle {path} (independent verifier, written from docs/FORMAT.md)")


def _verify_bundle(src: BundleSource, report: Report, expect_key_id: str | None,
                   earlier: Path | None = None) -> None:
    from cryptography import x509

    try:
        manifest_bytes = src.read(MANIFEST, PARSED_LIMITS[MANIFEST])
        manifest = parse_canonical(manifest_bytes)
    except READ_ERRORS as exc:
        report.problem(MANIFEST, f"cannot be used: {exc}")
        return
    files = check_manifest_schema(manifest, report)
    digests: dict[str, str] = {}
    for entry in files:  # step 4: every listed file, bounded by its declared size
        name = entry["path"]
        if name not in src.sizes:
            report.problem(name, "listed in the manifest but missing")
            continue
        if src.sizes[name] != entry["size"]:
            report.problem(name, f"size {src.sizes[name]} differs from the manifest's {entry['size']} (not read)")
            continue
        digest = hashlib.sha256()
        try:
            for block in src.chunks(name, entry["size"]):
                digest.update(block)
        except READ_ERRORS as exc:
            report.problem(name, f"cannot be read ({exc})")
            continue
        digests[name] = digest.hexdigest()
        if digests[name] != entry["sha256"]:
            report.problem(name, "SHA-256 does not match the manifest (the file was changed)")
    for name in src.sizes:
        if name not in digests and name not in (MANIFEST, SIGNATURE) and name not in {e["path"] for e in files}:
            report.problem(name, "present but not listed in the manifest")
    report.ok(f"{len(digests)} files hashed against manifest.json")
    intact = {e["path"] for e in files if digests.get(e["path"]) == e["sha256"]}

    def load(name: str) -> bytes | None:
        if name not in intact:
            return None
        try:
            return src.read(name, PARSED_LIMITS[name])
        except READ_ERRORS as exc:
            report.problem(name, f"cannot be read ({exc})")
            return None

    raw_pub = None
    try:
        pem = load("keys/vault-ed25519.pem")
        raw_pub = raw_public_key(pem) if pem is not None else None
    except ValueError as exc:
        report.problem("keys/vault-ed25519.pem", f"not an Ed25519 public key ({exc})")
    if raw_pub is not None:
        kid = key_id(raw_pub)
        if isinstance(manifest, dict) and manifest.get("vault_key_id") != kid:
            report.problem(MANIFEST, f"vault_key_id differs from the included key's id {kid}")
        if expect_key_id and expect_key_id.lower() != kid:
            report.problem("keys/vault-ed25519.pem", f"key id {kid} is not the expected {expect_key_id}")
        try:
            sig = src.read(SIGNATURE, 64) if SIGNATURE in src.sizes else b""
        except READ_ERRORS:
            sig = b""
        if len(sig) != 64 or not ed25519_ok(raw_pub, sig, manifest_bytes):
            report.problem(SIGNATURE, "missing or not a valid Ed25519 signature of manifest.json by the included key")
        else:
            report.ok(f"manifest.json signed by key {kid}"
                      + (" (the expected key)" if expect_key_id else " (NOT confirmed: give --expect-key-id)"))
    sums = load("SHA256SUMS")
    if sums is not None:
        expected = "".join(f"{e['sha256']}  {e['path']}\n" for e in files if e["path"] != "SHA256SUMS").encode()
        if sums != expected:
            report.problem("SHA256SUMS", "does not agree line for line with the manifest")
    cp = None
    cp_bytes = load("custody/checkpoint.txt")
    if cp_bytes is not None:
        try:
            cp_text = cp_bytes.decode("utf-8")
            if isinstance(manifest, dict) and manifest.get("checkpoint") != cp_text:
                report.problem("custody/checkpoint.txt", "differs from the manifest's copy")
            cp = parse_checkpoint(cp_text, tolerant=False)
        except (UnicodeDecodeError, ValueError) as exc:
            report.problem("custody/checkpoint.txt", f"not a valid checkpoint: {exc}")
        if cp is not None and raw_pub is not None:
            problem = checkpoint_signature_problem(cp, raw_pub)
            if problem:
                report.problem("custody/checkpoint.txt", problem)
                cp = None
            else:
                report.ok(f"checkpoint signed: {cp.size} events, root {cp.root.hex()}, time {cp.time}Z")
    events = _bundle_events(load("custody/events.jsonl"), manifest, raw_pub, report)
    _bundle_proofs(load("custody/proofs.json"), events, cp, report)
    proven = _bundle_consistency(load("custody/consistency.json"), cp, raw_pub, earlier, report)
    if cp is not None and raw_pub is not None:
        _bundle_export(files, events, cp, raw_pub, proven, manifest, load, report)
    for entry in files:
        if entry["item_id"] is not None and not any(
                e["action"] == "item_ingested" and e["item_id"] == entry["item_id"]
                and e["item_sha256"] == entry["sha256"] for _, e in events):
            report.problem(entry["path"], f"no included item_ingested event of item {entry['item_id']} with "
                           "this SHA-256")
    cert = load("keys/vault-seal-cert.pem")
    if cert is not None:
        try:
            x509.load_pem_x509_certificate(cert)
        except ValueError as exc:
            report.problem("keys/vault-seal-cert.pem", f"not an X.509 certificate ({exc})")


def _bundle_consistency(data: bytes | None, cp: Checkpoint | None, raw_pub: bytes | None, earlier: Path | None,
                        report: Report) -> dict[tuple[int, bytes], bool]:
    """custody/consistency.json: each proof leads from a signed earlier checkpoint to the bundle's; with
    --checkpoint, the bundle's log must extend the checkpoint given (FORMAT.md, "Bundles").  Returns the
    (size, root) of the earlier checkpoints whose proof verified."""
    where = "custody/consistency.json"
    proven: dict[tuple[int, bytes], bool] = {}
    if data is None or cp is None or raw_pub is None:
        if earlier is not None:
            report.problem("--checkpoint", "cannot be compared: the bundle's checkpoint or proofs are unusable")
        return proven
    try:
        doc = parse_canonical(data)
        assert doc["format"] == "evidence-vault-consistency-proofs" and doc["tree_size"] == cp.size
        assert doc["root"] == cp.root.hex()
        for entry in doc["proofs"]:
            old = parse_checkpoint(entry["checkpoint"], tolerant=False)
            proof = [bytes.fromhex(h) for h in entry["consistency_proof"]]
            if checkpoint_signature_problem(old, raw_pub) or (entry["tree_size"], entry["root"]) != (
                    old.size, old.root.hex()) or not verify_consistency(old.size, cp.size, old.root, cp.root, proof):
                report.problem(where, f"the proof from {old.size} events does not verify")
            else:
                proven[(old.size, old.root)] = True
    except (AssertionError, KeyError, TypeError, *READ_ERRORS) as exc:
        report.problem(where, f"not a valid consistency-proof file ({exc})")
        return {}
    report.ok(f"{len(proven)} consistency proofs from earlier checkpoints verified")
    if earlier is None:
        return proven
    try:
        old = parse_checkpoint(earlier.read_text(encoding="utf-8"), tolerant=True)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CannotRun(f"cannot use the checkpoint {earlier}: {exc}") from exc
    if checkpoint_signature_problem(old, raw_pub):
        report.problem("--checkpoint", "not signed by the bundle's key (another vault, or the bundle was re-signed)")
    elif old.size > cp.size and cp.time > old.time:
        report.problem("--checkpoint", f"covers {old.size} events, the bundle only {cp.size} although its "
                       "checkpoint was signed later: events were removed")
    elif old.size > cp.size:
        report.not_compared.append(f"--checkpoint: covers {old.size} events, more than the bundle's older log of "
                                   f"{cp.size}; only a proof from the vault can show that it extends the bundle's")
    elif not (old.size == cp.size and old.root == cp.root) and (old.size, old.root) not in proven:
        report.problem("--checkpoint", f"the bundle's log is not an extension of the checkpoint of {old.size} "
                       "events: the history was rewritten")
    else:
        report.ok(f"the bundle's log of {cp.size} events extends the given checkpoint of {old.size} events")
    return proven


def _bundle_export(files: list[dict[str, Any]], events: list[tuple[bytes, dict[str, Any]]], cp: Checkpoint,
                   raw_pub: bytes, proven: dict[tuple[int, bytes], bool], manifest: Any, load: Any,
                   report: Report) -> None:
    """FORMAT.md "What the exported event binds" and steps 13-16: the last event is the export itself,
    shown whole, and the bundle holds exactly the files and events it records."""
    where = "custody/events.jsonl"
    found_before = len(report.problems)
    last = events[-1][1] if events else {}
    if last.get("action") != "exported" or last.get("seq") != cp.size - 1 or "withheld" in last:
        report.problem(where, f"the last event is not this bundle's own exported event (seq {cp.size - 1}, shown "
                       "whole): the files made at export and the events included are not bound to the log")
        return
    d = last["details"]
    try:
        made = {path: sha for path, sha in d["bundle_files"]}
        assert len(made) == len(d["bundle_files"]) and all(HEX64.fullmatch(h) for h in made.values())
        items, seqs = list(d["bundle_items"]), list(d["bundle_event_seqs"])
        seal = d["seal"]["certificate_sha256"]
        sums = (d["pdf_sha256"], d["dossier_manifest_sha256"], d["checkpoint_tree_size"], d["checkpoint_root"])
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        report.problem(where, f"the exported event lacks a record FORMAT.md requires ({exc!r})")
        return
    shipped = {e["path"]: e["sha256"] for e in files if e["item_id"] is None and e["path"] not in FIXED_ROLES}
    for path in sorted(shipped.keys() | made.keys()):
        if shipped.get(path) != made.get(path):
            report.problem(path, "not as the exported event records it (added, removed or replaced after export)")
    if sorted(e["item_id"] for e in files if e["item_id"] is not None) != sorted(items):
        report.problem(MANIFEST, "the vault items shipped are not those the exported event records")
    shown = [e["seq"] for _, e in events[:-1]]
    for seq in sorted(set(seqs) ^ set(shown)):
        report.problem(where, f"seq {seq}: {'missing' if seq in seqs else 'not recorded by the exported event'}")
    dossiers = [e for e in files if e["role"] == "dossier"]
    if len(dossiers) != 1 or dossiers[0]["sha256"] != sums[0]:
        report.problem(MANIFEST, "the dossier is not the one whose SHA-256 the exported event records")
    if isinstance(manifest, dict) and (manifest.get("audience"), manifest.get("level")) != (d.get("audience"),
                                                                                           d.get("level")):
        report.problem(MANIFEST, "audience or level differs from the exported event's")
    cert = load("keys/vault-seal-cert.pem")
    if cert is not None:
        body = cert.decode("ascii", "replace").split("-----")
        der = base64.b64decode("".join(body[2].split())) if len(body) > 2 else b""
        if hashlib.sha256(der).hexdigest() != seal:
            report.problem("keys/vault-seal-cert.pem", "fingerprint differs from the one the exported event records")
    if shipped.get(DOSSIER_MANIFEST) != sums[1]:
        report.problem(DOSSIER_MANIFEST, "not the dossier manifest whose SHA-256 the exported event records")
        return
    raw = load(DOSSIER_MANIFEST)
    try:
        dossier = parse_canonical(raw) if raw is not None else None
        assert isinstance(dossier, dict) and dossier["format"] == "evidence-vault-dossier-manifest"
        listed = {seq for x in dossier["exhibits"] for seq in x["custody_event_seqs"]}
        dcp = parse_checkpoint(dossier["checkpoint"], tolerant=False)
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        report.problem(DOSSIER_MANIFEST, f"not a valid dossier manifest ({exc!r})")
        return
    for seq in sorted(listed - set(shown) - set(seqs)):
        report.problem(where, f"seq {seq}: listed in {DOSSIER_MANIFEST} but not included")
    if checkpoint_signature_problem(dcp, raw_pub):
        report.problem(DOSSIER_MANIFEST, "its checkpoint is not signed by the bundle's key")
    elif (dcp.size, dcp.root.hex()) != (sums[2], sums[3]):
        report.problem(DOSSIER_MANIFEST, "its checkpoint is not the one the exported event records")
    elif not (dcp.size == cp.size and dcp.root == cp.root) and (dcp.size, dcp.root) not in proven:
        report.problem(DOSSIER_MANIFEST, "no verified consistency proof leads from its checkpoint to the bundle's")
    if len(report.problems) == found_before:
        report.ok(f"the last event (seq {last['seq']}) is the export itself, covered by the checkpoint; it binds "
                  f"the {len(made)} files made at export, {len(items)} vault items and {len(seqs)} other events, "
                  f"and the bundle's log extends the dossier's checkpoint of {dcp.size} events")


def _bundle_events(data: bytes | None, manifest: Any, raw_pub: bytes | None,
                   report: Report) -> list[tuple[bytes, dict[str, Any]]]:
    where = "custody/events.jsonl"
    if data is None:
        return []
    if data and not data.endswith(b"\n"):
        report.problem(where, "the last line does not end with a newline")
    lines = data.split(b"\n")[:-1] if data else []
    events: list[tuple[bytes, dict[str, Any]]] = []
    level = manifest.get("level") if isinstance(manifest, dict) else None
    withheld_lines = 0
    for number, line in enumerate(lines, 1):
        try:
            event = parse_bundle_line(line)
        except ValueError as exc:
            report.problem(where, f"line {number}: {exc}")
            continue
        if "withheld" in event:
            withheld_lines += 1
            if level != "redacted":
                report.problem(where, f"line {number}: withholds values in a bundle whose level is {level!r}")
        events.append((line, event))
    if withheld_lines:
        report.note(f"{withheld_lines} events show withheld values as keyed commitments (checked against the "
                    "leaf and chain hashes they state; only the vault can open the commitments)")
    if isinstance(manifest, dict) and manifest.get("events") != len(lines):
        report.problem(where, f"{len(lines)} lines, the manifest says {manifest.get('events')}")
    for (prev_line, prev), (_, event) in itertools.pairwise(events):
        if event["seq"] <= prev["seq"]:
            report.problem(where, f"seq {event['seq']} does not increase")
        elif event["seq"] == prev["seq"] + 1 and event["prev_hash"] != line_chain_hash(prev_line, prev):
            report.problem(where, f"seq {event['seq']}: prev_hash is not the chain hash of seq {prev['seq']}")
    for _, event in events:
        if event["seq"] == 0:
            if event["prev_hash"] != GENESIS or event["action"] != "vault_created":
                report.problem(where, "seq 0 is not a vault_created event with the genesis prev_hash")
            pem = event["details"].get("public_key_pem")
            if pem is None:
                report.note("the included vault_created event names no public_key_pem")
                continue
            try:
                if raw_pub is not None and (not isinstance(pem, str) or raw_public_key(pem) != raw_pub):
                    report.problem(where, "the vault_created event names another key than keys/vault-ed25519.pem")
            except ValueError:
                report.problem(where, "the vault_created event's public_key_pem is unreadable")
    if not any(e["seq"] == 0 for _, e in events):
        report.note("event 0 (vault_created) is not included")
    report.ok(f"{len(events)} custody events parsed and chained where consecutive")
    return events


def _bundle_proofs(data: bytes | None, events: list[tuple[bytes, dict[str, Any]]], cp: Checkpoint | None,
                   report: Report) -> None:
    where = "custody/proofs.json"
    if data is None:
        return
    try:
        doc = parse_canonical(data)
    except ValueError as exc:
        report.problem(where, str(exc))
        return
    keys = {"format", "format_version", "hash", "proofs", "root", "tree_size"}
    if not isinstance(doc, dict) or set(doc) != keys or doc["format"] != "evidence-vault-inclusion-proofs" \
            or doc["format_version"] != 1 or doc["hash"] != "sha256" or not isinstance(doc["proofs"], list) \
            or not isinstance(doc["root"], str) or not HEX64.fullmatch(doc["root"]):
        report.problem(where, "does not follow the documented schema")
        return
    if cp is None:
        report.problem(where, "no valid signed checkpoint to check the proofs against")
        return
    if doc["tree_size"] != cp.size or doc["root"] != cp.root.hex():
        report.problem(where, "tree_size/root differ from the signed checkpoint")
        return
    if len(doc["proofs"]) != len(events):
        report.problem(where, f"{len(doc['proofs'])} proofs for {len(events)} events")
    checked = 0
    for proof, (line, event) in zip(doc["proofs"], events, strict=False):
        seq = event["seq"]
        ok_shape = (isinstance(proof, dict) and set(proof) == {"inclusion_proof", "leaf_hash", "leaf_index", "seq"}
                    and isinstance(proof["inclusion_proof"], list) and len(proof["inclusion_proof"]) <= 64
                    and all(isinstance(h, str) and HEX64.fullmatch(h) for h in proof["inclusion_proof"]))
        if not ok_shape or proof["seq"] != seq or proof["leaf_index"] != seq:
            report.problem(where, f"proof for seq {seq} is malformed or out of order")
            continue
        leaf = line_leaf_hash(line, event)
        if proof["leaf_hash"] != leaf.hex():
            report.problem(where, f"seq {seq}: leaf_hash is not SHA-256(0x00 || line) (or the stated one)")
        path = [bytes.fromhex(h) for h in proof["inclusion_proof"]]
        if not verify_inclusion(seq, cp.size, leaf, path, cp.root):
            report.problem(where, f"seq {seq}: the event is not in the signed log (inclusion proof fails)")
        else:
            checked += 1
    report.ok(f"{checked} inclusion proofs verified against the checkpoint root")


WITHHELD_MEMBERS = EVENT_MEMBERS | {"withheld"}
COMMITMENT = re.compile(r"hmac-sha256:[0-9a-f]{64}")


def _value_at(obj: Any, path: str) -> Any:
    """FORMAT.md: a withheld path is dot-separated member names, each optionally followed by [index]."""
    for part in path.split("."):
        match = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", part)
        if match is None or not isinstance(obj, dict) or match.group(1) not in obj:
            raise ValueError(f"withheld path {path!r} names no member")
        obj = obj[match.group(1)]
        for index in re.findall(r"\[(\d+)\]", match.group(2)):
            if not isinstance(obj, list) or int(index) >= len(obj):
                raise ValueError(f"withheld path {path!r} names no member")
            obj = obj[int(index)]
    return obj


def parse_bundle_line(line: bytes) -> dict[str, Any]:
    """One line of custody/events.jsonl: a whole event, or (redacted bundles) an event with withheld values."""
    obj = parse_canonical(line)
    if not isinstance(obj, dict) or "withheld" not in obj:
        return parse_event(line)
    if set(obj) != WITHHELD_MEMBERS:
        raise ValueError("a withheld event must have the nine event members plus 'withheld'")
    withheld = obj["withheld"]
    if not isinstance(withheld, dict) or set(withheld) != {"chain_hash", "fields", "leaf_hash"}:
        raise ValueError("'withheld' must have exactly chain_hash, fields and leaf_hash")
    if not all(isinstance(withheld[k], str) and HEX64.fullmatch(withheld[k]) for k in ("chain_hash", "leaf_hash")):
        raise ValueError("withheld chain_hash and leaf_hash must be 64 lowercase hex digits")
    fields = withheld["fields"]
    if not isinstance(fields, list) or not fields or len(set(map(str, fields))) != len(fields) \
            or not all(isinstance(f, str) for f in fields):
        raise ValueError("withheld fields must be a non-empty list of distinct paths")
    for path in fields:
        if not isinstance(_value_at(obj, path), str) or not COMMITMENT.fullmatch(_value_at(obj, path)):
            raise ValueError(f"withheld field {path} does not hold an hmac-sha256 commitment")
    # The rest must still be a well-formed event: put plain placeholders where commitments are.
    probe = json.loads(json.dumps({k: v for k, v in obj.items() if k != "withheld"}))
    if "item_sha256" in fields:
        probe["item_sha256"] = "0" * 64
    parse_event(canonical(probe))
    return obj


def line_leaf_hash(line: bytes, event: dict[str, Any]) -> bytes:
    return bytes.fromhex(event["withheld"]["leaf_hash"]) if "withheld" in event else leaf_hash(line)


def line_chain_hash(line: bytes, event: dict[str, Any]) -> str:
    return str(event["withheld"]["chain_hash"]) if "withheld" in event else chain_hash(line)


# ---------------------------------------------------------------------------------------------
# Consistency proof files (FORMAT.md "Consistency proof files": `evidence-vault proof` / `verify-proof`)
# ---------------------------------------------------------------------------------------------

PROOF_HEADER = "evidence-vault consistency proof v1"
PROOF_MAX_BYTES = 256 * 1024
PROOF_MAX_HASHES = 128


def parse_proof_file(text: str) -> tuple[int, int, list[bytes], str, str]:
    """(old size, new size, proof, old checkpoint text, new checkpoint text); ValueError when malformed."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[0] != PROOF_HEADER:
        raise ValueError(f"the first line is not {PROOF_HEADER!r}")
    if lines.count("--- old checkpoint") != 1 or lines.count("--- new checkpoint") != 1:
        raise ValueError("it must hold exactly one '--- old checkpoint' and one '--- new checkpoint' line")
    old_at, new_at = lines.index("--- old checkpoint"), lines.index("--- new checkpoint")
    if not 3 <= old_at < new_at:
        raise ValueError("its parts are out of order")
    sizes = [re.fullmatch(r"(old|new)-size (0|[1-9][0-9]*)", line) for line in lines[1:3]]
    if not sizes[0] or not sizes[1] or (sizes[0].group(1), sizes[1].group(1)) != ("old", "new"):
        raise ValueError("lines 2 and 3 must be 'old-size N' and 'new-size N'")
    proof_lines = lines[3:old_at]
    if len(proof_lines) > PROOF_MAX_HASHES or not all(re.fullmatch(r"proof [0-9a-f]{64}", p) for p in proof_lines):
        raise ValueError("each proof line must be 'proof' and 64 lowercase hex digits (at most 128)")
    old_text = "\n".join(lines[old_at + 1:new_at])
    new_text = "\n".join(lines[new_at + 1:])
    return (int(sizes[0].group(2)), int(sizes[1].group(2)), [bytes.fromhex(p[6:]) for p in proof_lines],
            old_text, new_text)


def verify_proof(path: Path, key_path: Path | None, held: Path | None) -> int:
    """Check a proof file without the vault: both checkpoints signed by the key, the new log extends the
    old one (RFC 9162 2.1.4.2), and, with a held checkpoint, the proof starts from it."""
    if key_path is None:
        raise CannotRun("--proof needs --key PEM (the vault's public key, obtained separately)")
    try:
        raw_pub = raw_public_key(key_path.read_bytes())
        with path.open("rb") as handle:
            data = handle.read(PROOF_MAX_BYTES + 1)
        held_text = held.read_text(encoding="utf-8") if held is not None else None
    except (OSError, UnicodeDecodeError) as exc:
        raise CannotRun(f"cannot read the proof, key or checkpoint: {exc}") from exc
    except ValueError as exc:
        raise CannotRun(f"{key_path} is not an Ed25519 public key: {exc}") from exc
    report = Report()
    report.ok(f"vault key id {key_id(raw_pub)}")
    if len(data) > PROOF_MAX_BYTES:
        report.problem(path.name, "larger than 256 KiB: not a proof file")
        return report.print(f"Consistency proof {path} (independent verifier)")
    try:
        old_size, new_size, proof, old_text, new_text = parse_proof_file(data.decode("utf-8"))
        old = parse_checkpoint(old_text, tolerant=True)
        new = parse_checkpoint(new_text, tolerant=True)
    except (UnicodeDecodeError, ValueError) as exc:
        report.problem(path.name, f"not a valid proof file: {exc}")
        return report.print(f"Consistency proof {path} (independent verifier)")
    if (old.size, new.size) != (old_size, new_size):
        report.problem(path.name, "old-size/new-size differ from the sizes of its checkpoints")
    for where, cp in (("old checkpoint", old), ("new checkpoint", new)):
        problem = checkpoint_signature_problem(cp, raw_pub)
        if problem:
            report.problem(where, problem)
        else:
            report.ok(f"{where}: {cp.size} events at {cp.time}Z, signed by the key")
    if held_text is not None:
        try:
            mine = parse_checkpoint(held_text, tolerant=True)
        except ValueError as exc:
            report.problem(f"given checkpoint {held.name if held else ''}", f"not a valid checkpoint: {exc}")
        else:
            problem = checkpoint_signature_problem(mine, raw_pub)
            if problem:
                report.problem("given checkpoint", problem)
            elif (mine.origin, mine.size, mine.root) != (old.origin, old.size, old.root):
                report.problem("given checkpoint", f"the proof starts from {old.size} events with another root "
                               f"than yours of {mine.size} events" if mine.size == old.size else
                               f"the proof starts from {old.size} events, not from yours of {mine.size}")
            else:
                report.ok("given checkpoint: the proof starts from it")
    if old.size > new.size:
        report.problem("proof", f"the new log has {new.size} events, fewer than the old {old.size} (cut short)")
    elif not verify_consistency(old.size, new.size, old.root, new.root, proof):
        report.problem("proof", f"the log of {new.size} events does not extend the {old.size} events of the old "
                       "checkpoint (history was rewritten, or the proof is wrong)")
    else:
        report.ok(f"consistency proof {old.size} -> {new.size} ({len(proof)} hashes)")
    return report.print(f"Consistency proof {path} (independent verifier, written from docs/FORMAT.md)")


# ---------------------------------------------------------------------------------------------

def read_passphrase() -> str:
    if "EVIDENCE_VAULT_PASSPHRASE" in os.environ:
        return os.environ["EVIDENCE_VAULT_PASSPHRASE"]
    if sys.stdin.isatty():
        return getpass.getpass("Vault passphrase: ")
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vault", nargs="?", type=Path, help="the .vault file")
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint you kept earlier (consistency check)")
    parser.add_argument("--kdf-iter", type=int, default=DOCUMENTED_KDF_ITER, help="PBKDF2 iterations (documented "
                        "value 256000; tests use a lower one)")
    parser.add_argument("--raw-key", help="open with the raw 32-byte vault key K (hex), e.g. combined from "
                        "recovery shares, instead of the passphrase")
    parser.add_argument("--no-copy", action="store_true", help="open the vault in place instead of a copy")
    parser.add_argument("--bundle", type=Path, help="verify a bundle (ZIP or folder) instead of a vault")
    parser.add_argument("--expect-key-id", help="the vault key id obtained separately "
                        "(a vault or bundle signed by another key is altered)")
    parser.add_argument("--proof", type=Path, help="check a consistency proof file ('evidence-vault proof') "
                        "instead of a vault; needs --key, and --checkpoint for the checkpoint you hold")
    parser.add_argument("--key", type=Path, help="the vault's public key PEM, obtained separately (with --proof)")
    args = parser.parse_args(argv)
    try:
        if args.proof is not None:
            return verify_proof(args.proof, args.key, args.checkpoint)
        if args.bundle is not None:
            return verify_bundle(args.bundle, args.expect_key_id, args.checkpoint)
        if args.vault is None:
            parser.error("give a VAULT file or --bundle PATH")
        if not args.vault.is_file():
            raise CannotRun(f"{args.vault} is not a file")
        if args.raw_key:
            if not re.fullmatch(r"[0-9a-fA-F]{64}", args.raw_key):
                raise CannotRun("--raw-key must be 64 hexadecimal digits (the 32-byte recovery key K)")
            candidates = [raw_vault_key(bytes.fromhex(args.raw_key), "the raw key given")]
        else:
            candidates = keyslot_keys(args.vault, read_passphrase(), args.kdf_iter)
        return verify_vault(args.vault, candidates, args.checkpoint, not args.no_copy, args.expect_key_id)
    except CannotRun as exc:
        print(f"COULD NOT RUN: {exc}")
        return EXIT_CANNOT_RUN
    except Exception as exc:  # any unexpected failure must not look like "intact"
        print(f"COULD NOT RUN: unexpected error {type(exc).__name__}: {exc}")
        return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(main())
