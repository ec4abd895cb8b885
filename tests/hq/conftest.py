"""A real PostgreSQL 15 for headquarters' tests: one private cluster per test session, listening only
on a Unix socket in its own folder (no TCP), and a fresh database per test.

As root, PostgreSQL runs as the ``postgres`` account (app.hq.pg_cluster), so the cluster lives in a
folder of the system temporary directory that account can enter, not in pytest's 0700 tmp_path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSPHRASE, running_in_ci

HQ_NAME = "hq.example.org"


def require_postgres() -> None:
    from app.hq.pg_cluster import pg_bin, postgres_available

    if not postgres_available():
        reason = f"PostgreSQL 15 is not installed ({pg_bin()}/initdb is missing; scripts/setup.sh installs it)"
        if running_in_ci():
            pytest.fail(f"{reason}; CI must run headquarters' tests against a real PostgreSQL", pytrace=False)
        pytest.skip(reason)


def server_folder(prefix: str) -> Path:
    """A new folder the server's account can reach (see the module docstring)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        os.chmod(folder, 0o711)
    return folder


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    require_postgres()
    from app.hq import pg_cluster

    folder = server_folder("evhq-test-")
    cluster = pg_cluster.init_cluster(folder / "primary")
    pg_cluster.start(cluster)
    try:
        yield cluster
    finally:
        pg_cluster.stop(cluster)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(cluster: object) -> str:
    import psycopg

    from app.hq.pg_cluster import Cluster

    assert isinstance(cluster, Cluster)
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return cluster.conninfo(name)


@pytest.fixture
def hq_db(pg_server: object) -> Iterator[str]:
    """conninfo of a new, empty database, dropped after the test."""
    import psycopg

    conninfo = create_database(pg_server)
    yield conninfo
    dbname = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(pg_server.conninfo("postgres"), autocommit=True) as admin:  # type: ignore[attr-defined]
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def hq_passphrase() -> str:
    return TEST_PASSPHRASE


@pytest.fixture
def hq(tmp_path: Path, hq_db: str) -> Iterator[object]:
    from app.hq.headquarters import Headquarters

    headquarters = Headquarters.create(tmp_path / "hq", TEST_PASSPHRASE, name=HQ_NAME, actor="tester",
                                       conninfo=hq_db)
    yield headquarters
    headquarters.close()
