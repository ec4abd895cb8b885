"""A private PostgreSQL 15 cluster in a folder, reachable only through a Unix socket in that folder.

Headquarters keeps its archive in an ordinary PostgreSQL server; this module creates, starts and
stops one for users (``scripts/hq.sh``) and for the tests, with no TCP listener at all
(``listen_addresses = ''``).  The socket directory is mode 0700, so only the account that runs the
server (and root) can connect; authentication is therefore ``trust`` on that socket.

Layout of a cluster root ``ROOT``::

    ROOT/pgdata/            the data directory (initdb)
    ROOT/run/               the Unix socket (.s.PGSQL.5432)
    ROOT/postgresql.log     the server log

PostgreSQL refuses to run as root.  When this process is root the binaries run as the unprivileged
account ``postgres`` (created by Debian's postgresql-15 package; override with
``EVIDENCE_VAULT_PG_USER``) through ``runuser``, and ROOT is handed to that account.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.errors import EvidenceVaultError

DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
DB_USER = "evhq"
DB_NAME = "evidence_hq"
PORT = 5432  # only names the socket file; nothing listens on a TCP port
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL
_SETTINGS_FILE = "evidence_hq.conf"


class ClusterError(EvidenceVaultError):
    default_message = "Headquarters' database server could not be started. See its log for details."


def pg_bin() -> Path:
    return Path(os.environ.get("EVIDENCE_VAULT_PG_BIN", DEFAULT_PG_BIN))


def postgres_available() -> bool:
    return (pg_bin() / "initdb").is_file() and (pg_bin() / "postgres").is_file()


def _run_as() -> str | None:
    """The account the server runs as when we are root, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("EVIDENCE_VAULT_PG_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise ClusterError(
            f"PostgreSQL cannot run as root, and the account '{name}' does not exist. Install "
            "postgresql-15 (which creates 'postgres'), or create an account with "
            f"'useradd --system {name}' and try again.",
        ) from None
    if shutil.which("runuser") is None:
        raise ClusterError("The 'runuser' program (util-linux) is needed to start PostgreSQL as root.")
    return name


def _command(program: str, *args: str) -> list[str]:
    binary = pg_bin() / program
    if not binary.is_file():
        raise ClusterError(
            f"PostgreSQL 15 is not installed ({binary} is missing). Install the postgresql-15 package "
            "(scripts/setup.sh does) and try again.",
        )
    account = _run_as()
    prefix = ["runuser", "-u", account, "--"] if account else []
    return [*prefix, str(binary), *args]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ClusterError(
            f"PostgreSQL could not {what}. The details are in the message below; fix the cause and try again.",
            debug_detail=(result.stdout + result.stderr)[-4000:],
        )
    return result


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Cluster:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgresql.log"

    def conninfo(self, dbname: str = DB_NAME) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=str(self.socket_dir), port=str(PORT), user=DB_USER, dbname=dbname)

    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.exists():
            return False
        result = subprocess.run(
            _command("pg_ctl", "status", "-D", str(self.data_dir)),
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )
        return result.returncode == 0


