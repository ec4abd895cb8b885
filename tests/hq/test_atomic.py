"""Atomicity of `hq import`: kill -9 mid-import, a full disk, a lost connection — nothing half-stored or
visible, and the next run resumes with the originals that were not yet stored."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.errors import DiskFull
from app.hq import blobstore
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from app.hq.verify import verify_archive
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


def _visible(conninfo: str) -> dict[str, int]:
    """What a reader of the archive can see (staged originals are not part of it)."""
    return {t: n for t, n in _stored(conninfo).items() if t not in ("blobs", "blob_chunks")}


def _kill_after(hq: Headquarters, conninfo: str, package: Path, stored_bytes: int) -> list[str]:
    """Run the import in a child process and kill -9 it once ``stored_bytes`` of originals went by."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.hq.import_worker", str(hq.folder), conninfo, str(package)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("stored ") and int(line.split()[1]) >= stored_bytes:
                os.kill(child.pid, signal.SIGKILL)
                break
            assert not line.startswith("committed"), "the import finished before it could be killed"
    finally:
        child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL
    return lines


def _wait_for_no_import(conninfo: str) -> None:
    """A killed client's server session ends when the server notices the closed socket, a moment later;
    until then it still holds the import's lock.  Wait for that (not a timing assertion)."""
    from app.hq.staging import STAGE_LOCK

    deadline = time.monotonic() + 60
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while conn.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND pid <> "
                           "pg_backend_pid()", (STAGE_LOCK,)).fetchone() and time.monotonic() < deadline:
            time.sleep(0.1)


