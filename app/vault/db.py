"""Opening the SQLCipher file: key derivation settings, PRAGMAs, transactions, error translation.

The cipher settings are fixed and documented in docs/FORMAT.md so an auditor can open a vault with
stock SQLCipher 4:  PBKDF2-HMAC-SHA512 with 256,000 iterations (SQLCipher's own KDF on the UTF-8,
NFC-normalised passphrase), 64 KiB cipher pages and HMAC-SHA256 page authentication.  The larger page
and the cheaper HMAC roughly double bulk write speed over SQLCipher's defaults; the KDF strength is
unchanged.  The KDF is paid once, when the one connection of a Vault is opened.

Durability: rollback journal in TRUNCATE mode with ``synchronous = FULL``.  A rollback journal keeps a
kill -9 or power cut atomic (the next open rolls an interrupted transaction back) and, unlike WAL,
does not write bulk data twice: pages appended past the old end of the file are not journaled at all.
FULL (not NORMAL) because in rollback mode NORMAL can corrupt the file on power loss; the extra
fsyncs cost little since every ingest is one large transaction.  TRUNCATE makes the commit durable
with an fsync of the journal (DELETE mode would need synchronous=EXTRA for a durable unlink).
Temporary tables and sort files stay in memory (``temp_store = MEMORY``): SQLCipher temp files would
otherwise be the one place decrypted data could touch the disk.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlcipher3

from app.errors import DiskFull, EvidenceVaultError, NotAVault, VaultInUse, VaultNotFound, WrongPassphrase

KDF_ITER = 256_000
PAGE_SIZE = 65_536
HMAC_ALGORITHM = "HMAC_SHA256"
KDF_ALGORITHM = "PBKDF2_HMAC_SHA512"
CACHE_KIB = 32_768  # page cache per connection; bounds memory during multi-GiB ingests
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HMAC_SIZE = 32
_IV_SIZE = 16
_SALT_SIZE = 16

# Test-only: lowers the KDF cost so a test suite can create hundreds of vaults.  Never set it in
# the application; it is deliberately not reachable from the command line or the GUI.
_unsafe_kdf_iter_for_tests: int | None = None

DatabaseError = sqlcipher3.DatabaseError
Connection = sqlcipher3.Connection


def kdf_iter() -> int:
    return _unsafe_kdf_iter_for_tests or KDF_ITER


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def cipher_pragmas(passphrase: str, *, schema: str = "") -> list[str]:
    """The PRAGMAs (in order) that key a connection or an attached database."""
    prefix = f"{schema}." if schema else ""
    return [
        f"PRAGMA {prefix}cipher_page_size = {PAGE_SIZE}",
        f"PRAGMA {prefix}kdf_iter = {kdf_iter()}",
        f"PRAGMA {prefix}cipher_hmac_algorithm = {HMAC_ALGORITHM}",
        f"PRAGMA {prefix}cipher_kdf_algorithm = {KDF_ALGORITHM}",
    ]


def key_literal(passphrase: str) -> str:
    return _quote(passphrase)


def connect(path: Path, passphrase: str, *, create: bool = False, read_only: bool = False) -> sqlcipher3.Connection:
    """Open and key the database (create it only when ``create``); pay the KDF once.

    Nothing is written before the key is proven right, so a wrong passphrase leaves the file
    byte-for-byte unchanged.  ``read_only``: SQLite ``mode=ro`` plus ``query_only``; no journal is ever
    written, so the file stays byte-for-byte unchanged and read-only media work.
    Raises WrongPassphrase / NotAVault / VaultNotFound.
    """
    _check_key_text(passphrase)
    mode = "rwc" if create else "ro" if read_only else "rw"
    uri = Path(path).absolute().as_uri() + f"?mode={mode}"
    try:
        conn = sqlcipher3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlcipher3.OperationalError as exc:
        if not Path(path).exists():
            raise VaultNotFound(debug_detail=f"{path}: {exc}") from exc
        raise NotAVault("The vault file cannot be opened for reading." if read_only else
                        "The vault file cannot be opened for writing. Check that the drive is writable, or "
                        "open the vault read-only.", debug_detail=f"{path}: {exc}") from exc
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {key_literal(passphrase)}")
        for pragma in cipher_pragmas(passphrase):
            conn.execute(pragma)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # KDF + first page read
        except sqlcipher3.DatabaseError as exc:
            if read_only and "readonly" in str(exc).lower():  # a hot journal needs rolling back: a write
                raise EvidenceVaultError(
                    "The vault was left with an unfinished change that must be rolled back before it can be "
                    "read. Open it once without read-only on a writable drive (or on a copy that includes "
                    "its -journal file).", debug_detail=f"{path}: {exc}") from exc
            raise _classify_open_failure(path, passphrase, exc) from exc
        conn.execute("PRAGMA temp_store = MEMORY")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
        else:
            conn.execute("PRAGMA journal_mode = TRUNCATE")
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA secure_delete = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _check_key_text(passphrase: str) -> None:
    """Refuse, before touching the file, a key SQLCipher cannot take: empty (``PRAGMA key`` needs one
    character or more), with a NUL (no SQL statement can hold one) or not encodable as UTF-8 (lone
    surrogates, e.g. from undecodable bytes on standard input).  No vault can have such a passphrase:
    check_passphrase never let one be set."""
    if not passphrase:
        raise WrongPassphrase("No passphrase was given. Enter the vault's passphrase and try again.")
    if "\x00" in passphrase:
        raise WrongPassphrase("The passphrase contains an invisible control character (NUL), so it cannot be this "
                              "vault's passphrase. Type it again.")
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise WrongPassphrase("The passphrase contains bytes that are not valid text (UTF-8), so it cannot be "
                              "this vault's passphrase. Type it again, or check the program or file that "
                              "sends it.") from None


DAMAGED_START = ("The passphrase is right but the start of the vault file is damaged. Restore the vault from a "
                 "backup and keep this copy for examination.")
CUT_SHORT = ("The passphrase is right but the vault file is cut short: its end is missing (for example after "
             "an interrupted copy or a full disk). Restore the vault from a backup, or copy it again from where "
             "it came from, and keep this copy for examination.")
DAMAGED = ("The passphrase is right but the vault file is damaged or cut short. Restore the vault from a backup "
           "and keep this copy for examination.")


def _classify_open_failure(path: Path, passphrase: str, exc: Exception) -> EvidenceVaultError:
    """Tell a wrong passphrase from a file that is not (or no longer) a vault, and say what is damaged.

    SQLCipher cannot tell them apart: both fail its first read.  We recompute SQLCipher's keys from the
    salt and check the HMACs of pages 1 and 2 ourselves.  Page 1 intact: the passphrase is right and the
    damage is further on; if page 1's header records more pages than the file holds, the file was cut
    short.  Page 1 failing but page 2 intact: the passphrase is right and the start is damaged.
    """
    detail = f"{path}: {exc}"
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(PAGE_SIZE)
            second = handle.read(PAGE_SIZE)
    except OSError as os_exc:
        return NotAVault(debug_detail=f"{detail}; {os_exc}")
    if size == 0:
        return NotAVault("This file is empty; it is not an Evidence Vault.", debug_detail=detail)
    if head.startswith(_SQLITE_MAGIC):
        return NotAVault(
            "This is an ordinary unencrypted database, not an Evidence Vault.", debug_detail=detail
        )
    if len(head) == PAGE_SIZE:
        keys = _page_keys(passphrase, head[:_SALT_SIZE])
        if keys is not None and _hmac_ok(keys[1], head, 1):
            pages = _declared_pages(keys[0], head)
            cut = size % PAGE_SIZE != 0 or (pages is not None and size < pages * PAGE_SIZE)
            return NotAVault(CUT_SHORT if cut else DAMAGED,
                             debug_detail=f"{detail}; size {size}, header declares {pages} pages")
        if keys is not None and len(second) == PAGE_SIZE and _hmac_ok(keys[1], second, 2):
            return NotAVault(DAMAGED_START, debug_detail=detail)
    if size < 2 * PAGE_SIZE or size % PAGE_SIZE:
        return NotAVault(debug_detail=f"{detail}; size {size} is not a whole number of vault pages")
    return WrongPassphrase(debug_detail=detail)


def _page_keys(key_text: str, salt: bytes) -> tuple[bytes, bytes] | None:
    """SQLCipher 4's (encryption key, HMAC key) for ``key_text``: a passphrase through PBKDF2, or a raw
    key given as ``x'<64 hex>'`` (app.vault.keyslot) taken as it is.  None if ``key_text`` is neither."""
    raw = key_text[2:-1] if key_text[:2] in ("x'", "X'") and key_text.endswith("'") else None
    if raw is not None and len(raw) == 64:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            return None
    else:
        try:
            secret = key_text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        key = hashlib.pbkdf2_hmac("sha512", secret, salt, kdf_iter(), 32)
    hmac_salt = bytes(b ^ 0x3A for b in salt)
    return key, hashlib.pbkdf2_hmac("sha512", key, hmac_salt, 2, 32)


def _hmac_ok(hmac_key: bytes, page: bytes, page_number: int) -> bool:
    if len(page) != PAGE_SIZE:
        return False
    start = _SALT_SIZE if page_number == 1 else 0
    body = page[start: PAGE_SIZE - _HMAC_SIZE]  # ciphertext + IV
    expected = hmac.new(hmac_key, body + page_number.to_bytes(4, "little"), "sha256").digest()
    return hmac.compare_digest(expected, page[PAGE_SIZE - _HMAC_SIZE:])


def _declared_pages(key: bytes, first_page: bytes) -> int | None:
    """The database size in pages that page 1's (decrypted) SQLite header records, or None when the header
    says that field is stale (SQLite then goes by the file size).  SQLCipher 4 encrypts page 1 after its
    16-byte salt with AES-256-CBC; the IV sits before the HMAC in the page's reserved end."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    reserve = _IV_SIZE + _HMAC_SIZE
    iv = first_page[PAGE_SIZE - reserve: PAGE_SIZE - _HMAC_SIZE]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    header = decryptor.update(first_page[_SALT_SIZE: _SALT_SIZE + 96]) + decryptor.finalize()
    # Decrypted bytes k are header bytes 16 + k: size at 28..32, change counter at 24, valid-for at 92.
    pages, counter, valid_for = (int.from_bytes(header[at - 16: at - 12], "big") for at in (28, 24, 92))
    return pages if pages and counter == valid_for else None


