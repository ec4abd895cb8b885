"""Verifying a sealed evidence bundle (ZIP or folder) that may have been altered or crafted.

Everything in a bundle is untrusted until checked, including the manifest and the key that signs it.
The ZIP is read in place (never extracted); a folder is walked without following links.  Each problem is
named precisely ("exhibits/0003-photo.png: SHA-256 does not match the manifest") and collected, so one
run tells the auditor everything that is wrong.  BundleError is raised only when the bundle cannot be
read at all.  docs/FORMAT.md (section "Bundles") describes the algorithm step by step.

A valid signature only proves the bundle matches the key INSIDE it.  An attacker can replace both, so
the report carries the key ID for comparison with one obtained separately, and ``expected_key_id`` /
``trusted_public_key`` make that comparison part of the verdict.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import BundleError, EvidenceVaultError, IntegrityError
from app.export import bundle as layout
from app.export.commitments import ShownEvent, shown_event
from app.export.safe_extract import extract_zip
from app.export.safe_folder import SafeFolderReader
from app.export.safe_zip import (
    MAX_ENTRIES,
    BundleProblem,
    SafeZipReader,
    find_duplicates,
    unsafe_name_reason,
)
from app.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from app.vault import keys, merkle
from app.vault.canonical import parse_canonical
from app.vault.checkpoint import Checkpoint, verify_checkpoint
from app.vault.events import GENESIS_PREV_HASH
from app.vault.proofs_file import check_extends, same_checkpoint

__all__ = ["BundleProblem", "BundleReport", "extract_bundle", "verify_bundle"]

DEFAULT_MAX_TOTAL_BYTES = 1 << 40  # 1 TiB: far above any real bundle, far below "fill the disk"
# Files that are parsed, not just hashed, are read into memory: each has a hard cap.
_PARSED_LIMITS = {
    layout.MANIFEST: 64 << 20,
    layout.SIGNATURE: 64,
    layout.EVENTS: 256 << 20,
    layout.PROOFS: 256 << 20,
    layout.CHECKPOINT: 64 << 10,
    layout.CONSISTENCY: 64 << 20,
    layout.PUBLIC_KEY: 64 << 10,
    layout.SEAL_CERT: 1 << 20,
    layout.SUMS: 64 << 20,
}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_PROOF_LENGTH = 64
EARLIER = "earlier checkpoint"  # where problems with --checkpoint are reported


@dataclass
class BundleReport:
    """The verdict.  ``ok`` is True only when there are no problems.  ``key_trusted`` is True only
    when the caller supplied an expected key (ID or public key) and the bundle is signed by it."""

    ok: bool
    problems: list[BundleProblem]
    files_checked: int
    events_checked: int
    key_id: str | None = None
    key_trusted: bool = False
    created_at: str | None = None
    audience: str | None = None
    level: str | None = None
    tree_size: int | None = None
    earlier_checkpoint_consistent: bool | None = None  # None when no earlier checkpoint was given

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [{"file": p.file_or_part, "message": p.message} for p in self.problems],
            "files_checked": self.files_checked,
            "events_checked": self.events_checked,
            "key_id": self.key_id,
            "key_trusted": self.key_trusted,
            "created_at": self.created_at,
            "audience": self.audience,
            "level": self.level,
            "tree_size": self.tree_size,
            "earlier_checkpoint_consistent": self.earlier_checkpoint_consistent,
        }


def _open_source(path: Path, max_entries: int) -> SafeZipReader | SafeFolderReader:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BundleError(f"The bundle {path} cannot be opened: {exc.strerror}.", debug_detail=str(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        return SafeFolderReader(path, max_entries)
    if stat.S_ISREG(info.st_mode):
        return SafeZipReader(path, max_entries=max_entries)
    raise BundleError(f"{path} is neither a ZIP file nor a folder.")


class _Verifier:
    def __init__(self, source: SafeZipReader | SafeFolderReader, progress: ProgressCallback,
                 max_total_bytes: int, cancel: CancelToken = NEVER_CANCELLED) -> None:
        self.source = source
        self.progress = progress
        self.cancel = cancel
        self.budget = max_total_bytes
        self.problems: list[BundleProblem] = list(source.problems)
        self.refused = {p.file_or_part for p in source.problems}
        self.parsed: dict[str, bytes] = {}  # content of files that are parsed, after hashing
        self.files_checked = 0
        self.events_checked = 0

    def problem(self, where: str, message: str) -> None:
        self.problems.append(BundleProblem(where, message))

    def sizes(self) -> dict[str, int]:
        return self.source.files if isinstance(self.source, SafeFolderReader) else {
            name: member.size for name, member in self.source.files.items()}

    def read_small(self, name: str) -> bytes | None:
        """Whole content of a file that is parsed (manifest, signature, ...) or None (problem noted)."""
        sizes = self.sizes()
        if name not in sizes:
            if name not in self.refused:
                self.problem(name, "is missing from the bundle")
            return None
        if sizes[name] > _PARSED_LIMITS[name]:
            self.problem(name, f"is {sizes[name]:,} bytes, far larger than such a file can be; it was not read")
            return None
        try:
            return b"".join(self.source.iter_chunks(name, limit=_PARSED_LIMITS[name]))
        except BundleError as exc:
            self.problem(name, exc.message)
            return None

    def check_files(self, entries: list[dict[str, Any]]) -> None:
        """Hash every listed file against the manifest; note missing and unlisted files."""
        sizes = self.sizes()
        listed = {e["path"] for e in entries}
        total = sum(e["size"] for e in entries if e["path"] in sizes)
        done = 0
        for entry in entries:
            name, size = entry["path"], entry["size"]
            if name not in sizes:
                if name not in self.refused:
                    self.problem(name, "is listed in the manifest but missing from the bundle")
                continue
            if sizes[name] != size:
                self.problem(name, f"is {sizes[name]:,} bytes but the manifest says {size:,} bytes")
                continue
            if size > self.budget:
                self.problem(name, "was not checked: the bundle is larger than this check may read")
                continue
            self.budget -= size
            self.progress(done, total, f"Checking {name}")
            keep = name in _PARSED_LIMITS and size <= _PARSED_LIMITS[name]
            digest, kept = hashlib.sha256(), []
            try:
                for chunk in self.source.iter_chunks(name, limit=size):
                    self.cancel.check()  # between chunks: a large video is read in many
                    digest.update(chunk)
                    if keep:
                        kept.append(chunk)
            except BundleError as exc:
                self.problem(name, exc.message)
                continue
            done += size
            self.files_checked += 1
            if digest.hexdigest() != entry["sha256"]:
                self.problem(name, "SHA-256 does not match the manifest (the file was changed)")
            elif keep:
                self.parsed[name] = b"".join(kept)
        for name in sorted(set(sizes) - listed - layout.UNLISTED):
            self.problem(name, "is in the bundle but not listed in the manifest (it was added)")
        self.progress(total, total, "Files checked")


def _parse_manifest(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """(manifest, "") or (None, why it is unusable)."""
    try:
        manifest = parse_canonical(data)
    except (IntegrityError, RecursionError):  # RecursionError: absurdly deep nesting
        return None, "is not valid canonical JSON (it was changed or damaged)"
    if not isinstance(manifest, dict) or manifest.get("format") != layout.FORMAT_NAME:
        return None, "is not an Evidence Vault bundle manifest"
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        return None, "has an unknown format version; use a newer Evidence Vault to check this bundle"
    entries = manifest.get("files")
    if not isinstance(entries, list):
        return None, "has no file list"
    for position, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and set(entry) == {"path", "sha256", "size", "role", "item_id"}
            and isinstance(entry["path"], str)
            and isinstance(entry["sha256"], str) and _HEX64.fullmatch(entry["sha256"])
            and type(entry["size"]) is int and entry["size"] >= 0
            and isinstance(entry["role"], str)
            and (entry["item_id"] is None or (type(entry["item_id"]) is int and entry["item_id"] >= 0))
        ):
            return None, f"has a malformed file entry (number {position + 1})"
    clashes = find_duplicates([e["path"] for e in entries])
    if clashes:
        name, first = next(iter(clashes.items()))
        return None, f"lists {name!r} and {first!r}, which are the same file name"
    for key in ("created_at", "audience", "level", "vault_key_id", "checkpoint"):
        if not isinstance(manifest.get(key), str):
            return None, f"has no valid {key!r} field"
    return manifest, ""


def verify_bundle(
    path: Path,
    *,
    progress: ProgressCallback | None = None,
    expected_key_id: str | None = None,
    trusted_public_key: Ed25519PublicKey | None = None,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_entries: int = MAX_ENTRIES,
    earlier_checkpoint: str | None = None,
    cancel: CancelToken | None = None,
) -> BundleReport:
    """Check a bundle (ZIP file or folder) completely; see the module docstring.

    With ``earlier_checkpoint`` (the text of a checkpoint obtained before, e.g. sent to headquarters),
    the bundle must also prove that its log extends that checkpoint: the checkpoint is signed by the
    bundle's (or the trusted) key and a consistency proof in custody/consistency.json leads from it
    to the bundle's checkpoint.  Otherwise the history was rewritten (or cut short) since then.

    Never modifies or extracts anything.  Raises BundleError only when the bundle cannot be read at all
    (not a ZIP, too many entries, crafted ZIP structure); everything else is a problem in the report.
    ``cancel`` stops the check between chunks and between its stages with Cancelled (no report).
    """
    path = Path(path)
    source = _open_source(path, max_entries)
    try:
        return _verify(source, progress or no_progress, expected_key_id, trusted_public_key, max_total_bytes,
                       earlier_checkpoint, cancel or NEVER_CANCELLED)
    finally:
        source.close()


def _verify(source: SafeZipReader | SafeFolderReader, progress: ProgressCallback, expected_key_id: str | None,
            trusted_public_key: Ed25519PublicKey | None, max_total_bytes: int,
            earlier_checkpoint: str | None = None, cancel: CancelToken = NEVER_CANCELLED) -> BundleReport:
    v = _Verifier(source, progress, max_total_bytes, cancel)
    report = BundleReport(ok=False, problems=v.problems, files_checked=0, events_checked=0)
    manifest_bytes = v.read_small(layout.MANIFEST)
    signature = v.read_small(layout.SIGNATURE)
    if manifest_bytes is None:
        v.problem(layout.MANIFEST, "cannot be read, so nothing in the bundle can be checked")
        return report
    manifest, why = _parse_manifest(manifest_bytes)
    if manifest is None:
        v.problem(layout.MANIFEST, why)
        return report
    report.created_at, report.audience, report.level = (
        manifest["created_at"], manifest["audience"], manifest["level"])
    entries = [e for e in manifest["files"] if _manifest_path_ok(v, e["path"])]
    _check_roles(v, entries)
    v.check_files(entries)
    cancel.check()
    report.files_checked = v.files_checked
    public_key = _check_signature(v, report, manifest, manifest_bytes, signature, expected_key_id,
                                  trusted_public_key)
    _check_sums(v, entries)
    checkpoint = _check_checkpoint(v, manifest, trusted_public_key or public_key)
    if checkpoint is not None:
        report.tree_size = checkpoint.tree_size
    events = _check_events(v, manifest, checkpoint)
    cancel.check()
    if checkpoint is not None:
        proven = _check_consistency_file(v, checkpoint, trusted_public_key or public_key)
        if earlier_checkpoint is not None:
            report.earlier_checkpoint_consistent = _check_earlier_checkpoint(
                v, earlier_checkpoint, checkpoint, trusted_public_key or public_key, proven)
    elif earlier_checkpoint is not None:
        report.earlier_checkpoint_consistent = False
        v.problem(EARLIER, "cannot be compared: the bundle's own checkpoint could not be checked")
    _check_items(v, entries, events)
    cert = v.parsed.get(layout.SEAL_CERT)
    if cert is not None:
        try:
            x509.load_pem_x509_certificate(cert)
        except (ValueError, TypeError):
            v.problem(layout.SEAL_CERT, "is not a valid PEM certificate")
    report.events_checked = v.events_checked
    report.ok = not v.problems
    return report


def _check_roles(v: _Verifier, entries: list[dict[str, Any]]) -> None:
    """The bundle's own files must all be listed, each under its role; other files need a caller role."""
    roles = {e["path"]: e["role"] for e in entries}
    for name, role in layout.GENERATED_ROLES.items():
        if roles.get(name) != role and not (name in layout.OPTIONAL_GENERATED and name not in roles):
            v.problem(layout.MANIFEST, f"does not list {name} as {role!r}, so the bundle cannot be fully checked")
    for entry in entries:
        if entry["path"] not in layout.GENERATED_ROLES and entry["role"] not in layout.CALLER_ROLES:
            v.problem(layout.MANIFEST, f"gives {entry['path']} an unknown role {entry['role']!r}")


