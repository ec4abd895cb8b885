"""A PostgreSQL primary and a streaming-replication standby (pg_basebackup -R), both on Unix sockets in
their own folders: an import on the primary is readable, and `hq verify` passes, on the standby."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg
import pytest

from app.errors import InvalidInput
from app.hq import pg_cluster, query
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from app.hq.verify import verify_archive
from tests.hq.conftest import server_folder
from tests.hq.fieldkit import field_vault, transfer
from tests.vault.vaultkit import speed_up


@pytest.fixture(autouse=True)
def _fast_vaults(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


def _wait_for_replay(primary_info: str, standby_info: str) -> None:
    """Until the standby has replayed the primary's current WAL position (bounded, not a timing check)."""
    with psycopg.connect(primary_info, autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 120
    with psycopg.connect(standby_info, autocommit=True) as standby:
        while time.monotonic() < deadline:
            caught_up = standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
            if caught_up and caught_up[0]:
                return
            time.sleep(0.2)
    pytest.fail("the standby did not replay the primary's changes within two minutes")


def test_import_on_primary_is_readable_and_verifies_on_standby(
        pg_server: pg_cluster.Cluster, hq: Headquarters, hq_db: str, hq_passphrase: str, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field", texts=("ပထမ သက်သေ", "second statement"))
    try:
        imported = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "p.evt"), actor="a")
    finally:
        vault.close()
    folder = server_folder("evhq-standby-")
    standby = pg_cluster.create_standby(pg_server, folder / "standby")
    pg_cluster.start(standby)
    try:
        dbname = psycopg.conninfo.conninfo_to_dict(hq_db)["dbname"]
        standby_info = standby.conninfo(str(dbname))
        with psycopg.connect(standby_info, autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
        _wait_for_replay(hq_db, standby_info)
        replica = Headquarters.open(hq.folder, hq_passphrase, conninfo=standby_info)
        try:
            assert replica.read_only  # a standby is opened read-only by itself
            items = query.list_items(replica)
            assert [i.title for i in items] == ["ပထမ သက်သေ", "second statement"]
            assert {i.package_id for i in items} == {imported.package_id}
            report = verify_archive(replica)
            assert report.ok, report.problems
            assert report.originals_checked == 2 and report.checkpoints_witnessed == 1
            with pytest.raises(InvalidInput, match="read-only"):
                import_package(replica, tmp_path / "p.evt", actor="a")
        finally:
            replica.close()
    finally:
        pg_cluster.stop(standby)
        shutil.rmtree(folder, ignore_errors=True)
