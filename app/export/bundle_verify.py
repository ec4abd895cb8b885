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

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.errors import BundleError, EvidenceVaultError, IntegrityError
from app.export import bundle as layout
from app.export.bundle_custody_checks import (
    EARLIER,
    check_checkpoint,
    check_consistency_file,
    check_earlier_checkpoint,
    check_events,
)
from app.export.bundle_export_checks import check_export
from app.export.bundle_verifier import HEX64, Verifier
from app.export.commitments import ShownEvent
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
from app.vault import keys
from app.vault.canonical import parse_canonical

__all__ = ["BundleProblem", "BundleReport", "extract_bundle", "verify_bundle"]

DEFAULT_MAX_TOTAL_BYTES = 1 << 40  # 1 TiB: far above any real bundle, far below "fill the disk"


@dataclass
class BundleReport:
    """The verdict.  ``ok`` is True only when there are no problems.  ``key_trusted`` is True only
    when the caller supplied an expected key (ID or public key) and the bundle is signed by it.
    ``notes`` are what the check could not decide (e.g. an earlier checkpoint that is in fact later than
    the bundle's), each saying how to decide it; they do not make the bundle fail."""

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
    # None when no earlier checkpoint was given, or when it is later than the bundle's own (see notes)
    earlier_checkpoint_consistent: bool | None = None
    notes: list[BundleProblem] = field(default_factory=list)  # undecided questions, each saying how to decide

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
            "notes": [{"file": n.file_or_part, "message": n.message} for n in self.notes],
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
            and isinstance(entry["sha256"], str) and HEX64.fullmatch(entry["sha256"])
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
    v = Verifier(source, progress, max_total_bytes, cancel)
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
    checkpoint = check_checkpoint(v, manifest, trusted_public_key or public_key)
    if checkpoint is not None:
        report.tree_size = checkpoint.tree_size
    events = check_events(v, manifest, checkpoint)
    cancel.check()
    key = trusted_public_key or public_key
    proven: dict[tuple[int, str], list[bytes]] = {}
    if checkpoint is not None:
        proven = check_consistency_file(v, checkpoint, key)
        if earlier_checkpoint is not None:
            report.earlier_checkpoint_consistent = check_earlier_checkpoint(
                v, earlier_checkpoint, checkpoint, key, proven)
    elif earlier_checkpoint is not None:
        report.earlier_checkpoint_consistent = False
        v.problem(EARLIER, "cannot be compared: the bundle's own checkpoint could not be checked")
    _check_items(v, entries, events)
    check_export(v, manifest, entries, events, checkpoint, key, proven)
    cert = v.parsed.get(layout.SEAL_CERT)
    if cert is not None:
        try:
            x509.load_pem_x509_certificate(cert)
        except (ValueError, TypeError):
            v.problem(layout.SEAL_CERT, "is not a valid PEM certificate")
    report.events_checked = v.events_checked
    report.notes = v.notes
    report.ok = not v.problems
    return report


def _check_roles(v: Verifier, entries: list[dict[str, Any]]) -> None:
    """The bundle's own files must all be listed, each under its role; other files need a caller role."""
    roles = {e["path"]: e["role"] for e in entries}
    for name, role in layout.GENERATED_ROLES.items():
        if roles.get(name) != role:
            v.problem(layout.MANIFEST, f"does not list {name} as {role!r}, so the bundle cannot be fully checked")
    for entry in entries:
        if entry["path"] not in layout.GENERATED_ROLES and entry["role"] not in layout.CALLER_ROLES:
            v.problem(layout.MANIFEST, f"gives {entry['path']} an unknown role {entry['role']!r}")


def _manifest_path_ok(v: Verifier, name: str) -> bool:
    reason = unsafe_name_reason(name)
    if reason or name.endswith("/") or name in layout.UNLISTED:
        v.problem(layout.MANIFEST, f"lists an invalid path {name!r} ({reason or 'reserved or a folder'})")
        return False
    return True


def _check_signature(v: Verifier, report: BundleReport, manifest: dict[str, Any], manifest_bytes: bytes,
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


def _check_sums(v: Verifier, entries: list[dict[str, Any]]) -> None:
    sums = v.parsed.get(layout.SUMS)
    if sums is None:
        return
    expected = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries if e["path"] != layout.SUMS)
    if sums != expected.encode("utf-8"):
        v.problem(layout.SUMS, "does not agree with manifest.json, so 'sha256sum -c' would check other files")


def _check_items(v: Verifier, entries: list[dict[str, Any]], events: list[ShownEvent]) -> None:
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