def _manifest_path_ok(v: _Verifier, name: str) -> bool:
    reason = unsafe_name_reason(name)
    if reason or name.endswith("/") or name in layout.UNLISTED:
        v.problem(layout.MANIFEST, f"lists an invalid path {name!r} ({reason or 'reserved or a folder'})")
        return False
    return True


def _check_signature(v: _Verifier, report: BundleReport, manifest: dict[str, Any], manifest_bytes: bytes,
                     signature: bytes | None, expected_key_id: str | None,
                     trusted: Ed25519PublicKey | None) -> Ed25519PublicKey | None:
    pem = v.parsed.get(layout.PUBLIC_KEY)
    included: Ed25519PublicKey | None = None
    if pem is not None:
        try:
            included = keys.load_public_key_pem(pem)
        except EvidenceVaultError:
            v.problem(layout.PUBLIC_KEY, "is not a valid Ed25519 public key")
    if included is not None:
        report.key_id = keys.key_id(included)
        if manifest["vault_key_id"] != report.key_id:
            v.problem(layout.MANIFEST, f"names vault key {manifest['vault_key_id']}, but the included key is "
                      f"{report.key_id}")
    checker = trusted or included
    if trusted is not None and included is not None and keys.key_id(trusted) != report.key_id:
        v.problem(layout.PUBLIC_KEY, f"is not the trusted key: it has key ID {report.key_id}, the trusted "
                  f"key has {keys.key_id(trusted)}; the bundle was re-signed by someone else")
    if expected_key_id is not None and report.key_id is not None and (
        expected_key_id.strip().lower() != report.key_id
    ):
        v.problem(layout.PUBLIC_KEY, f"has key ID {report.key_id}, not the expected {expected_key_id.strip()}; "
                  "the bundle was signed by another key (possibly re-signed after tampering)")
    if checker is None:
        v.problem(layout.SIGNATURE, "cannot be checked: the bundle has no valid vault public key")
        return included
    if signature is None:
        return included  # already reported as missing or unreadable
    try:
        if len(signature) != 64:
            raise InvalidSignature()
        checker.verify(signature, manifest_bytes)
    except InvalidSignature:
        v.problem(layout.SIGNATURE, "the signature does not match manifest.json: the manifest was changed "
                  "after signing, or the signature belongs to another key")
        return included
    expected = trusted is not None or expected_key_id is not None
    report.key_trusted = expected and not any(p.file_or_part == layout.PUBLIC_KEY for p in v.problems)
    return included


