"""Changing the passphrase of a recovery-enabled vault so that the keyslot and the custody log agree.

With recovery enabled the vault file is keyed with a raw key K and a passphrase change only rewraps K
(:mod:`app.vault.keyslot`).  That touches two files, the keyslot and the vault (its ``passphrase_changed``
event), and neither a rename nor a SQLite transaction spans both.  So the change is made in three
durable steps, and the event is the commit point, as the rename is for a vault without recovery
(:mod:`app.vault.rekey`):

1. stage: K wrapped under the new passphrase is written to ``.<vault>.keyslot-staged`` (fsync of the
   file and of the folder); the keyslot in force is not touched;
2. commit: ``passphrase_changed`` is appended in one transaction; its ``keyslot_sha256`` detail is the
   SHA-256 of the staged file's bytes (a fresh salt and nonces make it unique to this change);
3. install: the staged file is renamed over ``<vault>.keyslot`` (atomic) and the folder fsynced.

Recovery rule, applied whenever a staged file is found -- at the next opening (``resolve_key``), before
a new change, before a recovery with shares: if an event names the staged file, the change happened and
the file is installed (step 3 again); otherwise it never happened and the staged file is shredded.
Deciding needs K, which the passphrase given unwraps from one of the two files.  So after a failure or
a kill at any moment exactly one of the old and the new passphrase opens the vault, and the log holds
this change's ``passphrase_changed`` event exactly when the new one does.  The staged file matches the
``.<vault>.keyslot-*`` temporaries, so a panic (``keyslot.destroy``) shreds it with the keyslot.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from pathlib import Path

import sqlcipher3

from app.durable import sync_folder
from app.errors import DiskFull, EvidenceVaultError, NotAVault, WrongPassphrase
from app.vault import custody, db, keyslot
from app.vault.events import Event

NOT_CHANGED = "The passphrase was not changed: the old passphrase still opens the vault."
FULL_NOT_CHANGED = ("The disk is full, so the passphrase was not changed: the old passphrase still opens the "
                    "vault. Free some space and try again.")
RECORDED_NOT_INSTALLED = (
    "The passphrase change was recorded, but the vault's key file could not be updated yet. Close the vault "
    "and open it with the new passphrase: the change is completed then.")
UNKNOWN_OUTCOME = (
    "The passphrase change was interrupted and it is not known whether it was recorded. Close the vault and "
    "open it again with the old passphrase; if it is refused, the change was completed and the new one opens it.")


def staged_path(vault_path: Path) -> Path:
    """``.<vault>.keyslot-staged``: the new keyslot of a change not yet installed."""
    slot = keyslot.keyslot_path(vault_path)
    return slot.with_name(f".{slot.name}-staged")


def staged_bytes(vault_path: Path) -> bytes | None:
    """The staged keyslot's bytes, or None when no change is pending."""
    try:
        with open(staged_path(vault_path), "rb") as handle:
            return handle.read(64 * 1024 + 1)
    except FileNotFoundError:
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the change ----------------------------------------------------------------------------------

def change(conn: sqlcipher3.Connection, path: Path, raw: bytes, new_passphrase: str, *, actor: str,
           method: str, panic_destroys_keys: bool) -> None:
    """Rewrap K under ``new_passphrase`` and record ``passphrase_changed`` through ``conn`` (keyed with K),
    in the three steps of the module docstring.  Every error message says which passphrase is in force."""
    settle_open(conn, path)  # a change an earlier failure in this process left half-done
    data = keyslot.build(new_passphrase, {"current": raw}, panic_destroys_keys=panic_destroys_keys).to_bytes()
    digest = _digest(data)
    _stage(path, data)
    try:
        _record(conn, actor=actor, method=method, raw=raw, digest=digest)
    except BaseException as exc:
        recorded = _recorded_after_failure(conn, digest)
        if recorded is None:  # the staged file stays: the next opening decides with the log
            raise EvidenceVaultError(UNKNOWN_OUTCOME, debug_detail=repr(exc)) from exc
        if not recorded:
            _discard(path)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt: nothing was changed, as the CLI says for any interruption
            raise _not_changed(exc) from exc
        # The event is stored although an error came after it (e.g. while closing the transaction):
        # the change happened, so it is finished below.
    try:
        _install(path)
    except OSError as exc:
        raise EvidenceVaultError(RECORDED_NOT_INSTALLED, debug_detail=str(exc)) from exc


