"""Child process for the crash tests: does one vault operation until the parent kills it (SIGKILL).

    python -m tests.reliability.crash_worker OP VAULT PASSPHRASE [ARG...] [--real-kdf]

OP: ingest FILE... | redact ITEM SEED | export OUT ITEM... | passwd NEW | checkpoint COUNT
    | recovery-enable | view ITEM COUNT
Everything slow to import is imported before the vault is opened; "start" is printed once the vault
is open (the parent's kill timer starts then) and "done" at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.vault import db
from tests.vault.vaultkit import ACTOR, FAST_KDF_ITER


def main(argv: list[str]) -> int:
    if "--real-kdf" in argv:
        argv = [a for a in argv if a != "--real-kdf"]
    else:
        db._unsafe_kdf_iter_for_tests = FAST_KDF_ITER
    from app.export.exporter import export
    from app.redact.derive import redact_item
    from app.redact.faces import Box
    from app.vault import recovery

    op, path, passphrase, *rest = argv
    if op == "recovery-enable":
        print("start", flush=True)
        setup = recovery.enable(path, passphrase, actor=ACTOR, shares=3, threshold=2)
        print("share " + setup.shares[0], flush=True)
        print("share " + setup.shares[1], flush=True)
        print("done", flush=True)
        return 0
    vault = recovery.open_vault(path, passphrase, actor=ACTOR)
    print("start", flush=True)
    if op == "ingest":
        for name in rest:
            print(f"ingested {vault.ingest_file(name).item_id}", flush=True)
    elif op == "redact":
        item_id, seed = int(rest[0]), int(rest[1])
        result = redact_item(vault, item_id, names=False, boxes=[Box(40, 30, 120, 90)], accept_residual=True,
                             seed=seed)
        print(f"redacted {result.item_id}", flush=True)
    elif op == "export":
        out = Path(rest[0])
        export(vault, item_ids=[int(i) for i in rest[1:]], audience="court", level="original", out=out,
               bundle=out.suffix != ".pdf")
    elif op == "passwd":
        if recovery.keyslot.exists(Path(path)):
            vault.close()
            recovery.change_passphrase(path, passphrase, rest[0], actor=ACTOR)
        else:
            vault.change_passphrase(rest[0])
    elif op == "checkpoint":
        for _ in range(int(rest[0])):
            vault.checkpoint()
    elif op == "view":
        for _ in range(int(rest[1])):
            with vault.open_original(int(rest[0])) as stream:
                while stream.read(1 << 16):
                    pass
            vault.record_event("item_viewed", item_id=int(rest[0]), details={"where": "crash test"})
    else:
        raise SystemExit(f"unknown operation {op}")
    vault.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
