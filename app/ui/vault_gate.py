"""Keep the UI thread from freezing behind a long vault operation.

The vault serialises all database work with one lock, and ``ingest_file`` / ``verify`` hold it for
their whole run (minutes for a large video).  A call from the UI thread during that time would block
the event loop until the job ends.  The gate wraps the vault for the UI: while a long job is
registered, vault calls made *on the UI thread* raise :class:`VaultBusy` at once (shown in the
status bar) instead of blocking.  Worker threads pass straight through.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from app.errors import EvidenceVaultError


class VaultBusy(EvidenceVaultError):
    default_message = "The vault is busy. Try again when the current task has finished."


class GatedVault:
    def __init__(self, vault: Any) -> None:
        self._vault = vault
        self._jobs: dict[int, str] = {}
        self._tokens = itertools.count(1)

    @property
    def raw(self) -> Any:
        return self._vault

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

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._vault, name)
        if not callable(attribute):
            return attribute
        if self._jobs and threading.current_thread() is threading.main_thread():
            what = self.busy_with

            def refuse(*_args: Any, **_kwargs: Any) -> Any:
                raise VaultBusy(f"The vault is busy {what}. Try again when that has finished.")

            return refuse
        return attribute
