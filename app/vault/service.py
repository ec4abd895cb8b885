"""The vault's service API: everything the desktop app (app/ui) may ask of an open vault.

The UI holds a :class:`VaultService`, never a :class:`~app.vault.vault.Vault`: the protocol lists
the calls a screen makes (cases, items, persons, consent, notes, transcripts, the custody log,
verification, checkpoints, the actor's profile), with the same signatures as ``Vault``, which
satisfies it structurally (mypy checks that below, tests/vault/test_service.py at run time).
tests/test_layering.py keeps ``app/ui`` to this module, the plain records of
``app.vault.models`` / ``app.vault.events`` and the errors: a screen cannot reach the storage, the
keys or the custody-log internals, and every change it asks for goes through a vault method that
records it in the custody log.

Core operations that take a vault (``app.export.exporter.export``, ``app.redact.derive.propose``
and ``redact_item``, ``app.export.selection.select``...) are handed the same object by the UI; they
run on a worker thread and use the wider ``Vault`` API, which the UI itself does not call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from app.progress import CancelToken, ProgressCallback
from app.vault.actor_profiles import ActorProfile
from app.vault.collect import collect_files
from app.vault.events import Event
from app.vault.models import Case, IngestResult, Item, Note, Person, SearchHit, Segment, VerifyReport
from app.vault.org_seal_store import OrgSealInfo
from app.vault.passphrase import Strength, passphrase_strength
from app.vault.recovery import MAX_SHARES as _MAX_SHARES
from app.vault.recovery import PanicResult, RecoverySetup
from app.vault.recovery import enable as _enable_recovery
from app.vault.recovery import panic as _panic
from app.vault.vault import Vault

__all__ = [
    "MAX_RECOVERY_SHARES", "ActorProfile", "OrgSealInfo", "PanicResult", "RecoverySetup", "Strength", "VaultService",
    "collect_files", "create_vault", "enable_recovery", "open_vault", "panic", "passphrase_strength",
]


class VaultService(Protocol):
    """An open vault as the desktop app sees it (see ``Vault`` for what each call does)."""

    @property
    def path(self) -> Path: ...

    @property
    def read_only(self) -> bool: ...

    @property
    def is_open(self) -> bool: ...

    @property
    def key_id(self) -> str: ...

    def close(self) -> None: ...

    # -- evidence ------------------------------------------------------------------------------
    def ingest_file(self, path: str | bytes | os.PathLike[str], *, case_id: int | None = None,
                    kind: str | None = None, title: str | None = None, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> IngestResult: ...

    def open_original(self, item_id: int) -> BinaryIO: ...

    def get_item(self, item_id: int) -> Item: ...

    def list_items(self, case_id: int | None = None) -> list[Item]: ...

    def edit_item(self, item_id: int, **fields: Any) -> list[str]: ...

    def set_item_hidden(self, item_id: int, hidden: bool = True) -> bool: ...

    def search(self, text: str) -> list[SearchHit]: ...

    def add_note(self, item_id: int, text: str) -> int: ...

    def notes(self, item_id: int) -> list[Note]: ...

    def set_transcript(self, item_id: int, segments: Iterable[Any], *, language: str | None = None) -> None: ...

    def transcript(self, item_id: int) -> list[Segment]: ...

    # -- cases, persons, consent ---------------------------------------------------------------
    def add_case(self, title: str, description: str = "") -> int: ...

    def list_cases(self) -> list[Case]: ...

    def add_person(self, *, name: str, aliases: Iterable[str] = (), pseudonym: str | None = None,
                   role: str = "witness", protected: bool = False) -> int: ...

    def list_persons(self) -> list[Person]: ...

    def update_person(self, person_id: int, **fields: Any) -> None: ...

    def link(self, item_id: int, person_id: int) -> None: ...

    def persons_for_item(self, item_id: int) -> list[Person]: ...

    def persons_for_case(self, case_id: int) -> list[Person]: ...

    def items_for_person(self, person_id: int) -> list[Item]: ...

    def add_consent(self, person_id: int, *, scopes: Iterable[str] | str, date: str | None = None,
                    taken_by: str | None = None, record_item_id: int | None = None) -> int: ...

    def withdraw_consent(self, person_id: int, *, date: str | None = None, reason: str = "") -> None: ...

    def consent_scopes(self, person_id: int) -> frozenset[str]: ...

    # -- custody log, verification, keys -------------------------------------------------------
    def record_event(self, action: str, *, item_id: int | None = None,
                     details: dict[str, Any] | None = None) -> Event: ...

    def events(self, item_id: int | None = None) -> list[Event]: ...

    def verify(self, *, checkpoint: str | None = None, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None, record: bool = True,
               expect_key_id: str | None = None) -> VerifyReport: ...

    def checkpoint(self) -> str: ...

    def public_key_pem(self) -> bytes: ...

    def change_passphrase(self, new_passphrase: str) -> None: ...

    def actor_profile(self) -> ActorProfile: ...

    def set_actor_profile(self, *, role: str, organisation: str) -> None: ...

    # -- the organisation's seal (PKCS#12 kept in the vault; app/vault/org_seal_store.py) ------------
    def import_org_seal(self, path: str | os.PathLike[str], passphrase: str | None) -> OrgSealInfo: ...

    def org_seal_info(self) -> OrgSealInfo | None: ...

    def remove_org_seal(self) -> OrgSealInfo: ...


def open_vault(path: str | os.PathLike[str], passphrase: str, *, actor: str,
               read_only: bool = False) -> VaultService:
    """Open an existing vault (see ``Vault.open``)."""
    return Vault.open(path, passphrase, actor=actor, read_only=read_only)


def create_vault(path: str | os.PathLike[str], passphrase: str, *, actor: str, organisation: str) -> VaultService:
    """Create a new vault (see ``Vault.create``)."""
    return Vault.create(path, passphrase, actor=actor, organisation=organisation)


def panic(path: str | os.PathLike[str]) -> PanicResult:
    """Destroy the local key material of the (already closed) vault at ``path`` when the organisation
    configured that (see ``app.vault.recovery.panic``)."""
    return _panic(path)


MAX_RECOVERY_SHARES: int = _MAX_SHARES


def enable_recovery(path: str | os.PathLike[str], passphrase: str, *, actor: str, shares: int, threshold: int,
                    panic_destroys_keys: bool = False) -> RecoverySetup:
    """Split the (closed) vault's key into recovery shares, any ``threshold`` of which open it (see
    ``app.vault.recovery.enable``: the shares are returned once and never stored)."""
    return _enable_recovery(path, passphrase, actor=actor, shares=shares, threshold=threshold,
                            panic_destroys_keys=panic_destroys_keys)


def _vault_is_a_service(vault: Vault) -> VaultService:
    """Never called: mypy checks here that ``Vault`` provides every call of :class:`VaultService`."""
    return vault
