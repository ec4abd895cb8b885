"""Where verification reads the vault: a private, read-only attachment of the vault file that a damaged
page cannot spoil for the rest of the check (see :class:`Reader`), and the hashing of a stored original
through it.  Used by :mod:`app.vault.verify`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3

from app.progress import CancelToken, ProgressCallback
from app.vault import db
from app.vault.blobs import _Hasher

_log = logging.getLogger("app.vault.verify")
RESTORE = "Keep this vault file unchanged and restore the vault from a backup."


# ATTACH takes SQLCipher's process-wide default cipher settings; one attach at a time changes them.
_DEFAULTS_LOCK = threading.Lock()
_DEFAULT_SETTINGS = ("cipher_default_page_size", "cipher_default_hmac_algorithm", "cipher_default_kdf_algorithm")


class Reader:
    """Where verification reads the vault: a private attachment of the vault file to ``conn``.

    SQLCipher latches the first page that fails its HMAC check: from then on every page that connection
    has not cached fails too, intact or not, until the connection is closed (seen with SQLCipher 4.19: a
    new cursor does not clear it, dropping the page cache makes even the schema unreadable).  One damaged
    page of notes then made every original look unreadable.  ``ATTACH`` without ``KEY`` opens the same
    file under a new codec context keyed with the main database's derived key (no KDF), so after a failed
    read :meth:`fresh` gives the next part a reader of its own.  ``main`` itself is never read through
    here and stays unlatched for the record comparison.  Where ATTACH is impossible, ``main`` is used.
    """

    def __init__(self, conn: sqlcipher3.Connection) -> None:
        self.conn = conn
        self.schema = "main"
        self._attached: list[str] = []
        self._count = 0
        self._uri = _read_only_uri(conn)

    def __enter__(self) -> Reader:
        self.fresh()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._detach()

    def table(self, name: str) -> str:
        """``name`` in the schema read now, for a query (table names of this program, or of the file)."""
        return f"{self.schema}.{quoted(name)}"

    @contextmanager
    def cursor(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[sqlcipher3.Cursor]:
        """A cursor closed afterwards, whatever happens: a statement left running would keep the
        attachment from being detached."""
        with closing(self.conn.cursor()) as cursor:
            cursor.execute(sql, params)
            yield cursor

    def latched(self) -> bool:
        """Did a read since the last call meet a damaged page?  SQLCipher may hand a damaged page over as
        zeros without an error (seen for a page of an original: its hash then merely differs) and fail only
        the reads after it.  With the page cache dropped, reading the first page again tells; it is cheap."""
        return page_latched(self.conn, self.schema)

    def fresh(self) -> None:
        """Read from now on through a new attachment (after a failed read: see the class docstring)."""
        self._detach()
        if self._uri is None:
            return
        name = f"verify_read_{self._count}"
        self._count += 1
        try:
            _attach(self.conn, self._uri, name)
        except sqlcipher3.Error as exc:
            _log.debug("verify reads through the main connection: ATTACH failed: %s", exc)
            self.schema = "main"
            return
        self._attached.append(name)
        self.schema = name

    def _detach(self) -> None:
        for name in list(self._attached):
            try:
                self.conn.execute(f"DETACH DATABASE {name}")
            except sqlcipher3.Error as exc:  # tried again at the next fresh() and at the end
                _log.debug("could not detach %s: %s", name, exc)
            else:
                self._attached.remove(name)
        self.schema = "main"


def page_latched(conn: sqlcipher3.Connection, schema: str) -> bool:
    try:
        conn.execute("PRAGMA shrink_memory")  # the first page must be read (and decrypted) again
        with closing(conn.execute(f"SELECT count(*) FROM {schema}.sqlite_master")) as cursor:  # noqa: S608
            cursor.fetchall()
    except sqlcipher3.DatabaseError:
        return True
    return False


def _read_only_uri(conn: sqlcipher3.Connection) -> str | None:
    """The main database's file as a read-only URI (verification never writes), or None (in memory)."""
    files = {str(name): str(file or "") for _seq, name, file in conn.execute("PRAGMA database_list")}
    main = files.get("main", "")
    return Path(main).absolute().as_uri() + "?mode=ro" if main else None


