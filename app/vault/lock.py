"""One writer at a time per vault: OS advisory locks (``flock``) on a sidecar file and on the vault itself.

* The sidecar ``<real path of the vault>.lock`` is named after the vault's real path (symlinks resolved),
  so a vault opened through a symlink or under a different spelling of its path meets the same lock.
* A hard link is another name for the same file, and gets its own sidecar: so the vault file itself
  (its inode) is ``flock``-ed too.  On Linux ``flock`` locks are independent of the POSIX ``fcntl``
  locks SQLite takes on the database, so they do not interfere.  One rule follows from POSIX: closing
  *any* descriptor of a file drops the process's ``fcntl`` locks on it, so the inode descriptor is closed
  only after the database connection (``Vault.close``), never while SQLite holds a lock.
* Why keep a sidecar at all: changing the passphrase replaces the database file by rename, which moves
  the file away from under a lock held on the old inode; the sidecar does not move (the inode lock is
  taken again on the new file, :meth:`VaultLock.relock_vault_file`).

Writers hold both locks exclusively; read-only openers hold them shared, so any number of readers can
work together but never beside a writer.  On read-only media the sidecar may not exist and cannot be
made: a reader then goes on with the inode lock alone (which still sees a writer on the same machine).
The sidecar holds no data and is left in place (deleting lock files races), except when this process
created it for a file that turned out not to be a vault (:meth:`VaultLock.abandon`).  The kernel drops
the locks when the process dies, so a crash never leaves a vault locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from app.errors import EvidenceVaultError, VaultInUse

_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def lock_path_for(vault_path: Path) -> Path:
    real = Path(os.path.realpath(vault_path))
    return real.with_name(real.name + ".lock")


class VaultLock:
    """Exclusive (``shared=False``) or shared, non-blocking; ``release()`` is idempotent."""

    def __init__(self, vault_path: Path, *, shared: bool = False) -> None:
        self.vault_path = Path(os.path.realpath(vault_path))
        self.path = lock_path_for(vault_path)
        self.shared = shared
        self._fd: int | None = None
        self._inode_fd: int | None = None
        self._created = False

    @property
    def _operation(self) -> int:
        return (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB

    def acquire(self) -> None:
        fd = self._open_sidecar()
        if fd is not None:
            try:
                fcntl.flock(fd, self._operation)
            except BlockingIOError as exc:
                os.close(fd)
                raise VaultInUse(debug_detail=str(self.path)) from exc
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        try:
            self.relock_vault_file()
        except VaultInUse:
            self.release()
            raise
        except BaseException:
            self.abandon()  # the vault file cannot even be opened (no permission...): leave no new sidecar
            raise

    def _open_sidecar(self) -> int | None:
        flags = os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o600)
            self._created = True
            return fd
        except FileExistsError:
            pass
        except OSError as exc:
            if not (self.shared and exc.errno in _NOT_WRITABLE):
                raise self._not_writable(exc) from exc
        try:
            return os.open(self.path, (os.O_RDONLY if self.shared else os.O_RDWR) | flags)
        except OSError as exc:
            if self.shared and exc.errno in (*_NOT_WRITABLE, errno.ENOENT):
                return None  # read-only media without a lock file: the inode lock still applies
            raise self._not_writable(exc) from exc

    def _not_writable(self, exc: OSError) -> EvidenceVaultError:
        return EvidenceVaultError(
            "The vault's folder cannot be written to. Check that the drive is connected and writable, or "
            "open the vault read-only.", debug_detail=f"{self.path}: {exc}")

    def relock_vault_file(self) -> None:
        """(Re)take the lock on the vault file's inode: after it was created or replaced by rename."""
        try:
            fd = os.open(self.vault_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # not created yet (Vault.create locks it once the file exists)
        except PermissionError as exc:
            raise EvidenceVaultError(
                "You do not have permission to read this vault file. Ask the file's owner or your administrator "
                "for access, or open a copy you can read.", debug_detail=f"{self.vault_path}: {exc}") from exc
        except OSError as exc:
            raise EvidenceVaultError(
                f"The vault file cannot be opened ({exc.strerror or exc}). Check that the drive is connected and "
                "try again.", debug_detail=f"{self.vault_path}: {exc}") from exc
        try:
            fcntl.flock(fd, self._operation)
        except BlockingIOError as exc:
            os.close(fd)
            raise VaultInUse(debug_detail=f"{self.vault_path} (through another name of the same file)") from exc
        except OSError:
            os.close(fd)
            raise
        old, self._inode_fd = self._inode_fd, fd
        if old is not None:
            os.close(old)

    def release(self) -> None:
        for name in ("_inode_fd", "_fd"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def abandon(self) -> None:
        """Release, and remove the sidecar if this lock created it (the open failed: not a vault, wrong
        passphrase...): opening a file that is not a vault must leave nothing behind."""
        if self._created and self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # still holding it, and it existed only for this failed open
        self._created = False
        self.release()

    @property
    def held(self) -> bool:
        return self._fd is not None or self._inode_fd is not None
