"""The vault service: one encrypted SQLCipher file per vault, opened by one process at a time.

Every public method is safe to call from several threads (one lock serialises database work); the
GUI runs long calls (ingest, verify) in a worker thread.  See docs/ARCHITECTURE.md ("The vault
service") for the contract and docs/FORMAT.md ("Vault file (SQLCipher)") for the file format.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import hmac
import io
import os
import secrets
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.durable import sync_folder
from app.errors import (
    DiskFull,
    EvidenceVaultError,
    InvalidInput,
    NotAVault,
    NotFound,
    VaultExists,
    VaultNotFound,
)
from app.progress import CancelToken, ProgressCallback
from app.vault import blobs, custody, db, keys, keyslot, merkle, record_digest, schema
from app.vault import search as search_index
from app.vault.actor_profiles import ActorProfileMixin
from app.vault.events import Event, utc_now
from app.vault.identity import FORMAT_NAME, IdentityMixin
from app.vault.ingest import guess_type, open_source, probe, safe_name, store_item
from app.vault.lock import VaultLock
from app.vault.models import IngestResult, Problem, SearchHit, VerifyReport
from app.vault.org_seal_store import OrgSealMixin
from app.vault.passphrase import check_passphrase, normalise
from app.vault.pending_outputs import PendingOutputsMixin
from app.vault.records import RecordsMixin

# Actions only the vault itself records (each with its own checks); record_event refuses them.
_INTERNAL_ACTIONS = frozenset({
    "vault_created", "item_ingested", "passphrase_changed", "checkpoint_made", "seal_imported", "seal_removed",
})
DAMAGED_MESSAGE = ("The vault file is damaged (an encrypted page failed its check). Keep this copy unchanged "
                   "for examination and restore the vault from a backup.")


class ReadOnlyVault(EvidenceVaultError):
    """A change was asked of a vault opened read-only."""

    default_message = ("The vault is open read-only, so nothing can be changed. Open it again without "
                       "read-only (on a writable drive) to make changes.")


def _temp_sibling(path: Path, purpose: str) -> Path:
    return path.with_name(f".{path.name}.{purpose}-{secrets.token_hex(6)}")


def _remove_stale(path: Path, purpose: str) -> None:
    """Remove temp files left by an interrupted create / passphrase change (call with the lock held)."""
    prefix = f".{path.name}.{purpose}-"
    for name in os.listdir(path.parent):  # not glob(): vault names may contain [ ] * ?
        if name.startswith(prefix):
            (path.parent / name).unlink(missing_ok=True)


def _disk_full(exc: BaseException) -> bool:
    """Did a write fail for want of space (SQLite says "database or disk is full")?"""
    return isinstance(exc, DiskFull) or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
        isinstance(exc, sqlcipher3.Error) and "full" in str(exc).lower())


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput("Say who is working (the actor name) before opening a vault.")
    return actor.strip()


class Vault(RecordsMixin, OrgSealMixin, IdentityMixin, ActorProfileMixin, PendingOutputsMixin):
    """An open vault.  Create with :meth:`create`, open with :meth:`open`, always :meth:`close`."""

    _read_only = False  # set by open(read_only=True)

    def __init__(self, path: Path, conn: sqlcipher3.Connection, lock: VaultLock, actor: str) -> None:
        self.path = path
        self.actor = actor
        self._conn: sqlcipher3.Connection | None = conn
        self._file_lock = lock
        self._lock = threading.RLock()
        self._leaves = custody.LeafCache()
        self._open_readers: weakref.WeakSet[BinaryIO] = weakref.WeakSet()
        self._signing_key: Ed25519PrivateKey | None = None
        self._seal: keys.SealIdentity | None = None
        self._raw_key: bytes | None = None  # recovery enabled: the vault's raw key K (app.vault.recovery)
        self._record_key_cache: bytes | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], passphrase: str, *, actor: str,
               organisation: str = "") -> Vault:
        """Create a new, empty vault.  Raises WeakPassphrase, VaultExists."""
        path = Path(path)
        actor = _check_actor(actor)
        passphrase = check_passphrase(passphrase)
        if path.is_dir():
            raise InvalidInput("This is a folder. Give the name of a new vault file inside it, for example "
                               f"{path / 'case.vault'}.", debug_detail=str(path))
        if path.exists() and not path.is_file():
            raise InvalidInput("This is a device or other special file, not a place for a vault. Give the name "
                               "of a new file.", debug_detail=str(path))
        if path.exists() or path.is_symlink():
            raise VaultExists(debug_detail=str(path))
        if not path.parent.is_dir():
            raise VaultNotFound(f"The folder {path.parent} does not exist. Create it first.")
        lock = VaultLock(path)
        lock.acquire()
        try:
            _remove_stale(path, "creating")
            if path.exists():
                raise VaultExists(debug_detail=str(path))
            signing = keys.new_signing_key()
            key_id = keys.key_id(signing)
            seal = keys.new_seal_identity(f"Evidence Vault {key_id}", organisation=organisation)
            temp = _temp_sibling(path, "creating")
            try:
                conn = db.connect(temp, passphrase, create=True)
                try:
                    now = utc_now()
                    with db.transaction(conn):
                        version = schema.migrate(conn, now=now)
                        conn.executemany("INSERT INTO settings(key, value) VALUES (?, ?)", [
                            ("format", FORMAT_NAME), ("organisation", organisation), ("created_at", now)])
                        conn.executemany(
                            "INSERT INTO keys(name, algorithm, private_key, public_pem, certificate_pem, key_id, "
                            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [("signing", "Ed25519", keys.private_key_bytes(signing), keys.public_key_pem(signing),
                              None, key_id, now),
                             ("seal", "RSA-3072", seal.key_pem, b"", seal.cert_pem, key_id, now)])
                        record_digest.store_record_key(conn, record_digest.new_record_key(), key_id=key_id,
                                                       now=now)
                        custody.append_event(conn, actor=actor, action="vault_created", time=now, details={
                            "format": FORMAT_NAME, "schema_version": version, "key_id": key_id,
                            "public_key_pem": keys.public_key_pem(signing).decode("ascii")})
                finally:
                    conn.close()
                with open(temp, "rb+") as handle:
                    os.fsync(handle.fileno())
                try:
                    os.link(temp, path)  # fails if a file appeared at path meanwhile; never overwrites
                except FileExistsError as exc:
                    raise VaultExists(debug_detail=str(path)) from exc
            finally:
                temp.unlink(missing_ok=True)
                Path(f"{temp}-journal").unlink(missing_ok=True)
            sync_folder(path.parent)
            lock.relock_vault_file()  # the file exists only now
            return cls._open_locked(path, passphrase, actor, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: str, *, actor: str, read_only: bool = False) -> Vault:
        """Open an existing vault.  Raises VaultNotFound, WrongPassphrase, VaultInUse, NotAVault.

        ``read_only``: the file is opened read-only (SQLite ``mode=ro`` and ``query_only``) under a
        shared lock, works from read-only media, and leaves the vault file byte-for-byte unchanged;
        every method that would write raises :class:`ReadOnlyVault`, and ``verify`` records nothing."""
        path = Path(path)
        actor = _check_actor(actor)
        if not path.exists():
            raise VaultNotFound(debug_detail=str(path))
        if path.is_dir():
            raise NotAVault("This is a folder, not a vault file.", debug_detail=str(path))
        if not path.is_file():
            raise NotAVault("This is a device or other special file, not a vault file.", debug_detail=str(path))
        path = Path(os.path.realpath(path))  # a passphrase change replaces the real file, not a symlink
        lock = VaultLock(path, shared=read_only)
        lock.acquire()
        try:
            if not read_only:
                _remove_stale(path, "rekey")
            key, raw_key = normalise(passphrase), None
            if keyslot.exists(path):  # recovery enabled: the passphrase unwraps the vault's raw key
                from app.vault.recovery import resolve_key

                key, raw_key = resolve_key(path, key, read_only=read_only)
            vault = cls._open_locked(path, key, actor, lock, read_only=read_only)
            vault._raw_key = raw_key
        except BaseException:
            lock.abandon()  # a file that is not a vault keeps no .lock beside it
            raise
        if not read_only:
            # What an export killed half-way left beside its output holds evidence: remove it now.  A
            # failure here must not keep the investigator out of the vault; the next opening tries again.
            with contextlib.suppress(EvidenceVaultError, OSError):
                vault.sweep_pending_outputs()
        return vault

    @classmethod
    def _open_locked(cls, path: Path, passphrase: str, actor: str, lock: VaultLock, *,
                     read_only: bool = False) -> Vault:
        conn = db.connect(path, passphrase, read_only=read_only)
        try:
            try:
                is_vault = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").fetchone()
                row = conn.execute("SELECT value FROM settings WHERE key = 'format'").fetchone() if is_vault else None
                version = schema.current_version(conn)
            except sqlcipher3.DatabaseError as exc:  # the key is right (page 1 decrypted): a page failed
                raise NotAVault(DAMAGED_MESSAGE, debug_detail=str(exc)) from exc
            if row is None or row[0] != FORMAT_NAME:
                raise NotAVault("This is an encrypted database, but not an Evidence Vault.")
            if read_only:
                if version < schema.SCHEMA_VERSION:
                    raise NotAVault("This vault was made by an older version and must be upgraded first: open it "
                                    "once without read-only, on a copy if need be.")
                schema.migrate(conn, now=utc_now())  # same version: writes nothing; raises for a newer one
            elif version < schema.SCHEMA_VERSION:
                with db.transaction(conn):
                    schema.migrate(conn, now=utc_now())
            else:
                schema.migrate(conn, now=utc_now())  # raises for a vault from a newer program
        except BaseException:
            conn.close()
            raise
        vault = cls(path, conn, lock, actor)
        vault._read_only = read_only
        return vault

    def close(self) -> None:
        """Close the database, drop keys and caches, release the lock.  Idempotent."""
        with self._lock:
            conn, self._conn = self._conn, None
            self._signing_key = None
            self._seal = None
            self._raw_key = None
            self._record_key_cache = None
            self._leaves.clear()
            readers = list(self._open_readers)
            self._open_readers.clear()
            if conn is not None:
                conn.close()
            self._file_lock.release()
        # Their last decrypted chunk must not outlive the lock.  Closed outside self._lock: a thread
        # busy reading holds its stream's own lock while it waits for ours (a deadlock otherwise); its
        # read now ends in "The vault is locked" and lets go.
        for reader in readers:
            reader.close()

    lock = close  # "lock the vault" in the GUI is closing it

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def read_only(self) -> bool:
        """Opened with ``read_only=True``: nothing is ever written to the vault file."""
        return self._read_only

    def _check_writable(self) -> None:
        if self._read_only:
            raise ReadOnlyVault()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internal helpers --------------------------------------------------------------------
    def _connection(self) -> sqlcipher3.Connection:
        conn = self._conn
        if conn is None:
            raise EvidenceVaultError("The vault is locked. Open it again with the passphrase.")
        return conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlcipher3.Connection]:
        with self._lock:
            try:
                yield self._connection()
            except sqlcipher3.Error as exc:
                raise (db.translate(exc) or exc) from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlcipher3.Connection]:
        self._check_writable()
        with self._lock:
            conn = self._connection()
            try:
                with db.transaction(conn):
                    yield conn
            except BaseException:
                self._leaves.clear()  # a rolled-back event may have been cached
                raise

    def _record_key(self, conn: sqlcipher3.Connection) -> bytes:
        """The HMAC key of record digests (app.vault.record_digest), loaded once per open."""
        if self._record_key_cache is None:
            self._record_key_cache = record_digest.require_record_key(conn)
        return self._record_key_cache

    def derived_key(self, label: bytes) -> bytes:
        """A key for ``label`` (HMAC-SHA256 of it under the vault's record key), e.g. the export
        commitment key of app/export/commitments.py: callers get a key of their own, never the record key."""
        with self._read() as conn:
            return hmac.new(self._record_key(conn), label, hashlib.sha256).digest()

    # -- originals ---------------------------------------------------------------------------
    def ingest_file(self, path: str | bytes | os.PathLike[str], *, case_id: int | None = None, kind: str | None = None,
                    title: str | None = None, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> IngestResult:
        """Copy one file into the vault (streamed, hashed in the same pass), atomically.  Raises FileChanged
        (app.vault.ingest), storing nothing, when the file changes while it is read."""
        self._check_writable()  # before probing the file
        source = Path(os.fsdecode(path))  # bytes paths too: names from other devices may not be UTF-8
        name, raw_hex = safe_name(source)
        with open_source(source) as steady:  # fstat-ed now, before the probe reads the file
            probed = probe(source, name)
            metadata = dict(probed.metadata)
            if raw_hex is not None:
                metadata["original_name_bytes_hex"] = raw_hex
            with self._tx() as conn:
                result = store_item(
                    conn, steady.stream, actor=self.actor, now=utc_now(), name=name, kind=kind or probed.kind,
                    mime=probed.mime, title=title, case_id=case_id, metadata=metadata, warnings=probed.warnings,
                    total=steady.size, progress=progress, cancel=cancel, record_key=self._record_key(conn))
                steady.finish()  # a file that changed while being read rolls the whole item back
                return result

    def ingest_stream(self, stream: BinaryIO, *, name: str, kind: str, case_id: int | None = None,
                      derived_from: int | None = None, derivation: dict[str, Any] | None = None,
                      title: str | None = None, mime: str | None = None,
                      derived_event: tuple[str, dict[str, Any]] | None = None,
                      progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> IngestResult:
        """Store bytes produced in memory or by a pipe (e.g. a redacted derivative), atomically.

        ``derivation`` (e.g. redaction parameters) must be canonical-JSON values; it is stored on the
        item and recorded in the item_ingested event.  ``derived_event`` = (action, details) appends an
        event about the *source* item (e.g. "redacted") in the same transaction, its details completed
        with ``derivative_item`` and ``derivative_sha256``: the copy and its record are one step."""
        safe, _ = safe_name(name)
        if derivation is not None and not isinstance(derivation, dict):
            raise InvalidInput("The derivation must be a dictionary of parameters.")
        if derived_event is not None and (derived_from is None or derived_event[0] in _INTERNAL_ACTIONS):
            raise InvalidInput("An event about the source item needs derived_from and an ordinary action.")
        with self._tx() as conn:
            result = store_item(
                conn, stream, actor=self.actor, now=utc_now(), name=safe, kind=kind,
                mime=mime or guess_type(safe)[1], title=title, case_id=case_id, derived_from=derived_from,
                derivation=derivation, progress=progress, cancel=cancel, record_key=self._record_key(conn))
            if derived_event is not None:
                action, details = derived_event
                source_sha = conn.execute("SELECT sha256 FROM items WHERE id = ?", (derived_from,)).fetchone()
                custody.append_event(conn, actor=self.actor, action=action, item_id=derived_from,
                                     item_sha256=source_sha[0] if source_sha else None,
                                     details={**details, "derivative_item": result.item_id,
                                              "derivative_sha256": result.sha256})
            return result

    def open_original(self, item_id: int) -> BinaryIO:
        """A seekable, read-only binary file object over the stored bytes, decrypted on the fly."""
        with self._read() as conn:
            row = conn.execute("SELECT blob_id FROM items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise NotFound(f"There is no item number {item_id} in this vault.")
            raw = blobs.BlobReader(self._connection, int(row[0]), self._lock)
            stream = cast(BinaryIO, io.BufferedReader(raw, buffer_size=64 * 1024))
            self._open_readers.add(stream)
        return stream

    # -- search ------------------------------------------------------------------------------
    def search(self, text: str) -> list[SearchHit]:
        with self._read() as conn:
            return search_index.search(conn, text)

    # -- custody -----------------------------------------------------------------------------
    def record_event(self, action: str, *, item_id: int | None = None,
                     details: dict[str, Any] | None = None) -> Event:
        """Append an event such as item_viewed, exported, redacted, annotated."""
        if action in _INTERNAL_ACTIONS:
            raise InvalidInput(f"The event {action!r} is recorded by the vault itself.")
        with self._tx() as conn:
            sha = None
            if item_id is not None:
                row = conn.execute("SELECT sha256 FROM items WHERE id = ?", (item_id,)).fetchone()
                if row is None:
                    raise NotFound(f"There is no item number {item_id} in this vault.")
                sha = row[0]
            return custody.append_event(conn, actor=self.actor, action=action, item_id=item_id,
                                        item_sha256=sha, details=details or {})

    def events(self, item_id: int | None = None) -> list[Event]:
        with self._read() as conn:
            return custody.load_events(conn, item_id=item_id)

    def leaf_hashes(self) -> list[bytes]:
        with self._read() as conn:
            return self._leaves.leaves(conn)

    def tree_head(self) -> tuple[int, bytes]:
        """(tree size, Merkle root) of the custody log now."""
        leaves = self.leaf_hashes()
        return len(leaves), merkle.root_hash(leaves)

    # -- verification and passphrase ---------------------------------------------------------
    def verify(self, *, checkpoint: str | None = None, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None, record: bool = True,
               expect_key_id: str | None = None) -> VerifyReport:
        """Re-hash every original and replay the custody log (see app.vault.verify).

        ``expect_key_id``: the signing key id the auditor was given; another key is a problem.

        Records a ``verified`` event with the outcome unless ``record`` is False or the vault is open
        read-only, best-effort: a damaged file is not written to, and a failed write never hides the
        report (``report.recorded`` says whether the event was written)."""
        from app.vault.verify import pin_key, verify_vault

        with self._lock:
            try:
                public_key = keys.load_public_key_pem(self.public_key_pem())
            except (sqlcipher3.Error, EvidenceVaultError) as exc:
                return VerifyReport(problems=[Problem(
                    "vault_file", "signing key", "The vault's signing key cannot be read: the vault file is "
                    f"damaged ({getattr(exc, 'message', exc)}).")])
            report = verify_vault(self._connection(), public_key, checkpoint=checkpoint, progress=progress,
                                  cancel=cancel)
            if expect_key_id is not None:  # before the record: the verified event must say what the auditor sees
                report = pin_key(report, expected_key_id=expect_key_id, actual_key_id=self.key_id)
            damaged = any(p.kind == "vault_file" for p in report.problems)
            if record and not self.read_only and not damaged:
                try:
                    with self._tx() as conn:
                        custody.append_event(conn, actor=self.actor, action="verified", details={
                            "ok": report.ok, "problems": len(report.problems), "tree_size": report.tree_size,
                            "root": report.root, "items_checked": report.items_checked,
                            "external_checkpoint": checkpoint is not None})
                except (sqlcipher3.Error, EvidenceVaultError, OSError) as exc:
                    # The report matters more than its record; recorded stays False, and the user is told why.
                    return dataclasses.replace(report, not_recorded="disk_full" if _disk_full(exc) else "write_failed")
                report = dataclasses.replace(report, recorded=True)
        return report

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt the vault under a new passphrase, crash-safely (see app.vault.rekey)."""
        from app.vault.rekey import rewrite_with_new_passphrase

        self._check_writable()
        new_passphrase = check_passphrase(new_passphrase)
        with self._lock:
            if self._raw_key is not None:  # recovery enabled: rewrap K in the keyslot; the file keeps K
                from app.vault.recovery import rewrap_keyslot

                self._leaves.clear()
                rewrap_keyslot(self._connection(), self.path, self._raw_key, new_passphrase, actor=self.actor)
                return
            conn = self._connection()
            self._conn = None
            self._leaves.clear()
            try:
                self._conn = rewrite_with_new_passphrase(conn, self.path, new_passphrase, actor=self.actor)
                self._file_lock.relock_vault_file()  # the file was replaced by rename: lock the new inode
            except BaseException:
                if self._conn is None:
                    self._conn = conn
                raise

