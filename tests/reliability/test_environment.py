"""A full disk, two programs on one vault, two exports at once, and what locking leaves in memory."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.errors import DiskFull, EvidenceVaultError, VaultInUse
from app.export.bundle_verify import verify_bundle
from app.export.exporter import export
from app.vault import lock as lock_mod
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE, shared_data_path
from tests.reliability.crashkit import check_whole
from tests.reliability.figures import record
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER, new_vault, speed_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@contextlib.contextmanager
def small_filesystem(where: Path, size: str = "8m"):
    where.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here (needs root and mount permission): "
                    f"{result.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def test_full_disk_during_ingest_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 << 20))  # more than the 8 MiB file system holds
    with small_filesystem(tmp_path / "small") as small:
        # 1. ingest into a vault that lives on the full disk
        with new_vault(small) as v:
            v.add_case("Full disk")
            with pytest.raises(DiskFull) as caught:
                v.ingest_file(big)
            assert "disk is full" in caught.value.user_message().lower()
            assert v.list_items() == []
        with Vault.open(small / "test.vault", TEST_PASSPHRASE, actor=ACTOR) as v:  # intact after the failure
            check_whole(v)
            assert v.list_items() == [] and [e.action for e in v.events()][-1] == "case_added"
        assert sorted(p.name for p in small.iterdir()) in (["test.vault", "test.vault.lock"],
                                                          ["test.vault", "test.vault-journal", "test.vault.lock"])
        record("full disk: ingest refused with DiskFull, vault intact")
        cli = _cli(small / "test.vault", "ingest", str(big))  # the same through the command line
        assert cli.returncode != 0 and "disk is full" in cli.stderr.lower() and "Traceback" not in cli.stderr
        with Vault.open(small / "test.vault", TEST_PASSPHRASE, actor=ACTOR) as v:
            check_whole(v)
            assert v.list_items() == []
        record("full disk: ingest refused with DiskFull, vault intact")
        # 2. export onto the full disk from a vault elsewhere: ZIP bundle, folder bundle, PDF
        (small / "test.vault").unlink()
        (tmp_path / "home").mkdir()
        with new_vault(tmp_path / "home") as v:
            item = v.ingest_file(big).item_id
            events_before = len(v.events())
            for name, bundle in (("dossier.zip", True), ("folder-bundle", True), ("dossier.pdf", False)):
                with pytest.raises(DiskFull) as caught:
                    export(v, item_ids=[item], audience="court", level="original", out=small / name, bundle=bundle)
                assert "disk is full" in caught.value.user_message().lower()
                leftovers = sorted(p.name for p in small.iterdir() if p.name != "test.vault.lock"
                                   and not p.name.startswith("test.vault"))
                assert leftovers == [], f"{name}: partial outputs left on the full disk: {leftovers}"
                record("full disk: export refused with DiskFull, nothing left behind")
            check_whole(v)
            assert not [e for e in v.events()[events_before:] if e.action == "exported"]


def _cli(vault: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = (f"import sys; from app.vault import db; db._unsafe_kdf_iter_for_tests = {FAST_KDF_ITER}\n"
            "from app.cli.main import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "EVIDENCE_VAULT_PASSPHRASE": TEST_PASSPHRASE, **(env_extra or {})}
    return subprocess.run([sys.executable, "-c", code, "--vault", str(vault), "--actor", "cli", *args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_gui_stand_in_and_cli_on_one_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    path = tmp_path / "test.vault"
    vault = new_vault(tmp_path)  # what the GUI holds while it is unlocked
    try:
        vault.add_case("Open in the GUI")
        for command in (["list"], ["checkpoint"], ["verify"], ["case", "add", "x"]):
            result = _cli(path, *command)
            assert result.returncode != 0
            assert VaultInUse.default_message in result.stderr, result.stderr
            assert "Traceback" not in result.stderr
            record("concurrency: second program told the vault is in use")
        vault.add_case("still working")
        check_whole(vault)
    finally:
        vault.close()
    result = _cli(path, "list")  # once the GUI locks, the command line works
    assert result.returncode == 0, result.stderr


def _lock_held(path: Path) -> bool:
    """Whether some process holds the vault's lock, seen in /proc/locks without touching the lock: taking it
    to test it, even for a moment, could make the very process we wait for find the vault in use."""
    try:
        inode = os.stat(lock_mod.lock_path_for(path)).st_ino
    except FileNotFoundError:
        return False
    with open("/proc/locks", encoding="ascii") as locks:
        return any(line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}") for line in locks)


def test_cli_against_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    new_vault(tmp_path).close()
    path = tmp_path / "test.vault"
    told = 0
    for attempt in range(3):
        source = tmp_path / f"large-{attempt}.bin"
        source.write_bytes(os.urandom((40 + 40 * attempt) << 20))
        code = (f"import sys; from app.vault import db; db._unsafe_kdf_iter_for_tests = {FAST_KDF_ITER}\n"
                "from app.cli.main import main; sys.exit(main(sys.argv[1:]))")
        first = subprocess.Popen([sys.executable, "-c", code, "--vault", str(path), "--actor", "first", "ingest",
                                  str(source)], cwd=PROJECT_ROOT, text=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE,
                                 env={**os.environ, "EVIDENCE_VAULT_PASSPHRASE": TEST_PASSPHRASE})
        while first.poll() is None and not _lock_held(path):
            pass
        second = _cli(path, "list")
        _, first_errors = first.communicate(timeout=120)
        assert first.returncode == 0, first_errors
        if second.returncode != 0:
            assert VaultInUse.default_message in second.stderr, second.stderr
            told += 1
            record("concurrency: second program told the vault is in use")
        if told:
            break
    assert told, "the second command never ran while the first held the vault"
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        check_whole(v)


def test_two_exports_at_once_from_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        ids = [v.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")).item_id,
               v.ingest_file(shared_data_path("media", "png_rgb_face_astronaut.png")).item_id]
        outcomes: dict[str, object] = {}

        def run(name: str) -> None:
            try:
                outcomes[name] = export(v, item_ids=ids, audience="court", level="original",
                                        out=tmp_path / name, bundle=True)
            except EvidenceVaultError as exc:
                outcomes[name] = exc

        threads = [threading.Thread(target=run, args=(name,)) for name in ("one.zip", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        valid = 0
        for name, outcome in outcomes.items():
            if isinstance(outcome, EvidenceVaultError):
                assert outcome.user_message()
                assert not (tmp_path / name).exists()
            else:
                assert verify_bundle(tmp_path / name).ok
                valid += 1
        assert len(outcomes) == 2 and valid >= 1
        exported = [e for e in v.events() if e.action == "exported"]
        assert len(exported) == valid
        check_whole(v)
        record("concurrency: exports at once from two threads, valid outputs", valid)
    # and sequentially from two processes (a worker each)
    from tests.reliability.crashkit import full_run

    for name in ("proc-a.zip", "proc-b"):
        full_run("export", str(tmp_path / "test.vault"), TEST_PASSPHRASE, str(tmp_path / name), *map(str, ids))
        assert verify_bundle(tmp_path / name).ok
        record("concurrency: exports from two processes in turn, valid outputs")


# -- memory -----------------------------------------------------------------------------------

def _held_by(obj: object, holder: object) -> bool:
    gc.collect()
    return any(ref is holder or (isinstance(ref, dict) and ref is getattr(holder, "__dict__", None))
               for ref in gc.get_referrers(obj))


def test_locking_drops_keys_connection_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    vault = new_vault(tmp_path)
    item = vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")).item_id
    signing, seal, conn = vault.signing_key, vault.seal_identity, vault._conn
    vault.checkpoint()
    leaves = vault._leaves
    assert leaves.leaves(conn)  # the cache is filled
    assert _held_by(signing, vault) and _held_by(seal, vault) and _held_by(conn, vault)
    vault.close()
    assert not _held_by(signing, vault), "the signing key is still referenced by the Vault"
    assert not _held_by(seal, vault), "the seal key is still referenced by the Vault"
    assert not _held_by(conn, vault), "the SQLCipher connection is still referenced by the Vault"
    assert vault._conn is None and vault._signing_key is None and vault._seal is None
    assert vault._leaves._leaves == [] and not vault._file_lock.held
    with pytest.raises(Exception, match=r"(?i)closed|cannot operate"):
        conn.execute("SELECT 1")  # the connection (and SQLCipher's key in C memory) is closed
    with pytest.raises(EvidenceVaultError, match="locked"):
        vault.open_original(item)
    with pytest.raises(EvidenceVaultError, match="locked"):
        _ = vault.signing_key
    # Vault objects are gone once the caller drops them (no cycle or global keeps them alive)
    import weakref

    ref = weakref.ref(vault)
    del vault, leaves
    gc.collect()
    assert ref() is None
    record("memory: objects checked after lock", 5)


def test_open_stream_cache_dropped_on_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream from open_original() that a viewer forgot to close is closed by locking: its decrypted
    chunk is dropped and it cannot be read any more."""
    speed_up(monkeypatch)
    vault = new_vault(tmp_path)
    item = vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg")).item_id
    stream = vault.open_original(item)
    stream.read(1000)
    raw = stream.raw
    assert raw._cached  # a decrypted chunk is held while the vault is open
    vault.close()
    with pytest.raises((EvidenceVaultError, ValueError)):
        stream.read(10)
    assert raw._cached == b"", "decrypted bytes are still held by an open stream after locking"
    record("memory: objects checked after lock")
