"""`evidence-vault seal`: the organisation's seal (PKCS#12) kept inside the vault for every export.

    evidence-vault seal import FILE.p12   # asks the file's passphrase; stores certificate and key in the vault
    evidence-vault seal show              # subject, issuer, validity, SHA-256 fingerprint
    evidence-vault seal remove            # exports go back to the vault's self-signed seal

The PKCS#12 passphrase comes from the second line of standard input with --passphrase-stdin (the vault's
passphrase is the first), else from $EVIDENCE_VAULT_SEAL_PASSPHRASE, else a prompt.  Import and removal are
custody events naming the certificate's fingerprint and subject, never the key (app/vault/org_seal_store.py).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from app.cli.terminal import clean_text
from app.cli.vault_cmds import open_vault
from app.errors import InvalidInput

SEAL_PASSPHRASE_ENV = "EVIDENCE_VAULT_SEAL_PASSPHRASE"  # the same as `export --seal-p12` reads


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    seal = subparsers.add_parser(
        "seal", help="the organisation's seal certificate (PKCS#12) kept in the vault for every export",
        description="Import an organisation's certificate and key (a .p12 or .pfx file) once into the vault: "
        "every export is then sealed with it instead of the vault's self-signed seal (export --seal-p12 still "
        "chooses another for one export).")
    actions = seal.add_subparsers(dest="seal_command", metavar="ACTION", required=True)
    add = actions.add_parser("import", help="store the certificate and key of a PKCS#12 file in the vault")
    add.add_argument("file", type=Path, metavar="FILE.p12", help="the organisation's PKCS#12 file (.p12 or .pfx)")
    add.set_defaults(func=cmd_seal_import)
    actions.add_parser("show", help="show the stored seal certificate (subject, issuer, validity, fingerprint)"
                       ).set_defaults(func=cmd_seal_show)
    actions.add_parser("remove", help="remove the stored seal: exports use the vault's self-signed seal again"
                       ).set_defaults(func=cmd_seal_remove)


def _p12_passphrase(args: argparse.Namespace) -> str | None:
    if getattr(args, "passphrase_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("No passphrase for the seal file was given on standard input. Send it as the second "
                               "line, after the vault's passphrase (an empty line if the file has none).")
        return line.rstrip("\r\n") or None
    from_env = os.environ.get(SEAL_PASSPHRASE_ENV)
    if from_env is not None:
        return from_env or None
    if not sys.stdin.isatty():
        raise InvalidInput(f"No passphrase for the seal file. Type it at the prompt, set {SEAL_PASSPHRASE_ENV}, "
                           "or use --passphrase-stdin.")
    return getpass.getpass("Passphrase of the seal file: ") or None


def _print_info(info: Any) -> None:
    print(f"  subject: {clean_text(info.subject)}")
    print(f"  issuer: {clean_text(info.issuer)}")
    print(f"  valid from {info.not_before} to {info.not_after}")
    print(f"  SHA-256 fingerprint: {info.fingerprint}")
    if info.chain_length:
        print(f"  issuing certificates kept with it: {info.chain_length}")


def cmd_seal_import(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        passphrase = _p12_passphrase(args)
        info = vault.import_org_seal(args.file, passphrase)
    print("Stored the organisation seal in the vault; exports are now sealed with it:")
    _print_info(info)
    return 0


def cmd_seal_show(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        info = vault.org_seal_info()
    if info is None:
        print("No organisation seal is stored: exports use this vault's self-signed seal (the offline default).")
        return 0
    print(f"Organisation seal (imported {info.imported_at}):")
    _print_info(info)
    return 0


def cmd_seal_remove(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        info = vault.remove_org_seal()
    print(f"Removed the organisation seal of {clean_text(info.subject)} (SHA-256 {info.fingerprint}); exports use "
          "this vault's self-signed seal again.")
    return 0