def _chunk_versions(conninfo: str) -> dict[tuple[str, int], str]:
    """Each stored chunk row and the transaction that wrote it (xmin): a row stored again gets a new one."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {(r[0], int(r[1])): str(r[2]) for r in conn.execute("SELECT sha256, seq, xmin FROM blob_chunks")}


def test_kill_9_mid_import_then_the_rerun_resumes_without_storing_again(
        hq: Headquarters, hq_db: str, tmp_path: Path) -> None:
    from app.hq import query

    third = 3 * blobstore.CHUNK_SIZE
    vault, case_id = field_vault(tmp_path / "field")
    try:
        for name in ("a.bin", "b.bin", "c.bin"):
            vault.ingest_file(random_file(tmp_path / "field" / name, third), case_id=case_id, kind="document")
        package = transfer(vault, case_id, hq.public(), tmp_path / "three.evt")
    finally:
        vault.close()
    before = _stored(hq_db)
    text_size = 13  # "statement one"
    # Killed while the third video is being stored: the text and the first two are staged in full.
    _kill_after(hq, hq_db, package, text_size + 2 * third + blobstore.CHUNK_SIZE)
    after_kill = _stored(hq_db)
    assert _visible(hq_db) == _visible_of(before)  # no item, event, package, checkpoint or receipt
    assert after_kill["blobs"] == before["blobs"] + 3
    assert after_kill["blob_chunks"] == before["blob_chunks"] + 1 + 2 * 3  # whole originals only
    assert query.list_items(hq) == [] and query.search(hq, "statement") == []
    report = verify_archive(hq, record=False)
    assert report.ok, report.problems
    assert (report.originals_checked, report.staged_originals) == (0, 3)
    assert report.staged_bytes == text_size + 2 * third
    staged_rows = _chunk_versions(hq_db)

    progress: list[tuple[int, str]] = []
    result = import_package(hq, package, actor="archivist", progress=lambda d, t, m: progress.append((d, m)))
    assert result.resumed_originals == 3 and result.new_originals == 4 and result.items == 4
    assert result.bytes_stored == third  # only the original the kill interrupted was stored now
    assert sum(1 for _d, m in progress if m == "already stored") == 3
    assert min(d for d, m in progress if m == "storing originals") > text_size + 2 * third
    # ... and not even decrypted again for the auditor's verification: only the third video was read.
    assert max(d for d, m in progress if m == "Checking the originals") == third
    now = _chunk_versions(hq_db)
    assert {k: now[k] for k in staged_rows} == staged_rows  # the staged chunk rows were not rewritten
    assert len(now) == len(staged_rows) + 3
    report = verify_archive(hq, record=False)
    assert report.ok, report.problems
    assert (report.originals_checked, report.staged_originals) == (4, 0)
    assert len(query.list_items(hq)) == 4


def _visible_of(counts: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in counts.items() if t not in ("blobs", "blob_chunks")}


def test_abandoned_staged_originals_are_reported_and_removed_by_gc(
        hq: Headquarters, hq_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli.main import main
    from app.hq import query, staging
    from app.hq.headquarters import HqError
    from tests.conftest import TEST_PASSPHRASE

    kept, kept_case = field_vault(tmp_path / "kept", texts=("kept statement",))
    try:
        import_package(hq, transfer(kept, kept_case, hq.public(), tmp_path / "kept.evt"), actor="a")
    finally:
        kept.close()
    package = _big_package(hq, tmp_path)  # another field vault, given up on after the kill
    _kill_after(hq, hq_db, package, 3 * blobstore.CHUNK_SIZE)
    _wait_for_no_import(hq_db)
    report = verify_archive(hq, record=False)
    assert report.ok and report.staged_originals == 1 and report.originals_checked == 1
    with psycopg.connect(hq_db, autocommit=True) as other:  # an import running elsewhere
        other.execute("SELECT pg_advisory_lock_shared(%s)", (staging.STAGE_LOCK,))
        with pytest.raises(HqError, match="An import is running"):
            staging.collect_garbage(hq, actor="a")
    _wait_for_no_import(hq_db)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    capsys.readouterr()
    assert main(["hq", "verify", "--dir", str(hq.folder), "--db", hq_db]) == 0
    assert "Note: 1 originals (13 bytes) were stored by an import that did not finish" in capsys.readouterr().out
    assert main(["hq", "gc", "--dir", str(hq.folder), "--db", hq_db]) == 0
    assert "Removed 1 staged originals (13 bytes)" in capsys.readouterr().out
    report = verify_archive(hq, record=False)
    assert report.ok and report.staged_originals == 0 and report.originals_checked == 1
    assert [i.title for i in query.list_items(hq)] == ["kept statement"]
    events = hq.conn.execute("SELECT canonical FROM hq_events ORDER BY seq").fetchall()
    assert b"staged_originals_removed" in bytes(events[-1][0])
    assert staging.collect_garbage(hq, actor="a").originals == 0
    # The abandoned package can still be imported later: it is simply stored from the start.
    result = import_package(hq, package, actor="a")
    assert result.resumed_originals == 0 and result.new_originals == 2


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
    with pytest.raises(DiskFull, match=r"disk is full\. Nothing of this package was imported"):
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
        assert _visible(hq_db) == _visible_of(before)  # at most whole originals stay staged, invisible
        report = verify_archive(hq, record=False)
        assert report.ok and report.originals_checked == 0 and report.staged_originals <= 1
    finally:
        hq.conn.execute("ALTER TABLE blob_chunks SET TABLESPACE pg_default")
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(f"DROP TABLESPACE {name}")


def test_connection_lost_mid_import_is_a_clear_message_and_nothing_is_stored(
        hq: Headquarters, hq_db: str, tmp_path: Path, hq_passphrase: str) -> None:
    """The database server ends the session while originals are being stored (a crash or restart)."""
    from app.hq.headquarters import HqUnavailable

    package = _big_package(hq, tmp_path)
    before = _stored(hq_db)
    backend = hq.conn.info.backend_pid

    def progress(done: int, total: int, message: str) -> None:
        if message == "storing originals" and done >= 2 * blobstore.CHUNK_SIZE:
            with psycopg.connect(hq_db, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

    with pytest.raises(HqUnavailable) as caught:
        import_package(hq, package, actor="a", progress=progress)
    assert "Nothing of this package was imported" in caught.value.user_message()
    assert _visible(hq_db) == _visible_of(before)
    assert _stored(hq_db)["blobs"] == before["blobs"] + 1  # the text original, staged in full before the loss
    with Headquarters.open(hq.folder, hq_passphrase, conninfo=hq_db) as again:
        result = import_package(again, package, actor="a")
        assert (result.new_originals, result.resumed_originals) == (2, 1)
