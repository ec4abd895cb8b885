"""Exports in progress, remembered inside the vault so that what a crash left beside an output goes.

An export writes hidden temporaries beside its output (``.<name>.*.partial``: the unsealed dossier with
its originals attached, a half-written bundle).  A kill -9 or a power cut leaves them, holding the
evidence the export would have held.  Where each export in progress writes is kept in the encrypted
``settings`` table (key ``pending_outputs``), never in a file outside the vault, until the export ends;
each time the vault is opened for writing, the leftovers of those that never ended are removed.
A mixin of :class:`app.vault.vault.Vault`.
"""

from __future__ import annotations

import json
import os

import sqlcipher3

from app.durable import remove_stale_partials
from app.vault.vault_parts import VaultParts

_KEY = "pending_outputs"


class PendingOutputsMixin(VaultParts):
    """The pending-output calls of :class:`app.vault.vault.Vault`."""

    def _pending(self, conn: sqlcipher3.Connection) -> list[list[str]]:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (_KEY,)).fetchone()
        try:
            loaded = json.loads(row[0]) if row else []
        except ValueError:
            loaded = []
        if not isinstance(loaded, list):
            return []
        return [entry for entry in loaded
                if isinstance(entry, list) and len(entry) == 2 and all(isinstance(p, str) for p in entry)]

    def _store_pending(self, conn: sqlcipher3.Connection, entries: list[list[str]]) -> None:
        conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                     "excluded.value", (_KEY, json.dumps(entries, ensure_ascii=False)))

    def pending_outputs(self) -> list[tuple[str, str]]:
        """(folder, output name) of every export that started and has not ended."""
        with self._read() as conn:
            return [(folder, name) for folder, name in self._pending(conn)]

    def begin_output(self, folder: str | os.PathLike[str], name: str) -> None:
        """An export is about to write temporaries named after ``name`` in ``folder``."""
        entry = [os.path.abspath(folder), str(name)]
        with self._tx() as conn:
            entries = self._pending(conn)
            if entry not in entries:
                self._store_pending(conn, [*entries, entry])

    def end_output(self, folder: str | os.PathLike[str], name: str) -> None:
        """The export writing into ``folder`` under ``name`` ended (finished, failed or cancelled)."""
        entry = [os.path.abspath(folder), str(name)]
        with self._tx() as conn:
            entries = self._pending(conn)
            if entry in entries:
                self._store_pending(conn, [e for e in entries if e != entry])

    def sweep_pending_outputs(self) -> int:
        """Remove what exports that never ended left beside their outputs; returns how many exports were
        cleaned up.  An export whose folder cannot be reached now (a removed USB drive) stays listed."""
        cleaned = 0
        for folder, name in self.pending_outputs():
            if not os.path.isdir(folder):
                continue
            if remove_stale_partials(folder, name):
                self.end_output(folder, name)
                cleaned += 1
        return cleaned
