"""Atomicity of `hq import`: kill -9 mid-import, a full disk, a lost connection — nothing half-stored."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.errors import DiskFull
from app.hq import blobstore
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from tests.conftest import PROJECT_ROOT
from tests.hq.conftest import server_folder
from tests.hq.fieldkit import field_vault, random_file, transfer
from tests.vault.vaultkit import speed_up

BIG = 8 * blobstore.CHUNK_SIZE


@pytest.fixture(autouse=True)
def _fast_vaults(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


def _stored(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                for t in ("blobs", "blob_chunks", "items", "packages", "field_events", "field_vaults",
                          "witnessed_checkpoints", "hq_events")}


def _big_package(hq: Headquarters, tmp_path: Path) -> Path:
    vault, case_id = field_vault(tmp_path / "field")
    try:
        vault.ingest_file(random_file(tmp_path / "field" / "video.bin", BIG), case_id=case_id, kind="document")
        return transfer(vault, case_id, hq.public(), tmp_path / "big.evt")
    finally:
        vault.close()


def test_kill_9_mid_import_leaves_nothing_and_reimport_works(hq: Headquarters, hq_db: str, tmp_path: Path) -> None:
    package = _big_package(hq, tmp_path)
    before = _stored(hq_db)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.hq.import_worker", str(hq.folder), hq_db, str(package)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith("stored ") and int(line.split()[1]) >= 3 * blobstore.CHUNK_SIZE:
                os.kill(child.pid, signal.SIGKILL)
                break
            assert line.strip() != "committed", "the import finished before it could be killed"
    finally:
        child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert _stored(hq_db) == before  # PostgreSQL rolled the open transaction back: nothing half-stored
    result = import_package(hq, package, actor="archivist")
    assert result.new_originals == 2 and result.bytes_stored > BIG
    after = _stored(hq_db)
    assert after["packages"] == 1 and after["blob_chunks"] >= 8


def test_full_disk_simulated_by_the_database_error(hq: Headquarters, hq_db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The database's own 'disk full' error (SQLSTATE 53100) raised from inside the store."""
    package = _big_package(hq, tmp_path)
    before = _stored(hq_db)
    real = blobstore.store_original

    def failing(*args: object, **kwargs: object) -> int:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    monkeypatch.setattr(blobstore, "store_original", failing)
    with pytest.raises(DiskFull, match=r"disk is full\. Nothing of this package was stored"):
        import_package(hq, package, actor="a")
    assert _stored(hq_db) == before


@pytest.fixture
def small_tablespace(pg_server: object) -> Iterator[Path]:
    """A 6 MiB tmpfs the server's account owns (needs root to mount; skipped otherwise)."""
    import pwd

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the simulated disk-full test covers the message")
    parent = server_folder("evhq-full-")
    folder = parent / "space"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(folder)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        pytest.skip(f"tmpfs cannot be mounted here: {mounted.stderr.decode(errors='replace').strip()}")
    entry = pwd.getpwnam(os.environ.get("EVIDENCE_VAULT_PG_USER", "postgres"))
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def test_full_disk_on_a_real_small_tablespace(hq: Headquarters, hq_db: str, tmp_path: Path,
                                              small_tablespace: Path, pg_server: object) -> None:
    package = _big_package(hq, tmp_path)
    name = "small_" + os.urandom(4).hex()
    admin_info = pg_server.conninfo("postgres")  # type: ignore[attr-defined]
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(f"CREATE TABLESPACE {name} LOCATION '{small_tablespace}'")
    try:
        hq.conn.execute(f"ALTER TABLE blob_chunks SET TABLESPACE {name}")
        before = _stored(hq_db)
        with pytest.raises(DiskFull, match="disk is full"):
            import_package(hq, package, actor="a")
        assert _stored(hq_db) == before
    finally:
        hq.conn.execute("ALTER TABLE blob_chunks SET TABLESPACE pg_default")
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(f"DROP TABLESPACE {name}")
