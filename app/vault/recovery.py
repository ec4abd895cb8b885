"""Organisational passphrase recovery (opt-in) and the panic action.

Design (docs/SECURITY.md and docs/FORMAT.md, "Recovery and panic"):

* ``enable``: the vault is re-encrypted under a random 256-bit raw SQLCipher key K.  K is wrapped under
  the passphrase in the keyslot file (:mod:`app.vault.keyslot`) and split into k-of-n SLIP-39 word
  shares (``shamir-mnemonic``, SatoshiLabs' reference implementation) printed once for headquarters.
* opening: the passphrase unwraps K from the keyslot; the vault opens with K (:func:`resolve_key`).
* changing the passphrase only rewraps K: a staged keyslot, the ``passphrase_changed`` event (the commit
  point), then an atomic replace of the keyslot (:mod:`app.vault.keyslot_change`).
* ``recover``: k shares give K, which opens the vault; a new passphrase gets a new keyslot.
* ``panic``: lock at once and, when configured or asked, destroy the keyslot (overwrite, fsync, unlink):
  then the vault file can be read only with the shares.

Crash safety: the new key is written to the keyslot as ``pending`` *before* the vault is re-encrypted
(a copy and an atomic rename, as for a passphrase change), and promoted to ``current`` after.  At every
moment one of the keys in the keyslot, or the passphrase itself, opens the vault; :func:`resolve_key`
finds which and finishes or rolls back an interrupted change.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from shamir_mnemonic import MnemonicError, combine_mnemonics, generate_mnemonics
from shamir_mnemonic.share import Share

from app.durable import sync_folder
from app.errors import EvidenceVaultError, InvalidInput, NotAVault, WrongPassphrase
from app.vault import custody, db, keyslot, keyslot_change
from app.vault.lock import VaultLock
from app.vault.passphrase import check_passphrase, normalise

SCHEME = "SLIP-39"
MAX_SHARES = 16
# SLIP-39's master-secret encryption cost (2500 * 2**e PBKDF2 rounds); the secret is random, so 1 is ample.
_ITERATION_EXPONENT = 1


class RecoveryFailed(EvidenceVaultError):
    default_message = ("The recovery shares could not unlock this vault. Check each line was typed exactly "
                       "as written, and that enough shares were given.")


@dataclass(frozen=True)
class RecoverySetup:
    """What ``enable`` produced.  ``shares`` are shown once and never stored by the application."""

    shares: list[str]
    threshold: int
    fingerprint: str
    panic_destroys_keys: bool


@dataclass(frozen=True)
class PanicResult:
    locked: bool
    keys_destroyed: bool
    message: str


# -- opening -------------------------------------------------------------------------------------

def _opens(path: Path, key: str, *, read_only: bool = False) -> bool:
    """Does ``key`` open the file?  Read-write unless ``read_only``: opening read-write rolls back a
    transaction a crash interrupted (a hot journal), which a read-only probe cannot read past."""
    try:
        db.connect(path, key, read_only=read_only).close()
    except WrongPassphrase:
        return False
    return True


def remove_stale_copies(path: Path) -> None:
    """Remove re-encryption copies left by a crash (``.<name>.rekey-*``; call with the lock held)."""
    for leftover in path.parent.glob(f".{path.name}.rekey-*"):
        leftover.unlink(missing_ok=True)


def resolve_key(path: Path, passphrase: str, *, read_only: bool = False) -> tuple[str, bytes | None]:
    """The SQLCipher key string that opens ``path`` with ``passphrase``, and the raw key K (or None
    when the vault is keyed with the passphrase itself).  Call with the vault lock held: it finishes or
    rolls back an interrupted enable/rotation (unless ``read_only``: then nothing is written).
    Raises WrongPassphrase, NotAVault."""
    path = Path(path)
    passphrase = normalise(passphrase)
    if not keyslot.exists(path):
        return passphrase, None
    in_force = None
    staged = keyslot_change.staged_bytes(path)
    if staged is not None:  # a passphrase change was interrupted: its event decides (app.vault.keyslot_change)
        in_force = keyslot_change.settle(path, passphrase, staged, read_only=read_only)
        if in_force is None:  # the passphrase unwraps neither keyslot: leave both for the right one
            if _opens(path, passphrase, read_only=read_only):
                return passphrase, None
            raise WrongPassphrase()
    if not read_only:
        keyslot.remove_stale(path)  # after settling: the staged keyslot is one of these temporaries
        remove_stale_copies(path)
    slot = in_force or keyslot.read(path)
    try:
        keys = keyslot.unwrap(slot, passphrase)
    except WrongPassphrase:
        # A file re-encrypted under the passphrase itself (a change that bypassed the keyslot) still
        # opens; the stale keyslot is left for an administrator to remove.  Otherwise: wrong passphrase.
        if _opens(path, passphrase, read_only=read_only):
            return passphrase, None
        raise
    if "pending" not in keys:
        return keyslot.raw_key_literal(keys["current"]), keys["current"]
    pending = keys["pending"]
    if _opens(path, keyslot.raw_key_literal(pending), read_only=read_only):  # re-encrypted: promote the key
        if not read_only:
            keyslot.write(path, keyslot.build(passphrase, {"current": pending},
                                              panic_destroys_keys=slot.panic_destroys_keys))
        return keyslot.raw_key_literal(pending), pending
    if "current" in keys:
        if _opens(path, keyslot.raw_key_literal(keys["current"]), read_only=read_only):
            if not read_only:
                keyslot.write(path, keyslot.build(passphrase, {"current": keys["current"]},
                                                  panic_destroys_keys=slot.panic_destroys_keys))
            return keyslot.raw_key_literal(keys["current"]), keys["current"]
    elif _opens(path, passphrase, read_only=read_only):
        # Recovery was being enabled when the program stopped; its shares were never shown: undo.
        if not read_only:
            keyslot.destroy(path)
        return passphrase, None
    if "current" in keys and _opens(path, passphrase, read_only=read_only):
        return passphrase, None  # re-encrypted under the passphrase itself: the keyslot is stale
    raise NotAVault("The vault's key file does not match the vault. Open it with the recovery shares "
                    "held by your headquarters ('evidence-vault recover').")


def open_vault(path: str | os.PathLike[str], passphrase: str, *, actor: str) -> Any:
    """Open a vault whether or not recovery is enabled (``Vault.open`` consults the keyslot itself)."""
    from app.vault.vault import Vault

    return Vault.open(path, passphrase, actor=actor)


# -- re-encryption -------------------------------------------------------------------------------

def _reencrypt(conn: sqlcipher3.Connection, path: Path, new_key: str, *, actor: str,
               details: dict[str, Any]) -> None:
    """Copy the database into a new file keyed with ``new_key``, append a ``recovery_configured`` event
    there, fsync, and rename it over ``path`` (as app.vault.rekey does for a passphrase change).
    ``conn`` is closed on return."""
    temp = path.with_name(f".{path.name}.rekey-{secrets.token_hex(6)}")
    attached = False
    try:
        conn.execute("ATTACH DATABASE ? AS rekey KEY ?", (str(temp), new_key))
        attached = True
        for pragma in db.cipher_pragmas(new_key, schema="rekey"):
            conn.execute(pragma)
        with db.transaction(conn):
            conn.execute("SELECT sqlcipher_export('rekey')").fetchall()
            custody.append_event(conn, actor=actor, action="recovery_configured", schema="rekey",
                                 details=details)
        conn.execute("DETACH DATABASE rekey")
        attached = False
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
        sync_folder(path.parent)
    except BaseException as exc:
        if attached:
            conn.execute("DETACH DATABASE rekey")
        temp.unlink(missing_ok=True)
        if isinstance(exc, sqlcipher3.Error):
            raise (db.translate(exc) or exc) from exc
        raise
    finally:
        Path(f"{temp}-journal").unlink(missing_ok=True)
        conn.close()


def _locked(path: Path) -> VaultLock:
    if not path.is_file():
        raise InvalidInput(f"There is no vault file at {path}.")
    lock = VaultLock(path)
    lock.acquire()  # VaultInUse when open elsewhere: recovery changes need the vault closed
    return lock


def _check_counts(shares: int, threshold: int) -> None:
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise InvalidInput(f"Choose between 2 and {MAX_SHARES} shares, and a threshold of at least 2 and at most "
                           "the number of shares (for example 5 shares, any 3 of which recover the vault).")


def enable(path: str | os.PathLike[str], passphrase: str, *, actor: str, shares: int, threshold: int,
           panic_destroys_keys: bool = False) -> RecoverySetup:
    """Enable recovery (or rotate its key: old shares stop working).  The vault must be closed."""
    _check_counts(shares, threshold)
    path = Path(path)
    lock = _locked(path)
    try:
        old_key, old_raw = resolve_key(path, passphrase)
        conn = db.connect(path, old_key)
        new_raw = secrets.token_bytes(keyslot.KEY_BYTES)
        try:
            words = generate_mnemonics(1, [(threshold, shares)], new_raw,
                                       iteration_exponent=_ITERATION_EXPONENT)[0]
        except BaseException:
            conn.close()
            raise
        pending = {"pending": new_raw, **({"current": old_raw} if old_raw else {})}
        try:
            keyslot.write(path, keyslot.build(passphrase, pending, panic_destroys_keys=panic_destroys_keys))
        except BaseException:
            conn.close()
            raise
        fingerprint = keyslot.key_fingerprint(new_raw)
        try:
            _reencrypt(conn, path, keyslot.raw_key_literal(new_raw), actor=actor, details={
                "enabled": True, "scheme": SCHEME, "threshold": threshold, "shares": shares,
                "key_fingerprint": fingerprint, "panic_destroys_keys": panic_destroys_keys,
                "rotated": old_raw is not None})
        except BaseException:
            if old_raw is not None:  # put the old keyslot back; the vault file is unchanged
                keyslot.write(path, keyslot.build(passphrase, {"current": old_raw},
                                                  panic_destroys_keys=panic_destroys_keys))
            else:
                keyslot.destroy(path)
            raise
        keyslot.write(path, keyslot.build(passphrase, {"current": new_raw}, panic_destroys_keys=panic_destroys_keys))
        return RecoverySetup(shares=list(words), threshold=threshold, fingerprint=fingerprint,
                             panic_destroys_keys=panic_destroys_keys)
    finally:
        lock.release()


def change_passphrase(path: str | os.PathLike[str], old_passphrase: str, new_passphrase: str, *, actor: str) -> None:
    """For a recovery-enabled vault: rewrap K under a new passphrase (the vault file is not rewritten)."""
    path = Path(path)
    new_passphrase = check_passphrase(new_passphrase)
    lock = _locked(path)
    try:
        if not keyslot.exists(path):
            raise InvalidInput("Recovery is not enabled for this vault; change the passphrase with 'passwd'.")
        slot = keyslot.read(path)
        _, raw = resolve_key(path, old_passphrase)
        assert raw is not None
        _rewrap(path, raw, new_passphrase, slot.panic_destroys_keys, actor=actor, method="keyslot rewrap")
    finally:
        lock.release()


def _rewrap(path: Path, raw: bytes, new_passphrase: str, panic_destroys_keys: bool, *, actor: str,
            method: str) -> None:
    conn = db.connect(path, keyslot.raw_key_literal(raw))
    try:
        rewrap_keyslot(conn, path, raw, new_passphrase, actor=actor, method=method,
                       panic_destroys_keys=panic_destroys_keys)
    finally:
        conn.close()


def rewrap_keyslot(conn: sqlcipher3.Connection, path: Path, raw: bytes, new_passphrase: str, *, actor: str,
                   method: str = "keyslot rewrap", panic_destroys_keys: bool | None = None) -> None:
    """Wrap K under ``new_passphrase`` and record ``passphrase_changed`` through ``conn`` (the open vault's
    connection, keyed with K) as one step: the event is the commit point and a staged keyslot is installed
    after it (app.vault.keyslot_change).  ``Vault.change_passphrase`` calls this for a recovery-enabled
    vault instead of re-encrypting the file."""
    if panic_destroys_keys is None:
        try:
            panic_destroys_keys = keyslot.read(path).panic_destroys_keys
        except EvidenceVaultError:
            panic_destroys_keys = False
    keyslot_change.change(conn, path, raw, new_passphrase, actor=actor, method=method,
                          panic_destroys_keys=panic_destroys_keys)


# -- recovery ------------------------------------------------------------------------------------

def clean_share_lines(lines: list[str]) -> list[str]:
    """One share per non-empty line; spacing and capitals do not matter."""
    return [" ".join(line.lower().split()) for line in lines if line.strip()]


def key_from_shares(lines: list[str]) -> bytes:
    """Combine SLIP-39 shares into K.  Raises RecoveryFailed with what is wrong (too few, mistyped...)."""
    shares = clean_share_lines(lines)
    if not shares:
        raise RecoveryFailed("No recovery shares were given. Type one share per line.")
    for number, share in enumerate(shares, start=1):
        try:
            Share.from_mnemonic(share)
        except MnemonicError as exc:
            raise RecoveryFailed(f"Share {number} is not valid (a word is mistyped or missing). Check it "
                                 "against the paper copy.", debug_detail=str(exc)) from exc
    needed = Share.from_mnemonic(shares[0]).member_threshold
    distinct = len(set(shares))
    if distinct < needed:
        raise RecoveryFailed(f"Not enough recovery shares: {needed} different shares are needed, "
                             f"{distinct} were given. Ask another share holder.")
    try:
        key = combine_mnemonics(shares)
    except MnemonicError as exc:
        raise RecoveryFailed(debug_detail=str(exc)) from exc
    if len(key) != keyslot.KEY_BYTES:
        raise RecoveryFailed("These shares do not hold an Evidence Vault key.")
    return bytes(key)


def recover(path: str | os.PathLike[str], share_lines: list[str], new_passphrase: str, *, actor: str) -> str:
    """Open the vault with k shares and set a new passphrase (a new keyslot).  Returns K's fingerprint."""
    path = Path(path)
    new_passphrase = check_passphrase(new_passphrase)
    raw = key_from_shares(share_lines)
    lock = _locked(path)
    try:
        remove_stale_copies(path)
        if not _opens(path, keyslot.raw_key_literal(raw)):
            raise RecoveryFailed("These recovery shares belong to another vault, or to an older recovery key "
                                 "that was replaced. Use the shares handed out most recently for this vault.")
        keyslot_change.settle_with_key(path, raw)  # an interrupted passphrase change: finish or undo it first
        keyslot.remove_stale(path)
        panic_setting = False
        if keyslot.exists(path):
            try:
                panic_setting = keyslot.read(path).panic_destroys_keys
            except NotAVault:
                panic_setting = False
        _rewrap(path, raw, new_passphrase, panic_setting, actor=actor, method="recovery shares")
        return keyslot.key_fingerprint(raw)
    finally:
        lock.release()


