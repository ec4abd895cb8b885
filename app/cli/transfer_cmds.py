"""`evidence-vault` transfer commands (tracker #12): send a case to headquarters, take its receipt back.

    evidence-vault transfer --case ID [--items 1,2] --to hq-public.pem --out FILE
    evidence-vault receipt import FILE --hq hq-public.pem
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.terminal import ProgressBar, clean_text
from app.cli.vault_cmds import open_vault
from app.errors import InvalidInput
from app.user_files import read_small_file

MAX_KEY_FILE = 64 << 10  # hq-public.pem is under 1 KB
MAX_RECEIPT_FILE = 16 << 20  # as app.transfer.receipt reads: a receipt lists one hash per original


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds this topic's sub-commands."""
    transfer = subparsers.add_parser(
        "transfer", help="write an encrypted transfer package of a case for headquarters",
        description="Encrypt a case's originals, records and custody log to headquarters' public key. The "
        "transfer is recorded in this vault's custody log.")
    transfer.add_argument("--case", type=int, required=True, metavar="ID", help="the case to send")
    transfer.add_argument("--items", metavar="1,2", default=None,
                          help="only these items of the case (comma-separated ids; default: all)")
    transfer.add_argument("--to", type=Path, required=True, metavar="hq-public.pem",
                          help="headquarters' public key file")
    transfer.add_argument("--out", type=Path, required=True, metavar="FILE", help="the package file to write")
    transfer.set_defaults(func=cmd_transfer)

    receipt = subparsers.add_parser("receipt", help="receipts from headquarters")
    actions = receipt.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)
    imported = actions.add_parser(
        "import", help="check headquarters' receipt and record it in the custody log",
        description="Check a receipt's signature and its cosigned checkpoint, then record it.")
    imported.add_argument("file", type=Path, metavar="FILE", help="the receipt file")
    imported.add_argument("--hq", type=Path, required=True, metavar="hq-public.pem",
                          help="headquarters' public key file")
    imported.set_defaults(func=cmd_receipt_import)


def _hq_key(path: Path) -> Any:
    from app.transfer.identity import HqPublicIdentity

    return HqPublicIdentity.from_pem(read_small_file(path, limit=MAX_KEY_FILE, what="headquarters key file"))


def _item_ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("--items must be item numbers separated by commas, for example 3,4,7.") from None
    if not ids or any(i < 0 for i in ids):
        raise InvalidInput("--items must name at least one item number, for example 3,4,7.")
    return ids


class _Progress:
    """The progress bar on a terminal; otherwise a line at every quarter, so logs of scripted runs show it."""

    def __init__(self, label: str) -> None:
        self._bar = ProgressBar(label)
        self._label = label
        self._tty = sys.stderr.isatty()
        self._next = 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self._tty:
            self._bar(done, total, message)
            return
        percent = 100 * done // total if total > 0 else 100
        if percent >= self._next:
            print(f"{self._label}: {percent}%", file=sys.stderr)
            self._next = (percent // 25 + 1) * 25

    def finish(self) -> None:
        self._bar.finish()


def cmd_transfer(args: argparse.Namespace) -> int:
    from app.transfer.package import write_transfer

    recipient = _hq_key(args.to)
    items = _item_ids(args.items)
    with open_vault(args) as vault:
        bar = _Progress("Transfer")
        try:
            summary = write_transfer(vault, case_id=args.case, item_ids=items, recipient=recipient,
                                     out_path=args.out, progress=bar)
        finally:
            bar.finish()
    print(f"Wrote {clean_text(str(summary.path))}: {len(summary.item_ids)} items, {summary.originals} originals "
          f"({summary.original_bytes:,} bytes), package {summary.package_id}, for headquarters "
          f"{clean_text(recipient.name)} (key {summary.recipient_key_id}).")
    print("The transfer is recorded in this vault's custody log. Import headquarters' receipt when it comes "
          "back: evidence-vault receipt import FILE --hq " + clean_text(str(args.to)), file=sys.stderr)
    return 0


def cmd_receipt_import(args: argparse.Namespace) -> int:
    from app.transfer.receipt import import_receipt

    hq = _hq_key(args.hq)
    data = read_small_file(args.file, limit=MAX_RECEIPT_FILE, what="receipt")
    with open_vault(args) as vault:
        receipt = import_receipt(vault, data, hq)
    print(f"Receipt recorded: headquarters {clean_text(receipt.hq_name)} stored package {receipt.package_id} "
          f"({len(receipt.item_hashes)} originals) on {clean_text(receipt.received_at)} and cosigned this vault's "
          "checkpoint.")
    return 0
