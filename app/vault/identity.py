"""The vault's own identity: its signing and seal keys (rows of the ``keys`` table), the key id and
checkpoint origin they give it, and the checkpoints it signs of its custody log.

A mixin of :class:`app.vault.vault.Vault`; the keys are read once per open and dropped by ``close``.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.errors import NotAVault
from app.vault import custody, keys
from app.vault.checkpoint import sign_checkpoint
from app.vault.events import utc_now
from app.vault.vault_parts import VaultParts

FORMAT_NAME = "evidence-vault"  # the vault file's format setting, and the first part of its checkpoint origin


class IdentityMixin(VaultParts):
    """The key and checkpoint calls of :class:`app.vault.vault.Vault`."""

    _lock: threading.RLock
    _signing_key: Ed25519PrivateKey | None
    _seal: keys.SealIdentity | None

    def _check_writable(self) -> None:  # provided by Vault
        raise NotImplementedError

    def tree_head(self) -> tuple[int, bytes]:  # provided by Vault
        raise NotImplementedError

    def _key_row(self, name: str) -> tuple[Any, ...]:
        with self._read() as conn:
            row = conn.execute(
                "SELECT private_key, public_pem, certificate_pem, key_id FROM keys WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise NotAVault(f"The vault's {name} key is missing; the vault is damaged.")
        return tuple(row)

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        with self._lock:
            if self._signing_key is None:
                self._signing_key = keys.load_private_key(bytes(self._key_row("signing")[0]))
            return self._signing_key

    @property
    def seal_identity(self) -> keys.SealIdentity:
        with self._lock:
            if self._seal is None:
                row = self._key_row("seal")
                self._seal = keys.SealIdentity(key_pem=bytes(row[0]), cert_pem=bytes(row[2]))
            return self._seal

    @property
    def key_id(self) -> str:
        return keys.key_id(self.signing_key)

    @property
    def origin(self) -> str:
        """The checkpoint origin line: ``evidence-vault/<key id>``."""
        return f"{FORMAT_NAME}/{self.key_id}"

    def public_key_pem(self) -> bytes:
        return keys.public_key_pem(self.signing_key)

    def exclusive(self) -> AbstractContextManager[bool]:
        """Hold the vault for this thread: no other thread's call records anything until the block ends.
        An export records its ``exported`` event and then the bundle's checkpoint inside one such block,
        so that the checkpoint ends with that event (docs/FORMAT.md, "What the bundle's checkpoint covers")."""
        return self._lock

    def checkpoint(self) -> str:
        """Sign the current tree head, store it, record checkpoint_made; returns the checkpoint text."""
        self._check_writable()
        with self._lock:
            size, root = self.tree_head()
            now = utc_now()
            text = sign_checkpoint(origin=self.origin, tree_size=size, root=root, time=now, key=self.signing_key)
            with self._tx() as conn:
                conn.execute("INSERT INTO checkpoints(tree_size, text, created_at) VALUES (?, ?, ?)",
                             (size, text, now))
                custody.append_event(conn, actor=self.actor, action="checkpoint_made", time=now,
                                     details={"tree_size": size, "root": root.hex()})
        return text

    def checkpoints(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute("SELECT text FROM checkpoints ORDER BY id")]
