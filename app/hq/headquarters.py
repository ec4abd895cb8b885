"""A headquarters: its folder (identity files), its PostgreSQL database, its unlocked keys.

The folder ``DIR`` holds::

    DIR/hq.json            name, key id, and where the database is (default: the cluster in DIR/postgres)
    DIR/hq-identity.pem    HQ's private keys, encrypted with the HQ passphrase (app.transfer.identity)
    DIR/hq-public.pem      what field laptops are given
    DIR/postgres/          the private PostgreSQL cluster (scripts/hq.sh start DIR), unless hq.json names another

Opening checks that the database belongs to the identity (same key id), so a folder and a database
of two different headquarters are never mixed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives import serialization

from app.errors import EvidenceVaultError, InvalidInput
from app.hq import hq_log
from app.hq.pg_cluster import Cluster
from app.hq.schema import create_schema, has_schema
from app.hq.storage_crypto import StorageKeys, derive_storage_keys
from app.transfer.identity import HqIdentity, HqPublicIdentity, generate_hq_identity
from app.vault.passphrase import check_passphrase

CONFIG_NAME = "hq.json"
IDENTITY_NAME = "hq-identity.pem"
PUBLIC_NAME = "hq-public.pem"
CONFIG_FORMAT = "evidence-vault hq v1"


class HqError(EvidenceVaultError):
    default_message = "Headquarters' archive could not do this. See the message above and try again."


class HqUnavailable(HqError):
    default_message = (
        "Headquarters' database is not reachable. Start it with 'scripts/hq.sh start DIR' and try again."
    )


def check_unix_socket(conninfo: str) -> None:
    """The app never opens a network connection: PostgreSQL is reached through a Unix socket only."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise HqError("The database setting (--db) is not a valid PostgreSQL connection string.",
                      debug_detail=str(exc)) from exc
    hosts = str(params.get("host") or "").split(",")
    if params.get("hostaddr") or not all(host.startswith("/") for host in hosts):
        raise HqError(
            "Headquarters connects to PostgreSQL only through a Unix socket (host=/path/to/socket-folder); "
            "this program never opens a network connection. For a database on another machine, forward its "
            "socket to this one (for example with ssh -L) and give that socket's folder as host.",
        )


def connect(conninfo: str, *, read_only: bool = False) -> psycopg.Connection:
    check_unix_socket(conninfo)
    try:
        # Autocommit: every unit of work is an explicit ``with conn.transaction()`` (a real BEGIN/COMMIT,
        # never a savepoint inside an implicit transaction nobody commits).
        conn = psycopg.connect(conninfo, connect_timeout=30, autocommit=True)
    except psycopg.OperationalError as exc:
        raise HqUnavailable(debug_detail=str(exc)) from exc
    if read_only:
        conn.read_only = True
    return conn


def storage_secret(identity: HqIdentity) -> bytes:
    raw = serialization.Encoding.Raw
    return identity.encryption_key.private_bytes(
        raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    ) + identity.signing_key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


@dataclass(frozen=True)
class HqConfig:
    name: str
    key_id: str
    conninfo: str | None

    @classmethod
    def load(cls, folder: Path) -> HqConfig:
        path = folder / CONFIG_NAME
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HqError(
                f"{folder} is not a headquarters folder (it has no {CONFIG_NAME}). Create one with "
                "'evidence-vault hq init --dir DIR'.",
            ) from None
        except (OSError, ValueError) as exc:
            raise HqError(f"{path} cannot be read; restore it from a backup.", debug_detail=str(exc)) from exc
        if not isinstance(record, dict) or record.get("format") != CONFIG_FORMAT:
            raise HqError(f"{path} is not a headquarters settings file.")
        conninfo = record.get("database")
        return cls(name=str(record["name"]), key_id=str(record["key_id"]),
                   conninfo=conninfo if isinstance(conninfo, str) else None)


