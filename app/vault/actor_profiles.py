"""Who acts: the role and organisation a vault remembers for each actor name.

Kept in the encrypted ``settings`` table (key ``actor_profiles``), never in a settings file: who
works on which case is itself sensitive.  A mixin of :class:`app.vault.vault.Vault`.
"""

from __future__ import annotations

import dataclasses
import json

import sqlcipher3

from app.vault.vault_parts import VaultParts


@dataclasses.dataclass(frozen=True)
class ActorProfile:
    """Who acts: the name given at unlock, and the role/organisation the vault remembers for it."""

    name: str
    role: str = ""
    organisation: str = ""


class ActorProfileMixin(VaultParts):
    """The actor-profile calls of :class:`app.vault.vault.Vault`."""

    def _profiles(self, conn: sqlcipher3.Connection) -> dict[str, dict[str, str]]:
        row = conn.execute("SELECT value FROM settings WHERE key = 'actor_profiles'").fetchone()
        try:
            loaded = json.loads(row[0]) if row else {}
        except ValueError:
            loaded = {}
        return loaded if isinstance(loaded, dict) else {}

    def actor_profile(self) -> ActorProfile:
        """The role and organisation this vault remembers for the current actor (empty when none).

        Kept inside the encrypted vault, never in a settings file: who works on which case is itself
        sensitive."""
        with self._read() as conn:
            entry = self._profiles(conn).get(self.actor) or {}
        return ActorProfile(self.actor, str(entry.get("role") or ""), str(entry.get("organisation") or ""))

    def set_actor_profile(self, *, role: str, organisation: str) -> None:
        """Remember the current actor's role (e.g. "Lawyer") and organisation for later sessions."""
        role, organisation = str(role).strip()[:200], str(organisation).strip()[:200]
        with self._tx() as conn:
            profiles = self._profiles(conn)
            profiles[self.actor] = {"role": role, "organisation": organisation}
            conn.execute("INSERT INTO settings(key, value) VALUES ('actor_profiles', ?) ON CONFLICT(key) "
                         "DO UPDATE SET value = excluded.value", (json.dumps(profiles, ensure_ascii=False),))
