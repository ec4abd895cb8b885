"""Import files and folders into the vault in a worker, with progress and cancel.

The job is plain Python: it walks folders (symbolic links are not followed, so a planted link
cannot pull in files from elsewhere), then calls ``vault.ingest_file`` per file with a progress
callback that is mapped onto the whole batch.  A cancel stops between chunks; the vault discards
the partly stored file; files completed before the cancel stay
in the vault and are listed in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import Cancelled, EvidenceVaultError
from app.progress import CancelToken, ProgressCallback


@dataclass
class ImportSummary:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, plain message)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named, plus every regular file under the folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_symlink():
            continue
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.is_file() and not candidate.is_symlink():
                        found.append(candidate)
    return found


def import_job(vault: Any, paths: Iterable[str | os.PathLike[str]], *, case_id: int | None):
    """Build the worker job ``(progress, cancel) -> ImportSummary``."""
    path_list = list(paths)

    def run(progress: ProgressCallback, cancel: CancelToken) -> ImportSummary:
        files = collect_files(path_list)
        sizes = []
        for file in files:
            try:
                sizes.append(file.stat().st_size)
            except OSError:
                sizes.append(0)
        total = max(1, sum(sizes))
        summary = ImportSummary()
        done_before = 0
        for index, (file, size) in enumerate(zip(files, sizes, strict=True)):
            if cancel.cancelled:
                summary.cancelled = True
                return summary
            label = f"{index + 1}/{len(files)}"

            def file_progress(done: int, _total: int, _message: str, base: int = done_before,
                              label: str = label, size: int = size) -> None:
                progress(base + min(done, size), total, label)

            progress(done_before, total, label)
            try:
                result = vault.ingest_file(file, case_id=case_id, progress=file_progress, cancel=cancel)
            except Cancelled:
                # Files stored before the cancel stay stored (each is complete and in the custody log).
                summary.cancelled = True
                return summary
            except EvidenceVaultError as error:
                summary.failed.append((file.name, error.user_message()))
            except OSError as error:
                summary.failed.append((file.name, error.strerror or "The file could not be read."))
            else:
                if result.duplicate_of is not None:
                    summary.duplicates.append(result.item_id)
                else:
                    summary.stored.append(result.item_id)
                # The vault names no file (names may identify people); the investigator chose these files.
                summary.warnings.extend(f"{file.name}: {warning}" for warning in result.warnings)
            done_before += size
        progress(total, total, "")
        return summary

    return run
