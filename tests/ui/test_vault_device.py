"""VaultDevice (app/ui/vault_device.py) and the locks the app keeps around the vault.

The question each test settles: does the app still need a lock shared by every device (it had one),
and does the vault itself need the app's single worker thread to stay correct?  Both answers come
from running the real thing from several threads at once: devices with only their own lock, and
vault calls racing each other, against a real SQLCipher file.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QIODevice

from app.ui.vault_device import VaultDevice
from app.vault.vault import Vault
from tests.vault.vaultkit import fast_vault

THREADS = 4
READS = 60


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def _stored(vault: Vault, tmp_path: Path, name: str, size: int, seed: int) -> tuple[int, bytes]:
    data = random.Random(seed).randbytes(size)
    path = tmp_path / name
    path.write_bytes(data)
    return vault.ingest_file(path, kind="document").item_id, data


def _run_all(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def guarded(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # reported below, with the thread's assertion
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_each_device_reads_its_own_bytes_while_others_read_at_the_same_time(vault: Vault, tmp_path: Path) -> None:
    """No lock shared between devices: concurrent seeks and reads on several devices over the same
    vault each return exactly the bytes at their own position."""
    stored = [_stored(vault, tmp_path, f"evidence-{n}.bin", 600_000 + n * 77_777, seed=n) for n in range(THREADS)]

    def reader(item_id: int, data: bytes, seed: int) -> Callable[[], None]:
        def work() -> None:
            device = VaultDevice.opened(vault.open_original(item_id))
            try:
                assert device.size() == len(data)
                pick = random.Random(seed)
                for _ in range(READS):
                    position = pick.randrange(len(data))
                    length = pick.randrange(1, 200_000)
                    assert device.seek(position)
                    chunk = bytes(device.read(length).data())
                    assert chunk == data[position:position + length], f"wrong bytes at {position}"
            finally:
                device.close()
        return work

    errors = _run_all([reader(item_id, data, seed) for seed, (item_id, data) in enumerate(stored)])
    assert not errors, errors


def test_a_device_is_read_only() -> None:
    import io

    device = VaultDevice.opened(io.BytesIO(b"evidence"))
    assert device.openMode() == QIODevice.OpenModeFlag.ReadOnly
    assert device.write(b"x") == -1
    assert bytes(device.readAll().data()) == b"evidence"


def test_the_vault_stays_consistent_under_concurrent_calls(vault: Vault, tmp_path: Path) -> None:
    """Imports, reads, notes and listing from several threads at once: every call completes, every
    original reads back intact and the custody log verifies.  The vault serialises its own database
    work, so the app's single worker thread (app/ui/app.py) is a scheduling choice, not a safety need."""
    case = vault.add_case("concurrency")
    originals: dict[int, str] = {}
    lock = threading.Lock()

    def importer(n: int) -> Callable[[], None]:
        def work() -> None:
            for k in range(3):
                item_id, data = _stored(vault, tmp_path, f"import-{n}-{k}.bin", 150_000 + k, seed=100 * n + k)
                with lock:
                    originals[item_id] = hashlib.sha256(data).hexdigest()
                vault.add_note(item_id, f"note {n}-{k}")
        return work

    def browser() -> None:
        for _ in range(20):
            for item in vault.list_items(case_id=None):
                with vault.open_original(item.id) as stream:
                    stream.read(4096)
            vault.events()

    errors = _run_all([importer(0), importer(1), browser, browser])
    assert not errors, errors
    assert case and len(originals) == 6
    for item_id, digest in originals.items():
        with vault.open_original(item_id) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digest
    report = vault.verify(record=False)
    assert report.ok, report.problems