def default_conninfo(folder: Path) -> str:
    return Cluster(folder.absolute() / "postgres").conninfo()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class Headquarters:
    def __init__(self, folder: Path, conn: psycopg.Connection, identity: HqIdentity, *, read_only: bool) -> None:
        self.folder = folder
        self.conn = conn
        self.identity = identity
        self.keys: StorageKeys = derive_storage_keys(storage_secret(identity))
        self.read_only = read_only

    @property
    def name(self) -> str:
        return self.identity.name

    def public(self) -> HqPublicIdentity:
        return self.identity.public()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Headquarters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def create(
        cls, folder: Path, passphrase: str, *, name: str, actor: str, conninfo: str | None = None
    ) -> Headquarters:
        """New identity files in ``folder`` and a new schema in its (empty) database."""
        passphrase = check_passphrase(passphrase)
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / CONFIG_NAME).exists() or (folder / IDENTITY_NAME).exists():
            raise HqError(f"{folder} already holds a headquarters. Choose another folder, or use the existing one.")
        conn = connect(conninfo or default_conninfo(folder))
        try:
            if has_schema(conn):
                raise HqError(
                    "This database already holds a headquarters archive. Use a new, empty database for a new "
                    "headquarters.",
                )
            identity = generate_hq_identity(name)
            written: list[Path] = []
            try:
                for file_name, data, mode in (
                    (IDENTITY_NAME, identity.to_encrypted_pem(passphrase), 0o600),
                    (PUBLIC_NAME, identity.public().to_pem(), 0o644),
                ):
                    _write_new(folder / file_name, data, mode)
                    written.append(folder / file_name)
                config = {"format": CONFIG_FORMAT, "name": identity.name, "key_id": identity.key_id(),
                          "database": conninfo}
                with conn.transaction():
                    create_schema(conn)
                    meta = {
                        "name": identity.name, "key_id": identity.key_id(),
                        "public_pem": identity.public().to_pem().decode("ascii"),
                        "origin": hq_log.origin(identity.signing_key),
                    }
                    for key, value in meta.items():
                        conn.execute("INSERT INTO hq_meta(key, value) VALUES (%s, %s)", (key, value))
                    hq_log.append(conn, actor=actor, action="hq_created",
                                  details={"name": identity.name, "key_id": identity.key_id()})
                    hq_log.make_checkpoint(conn, identity.signing_key)
                    _write_new(folder / CONFIG_NAME, json.dumps(config, indent=2).encode("utf-8"), 0o600)
                    written.append(folder / CONFIG_NAME)
            except BaseException:
                for path in written:
                    path.unlink(missing_ok=True)
                raise
        except BaseException:
            conn.close()
            raise
        return cls(folder, conn, identity, read_only=False)

    @classmethod
    def open(
        cls, folder: Path, passphrase: str, *, conninfo: str | None = None, read_only: bool = False
    ) -> Headquarters:
        config = HqConfig.load(folder)
        try:
            data = (folder / IDENTITY_NAME).read_bytes()
        except OSError as exc:
            raise HqError(f"Headquarters' key file {folder / IDENTITY_NAME} cannot be read; restore it from a "
                          "backup.", debug_detail=str(exc)) from exc
        identity = HqIdentity.from_encrypted_pem(data, passphrase)
        if identity.key_id() != config.key_id:
            raise HqError("The key file in this folder does not match its settings; restore both from a backup.")
        conn = connect(conninfo or config.conninfo or default_conninfo(folder), read_only=read_only)
        try:
            standby = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if standby and standby[0] and not read_only:
                # A streaming-replication standby accepts no writes: open it the way an auditor would.
                read_only = True
                conn.read_only = True
            if not has_schema(conn):
                raise HqError("This database holds no headquarters archive. Create one with 'evidence-vault hq init'.")
            row = conn.execute("SELECT value FROM hq_meta WHERE key = 'key_id'").fetchone()
            if row is None or row[0] != identity.key_id():
                raise HqError(
                    "This database belongs to another headquarters (its key differs). Check the --db setting.",
                )
        except BaseException:
            conn.close()
            raise
        return cls(folder, conn, identity, read_only=read_only)


def require_writable(hq: Headquarters) -> None:
    if hq.read_only:
        raise InvalidInput("This headquarters was opened read-only (for example on a standby); nothing can be changed.")
