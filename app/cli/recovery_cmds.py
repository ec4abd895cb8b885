"""Recovery and panic commands of `evidence-vault` (app.vault.recovery does the work).

    evidence-vault recovery enable --shares N --threshold K [--panic-destroys-keys]
    evidence-vault recovery status
    evidence-vault recover          # shares on stdin, one per line; then the new passphrase
    evidence-vault panic [--destroy-keys]
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from app.cli.terminal import PassphraseSource, actor_name, vault_path
from app.errors import EvidenceVaultError

SHARES_WARNING = """\
WARNING: these recovery shares are shown ONCE and are never stored by Evidence Vault.
Write each share on paper and give it to a different trusted person at headquarters.
Any {k} of the {n} shares open this vault WITHOUT the passphrase: never keep {k} of them
together, never photograph them, never store them on this laptop or send them by message.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recovery = subparsers.add_parser("recovery", help="organisational passphrase recovery (Shamir shares)")
    actions = recovery.add_subparsers(dest="recovery_command", metavar="ACTION", required=True)
    enable = actions.add_parser("enable", help="split a recovery key into shares for headquarters (prints them once)")
    enable.add_argument("--shares", type=int, required=True, metavar="N", help="how many shares to make")
    enable.add_argument("--threshold", type=int, required=True, metavar="K", help="how many shares recover the vault")
    enable.add_argument("--panic-destroys-keys", action="store_true",
                        help="make 'panic' destroy the local key file, so only the shares can open the vault")
    enable.set_defaults(func=cmd_recovery_enable)
    actions.add_parser("status", help="say whether recovery is enabled").set_defaults(func=cmd_recovery_status)

    recover = subparsers.add_parser(
        "recover", help="open the vault with recovery shares (one per line on stdin) and set a new passphrase")
    recover.set_defaults(func=cmd_recover)

    panic = subparsers.add_parser("panic", help="lock at once; with --destroy-keys destroy the local key file")
    panic.add_argument("--destroy-keys", action="store_true",
                       help="destroy the key file even if not configured (recovery must be enabled)")
    panic.set_defaults(func=cmd_panic)


def cmd_recovery_enable(args: argparse.Namespace) -> int:
    from app.vault import recovery

    path = vault_path(args)
    passphrase = PassphraseSource(args).current()
    setup = recovery.enable(path, passphrase, actor=actor_name(args), shares=args.shares, threshold=args.threshold,
                            panic_destroys_keys=args.panic_destroys_keys)
    print(SHARES_WARNING.format(k=setup.threshold, n=len(setup.shares)), file=sys.stderr)
    for number, share in enumerate(setup.shares, start=1):
        print(f"Share {number} of {len(setup.shares)} (any {setup.threshold} recover the vault):")
        print(share)
        print()
    print(f"Recovery key fingerprint: {setup.fingerprint}")
    if setup.panic_destroys_keys:
        print("'panic' will destroy this laptop's key file: afterwards only the shares open the vault.",
              file=sys.stderr)
    return 0


def cmd_recovery_status(args: argparse.Namespace) -> int:
    from app.vault import keyslot

    path = vault_path(args)
    if not keyslot.exists(path):
        print("Recovery is not enabled: the vault is keyed with its passphrase alone.")
        return 0
    slot = keyslot.read(path)
    print(f"Recovery is enabled. Key fingerprint: {slot.fingerprint}.")
    print("'panic' destroys the local key file." if slot.panic_destroys_keys
          else "'panic' locks only (add --destroy-keys to destroy the local key file).")
    return 0


def _read_shares(stream: TextIO) -> list[str]:
    """Shares, one per line, until a blank line, the end of input, or as many as the first share needs."""
    from shamir_mnemonic import MnemonicError
    from shamir_mnemonic.share import Share

    interactive = stream.isatty()
    shares: list[str] = []
    needed: int | None = None
    while needed is None or len(shares) < needed:
        if interactive:
            print(f"Recovery share {len(shares) + 1}{f' of {needed}' if needed else ''} "
                  "(one line; an empty line to stop):", file=sys.stderr)
        line = stream.readline()
        if not line.strip():
            break
        share = " ".join(line.lower().split())
        shares.append(share)
        if needed is None:
            try:
                needed = Share.from_mnemonic(share).member_threshold
            except MnemonicError:
                needed = None  # reported by recovery.key_from_shares with the share's number
    return shares


def cmd_recover(args: argparse.Namespace) -> int:
    from app.vault import recovery

    path = vault_path(args)
    shares = _read_shares(sys.stdin)
    key = recovery.key_from_shares(shares)  # fail early, before asking for a passphrase
    del key
    new_passphrase = PassphraseSource(args).new()
    fingerprint = recovery.recover(path, shares, new_passphrase, actor=actor_name(args))
    print(f"The vault was recovered (key fingerprint {fingerprint}) and has a new passphrase.")
    return 0


def cmd_panic(args: argparse.Namespace) -> int:
    from app.vault import keyslot, recovery

    path = vault_path(args)
    result = recovery.panic(path, destroy_keys=True if args.destroy_keys else None)
    print(result.message)
    if args.destroy_keys and not result.keys_destroyed and not keyslot.exists(path):
        raise EvidenceVaultError(result.message)
    return 0
