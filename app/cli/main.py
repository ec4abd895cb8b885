"""`evidence-vault`: the command line.  Dispatches to one module per topic.

Each topic module exposes ``register(subparsers) -> None``; every sub-command sets
``func(args) -> int`` with ``set_defaults``.  Errors derived from EvidenceVaultError are
printed as one sentence; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from app.errors import EvidenceVaultError
from app.process_guard import harden_process

# Topic modules, imported lazily so `evidence-vault --help` stays fast and a missing optional
# part (e.g. Qt on a server) does not break the auditor's commands.
COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.vault_cmds",
    "app.cli.custody_cmds",
    "app.cli.redact_cmds",
    "app.cli.bundle_cmds",
    "app.cli.pdf_cmds",
    "app.cli.export_cmds",
    "app.cli.seal_cmds",
    "app.cli.recovery_cmds",
    "app.cli.transfer_cmds",
    "app.cli.hq_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evidence-vault",
        description="Encrypted evidence vault with chain of custody, redaction and sealed dossiers.",
    )
    parser.add_argument(
        "--vault",
        metavar="PATH",
        default=os.environ.get("EVIDENCE_VAULT"),
        help="the vault file (default: $EVIDENCE_VAULT)",
    )
    parser.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="open the vault without changing it (for auditors: list, show, log, search, verify, export-key)",
    )
    parser.add_argument("--actor", default=None, help="who is acting (default: the login name)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--self-test", action="store_true", help="run a self-test and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    harden_process()  # before anything decrypted is in memory: no core dumps (tracker #14)
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        # Libraries' own warnings (e.g. Pillow's decompression-bomb notice) are not sentences for people:
        # every problem that matters reaches the user as one of our messages.
        warnings.simplefilter("ignore")
    try:
        if args.self_test:
            from app.selftest import run_self_test

            return run_self_test()
        if args.command is None:
            return _launch_gui()
        return int(args.func(args) or 0)
    except EvidenceVaultError as error:
        if args.debug:
            raise
        print(f"evidence-vault: {error.user_message()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("evidence-vault: interrupted. The step in progress was undone; anything reported as done "
              "before it was kept.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `evidence-vault log | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


# What the desktop window needs beyond the command line (see pyproject.toml).
QT_PACKAGES = frozenset({"PySide6", "shiboken6", "qtawesome"})


def _no_screen() -> bool:
    """On Linux without a display server Qt aborts the process with a message about plugins; say it plainly."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _launch_gui() -> int:
    if _no_screen():
        print("evidence-vault: no screen is available here (no desktop session), so the window cannot open. "
              "Start it from a desktop session, or use the command line: evidence-vault --help.", file=sys.stderr)
        return 2
    try:
        from app.ui.launch import launch_gui
    except ModuleNotFoundError as error:
        if error.name not in QT_PACKAGES:
            raise  # a bug in the app, not a missing package: never shown as "help"
        print(f"evidence-vault: the desktop window cannot open: {error.name} is not installed here. Install "
              "Evidence Vault with its desktop part (scripts/setup.sh), or use the command line: "
              "evidence-vault --help.", file=sys.stderr)
        return 2
    return launch_gui()


if __name__ == "__main__":
    sys.exit(main())