def _check_sums(v: _Verifier, entries: list[dict[str, Any]]) -> None:
    sums = v.parsed.get(layout.SUMS)
    if sums is None:
        return
    expected = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries if e["path"] != layout.SUMS)
    if sums != expected.encode("utf-8"):
        v.problem(layout.SUMS, "does not agree with manifest.json, so 'sha256sum -c' would check other files")


def _check_checkpoint(v: _Verifier, manifest: dict[str, Any], key: Ed25519PublicKey | None) -> Checkpoint | None:
    data = v.parsed.get(layout.CHECKPOINT)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        v.problem(layout.CHECKPOINT, "is not UTF-8 text")
        return None
    if text != manifest["checkpoint"]:
        v.problem(layout.CHECKPOINT, "differs from the checkpoint recorded in manifest.json")
    if key is None:
        v.problem(layout.CHECKPOINT, "cannot be checked without a valid vault public key")
        return None
    try:
        return verify_checkpoint(text, key)
    except IntegrityError as exc:
        v.problem(layout.CHECKPOINT, exc.message)
        return None


def _check_events(v: _Verifier, manifest: dict[str, Any], checkpoint: Checkpoint | None) -> list[ShownEvent]:
    data = v.parsed.get(layout.EVENTS)
    if data is None:
        return []
    if data and not data.endswith(b"\n"):
        v.problem(layout.EVENTS, "does not end with a newline (it was truncated)")
    lines = data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")
    events: list[ShownEvent] = []
    for number, line in enumerate(lines, start=1):
        try:
            events.append(shown_event(line))
        except (IntegrityError, RecursionError):
            v.problem(layout.EVENTS, f"line {number} is not a valid canonical custody event")
            continue
        if events[-1].withheld and manifest.get("level") != "redacted":
            v.problem(layout.EVENTS, f"line {number} withholds values, which only a redacted bundle may do")
    if manifest.get("events") != len(lines):
        v.problem(layout.EVENTS, f"holds {len(lines)} events but the manifest says {manifest.get('events')}")
    seqs = [event.seq for event in events]
    if seqs != sorted(set(seqs)):
        v.problem(layout.EVENTS, "events are out of order or repeated")
    _check_chain(v, events)
    if checkpoint is not None:
        _check_proofs(v, events, checkpoint)
    return events


