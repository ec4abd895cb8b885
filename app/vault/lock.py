"""One process at a time per vault: an OS advisory lock (``flock``) on a sidecar file ``<vault>.lock``.

Why a sidecar and not the database file: SQLite itself uses POSIX ``fcntl`` locks on the database,
and changing the passphrase replaces the database file by rename, which would orphan a lock held on
the old inode.  The lock file holds no data; it is left in place (deleting lock files races).  The
kernel drops the lock when the process dies, so a crash never leaves a vault locked.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from app.errors import EvidenceVaultError, VaultInUse


def lock_path_for(vault_path: Path) -> Path:
    return vault_path.with_name(vault_path.name + ".lock")


class VaultLock:
    """An exclusive, non-blocking lock; ``release()`` is idempotent."""

    def __init__(self, vault_path: Path) -> None:
        self.path = lock_path_for(vault_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise EvidenceVaultError(
                "The vault's folder cannot be written to. Check that the drive is connected and writable.",
                debug_detail=f"{self.path}: {exc}",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise VaultInUse(debug_detail=str(self.path)) from exc
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
