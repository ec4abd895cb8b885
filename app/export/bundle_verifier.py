"""The state of one bundle check: the bundle being read, the problems found so far, the files hashed
against the manifest and the content kept of those that are parsed.  app.export.bundle_verify runs the
check; app.export.bundle_custody_checks and it report into the same Verifier."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from app.errors import BundleError
from app.export import bundle as layout
from app.export.safe_folder import SafeFolderReader
from app.export.safe_zip import BundleProblem, SafeZipReader
from app.progress import NEVER_CANCELLED, CancelToken, ProgressCallback

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
    layout.DOSSIER_MANIFEST: 64 << 20,
}
HEX64 = re.compile(r"[0-9a-f]{64}")


class Verifier:
    def __init__(self, source: SafeZipReader | SafeFolderReader, progress: ProgressCallback,
                 max_total_bytes: int, cancel: CancelToken = NEVER_CANCELLED) -> None:
        self.source = source
        self.progress = progress
        self.cancel = cancel
        self.budget = max_total_bytes
        self.problems: list[BundleProblem] = list(source.problems)
        # What the check could not decide (not a problem): each says what to do to decide it.
        self.notes: list[BundleProblem] = []
        self.refused = {p.file_or_part for p in source.problems}
        self.parsed: dict[str, bytes] = {}  # content of files that are parsed, after hashing
        self.files_checked = 0
        self.events_checked = 0

    def problem(self, where: str, message: str) -> None:
        self.problems.append(BundleProblem(where, message))

    def note(self, where: str, message: str) -> None:
        self.notes.append(BundleProblem(where, message))

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