def _check_chain(v: _Verifier, events: list[ShownEvent]) -> None:
    previous: ShownEvent | None = None
    for event in events:
        if event.seq == 0 and event.prev_hash != GENESIS_PREV_HASH:
            v.problem(layout.EVENTS, "event 0 does not start the custody chain")
        if previous is not None and previous.seq + 1 == event.seq and event.prev_hash != previous.chain:
            v.problem(layout.EVENTS, f"event {event.seq} does not follow from event {previous.seq} (chain broken)")
        previous = event


def _check_proofs(v: _Verifier, events: list[ShownEvent], checkpoint: Checkpoint) -> None:
    data = v.parsed.get(layout.PROOFS)
    if data is None:
        return
    try:
        doc = parse_canonical(data)
    except (IntegrityError, RecursionError):
        v.problem(layout.PROOFS, "is not valid canonical JSON")
        return
    if not isinstance(doc, dict) or doc.get("format") != layout.PROOFS_FORMAT or not isinstance(
        doc.get("proofs"), list
    ):
        v.problem(layout.PROOFS, "is not an Evidence Vault proof file")
        return
    if doc.get("tree_size") != checkpoint.tree_size or doc.get("root") != checkpoint.root.hex():
        v.problem(layout.PROOFS, "is for a different log size or root than the signed checkpoint")
    by_seq = {p["seq"]: p for p in doc["proofs"] if isinstance(p, dict) and type(p.get("seq")) is int}
    for event in events:
        proof = by_seq.get(event.seq)
        path = proof.get("inclusion_proof") if proof else None
        if (
            proof is None or proof.get("leaf_index") != event.seq or not isinstance(path, list)
            or len(path) > _MAX_PROOF_LENGTH or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in path)
        ):
            v.problem(layout.PROOFS, f"has no well-formed inclusion proof for event {event.seq}")
            continue
        leaf = event.leaf
        if proof.get("leaf_hash") != leaf.hex():
            v.problem(layout.PROOFS, f"the leaf hash for event {event.seq} does not match custody/events.jsonl")
            continue
        try:
            merkle.verify_inclusion(leaf_hash=leaf, index=event.seq, tree_size=checkpoint.tree_size,
                                    proof=[bytes.fromhex(h) for h in path], root=checkpoint.root)
        except IntegrityError:
            v.problem(layout.PROOFS, f"the inclusion proof for event {event.seq} does not lead to the "
                      "checkpoint root (the event or the proof was changed)")
            continue
        v.events_checked += 1