# -- panic ---------------------------------------------------------------------------------------

def panic(path: str | os.PathLike[str], *, vault: Any | None = None, destroy_keys: bool | None = None) -> PanicResult:
    """Lock at once (close ``vault`` if given) and destroy the local key material when ``destroy_keys``
    is True, or when it is None and the keyslot says so (``recovery enable --panic-destroys-keys``).

    Never raises for the locking part; destroying needs recovery enabled (else nothing local exists to
    destroy beyond the passphrase in the investigator's memory)."""
    path = Path(path)
    locked = False
    if vault is not None:
        try:
            vault.close()
        finally:
            locked = True
    if destroy_keys is None:
        try:
            destroy_keys = keyslot.exists(path) and keyslot.read(path).panic_destroys_keys
        except EvidenceVaultError:
            destroy_keys = True  # a damaged keyslot is of no use to its owner either
    if not destroy_keys:
        return PanicResult(locked=locked, keys_destroyed=False, message="The vault is locked.")
    if not keyslot.exists(path):
        return PanicResult(locked=locked, keys_destroyed=False, message=(
            "The vault is locked. Recovery is not enabled, so there is no key file to destroy: the passphrase "
            "alone protects the vault."))
    keyslot.destroy(path)
    return PanicResult(locked=locked, keys_destroyed=True, message=(
        "The vault is locked and its key file was destroyed. It can now be opened only with the recovery "
        "shares held by headquarters."))

