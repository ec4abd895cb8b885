"""Changing the passphrase without ever risking the vault: copy, then atomic rename.

SQLCipher's ``PRAGMA rekey`` rewrites the file in place; it is protected by the rollback journal, but
it cannot put the ``passphrase_changed`` custody event in the same atomic step.  Instead the whole
database is exported (``sqlcipher_export``) into a new file keyed with the new passphrase, the event
is appended there, the new file is fsynced and renamed over the old one (``os.replace`` is atomic on
POSIX), and the directory is fsynced.  Killed at any moment, the vault path holds either the old file
(old passphrase, no event) or the new one (new passphrase, with the event), never a mixture; a
leftover ``.<name>.rekey-*`` file is removed at the next open.  The disk needs room for a second copy
of the vault while this runs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import sqlcipher3

from app.durable import sync_folder
from app.errors import EvidenceVaultError
from app.vault import custody, db


def rewrite_with_new_passphrase(conn: sqlcipher3.Connection, path: Path, new_passphrase: str, *,
                                actor: str) -> sqlcipher3.Connection:
    """Returns the connection to the re-keyed vault.  ``conn`` is closed on success; on failure before
    the rename it stays open and usable, and the old file is untouched."""
    temp = path.with_name(f".{path.name}.rekey-{secrets.token_hex(6)}")
    attached = False
    try:
        conn.execute("ATTACH DATABASE ? AS rekey KEY ?", (str(temp), new_passphrase))
        attached = True
        for pragma in db.cipher_pragmas(new_passphrase, schema="rekey"):
            conn.execute(pragma)
        with db.transaction(conn):
            conn.execute("SELECT sqlcipher_export('rekey')").fetchall()
            custody.append_event(conn, actor=actor, action="passphrase_changed", schema="rekey", details={
                "kdf_iter": db.kdf_iter(), "kdf_algorithm": db.KDF_ALGORITHM,
                "cipher_page_size": db.PAGE_SIZE, "hmac_algorithm": db.HMAC_ALGORITHM})
        conn.execute("DETACH DATABASE rekey")
        attached = False
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
    except BaseException as exc:
        if attached:
            conn.execute("DETACH DATABASE rekey")
        temp.unlink(missing_ok=True)
        Path(f"{temp}-journal").unlink(missing_ok=True)
        if isinstance(exc, sqlcipher3.Error):
            raise (db.translate(exc) or exc) from exc
        raise
    conn.close()
    try:
        os.replace(temp, path)
        sync_folder(path.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise EvidenceVaultError(
            "The passphrase could not be changed; the vault still uses the old passphrase. "
            "Open it again and retry.", debug_detail=str(exc)) from exc
    finally:
        Path(f"{temp}-journal").unlink(missing_ok=True)
    return db.connect(path, new_passphrase)
