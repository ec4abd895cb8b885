"""Keep the UI thread from freezing behind a long vault operation.

The vault serialises all database work with one lock, and ``ingest_file`` / ``verify`` hold it for
their whole run (minutes for a large video).  A call from the UI thread during that time would block
the event loop until the job ends.  The gate wraps the vault for the UI: while a long job is
registered, vault calls made *on the UI thread* raise :class:`VaultBusy` at once (shown in the
status bar) instead of blocking.  Worker threads pass straight through.

:class:`GatedVault` is the typed service API of app/vault/service.py (``VaultService``), each call
spelled out, so mypy checks every screen's use of the vault against it.  The core operations a
screen hands the gate to on a worker thread (export, redaction, the consent preview) use the wider
``Vault`` API; they reach it through ``__getattr__``, which mypy does not see, so a screen cannot
call anything outside the service API without a type error.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from app.errors import EvidenceVaultError
from app.progress import CancelToken, ProgressCallback
from app.vault.events import Event
from app.vault.models import Case, IngestResult, Item, Note, Person, SearchHit, Segment, VerifyReport
from app.vault.service import ActorProfile, OrgSealInfo, VaultService


class VaultBusy(EvidenceVaultError):
    default_message = "The vault is busy. Try again when the current task has finished."


class GatedVault(VaultService):
    """The vault as every window gets it: the VaultService calls, each refused with VaultBusy on the
    UI thread while a long job (registered with :meth:`begin`) runs."""

    def __init__(self, vault: VaultService) -> None:
        self._vault = vault
        self._jobs: dict[int, str] = {}
        self._tokens = itertools.count(1)

    def begin(self, what: str) -> int:
        """Register a long job (e.g. "importing"); returns a token for :meth:`end`."""
        token = next(self._tokens)
        self._jobs[token] = what
        return token

    def end(self, token: int) -> None:
        self._jobs.pop(token, None)

    @property
    def busy_with(self) -> str | None:
        return next(iter(self._jobs.values()), None)

    def _target(self) -> VaultService:
        """The vault, or VaultBusy on the UI thread while a long job runs."""
        if self._jobs and threading.current_thread() is threading.main_thread():
            raise VaultBusy(f"The vault is busy {self.busy_with}. Try again when that has finished.")
        return self._vault

    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:
            # The rest of the Vault API, for core operations run on a worker thread (see above).
            attribute = getattr(self._vault, name)
            if callable(attribute):
                self._target()
            return attribute

    @property
    def path(self) -> Path:
        return self._vault.path

    @property
    def read_only(self) -> bool:
        return self._vault.read_only

    @property
    def is_open(self) -> bool:
        return self._vault.is_open

    @property
    def key_id(self) -> str:
        return self._vault.key_id

    def close(self) -> None:
        self._target().close()

    def ingest_file(self, path: str | bytes | os.PathLike[str], *, case_id: int | None = None,
                    kind: str | None = None, title: str | None = None, progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> IngestResult:
        return self._target().ingest_file(path, case_id=case_id, kind=kind, title=title, progress=progress,
                                          cancel=cancel)

    def open_original(self, item_id: int) -> BinaryIO:
        return self._target().open_original(item_id)

    def get_item(self, item_id: int) -> Item:
        return self._target().get_item(item_id)

    def list_items(self, case_id: int | None = None) -> list[Item]:
        return self._target().list_items(case_id)

    def edit_item(self, item_id: int, **fields: Any) -> list[str]:
        return self._target().edit_item(item_id, **fields)

    def set_item_hidden(self, item_id: int, hidden: bool = True) -> bool:
        return self._target().set_item_hidden(item_id, hidden)

    def search(self, text: str) -> list[SearchHit]:
        return self._target().search(text)

    def add_note(self, item_id: int, text: str) -> int:
        return self._target().add_note(item_id, text)

    def notes(self, item_id: int) -> list[Note]:
        return self._target().notes(item_id)

    def set_transcript(self, item_id: int, segments: Iterable[Any], *, language: str | None = None) -> None:
        self._target().set_transcript(item_id, segments, language=language)

    def transcript(self, item_id: int) -> list[Segment]:
        return self._target().transcript(item_id)

    def add_case(self, title: str, description: str = "") -> int:
        return self._target().add_case(title, description)

    def list_cases(self) -> list[Case]:
        return self._target().list_cases()

    def add_person(self, *, name: str, aliases: Iterable[str] = (), pseudonym: str | None = None,
                   role: str = "witness", protected: bool = False) -> int:
        return self._target().add_person(name=name, aliases=aliases, pseudonym=pseudonym, role=role,
                                         protected=protected)

    def list_persons(self) -> list[Person]:
        return self._target().list_persons()

    def update_person(self, person_id: int, **fields: Any) -> None:
        self._target().update_person(person_id, **fields)

    def link(self, item_id: int, person_id: int) -> None:
        self._target().link(item_id, person_id)

    def persons_for_item(self, item_id: int) -> list[Person]:
        return self._target().persons_for_item(item_id)

    def persons_for_case(self, case_id: int) -> list[Person]:
        return self._target().persons_for_case(case_id)

    def items_for_person(self, person_id: int) -> list[Item]:
        return self._target().items_for_person(person_id)

    def add_consent(self, person_id: int, *, scopes: Iterable[str] | str, date: str | None = None,
                    taken_by: str | None = None, record_item_id: int | None = None) -> int:
        return self._target().add_consent(person_id, scopes=scopes, date=date, taken_by=taken_by,
                                          record_item_id=record_item_id)

    def withdraw_consent(self, person_id: int, *, date: str | None = None, reason: str = "") -> None:
        self._target().withdraw_consent(person_id, date=date, reason=reason)

    def consent_scopes(self, person_id: int) -> frozenset[str]:
        return self._target().consent_scopes(person_id)

    def record_event(self, action: str, *, item_id: int | None = None,
                     details: dict[str, Any] | None = None) -> Event:
        return self._target().record_event(action, item_id=item_id, details=details)

    def events(self, item_id: int | None = None) -> list[Event]:
        return self._target().events(item_id)

    def verify(self, *, checkpoint: str | None = None, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None, record: bool = True,
               expect_key_id: str | None = None) -> VerifyReport:
        return self._target().verify(checkpoint=checkpoint, progress=progress, cancel=cancel, record=record,
                                     expect_key_id=expect_key_id)

    def checkpoint(self) -> str:
        return self._target().checkpoint()

    def public_key_pem(self) -> bytes:
        return self._target().public_key_pem()

    def change_passphrase(self, new_passphrase: str) -> None:
        self._target().change_passphrase(new_passphrase)

    def actor_profile(self) -> ActorProfile:
        return self._target().actor_profile()

    def set_actor_profile(self, *, role: str, organisation: str) -> None:
        self._target().set_actor_profile(role=role, organisation=organisation)

    def import_org_seal(self, path: str | os.PathLike[str], passphrase: str | None) -> OrgSealInfo:
        return self._target().import_org_seal(path, passphrase)

    def org_seal_info(self) -> OrgSealInfo | None:
        return self._target().org_seal_info()

    def remove_org_seal(self) -> OrgSealInfo:
        return self._target().remove_org_seal()


def begin_job(vault: VaultService, what: str) -> int | None:
    """Register a long job (e.g. "importing") when ``vault`` is the gate; a window handed the vault
    itself (as some tests do) has nothing to register.  Pass the token to :func:`end_job`."""
    return vault.begin(what) if isinstance(vault, GatedVault) else None


def end_job(vault: VaultService, token: int | None) -> None:
    if token is not None and isinstance(vault, GatedVault):
        vault.end(token)
