"""What each mixin of :class:`app.vault.vault.Vault` uses from the vault itself.

The mixins (records, identity, actor profiles, organisation seal) each hold one group of calls;
they share the acting name and the vault's transactions, which only ``Vault`` provides.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import sqlcipher3


class VaultParts:
    actor: str

    def _tx(self) -> AbstractContextManager[sqlcipher3.Connection]:  # provided by Vault
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[sqlcipher3.Connection]:  # provided by Vault
        raise NotImplementedError