def _attach(conn: sqlcipher3.Connection, uri: str, name: str) -> None:
    """Attach the vault file again as ``name``.  Without ``KEY`` SQLCipher uses the main database's key
    but its process-wide default cipher settings, not the vault's: they are the vault's for the moment of
    the ATTACH and then put back.  (Every connection the program opens sets its settings explicitly, so
    one opened meanwhile by another thread is not affected.)"""
    with _DEFAULTS_LOCK:
        saved = [(setting, conn.execute(f"PRAGMA {setting}").fetchone()[0]) for setting in _DEFAULT_SETTINGS]
        try:
            conn.execute(f"PRAGMA cipher_default_page_size = {db.PAGE_SIZE}")
            conn.execute(f"PRAGMA cipher_default_hmac_algorithm = {db.HMAC_ALGORITHM}")
            conn.execute(f"PRAGMA cipher_default_kdf_algorithm = {db.KDF_ALGORITHM}")
            conn.execute(f"ATTACH DATABASE ? AS {name}", (uri,))
        finally:
            for setting, value in saved:
                conn.execute(f"PRAGMA {setting} = {value}")
    files = {str(row[1]): str(row[2] or "") for row in conn.execute("PRAGMA database_list")}
    if files.get(name) != files.get("main"):  # a connection that does not take URIs opened another file
        conn.execute(f"DETACH DATABASE {name}")
        raise sqlcipher3.OperationalError(f"the attachment is {files.get(name)!r}, not the vault file")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Unreadable(str):
    """What hash_blob says of an original it could not read (damage, not alteration)."""


def hash_blob(reader: Reader, blob_id: int, size: int, chunk_size: int, chunk_count: int,
               done: int, total: int, progress: ProgressCallback | None,
               cancel: CancelToken | None, *, index_damaged: bool = False) -> tuple[tuple[str, int] | str, int]:
    """(sha256, size) of the stored chunks, or a sentence saying what is wrong with them."""
    hasher = _Hasher()
    length = 0
    problem = ""
    try:
        with reader.cursor(f"SELECT seq, data FROM {reader.table('chunks')} "  # noqa: S608 - own names
                           "WHERE blob_id = ? ORDER BY seq", (blob_id,)) as cursor:
            expected_seq = 0
            while True:
                if cancel is not None:
                    cancel.check()
                row = cursor.fetchone()
                if row is None:
                    break
                seq, data = row
                if seq != expected_seq and not problem:
                    problem = f"is missing part {expected_seq} (found part {seq})."
                expected_seq = seq + 1
                hasher.update(data)
                length += len(data)
                done += len(data)
                if progress is not None:
                    progress(done, total, "Checking originals")
        if expected_seq != chunk_count and not problem:
            problem = f"has {expected_seq} parts instead of {chunk_count}."
        if reader.latched():  # a damaged page was read as zeros: its hash would merely differ
            raise sqlcipher3.DatabaseError("a damaged page was read as zeros")
    except sqlcipher3.DatabaseError as exc:
        _log.debug("verify: reading blob %s failed: %s", blob_id, exc)
        problem = Unreadable(
            "cannot be read through the vault file's index of the stored originals, which is damaged (the "
            f"original itself may be intact). {RESTORE}" if index_damaged else
            "cannot be read: the part of the vault file holding it is damaged (an encrypted page was altered or "
            f"damaged). {RESTORE}")
        reader.fresh()  # the next original is read afresh
    except BaseException:
        hasher.abandon()
        raise
    digest = hasher.hexdigest()
    if problem:
        return problem, done
    return (digest, length), done
