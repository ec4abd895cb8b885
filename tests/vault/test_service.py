"""The vault's service API (app/vault/service.py) and the gate the desktop app puts in front of it
(app/ui/vault_gate.py), against a real vault."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from app.export.commitments import KEY_LABEL, commitment_key, derive_key
from app.ui.vault_gate import GatedVault, VaultBusy, begin_job, end_job
from app.vault import record_digest
from app.vault.service import VaultService, open_vault
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, fast_vault, raw_connect


def _members(cls: type) -> dict[str, Any]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_")}


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fast_vault(tmp_path, monkeypatch)


def test_vault_and_gate_offer_every_call_of_the_service_api_with_its_signature() -> None:
    service = _members(VaultService)
    assert len(service) >= 30
    for name, declared in service.items():
        for implementation in (Vault, GatedVault):
            actual = inspect.getattr_static(implementation, name, None)
            if name == "path" and implementation is Vault:
                continue  # a plain attribute of each open vault, set in __init__
            assert actual is not None, f"{implementation.__name__} lacks {name}"
            if isinstance(declared, property):
                assert isinstance(actual, property), f"{implementation.__name__}.{name} is not a property"
                continue
            assert inspect.signature(actual) == inspect.signature(declared), f"{implementation.__name__}.{name}"


def test_the_service_opens_a_vault_that_satisfies_it(vault: Vault, tmp_path: Path) -> None:
    path = vault.path
    vault.close()
    opened = open_vault(path, TEST_PASSPHRASE, actor=ACTOR, read_only=True)
    try:
        assert opened.read_only and opened.path == path and opened.list_items() == []
        assert get_type_hints(open_vault)["return"] is VaultService
    finally:
        opened.close()


def test_the_gate_refuses_the_ui_thread_during_a_long_job_and_passes_workers(vault: Vault) -> None:
    gate = GatedVault(vault)
    case = gate.add_case("before")
    token = begin_job(gate, "importing")
    assert gate.busy_with == "importing"
    with pytest.raises(VaultBusy, match="busy importing"):
        gate.list_cases()
    with pytest.raises(VaultBusy):
        gate.get_case  # noqa: B018  (not in the service API: the core operations' pass-through is gated too)
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append([c.id for c in gate.list_cases()]))
    worker.start()
    worker.join()
    assert seen == [[case]]
    end_job(gate, token)
    assert gate.busy_with is None and [c.id for c in gate.list_cases()] == [case]
    assert begin_job(vault, "importing") is None  # a window handed the vault itself registers nothing


def test_export_commitments_use_a_key_derived_from_the_record_key(vault: Vault) -> None:
    """The vault hands out a derived key, never the record key; it is the documented derivation."""
    conn = raw_connect(vault.path)
    try:
        record_key = record_digest.load_record_key(conn)
    finally:
        conn.close()
    assert record_key is not None
    assert commitment_key(vault) == derive_key(record_key) == vault.derived_key(KEY_LABEL)
    assert vault.derived_key(b"another purpose") != commitment_key(vault)