def _prepare_root(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    socket = root / "run" / f".s.PGSQL.{PORT}"
    if len(os.fsencode(socket.resolve())) > _SOCKET_PATH_MAX:
        raise ClusterError(
            f"The folder path {root} is too long for a database socket. Choose a shorter path "
            "(for example /srv/evidence-hq) and try again.",
        )
    (root / "run").mkdir(mode=0o700, exist_ok=True)
    account = _run_as()
    if account:
        entry = pwd.getpwnam(account)
        for path in (root, root / "run"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
            os.chmod(path, 0o700)
        probe = subprocess.run(["runuser", "-u", account, "--", "test", "-w", str(root)], check=False)
        if probe.returncode != 0:
            raise ClusterError(
                f"The account '{account}' that runs PostgreSQL cannot reach {root}. Use a folder whose "
                "parent folders it may enter (for example under /srv or /var/lib), or make them "
                "traversable with 'chmod o+x', and try again.",
            )


def _write_settings(cluster: Cluster) -> None:
    """Our settings live in their own file, included from postgresql.conf, so a standby copied by
    pg_basebackup can get its own socket directory by rewriting just this file."""
    settings = "\n".join(
        [
            "# Written by Evidence Vault (app/hq/pg_cluster.py): Unix socket only, no TCP.",
            "listen_addresses = ''",
            f"unix_socket_directories = {_conf_quote(str(cluster.socket_dir.resolve()))}",
            "unix_socket_permissions = 0700",
            f"port = {PORT}",
            "wal_level = replica",
            "max_wal_senders = 4",
            "hot_standby = on",
            "fsync = on",
            "synchronous_commit = on",
            "",
        ]
    )
    target = cluster.data_dir / _SETTINGS_FILE
    _write_as_owner(target, settings, cluster.data_dir)
    conf = cluster.data_dir / "postgresql.conf"
    if f"include_if_exists '{_SETTINGS_FILE}'" not in conf.read_text(encoding="utf-8"):
        _write_as_owner(
            conf, conf.read_text(encoding="utf-8") + f"\ninclude_if_exists '{_SETTINGS_FILE}'\n", cluster.data_dir
        )


def _write_as_owner(path: Path, text: str, owner_of: Path) -> None:
    path.write_text(text, encoding="utf-8")
    status = owner_of.stat()
    if os.geteuid() == 0:
        os.chown(path, status.st_uid, status.st_gid)
    os.chmod(path, 0o600)


def init_cluster(root: Path) -> Cluster:
    """Create a new cluster in ``root`` (an existing one is kept as it is)."""
    cluster = Cluster(root)
    _prepare_root(root)
    if not cluster.exists():
        _run(
            _command(
                "initdb", "-D", str(cluster.data_dir), "-U", DB_USER, "--auth=trust", "--encoding=UTF8",
                "--locale=C.UTF-8", "--data-checksums",
            ),
            "create its data folder",
        )
    _write_settings(cluster)
    return cluster


def start(cluster: Cluster) -> None:
    if not cluster.exists():
        raise ClusterError(
            f"There is no headquarters database in {cluster.root}. Create it with 'scripts/hq.sh start DIR' first.",
        )
    if cluster.is_running():
        return
    _prepare_root(cluster.root)
    _run(
        _command("pg_ctl", "start", "-w", "-t", "120", "-D", str(cluster.data_dir), "-l", str(cluster.log_file)),
        "start (see " + str(cluster.log_file) + ")",
    )


def stop(cluster: Cluster) -> None:
    if cluster.is_running():
        _run(_command("pg_ctl", "stop", "-w", "-t", "120", "-m", "fast", "-D", str(cluster.data_dir)), "stop")


def ensure_database(cluster: Cluster, dbname: str = DB_NAME) -> None:
    """Create headquarters' database in a running primary if it is not there yet."""
    import psycopg

    try:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                return  # a standby gets its databases from the primary
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.Error as exc:
        raise ClusterError(
            "Headquarters' database server is running but its database could not be created. See the server log.",
            debug_detail=str(exc),
        ) from exc


def create_standby(primary: Cluster, root: Path) -> Cluster:
    """A streaming-replication standby of ``primary`` in ``root`` (pg_basebackup -R), not yet started."""
    standby = Cluster(root)
    _prepare_root(root)
    if standby.exists():
        raise ClusterError(f"{root} already holds a database; choose an empty folder for the standby.")
    _run(
        _command(
            "pg_basebackup", "-D", str(standby.data_dir), "-h", str(primary.socket_dir.resolve()),
            "-p", str(PORT), "-U", DB_USER, "-R", "-X", "stream", "-c", "fast",
        ),
        "copy the primary for a standby",
    )
    _write_settings(standby)
    return standby


def main(argv: list[str] | None = None) -> int:
    """``python -m app.hq.pg_cluster start|stop|status|conninfo DIR`` (used by scripts/hq.sh)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("start", "stop", "status", "conninfo"):
        print("usage: hq.sh start|stop|status|conninfo DIR", file=sys.stderr)
        return 2
    action, folder = args[0], Path(args[1]).absolute()
    cluster = Cluster(folder / "postgres")
    try:
        if action == "start":
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if os.geteuid() == 0:
                # The server's account must pass through DIR; 0711 lets it enter without listing
                # (HQ's own files in DIR are 0600).
                os.chmod(folder, 0o711)  # noqa: S103  # enter-only; explained above
            if not cluster.exists():
                init_cluster(cluster.root)
            start(cluster)
            ensure_database(cluster)
            print(f"Headquarters' database is running (socket in {cluster.socket_dir}).")
        elif action == "stop":
            stop(cluster)
            print("Headquarters' database is stopped.")
        elif action == "status":
            running = cluster.is_running()
            print("running" if running else "stopped")
            return 0 if running else 3
        else:
            print(cluster.conninfo())
    except EvidenceVaultError as error:
        print(error.user_message(), file=sys.stderr)
        if error.debug_detail and os.environ.get("EVIDENCE_VAULT_DEBUG"):
            print(error.debug_detail, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