def page_hmac_ok(passphrase: str, *, salt: bytes, page: bytes, page_number: int) -> bool:
    """Check one page's HMAC the way SQLCipher 4 computes it (docs/FORMAT.md, "Vault file")."""
    if len(page) != PAGE_SIZE or len(salt) != _SALT_SIZE:
        return False
    keys = _page_keys(passphrase, salt)
    return keys is not None and _hmac_ok(keys[1], page, page_number)


def translate(exc: Exception) -> EvidenceVaultError | None:
    """An application error for a SQLite error that has a meaning for people, else None."""
    text = str(exc).lower()
    if "disk is full" in text or ("disk i/o error" in text and "space" in text):
        return DiskFull(debug_detail=str(exc))
    if "database is locked" in text:
        return VaultInUse(debug_detail=str(exc))
    if "file is not a database" in text or "malformed" in text:
        return NotAVault(
            "The vault file is damaged and could not be read. Keep it unchanged and restore from a backup.",
            debug_detail=str(exc),
        )
    return None


@contextmanager
def transaction(conn: sqlcipher3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE .. COMMIT; ROLLBACK on any exception (incl. Cancelled, KeyboardInterrupt)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlcipher3.Error as exc:
        raise (translate(exc) or exc) from exc
    try:
        yield
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlcipher3.Error):
            mapped = translate(exc)
            if mapped is not None:
                raise mapped from exc
        raise
    try:
        conn.execute("COMMIT")
    except sqlcipher3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise (translate(exc) or exc) from exc