def _check_consistency_file(v: _Verifier, checkpoint: Checkpoint,
                            key: Ed25519PublicKey | None) -> dict[tuple[int, str], list[bytes]]:
    """Check custody/consistency.json; return the proofs that verify, by (earlier size, earlier root hex)."""
    where = layout.CONSISTENCY
    proven: dict[tuple[int, str], list[bytes]] = {}
    data = v.parsed.get(where)  # absent when not listed (bundles from before consistency proofs)
    if data is None or key is None:
        return proven
    try:
        doc = parse_canonical(data)
    except (IntegrityError, RecursionError):
        v.problem(where, "is not valid canonical JSON")
        return proven
    if not isinstance(doc, dict) or doc.get("format") != layout.CONSISTENCY_FORMAT or not isinstance(
        doc.get("proofs"), list
    ):
        v.problem(where, "is not an Evidence Vault consistency-proof file")
        return proven
    if doc.get("tree_size") != checkpoint.tree_size or doc.get("root") != checkpoint.root.hex():
        v.problem(where, "is for a different log size or root than the signed checkpoint")
        return proven
    for number, entry in enumerate(doc["proofs"], start=1):
        path = entry.get("consistency_proof") if isinstance(entry, dict) else None
        if not isinstance(path, list) or len(path) > _MAX_PROOF_LENGTH or not isinstance(
            entry.get("checkpoint"), str
        ) or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in path):
            v.problem(where, f"proof {number} is not well formed")
            continue
        try:
            earlier = verify_checkpoint(entry["checkpoint"], key)
            if entry.get("tree_size") != earlier.tree_size or entry.get("root") != earlier.root.hex():
                raise IntegrityError("its size or root differs from its checkpoint")
            check_extends(earlier, checkpoint, [bytes.fromhex(h) for h in path])
        except IntegrityError as exc:
            v.problem(where, f"proof {number} (from {entry.get('tree_size')} events) does not verify: {exc.message}")
            continue
        proven[(earlier.tree_size, earlier.root.hex())] = [bytes.fromhex(h) for h in path]
    return proven


