"""Terminal helpers for the command line: which vault and who, passphrases, progress bars, JSON output."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from app.errors import InvalidInput
from app.vault.passphrase import NOT_TEXT

PASSPHRASE_ENV = "EVIDENCE_VAULT_PASSPHRASE"
NEW_PASSPHRASE_ENV = "EVIDENCE_VAULT_NEW_PASSPHRASE"


def vault_path(args: argparse.Namespace) -> Path:
    """The vault the command names (``--vault``, or EVIDENCE_VAULT through argparse's default)."""
    if not args.vault:
        raise InvalidInput("Say which vault to use: --vault PATH, or set EVIDENCE_VAULT.")
    return Path(args.vault)


def actor_name(args: argparse.Namespace, default: str = "unknown") -> str:
    """Who acts, for the custody log: ``--actor``, else the login name, else ``default``."""
    if getattr(args, "actor", None):
        return str(args.actor)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return default


class PassphraseSource:
    """Where passphrases come from: never a command-line argument.

    In order: standard input (``--passphrase-stdin``: one passphrase per line, the current one
    first, then the new one for ``passwd``), the environment, an interactive prompt.
    """

    def __init__(self, args: argparse.Namespace, stdin: TextIO | None = None) -> None:
        self._use_stdin = bool(getattr(args, "passphrase_stdin", False))
        self._stdin = stdin or sys.stdin

    def _read_stdin_line(self, what: str) -> str:
        try:
            line = self._stdin.readline()
        except UnicodeDecodeError:  # a strict decoder (UTF-8 locales); the C locale gives surrogates instead
            raise InvalidInput(NOT_TEXT) from None
        if not line:
            raise InvalidInput(f"No {what} was given on standard input. Send it as one line.")
        return _usable(line.rstrip("\r\n"), f"The {what} on standard input is an empty line. Send the {what} "
                       "itself as one line.")

    def current(self) -> str:
        if self._use_stdin:
            return self._read_stdin_line("passphrase")
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return _usable(from_env, "")
        return self._prompt("Vault passphrase: ")

    def new(self, *, confirm_prompt: str = "Repeat the new passphrase: ") -> str:
        if self._use_stdin:
            return self._read_stdin_line("new passphrase")
        from_env = os.environ.get(NEW_PASSPHRASE_ENV)
        if from_env:
            return _usable(from_env, "")
        first = self._prompt("New passphrase: ")
        second = self._prompt(confirm_prompt)
        if first != second:
            raise InvalidInput("The two passphrases are not the same. Nothing was changed; try again.")
        return first

    def for_new_vault(self) -> str:
        """A new vault's passphrase: stdin or environment as usual, prompted twice otherwise."""
        if self._use_stdin:
            return self._read_stdin_line("passphrase")
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return _usable(from_env, "")
        return self.new(confirm_prompt="Repeat the passphrase: ")

    @staticmethod
    def _prompt(text: str) -> str:
        if not sys.stdin.isatty():
            raise InvalidInput(
                "No passphrase given. Type it at the prompt, set EVIDENCE_VAULT_PASSPHRASE, "
                "or use --passphrase-stdin."
            )
        try:
            typed = getpass.getpass(text)
        except EOFError:  # Ctrl-D at the prompt
            typed = ""
        except UnicodeDecodeError:
            raise InvalidInput(NOT_TEXT) from None
        return _usable(typed, "No passphrase was typed. Run the command again and type the passphrase.")


def _usable(passphrase: str, if_empty: str) -> str:
    """``passphrase``, unless it is empty or not valid text: then a clear error instead of one from the
    database.  Control characters pass: a vault made before they were refused must still open."""
    if not passphrase:
        raise InvalidInput(if_empty or "The passphrase given is empty. Give the vault's passphrase.")
    if any("\ud800" <= char <= "\udfff" for char in passphrase):  # undecodable bytes, kept as surrogates
        raise InvalidInput(NOT_TEXT)
    return passphrase


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._last_draw = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and done < total:
            return
        self._last_draw = now
        fraction = done / total if total > 0 else 0.0
        width = 30
        filled = int(width * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (width - filled)
        self._stream.write(f"\r{self._label} [{bar}] {fraction * 100:5.1f}% {message[:40]:<40}")
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


# json.dumps already escapes C0 controls; these others can disguise text on a terminal.
_UNSAFE_IN_TERMINALS = re.compile("[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def print_json(value: Any) -> None:
    """JSON on stdout with every script readable as it is, but bidirectional overrides and C1 controls
    escaped (they can only occur inside strings, where an escape means the same character)."""
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    sys.stdout.write(_UNSAFE_IN_TERMINALS.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n")


def clean_text(untrusted: str) -> str:
    """Strip control characters from untrusted text before printing it to a terminal."""
    return "".join(ch if ch.isprintable() or ch in "\t" else "\ufffd" for ch in untrusted)
