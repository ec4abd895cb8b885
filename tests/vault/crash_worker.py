"""Child process for tests/vault/test_crash.py: does vault work until the parent kills it with SIGKILL.

    python -m tests.vault.crash_worker ingest VAULT PASSPHRASE FILE...
    python -m tests.vault.crash_worker rekey VAULT OLD_PASSPHRASE NEW_PASSPHRASE

Prints "start" once the vault is open (the parent starts its kill timer then), and "done" at the end.
"""

from __future__ import annotations

import sys

from app.vault import db
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER


def main(argv: list[str]) -> int:
    db._unsafe_kdf_iter_for_tests = FAST_KDF_ITER
    from app.vault.vault import Vault

    command, path, passphrase, *rest = argv
    vault = Vault.open(path, passphrase, actor=ACTOR)
    print("start", flush=True)
    if command == "ingest":
        for name in rest:
            result = vault.ingest_file(name)
            print(f"ingested {result.item_id}", flush=True)
    elif command == "rekey":
        vault.change_passphrase(rest[0])
    vault.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
