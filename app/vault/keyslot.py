"""The keyslot: the vault's raw SQLCipher key, wrapped under the passphrase, in a sidecar file.

Only vaults with organisational recovery enabled have one (see app.vault.recovery and docs/FORMAT.md,
"Recovery and panic").  Such a vault is encrypted with a random 256-bit raw key K (SQLCipher
``PRAGMA key = "x'<64 hex>'"``, no KDF); K itself is kept here, encrypted with AES-256-GCM under a key
derived from the passphrase with PBKDF2-HMAC-SHA512, and is also split into Shamir shares held by
headquarters.  Changing the passphrase only rewraps K; destroying this file (panic) leaves the vault
readable only with the shares.

File ``<vault>.keyslot``: UTF-8 canonical JSON.  All fields except the ciphertexts are bound to each
ciphertext as GCM associated data, so a changed iteration count, salt or setting fails to unwrap.
Slot roles: ``current`` is the key the vault file uses; ``pending`` is a key the vault is being
re-encrypted to (written before the re-encryption, so a crash at any point leaves a key that opens the
vault).  The file is replaced atomically (temporary sibling, fsync, rename, fsync of the folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.durable import sync_folder
from app.errors import DiskFull, EvidenceVaultError, NotAVault, WrongPassphrase
from app.vault import db
from app.vault.canonical import canonical_json
from app.vault.passphrase import normalise

FORMAT = "evidence-vault-keyslot"
VERSION = 1
KDF = "PBKDF2-HMAC-SHA512"
CIPHER = "AES-256-GCM"
KEY_BYTES = 32
ROLES = ("current", "pending")
NONCE_BYTES = 12
TAG_BYTES = 16  # AES-GCM's tag, after the wrapped key in each slot's ciphertext
_MAX_FILE = 64 * 1024
_MAX_ITERATIONS = 50_000_000


def keyslot_path(vault_path: Path) -> Path:
    vault_path = Path(vault_path)
    return vault_path.with_name(vault_path.name + ".keyslot")


def exists(vault_path: Path) -> bool:
    """True when the vault uses a raw key kept in a keyslot (recovery enabled)."""
    return os.path.lexists(keyslot_path(vault_path))


def raw_key_literal(key: bytes) -> str:
    """The SQLCipher key string for a raw 256-bit key (``x'<64 hex>'``: SQLCipher skips its KDF)."""
    if len(key) != KEY_BYTES:
        raise ValueError("a raw vault key has 32 bytes")
    return f"x'{key.hex()}'"


def key_fingerprint(key: bytes) -> str:
    """A short public identifier of K (to match shares and keyslot to a vault); reveals nothing of K."""
    return hashlib.sha256(b"evidence-vault recovery key fingerprint\x00" + key).hexdigest()[:16]


@dataclass
class Keyslot:
    """A parsed keyslot file; ``slots`` maps role -> (nonce, ciphertext)."""

    iterations: int
    salt: bytes
    panic_destroys_keys: bool
    fingerprint: str
    slots: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)

    def header(self) -> dict[str, object]:
        return {"format": FORMAT, "version": VERSION, "kdf": KDF, "iterations": self.iterations,
                "salt": self.salt.hex(), "cipher": CIPHER, "panic_destroys_keys": self.panic_destroys_keys,
                "fingerprint": self.fingerprint}

    def aad(self, role: str) -> bytes:
        return canonical_json({**self.header(), "role": role})

    def to_bytes(self) -> bytes:
        return canonical_json({**self.header(), "slots": {
            role: {"nonce": nonce.hex(), "ciphertext": sealed.hex()} for role, (nonce, sealed) in self.slots.items()}})


def _kek(passphrase: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", normalise(passphrase).encode("utf-8"), salt, iterations, 32)


def _damaged(detail: str) -> NotAVault:
    return NotAVault("The vault's key file (.keyslot) is damaged. Open the vault with the recovery shares "
                     "held by your headquarters ('evidence-vault recover').", debug_detail=detail)


class KeyslotDamaged(WrongPassphrase):
    """The passphrase is right (the format shows it) but a key slot does not unwrap: the file is damaged.

    A WrongPassphrase for the callers' control flow: whatever they do when the passphrase does not unwrap
    the keyslot (app.vault.recovery tries the passphrase on the vault file itself, then re-raises) they do
    here too; only the message differs."""

    default_message = ("The passphrase is right, but the vault's key file (.keyslot) beside the vault is damaged. "
                       "Open the vault with the recovery shares held by your headquarters ('evidence-vault "
                       "recover'), and keep the damaged key file for examination.")


def parse(data: bytes) -> Keyslot:
    """Parse a keyslot file; raises NotAVault when it is not one or is damaged."""
    try:
        doc = json.loads(data.decode("utf-8"))
        if doc["format"] != FORMAT or doc["version"] != VERSION or doc["kdf"] != KDF or doc["cipher"] != CIPHER:
            raise ValueError("unknown format, version, KDF or cipher")
        iterations = int(doc["iterations"])
        if not 1 <= iterations <= _MAX_ITERATIONS:
            raise ValueError("iteration count out of range")
        slots = {}
        for role, slot in doc["slots"].items():
            if role not in ROLES:
                raise ValueError(f"unknown slot {role!r}")
            nonce, sealed = bytes.fromhex(slot["nonce"]), bytes.fromhex(slot["ciphertext"])
            # Fixed by AES-256-GCM over a 32-byte key: any other length can only be damage.
            if len(nonce) != NONCE_BYTES or len(sealed) != KEY_BYTES + TAG_BYTES:
                raise ValueError(f"slot {role!r}: a {len(nonce)}-byte nonce, a {len(sealed)}-byte ciphertext")
            slots[role] = (nonce, sealed)
        if not slots:
            raise ValueError("no key slot")
        return Keyslot(iterations=iterations, salt=bytes.fromhex(doc["salt"]),
                       panic_destroys_keys=bool(doc["panic_destroys_keys"]), fingerprint=str(doc["fingerprint"]),
                       slots=slots)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise _damaged(f"{type(exc).__name__}: {exc}") from exc


def build(passphrase: str, keys: dict[str, bytes], *, panic_destroys_keys: bool,
          iterations: int | None = None) -> Keyslot:
    """Wrap ``keys`` (role -> raw key) under ``passphrase`` with a fresh salt and nonces."""
    slot = Keyslot(iterations=iterations or db.kdf_iter(), salt=secrets.token_bytes(16),
                   panic_destroys_keys=panic_destroys_keys, fingerprint=key_fingerprint(keys.get("current")
                                                                                     or keys["pending"]))
    aead = AESGCM(_kek(passphrase, slot.salt, slot.iterations))
    for role, key in keys.items():
        if role not in ROLES or len(key) != KEY_BYTES:
            raise ValueError(f"bad key slot {role!r}")
        nonce = secrets.token_bytes(12)
        slot.slots[role] = (nonce, aead.encrypt(nonce, key, slot.aad(role)))
    return slot


def unwrap(slot: Keyslot, passphrase: str) -> dict[str, bytes]:
    """role -> raw key.  Raises WrongPassphrase when the passphrase does not unwrap the slots, and
    KeyslotDamaged (a WrongPassphrase) when the passphrase is shown right but a slot does not unwrap.

    AES-GCM alone cannot tell a wrong passphrase from a damaged slot: both fail its tag.  What the format
    has besides: every slot is wrapped under the same passphrase, so one slot that unwraps proves it right;
    and the header's ``fingerprint`` is a hash of the key, so the key bytes decrypted without the tag check
    (GCM is counter mode underneath) matching it prove the passphrase right and the key intact: then the
    tag, or a header field bound to it (e.g. ``panic_destroys_keys``), was damaged.  Damage in the wrapped
    key itself, the nonce, the salt or the iteration count still reads as a wrong passphrase."""
    kek = _kek(passphrase, slot.salt, slot.iterations)
    aead = AESGCM(kek)
    keys: dict[str, bytes] = {}
    failed: list[str] = []
    for role, (nonce, sealed) in slot.slots.items():
        try:
            key = aead.decrypt(nonce, sealed, slot.aad(role))
        except (InvalidTag, ValueError):
            failed.append(role)
            continue
        if len(key) != KEY_BYTES:
            raise _damaged(f"slot {role} holds {len(key)} bytes")
        keys[role] = key
    if not failed:
        return keys
    detail = f"keyslot {', '.join(failed)}: the tag does not check"
    if keys:
        raise KeyslotDamaged(debug_detail=f"{detail}, but {', '.join(keys)} unwraps")
    if any(key_fingerprint(_unchecked_key(kek, *slot.slots[role])) == slot.fingerprint for role in failed):
        raise KeyslotDamaged(debug_detail=f"{detail}, but the key decrypted matches the fingerprint")
    raise WrongPassphrase(debug_detail=detail)


def _unchecked_key(kek: bytes, nonce: bytes, sealed: bytes) -> bytes:
    """The wrapped key decrypted without checking the tag: AES-GCM with a 96-bit nonce encrypts with AES-CTR
    from the counter block nonce || 2 (NIST SP 800-38D; block 1 masks the tag).  Compared with the
    fingerprint only, never used as a key."""
    if len(nonce) != NONCE_BYTES or len(sealed) < KEY_BYTES:
        return b""
    decryptor = Cipher(algorithms.AES(kek), modes.CTR(nonce + (2).to_bytes(4, "big"))).decryptor()
    return decryptor.update(sealed[:KEY_BYTES]) + decryptor.finalize()


def read(vault_path: Path) -> Keyslot:
    path = keyslot_path(vault_path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except FileNotFoundError as exc:
        raise EvidenceVaultError("This vault has no recovery key file; recovery is not enabled.",
                                 debug_detail=str(path)) from exc
    if len(data) > _MAX_FILE:
        raise _damaged("file too large")
    return parse(data)


def write(vault_path: Path, slot: Keyslot) -> None:
    """Atomically replace (or create) the keyslot file: temp sibling, fsync, rename, fsync folder."""
    path = keyslot_path(vault_path)
    remove_stale(vault_path)
    temp = path.with_name(f".{path.name}-{secrets.token_hex(6)}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(slot.to_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        sync_folder(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if exc.errno == 28:  # ENOSPC
            raise DiskFull(debug_detail=str(exc)) from exc
        raise EvidenceVaultError("The vault's key file could not be written. Check that the drive is writable; "
                                 "nothing was changed.", debug_detail=str(exc)) from exc


def remove_stale(vault_path: Path) -> None:
    """Remove temporary keyslot files left by a crash (call with the vault lock held)."""
    path = keyslot_path(vault_path)
    for leftover in path.parent.glob(f".{path.name}-*"):
        _shred(leftover)


def _shred(path: Path) -> None:
    """Overwrite with random bytes, fsync, unlink.  (Flash wear levelling may keep old blocks: see
    docs/SECURITY.md.)"""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return
    try:
        size = os.fstat(fd).st_size
        os.pwrite(fd, secrets.token_bytes(max(size, 1)), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)


def destroy(vault_path: Path) -> bool:
    """Overwrite, fsync and unlink the keyslot (and any temporary copies).  True if one existed."""
    path = keyslot_path(vault_path)
    existed = os.path.lexists(path)
    remove_stale(vault_path)
    _shred(path)
    with contextlib.suppress(OSError):
        sync_folder(path.parent)
    return existed
