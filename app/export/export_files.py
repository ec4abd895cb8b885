"""The exporter's working files and progress: hidden temporary files beside the output (and removing those an
export killed half-way left behind), the guard that turns a full disk into DiskFull, the SHA-256 of a written
file, and the stages that share one progress bar."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from app.durable import remove_stale_partials
from app.errors import DiskFull, EvidenceVaultError
from app.progress import ProgressCallback

_CHUNK = 1 << 20


class Stages:
    """Maps each stage's own (done, total) onto one overall progress bar."""

    WEIGHTS = (("prepare", 15), ("build", 10), ("render", 50), ("pdfa", 8), ("seal", 5), ("bundle", 12))

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.start: dict[str, int] = {}
        at = 0
        for name, weight in self.WEIGHTS:
            self.start[name] = at
            at += weight
        self.weight = dict(self.WEIGHTS)
        self.total = at

    def stage(self, name: str) -> ProgressCallback:
        def report(done: int, total: int, message: str) -> None:
            fraction = done / total if total > 0 else 0.0
            value = self.start[name] + int(self.weight[name] * min(max(fraction, 0.0), 1.0))
            self.progress(value, self.total, message)
        return report

    def done(self) -> None:
        self.progress(self.total, self.total, "Export finished")


class PendingOutputs(Protocol):
    """Where exports in progress are remembered (the vault: :mod:`app.vault.pending_outputs`)."""

    def begin_output(self, folder: Path, name: str) -> None: ...

    def end_output(self, folder: Path, name: str) -> None: ...


@contextlib.contextmanager
def temp_files(folder: Path, stem: str, pending: PendingOutputs | None = None) -> Iterator[Callable[[str], Path]]:
    """Hands out hidden temporary paths beside the output; removes all of them on the way out.  With
    ``pending`` the export is remembered there until it ends, so that if a crash stops it, what it left
    beside the output is removed when the vault is next opened."""
    remove_stale_partials(folder, stem)
    if pending is not None:
        pending.begin_output(folder, stem)
    made: list[Path] = []
    token = secrets.token_hex(6)

    def new(purpose: str) -> Path:
        path = folder / f".{stem}.{purpose}-{token}.partial"
        made.append(path)
        return path

    try:
        yield new
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        if pending is not None:
            with contextlib.suppress(EvidenceVaultError):  # e.g. the vault was locked meanwhile
                pending.end_output(folder, stem)


def disk_errors(out: Path) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(debug_detail=str(exc)) from exc
            raise EvidenceVaultError(
                f"The export could not be written to {out.parent}: {exc.strerror or exc}. Check the drive "
                "and try again.", debug_detail=repr(exc)) from exc
    return guard()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
