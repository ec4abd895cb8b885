"""`evidence-vault verify-bundle`: the auditor's one command.  Needs no vault and no passphrase.
Also `proof` (needs the vault) and `verify-proof` (needs neither vault nor passphrase): a consistency
proof file showing the vault's log still extends a checkpoint sent away earlier.

Exit status: 0 the bundle (or proof) is intact, 1 it failed a check (or is unsafe or unreadable as a
bundle), 2 the check could not run (no such file, bad arguments, unexpected error), 3 (verify-bundle
--checkpoint only) the bundle is intact but cannot say whether it agrees with the checkpoint given,
which is later than its own: the message says how to check that with the vault's keeper.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from app.cli.custody_cmds import checkpoint_text
from app.errors import BundleError, EvidenceVaultError
from app.export.bundle_verify import BundleReport, verify_bundle
from app.progress import ProgressCallback
from app.user_files import open_regular_file, read_small_file
from app.vault import keys

EXIT_OK, EXIT_FAILED, EXIT_COULD_NOT_RUN, EXIT_NOT_COMPARED = 0, 1, 2, 3
MAX_KEY_FILE = 64 << 10  # the vault's public key (PEM) is about 120 bytes
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify-bundle",
        help="check a sealed evidence bundle (ZIP file or folder)",
        description="Check every file, signature, checkpoint and Merkle proof of an evidence bundle. "
        "Nothing is extracted or changed.",
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="the bundle: a .zip file or a folder")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--expect-key-id",
        metavar="ID",
        default=None,
        help="the vault key ID you received separately (16 hex digits); the check fails if the "
        "bundle is signed by any other key",
    )
    parser.add_argument(
        "--trusted-key",
        metavar="PEM",
        type=Path,
        default=None,
        help="the vault's public key file you received separately (instead of --expect-key-id)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="TEXT_OR_@FILE",
        default=None,
        help="a checkpoint obtained earlier (text, or @file); the check fails unless the bundle's custody "
        "log is an extension of it (nothing before it was rewritten or removed); exit status 3 when it is "
        "later than the bundle's own, which the bundle cannot check",
    )
    parser.set_defaults(func=run_verify_bundle)
    proof = subparsers.add_parser(
        "proof", help="print a consistency proof from an earlier checkpoint to the vault's log now",
        description="Make a new checkpoint and print a proof file (docs/FORMAT.md) showing that the "
        "vault's custody log now extends the earlier checkpoint. Check it with verify-proof.")
    proof.add_argument("--from", dest="from_checkpoint", metavar="TEXT_OR_@FILE", required=True,
                       help="the earlier checkpoint (text, or @file)")
    proof.add_argument("--to", dest="to_checkpoint", metavar="TEXT_OR_@FILE", default=None,
                       help="a later checkpoint of this vault (e.g. one an auditor holds) to prove to, instead "
                       "of a new one")
    proof.set_defaults(func=run_proof)
    check = subparsers.add_parser(
        "verify-proof", help="check a consistency proof file (no vault or passphrase needed)",
        description="Check that both checkpoints in a proof file are signed by the vault key and that "
        "the later log extends the earlier one. Exit 0 consistent, 1 not, 2 could not run.")
    check.add_argument("path", metavar="PROOF", type=Path, help="the file printed by 'evidence-vault proof'")
    check.add_argument("--key", metavar="PEM", type=Path, required=True,
                       help="the vault's public key (from 'evidence-vault export-key'), obtained separately")
    check.add_argument("--from", dest="from_checkpoint", metavar="TEXT_OR_@FILE", default=None,
                       help="the checkpoint you hold; the proof must start from it")
    check.add_argument("--to", dest="to_checkpoint", metavar="TEXT_OR_@FILE", default=None,
                       help="a later checkpoint you hold; the proof must end at it")
    check.set_defaults(func=run_verify_proof, json=False)


def run_verify_bundle(args: argparse.Namespace) -> int:
    expected = args.expect_key_id.strip().lower() if args.expect_key_id else None
    if expected is not None and not _KEY_ID.fullmatch(expected):
        return _could_not_run(args, "The key ID must be 16 hexadecimal digits, as shown in VERIFY.txt.")
    trusted = None
    if args.trusted_key is not None:
        try:
            trusted = keys.load_public_key_pem(read_small_file(args.trusted_key, limit=MAX_KEY_FILE,
                                                               what="key file"))
        except EvidenceVaultError as exc:
            return _could_not_run(args, exc.user_message())
    if not args.path.exists():
        return _could_not_run(args, f"There is no file or folder at {args.path}.")
    try:
        earlier = checkpoint_text(args.checkpoint)
    except EvidenceVaultError as exc:
        return _could_not_run(args, exc.user_message())
    try:
        report = verify_bundle(args.path, expected_key_id=expected, trusted_public_key=trusted,
                               progress=_progress_printer(args), earlier_checkpoint=earlier)
    except BundleError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": exc.user_message(), "problems": []}, ensure_ascii=False))
        else:
            print(f"NOT VERIFIED: {exc.user_message()}")
        return EXIT_FAILED
    except Exception as exc:
        # Exit 1 must only ever mean "the bundle failed a check"; anything else (even a bug in this
        # program) is "could not run", so a script never mistakes a crash for a verdict.
        if getattr(args, "debug", False):
            raise
        message = (exc.user_message() if isinstance(exc, EvidenceVaultError)
                   else f"The check could not run ({type(exc).__name__}: {exc}). Please report this.")
        return _could_not_run(args, message)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, checked_key=expected is not None or trusted is not None)
    if not report.ok:
        return EXIT_FAILED
    # Intact, yet the question asked (does it agree with this checkpoint?) has no answer here: a script
    # must not read that as "consistent", nor as "tampered".
    return EXIT_NOT_COMPARED if earlier is not None and report.earlier_checkpoint_consistent is None else EXIT_OK


def _could_not_run(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": message, "problems": []}, ensure_ascii=False))
    else:
        print(f"evidence-vault: {message}", file=sys.stderr)
    return EXIT_COULD_NOT_RUN


def _progress_printer(args: argparse.Namespace) -> ProgressCallback | None:
    if args.json or not sys.stderr.isatty():
        return None

    def show(done: int, total: int, message: str) -> None:
        percent = 100 * done // total if total else 100
        print(f"\r{percent:3d}% {message[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show


def _print_report(report: BundleReport, *, checked_key: bool) -> None:
    if sys.stderr.isatty():
        print("\r" + " " * 66 + "\r", end="", file=sys.stderr)
    if report.ok:
        print(f"VERIFIED: {report.files_checked} files and {report.events_checked} custody events are intact.")
    else:
        print(f"NOT VERIFIED: {len(report.problems)} problem(s) found:")
        for problem in report.problems:
            print(f"  - {problem.file_or_part}: {problem.message}")
    print(f"Signed by vault key ID: {report.key_id or 'unknown'}")
    if report.created_at:
        print(f"Exported {report.created_at} for {report.audience} ({report.level}); "
              f"checkpoint covers {report.tree_size if report.tree_size is not None else '?'} events.")
    if report.earlier_checkpoint_consistent:
        print("The bundle's custody log is an extension of the earlier checkpoint you gave.")
    for note in report.notes:
        print(f"NOT CHECKED: the {note.file_or_part} you gave {note.message}.")
    if report.ok and checked_key:
        print("The key matches the key you expected.")
    elif report.ok:
        print("Compare this key ID with the one you received separately from the vault owner "
              "(or run again with --expect-key-id): anyone can re-sign a bundle with a new key.")


def run_proof(args: argparse.Namespace) -> int:
    """Print a proof file from --from to a fresh checkpoint (or to --to); IntegrityError (exit 1) if none
    can exist."""
    from app.cli.vault_cmds import open_vault
    from app.errors import IntegrityError, InvalidInput
    from app.vault.checkpoint import verify_checkpoint
    from app.vault.merkle import MerkleTree
    from app.vault.proofs_file import format_proof_file, verify_proof_file

    earlier_text = checkpoint_text(args.from_checkpoint)
    assert earlier_text is not None  # --from is required
    to_text = checkpoint_text(getattr(args, "to_checkpoint", None))
    with open_vault(args) as vault:
        public = keys.load_public_key_pem(vault.public_key_pem())
        earlier = verify_checkpoint(earlier_text.strip() + "\n", public)
        # --to: prove to a checkpoint the vault made before (an auditor's), not to a new one.
        now = to_text.strip() + "\n" if to_text is not None else vault.checkpoint()
        tree = MerkleTree(vault.leaf_hashes())
    later = verify_checkpoint(now, public)
    for held, which in ((earlier, "your checkpoint"), (later, "the later checkpoint")):
        if held.tree_size > tree.size:
            raise IntegrityError(f"The vault's log has {tree.size} events, fewer than the {held.tree_size} "
                                 f"of {which}: events were removed since then.")
        if tree.root(held.tree_size) != held.root:
            raise IntegrityError(f"The vault's first {held.tree_size} events are not those of {which}: "
                                 "the history was rewritten since then. No proof can be made.")
    if earlier.tree_size > later.tree_size and to_text is None:
        raise IntegrityError(f"The vault's log has {later.tree_size} events, fewer than the {earlier.tree_size} "
                             "of your checkpoint: events were removed since then.")
    if earlier.tree_size > later.tree_size:
        raise InvalidInput(f"The checkpoint given with --to covers {later.tree_size} events, fewer than the "
                           f"{earlier.tree_size} of the one given with --from; give the older one with --from.")
    text = format_proof_file(earlier_text, now, tree.consistency_proof(earlier.tree_size, later.tree_size))
    verify_proof_file(text, public, expected_old=earlier_text)  # never hand out a proof that fails
    sys.stdout.write(text)
    return EXIT_OK


def run_verify_proof(args: argparse.Namespace) -> int:
    from app.errors import IntegrityError
    from app.vault.proofs_file import MAX_FILE_BYTES, verify_proof_file

    try:
        public = keys.load_public_key_pem(read_small_file(args.key, limit=MAX_KEY_FILE, what="key file"))
        with open_regular_file(args.path, what="proof file") as handle:  # a named pipe would never end
            raw = handle.read(MAX_FILE_BYTES + 1)
        held = checkpoint_text(args.from_checkpoint)
        held_later = checkpoint_text(getattr(args, "to_checkpoint", None))
    except OSError as exc:
        return _could_not_run(args, f"{exc.filename} cannot be read: {exc.strerror}. Check the path.")
    except EvidenceVaultError as exc:
        return _could_not_run(args, exc.user_message())
    if len(raw) > MAX_FILE_BYTES:
        print(f"NOT CONSISTENT: {args.path} is far too large to be a proof file.")
        return EXIT_FAILED
    try:
        old, new = verify_proof_file(raw.decode("utf-8", errors="replace"), public, expected_old=held,
                                     expected_new=held_later)
    except IntegrityError as exc:
        print(f"NOT CONSISTENT: {exc.user_message()}")
        return EXIT_FAILED
    print(f"CONSISTENT: the log of {new.tree_size} events ({new.time}) extends the checkpoint of "
          f"{old.tree_size} events ({old.time}); both are signed by vault key ID {keys.key_id(public)}.")
    return EXIT_OK
