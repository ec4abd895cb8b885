"""Child process: change the passphrase of a recovery-enabled vault and SIGKILL itself at one chosen step.

    python -m tests.reliability.keyslot_kill_worker VAULT OLD NEW STEP [--open]

STEP (the steps of app/vault/keyslot_change.py): ``none`` (finish), ``before-stage``, ``mid-stage`` (half the
staged keyslot written), ``after-stage``, ``mid-commit`` (the event inserted, the transaction not
committed), ``after-commit`` (before the staged keyslot is installed), ``after-install``.
``--open``: change it through the open vault, as ``evidence-vault passwd`` and the app do (else the
closed-vault ``recovery.change_passphrase``).  Random kill moments are in test_crashes.py; these are the
boundaries between the steps, hit every time.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.vault import db
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER

STEPS = ("none", "before-stage", "mid-stage", "after-stage", "mid-commit", "after-commit", "after-install")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _around(function: Callable[..., Any], *, before: bool = False, after: bool = False) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            _die()
        result = function(*args, **kwargs)
        if after:
            _die()
        return result
    return wrapper


def main(argv: list[str]) -> int:
    db._unsafe_kdf_iter_for_tests = FAST_KDF_ITER
    from app.vault import custody, keyslot_change, recovery

    use_open = "--open" in argv
    path, old, new, step = (a for a in argv if a != "--open")
    assert step in STEPS, step
    if step == "before-stage":
        keyslot_change._stage = _around(keyslot_change._stage, before=True)
    elif step == "after-stage":
        keyslot_change._stage = _around(keyslot_change._stage, after=True)
    elif step == "after-commit":
        keyslot_change._record = _around(keyslot_change._record, after=True)
    elif step == "after-install":
        keyslot_change._install = _around(keyslot_change._install, after=True)
    elif step == "mid-stage":
        def torn(vault: Path, data: bytes) -> None:
            with open(keyslot_change.staged_path(vault), "wb") as handle:
                handle.write(data[: len(data) // 2])
                handle.flush()
                os.fsync(handle.fileno())
            _die()
        keyslot_change._stage = torn
    elif step == "mid-commit":
        def uncommitted(conn: Any, *, actor: str, method: str, raw: bytes, digest: str) -> None:
            conn.execute("BEGIN IMMEDIATE")
            custody.append_event(conn, actor=actor, action="passphrase_changed",
                                 details={"method": method, "keyslot_sha256": digest})
            _die()
        keyslot_change._record = uncommitted
    if use_open:
        with recovery.open_vault(path, old, actor=ACTOR) as vault:
            vault.change_passphrase(new)
    else:
        recovery.change_passphrase(path, old, new, actor=ACTOR)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
