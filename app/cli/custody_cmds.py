"""Custody and verification commands of `evidence-vault`: the custody log, verification against an
earlier checkpoint, signed checkpoints and the vault's public key (the fixed interface of the vault-core
issue). Each handler opens the vault once (one KDF per process), does its work and closes it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.terminal import clean_text, print_json
from app.cli.vault_cmds import open_vault, plain, run_with_progress
from app.errors import EvidenceVaultError, InvalidInput
from app.user_files import read_small_file

if TYPE_CHECKING:
    from app.vault.models import VerifyReport

MAX_CHECKPOINT_FILE = 64 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = subparsers.add_parser

    log = add("log", help="the custody log (of one item, or all)")
    log.add_argument("item_id", type=int, nargs="?", metavar="ID")
    log.add_argument("--json", action="store_true")
    log.set_defaults(func=cmd_log)

    verify = add("verify", help="re-hash everything and check the chain; exit 0 intact, 1 altered, 2 error")
    verify.add_argument("--checkpoint", metavar="TEXT", help="an earlier checkpoint (text, or @file)")
    verify.add_argument("--expect-key-id", metavar="ID",
                        help="the key id you were given for this vault (16 hex digits); another key is altered")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)

    add("checkpoint", help="print a signed checkpoint of the custody log").set_defaults(func=cmd_checkpoint)
    add("export-key", help="print the vault's public signing key (PEM)").set_defaults(func=cmd_export_key)


def cmd_log(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        if args.item_id is not None:
            vault.get_item(args.item_id)
        events = vault.events(args.item_id)
        if args.json:
            # Every member of the canonical form (incl. "v") plus the chain hash, so that each link can be
            # recomputed from this output alone (docs/FORMAT.md, "Custody events").
            print_json([{**json.loads(event.canonical_bytes()), "chain_hash": event.chain_hash()} for event in events])
        else:
            for event in events:
                item = f"item {event.item_id}" if event.item_id is not None else ""
                print(f"#{event.seq}\t{event.time}\t{clean_text(event.actor)}\t{event.action}\t{item}")
    return 0


def checkpoint_text(value: str | None) -> str | None:
    """The checkpoint given with --checkpoint (text, or @file), checked for form before any verification."""
    if value is None:
        return None
    if value.startswith("@"):
        # A checkpoint is a few hundred bytes; with cosignatures still far below the limit.
        raw = read_small_file(Path(value[1:]), limit=MAX_CHECKPOINT_FILE, what="checkpoint file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("That file is not a checkpoint (it is not text).") from None
    else:
        text = value.replace("\\n", "\n")
    from app.errors import ProofError
    from app.vault.checkpoint import parse_checkpoint

    try:
        parse_checkpoint(text)
    except ProofError as error:
        raise InvalidInput(
            f"This is not a valid checkpoint ({error.message}). Copy it again exactly as it was printed."
        ) from None
    return text


def _key_id_argument(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip().lower()
    if len(cleaned) != 16 or any(ch not in "0123456789abcdef" for ch in cleaned):
        raise InvalidInput("A key id is 16 hexadecimal digits (0-9, a-f), as given to you with the "
                           "vault's public key. Check the id you were given and try again.")
    return cleaned


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        checkpoint = checkpoint_text(args.checkpoint)
        expected_key_id = _key_id_argument(args.expect_key_id)
        # A checkpoint signed by another key than the vault's is reported by verify as altered (exit 1),
        # whether the key was replaced or the checkpoint came from another vault (docs/FORMAT.md).
        with open_vault(args) as vault:
            report = run_with_progress("verify", lambda bar: vault.verify(
                checkpoint=checkpoint, progress=bar, expect_key_id=expected_key_id))
            unrecorded = "" if report.recorded else _why_not_recorded(report, vault.read_only)
    except EvidenceVaultError as error:
        if args.json:
            print_json({"ok": False, "could_not_run": True, "error": error.user_message()})
        raise
    if args.json:
        print_json({"ok": report.ok, **plain(report)})
        return 0 if report.ok else 1
    for warning in report.warnings:
        print(f"Warning: {warning.message}", file=sys.stderr)
    if report.ok:
        print(
            f"Intact: {report.items_checked} items re-hashed ({report.bytes_hashed} bytes), "
            f"{report.events_checked} custody events checked, tree size {report.tree_size}."
            + (f" ({unrecorded})" if unrecorded else "")
        )
    else:
        first = report.problems[0]
        print(f"ALTERED: {first.message}", file=sys.stderr)
        for problem in report.problems[1:]:
            print(f"  also: {problem.message}", file=sys.stderr)
    return 0 if report.ok else 1


def _why_not_recorded(report: VerifyReport, read_only: bool) -> str:
    """Why an intact vault's verification was not written to its custody log, truthfully."""
    if read_only:
        return "Not recorded in the custody log: the vault was opened read-only."
    if report.not_recorded == "disk_full":
        return ("Not recorded in the custody log: the disk holding the vault is full. Free some space and run "
                "verify again to record it.")
    return ("Not recorded in the custody log: the vault could not be written to. Check that the drive is "
            "writable and has free space, then run verify again to record it.")


def cmd_checkpoint(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        sys.stdout.write(vault.checkpoint())
    return 0


def cmd_export_key(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        sys.stdout.write(vault.public_key_pem().decode("ascii"))
    return 0