def _check_earlier_checkpoint(v: _Verifier, text: str, checkpoint: Checkpoint, key: Ed25519PublicKey | None,
                              proven: dict[tuple[int, str], list[bytes]]) -> bool:
    """Does the bundle's log extend ``text`` (a checkpoint obtained earlier)?  Problems say why not."""
    if key is None:
        v.problem(EARLIER, "cannot be checked without a valid vault public key")
        return False
    try:
        earlier = verify_checkpoint(text.replace("\r\n", "\n").strip() + "\n", key)
    except IntegrityError as exc:
        v.problem(EARLIER, f"is not signed by this bundle's vault key ({exc.message}); it belongs to "
                  "another vault, or the bundle was re-signed with a new key")
        return False
    if earlier.tree_size > checkpoint.tree_size:
        v.problem(EARLIER, f"covers {earlier.tree_size} events but the bundle's log has only "
                  f"{checkpoint.tree_size}: events were removed after that checkpoint (the history was cut short)")
        return False
    if earlier.tree_size == checkpoint.tree_size:
        if same_checkpoint(earlier, checkpoint):
            return True
        v.problem(EARLIER, f"has a different root for the same {earlier.tree_size} events: the history was "
                  "rewritten")
        return False
    proof = proven.get((earlier.tree_size, earlier.root.hex()))
    if proof is None:
        v.problem(EARLIER, f"is not an ancestor of the bundle's log: the bundle carries no valid consistency "
                  f"proof from that checkpoint of {earlier.tree_size} events, so the history was rewritten "
                  "since then (or the vault's record of that checkpoint was removed)")
        return False
    check_extends(earlier, checkpoint, proof)  # already verified in _check_consistency_file
    return True


def _check_items(v: _Verifier, entries: list[dict[str, Any]], events: list[ShownEvent]) -> None:
    ingested = {(e.item_id, e.item_sha256) for e in events if e.action == layout.INGEST_ACTION}
    for entry in entries:
        if entry["item_id"] is not None and (entry["item_id"], entry["sha256"]) not in ingested:
            v.problem(entry["path"], f"no custody event records item {entry['item_id']} with this SHA-256")


def extract_bundle(path: Path, target_dir: Path, *, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES) -> list[Path]:
    """Safely unpack a ZIP bundle into ``target_dir`` (created if needed; must be empty).

    Checks the archive's structure first and refuses it whole if any entry is unsafe (see
    :mod:`app.export.safe_zip`).  Does not check hashes or signatures: run :func:`verify_bundle`
    on the ZIP (or on the extracted folder) for that.  Raises BundleError or DiskFull.
    """
    path = Path(path)
    if path.is_dir():
        raise BundleError(f"{path} is a folder bundle already; there is nothing to extract.")
    return extract_zip(path, Path(target_dir), max_total_bytes=max_total_bytes)

