"""Import files and folders into the vault in a worker, with progress and cancel.

The job is plain Python: it collects the files with the rule the command line uses too
(``app.vault.collect``: symbolic links are never followed), then calls ``vault.ingest_file`` per
file with a progress callback that is mapped onto the whole batch.  A cancel stops between chunks; the vault discards
the partly stored file; files completed before the cancel stay
in the vault and are listed in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import Cancelled, EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.vault.service import VaultService, collect_files


@dataclass
class ImportSummary:
    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, plain message)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False


def import_job(vault: VaultService, paths: Iterable[str | os.PathLike[str]], *,
               case_id: int | None) -> Callable[[ProgressCallback, CancelToken], ImportSummary]:
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
                if not result.already_stored:
                    _read_subtitles(vault, result.item_id, file, summary)
            done_before += size
        progress(total, total, "")
        return summary

    return run


def _read_subtitles(vault: VaultService, item_id: int, file: Path, summary: ImportSummary) -> None:
    """A subtitle file (.vtt/.srt, stored as a "transcript" item) gets its words as the item's transcript,
    so search finds them, the document viewer and the dossier show them.  A file that cannot be read as
    subtitles stays stored as it is, with a warning naming it."""
    from app.media.subtitles import parse_transcript_file
    from app.vault.models import Segment

    if vault.get_item(item_id).kind != "transcript" or vault.transcript(item_id):
        return
    try:
        parsed = parse_transcript_file(file)
        if parsed:
            vault.set_transcript(item_id, [Segment(start=s.start, end=max(s.end, s.start), speaker=s.speaker,
                                                   language=s.language, text=s.text) for s in parsed])
    except (EvidenceVaultError, OSError) as error:
        message = error.user_message() if isinstance(error, EvidenceVaultError) else "it could not be read"
        summary.warnings.append(f"{file.name}: stored, but its words could not be read as subtitles ({message})")
