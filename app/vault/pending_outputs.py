"""Exports in progress, remembered inside the vault so that what a crash left beside an output goes.

An export writes hidden temporaries beside its output (``.<name>.*.partial``: the unsealed dossier with
its originals attached, a half-written bundle).  A kill -9 or a power cut leaves them, holding the
evidence the export would have held.  Where each export in progress writes is kept in the encrypted
``settings`` table (key ``pending_outputs``), never in a file outside the vault, until the export ends;
each time the vault is opened for writing, the leftovers of those that never ended are removed.  A bundle's
``exported`` event is recorded before the bundle is written; when such an export never ended and its bundle
does not exist, the log is told so, as when it fails in front of the user (``completed: false``).
A mixin of :class:`app.vault.vault.Vault`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import sqlcipher3

from app.durable import remove_stale_partials
from app.vault.vault_parts import VaultParts

_KEY = "pending_outputs"


class PendingOutputsMixin(VaultParts):
    """The pending-output calls of :class:`app.vault.vault.Vault`."""

    def record_event(self, action: str, *, item_id: int | None = None,
                     details: dict[str, Any] | None = None) -> Any:  # provided by Vault
        raise NotImplementedError

    def _pending(self, conn: sqlcipher3.Connection) -> list[list[Any]]:
        """Entries ``[folder, name]``, or ``[folder, name, seq]`` once the export's event is recorded."""
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (_KEY,)).fetchone()
        try:
            loaded = json.loads(row[0]) if row else []
        except ValueError:
            loaded = []
        if not isinstance(loaded, list):
            return []
        return [entry for entry in loaded
                if isinstance(entry, list) and len(entry) in (2, 3) and all(isinstance(p, str) for p in entry[:2])
                and (len(entry) == 2 or type(entry[2]) is int)]

    def _store_pending(self, conn: sqlcipher3.Connection, entries: list[list[Any]]) -> None:
        conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                     "excluded.value", (_KEY, json.dumps(entries, ensure_ascii=False)))

    def pending_outputs(self) -> list[tuple[str, str]]:
        """(folder, output name) of every export that started and has not ended."""
        with self._read() as conn:
            return [(entry[0], entry[1]) for entry in self._pending(conn)]

    def begin_output(self, folder: str | os.PathLike[str], name: str) -> None:
        """An export is about to write temporaries named after ``name`` in ``folder``."""
        entry = [os.path.abspath(folder), str(name)]
        with self._tx() as conn:
            entries = self._pending(conn)
            if entry not in entries:
                self._store_pending(conn, [*entries, entry])

    def output_event(self, folder: str | os.PathLike[str], name: str, seq: int) -> None:
        """The ``exported`` event (``seq``) of the export writing ``name`` is in the log, its output not yet."""
        key = [os.path.abspath(folder), str(name)]
        with self._tx() as conn:
            self._store_pending(conn, [[*e[:2], seq] if e[:2] == key else e for e in self._pending(conn)])

    def end_output(self, folder: str | os.PathLike[str], name: str) -> None:
        """The export writing into ``folder`` under ``name`` ended (finished, failed or cancelled)."""
        key = [os.path.abspath(folder), str(name)]
        with self._tx() as conn:
            entries = self._pending(conn)
            if any(e[:2] == key for e in entries):
                self._store_pending(conn, [e for e in entries if e[:2] != key])

    def sweep_pending_outputs(self) -> int:
        """Remove what exports that never ended left beside their outputs; returns how many exports were
        cleaned up.  An export whose folder cannot be reached now (a removed USB drive) stays listed."""
        cleaned = 0
        with self._read() as conn:
            entries = self._pending(conn)
        for folder, name, *event in entries:
            if not os.path.isdir(folder):
                continue
            if remove_stale_partials(folder, name):
                if event and not os.path.lexists(os.path.join(folder, name)):
                    self.record_event("exported", details={"failed_export_event": event[0], "completed": False,
                                                           "reason": "interrupted"})
                self.end_output(folder, name)
                cleaned += 1
        return cleaned