def _stage(path: Path, data: bytes) -> None:
    staged = staged_path(path)
    try:
        staged.unlink(missing_ok=True)  # settled already: whatever is left here was never recorded
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        sync_folder(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staged.unlink()
        if exc.errno == errno.ENOSPC:
            raise DiskFull(FULL_NOT_CHANGED, debug_detail=str(exc)) from exc
        raise EvidenceVaultError(f"{NOT_CHANGED} Its key file could not be written: check that the drive is "
                                 "writable, then try again.", debug_detail=str(exc)) from exc


def _record(conn: sqlcipher3.Connection, *, actor: str, method: str, raw: bytes, digest: str) -> None:
    with db.transaction(conn):
        custody.append_event(conn, actor=actor, action="passphrase_changed", details={
            "method": method, "kdf_algorithm": keyslot.KDF, "kdf_iter": db.kdf_iter(),
            "key_fingerprint": keyslot.key_fingerprint(raw), "keyslot_sha256": digest})


def _install(path: Path) -> None:
    os.replace(staged_path(path), keyslot.keyslot_path(path))
    sync_folder(path.parent)


def _discard(path: Path) -> None:
    """Shred the staged keyslot (it wraps K under a passphrase that is not in force)."""
    staged = staged_path(path)
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError:
        fd = -1
    if fd >= 0:
        try:
            os.pwrite(fd, secrets.token_bytes(max(os.fstat(fd).st_size, 1)), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
    staged.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        sync_folder(path.parent)


def _not_changed(exc: Exception) -> EvidenceVaultError:
    if isinstance(exc, sqlcipher3.Error):
        exc = db.translate(exc) or exc
    if isinstance(exc, DiskFull):
        return DiskFull(FULL_NOT_CHANGED, debug_detail=exc.debug_detail)
    if isinstance(exc, EvidenceVaultError):
        return EvidenceVaultError(f"{NOT_CHANGED} {exc.user_message()}", debug_detail=exc.debug_detail)
    return EvidenceVaultError(f"{NOT_CHANGED} The vault could not be written; try again.", debug_detail=repr(exc))


def _recorded_after_failure(conn: sqlcipher3.Connection, digest: str) -> bool | None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return recorded(conn, digest)
    except (sqlcipher3.Error, EvidenceVaultError):
        return None


def recorded(conn: sqlcipher3.Connection, digest: str) -> bool:
    """Is there a ``passphrase_changed`` event naming the keyslot whose bytes have SHA-256 ``digest``?"""
    rows = conn.execute("SELECT canonical FROM events WHERE action = 'passphrase_changed' ORDER BY seq DESC")
    for (value,) in rows.fetchall():
        try:
            event = Event.from_canonical(custody.record_bytes(value))
        except EvidenceVaultError:
            continue  # a damaged event is verify()'s to report; it names no staged keyslot
        if event.details.get("keyslot_sha256") == digest:
            return True
    return False


# -- the recovery rule -----------------------------------------------------------------------------

def settle_open(conn: sqlcipher3.Connection, path: Path) -> None:
    """Install or shred a staged keyslot, given a connection keyed with K (vault lock held)."""
    data = staged_bytes(path)
    if data is None:
        return
    if _parses(data) and recorded(conn, _digest(data)):
        _install(path)
    else:
        _discard(path)


def settle_with_key(path: Path, raw: bytes) -> None:
    """:func:`settle_open` for a closed vault, given K (from the recovery shares); does nothing when K does
    not open the vault (the caller reports that)."""
    if staged_bytes(path) is None:
        return
    try:
        conn = db.connect(path, keyslot.raw_key_literal(raw))
    except WrongPassphrase:
        return
    try:
        settle_open(conn, path)
    finally:
        conn.close()


def settle(path: Path, passphrase: str, data: bytes, *, read_only: bool) -> keyslot.Keyslot | None:
    """The recovery rule at opening: returns the keyslot in force, after installing or shredding the staged
    one (``read_only``: nothing is written, the keyslot in force is only worked out).  None when the
    passphrase unwraps neither keyslot: then nothing can be decided with it and nothing is touched."""
    current = keyslot.read(path)
    staged = _parses(data)
    if staged is None:  # torn while being written: the change never reached its commit
        if not read_only:
            _discard(path)
        return current
    candidates = _unwrapped(staged, passphrase) or _unwrapped(current, passphrase)
    if not candidates:
        return None
    done = _recorded_with_keys(path, candidates, _digest(data), read_only=read_only)
    if not read_only:
        if done:
            _install(path)
        else:
            _discard(path)
    return staged if done else current


def _parses(data: bytes) -> keyslot.Keyslot | None:
    try:
        return keyslot.parse(data)
    except NotAVault:
        return None


def _unwrapped(slot: keyslot.Keyslot, passphrase: str) -> list[bytes]:
    try:
        return list(keyslot.unwrap(slot, passphrase).values())
    except (WrongPassphrase, NotAVault):
        return []


def _recorded_with_keys(path: Path, keys: list[bytes], digest: str, *, read_only: bool) -> bool:
    for raw in keys:
        try:
            conn = db.connect(path, keyslot.raw_key_literal(raw), read_only=read_only)
        except WrongPassphrase:
            continue
        try:
            return recorded(conn, digest)
        finally:
            conn.close()
    return False  # no key opens the vault: the staged file cannot belong to a change of this vault
