"""`evidence-vault hq …`: headquarters' archive on PostgreSQL (tracker #12).

    hq init --dir DIR --name NAME        identity (encrypted with the HQ passphrase), hq-public.pem, schema
    hq import FILE [--receipt-out PATH]  verify a transfer package, import it atomically (resumes after a kill), receipt
    hq list [--vaults | --packages]      items (or field vaults, or packages)
    hq search TEXT                       substring search in any script
    hq verify                            re-hash every original, re-check every log; exit 1 on any problem
    hq export --items 1,2 --out FOLDER   a signed bundle of archive items with their custody
    hq export --items 1,2 --out F.pdf    the field app's sealed PDF dossier, from the archive (one field vault);
                                         --level redacted: through the redacted copies made in the field
    hq verify-export FOLDER --hq PEM     check such a bundle with headquarters' public key alone (exit 1 if not)
    hq witness FILE --key PEM            cosign a checkpoint or consistency-proof file sent on its own
    hq receipt PACKAGE_ID --out PATH     the receipt of an imported package, again
    hq checkpoint                        headquarters' own signed checkpoint
    hq gc                                remove originals staged by imports that were interrupted and abandoned

Every command takes --dir (default $EVIDENCE_HQ_DIR) and --db (a PostgreSQL connection string; default
the cluster in DIR/postgres that scripts/hq.sh starts).  The passphrase is read like the vault's
(--passphrase-stdin, $EVIDENCE_VAULT_PASSPHRASE, or a prompt).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.cli.terminal import PassphraseSource, ProgressBar, actor_name, clean_text, print_json
from app.errors import InvalidInput
from app.user_files import open_regular_file, read_small_file

EXIT_OK, EXIT_FAILED = 0, 1
MAX_KEY_FILE = 64 << 10  # a public key file is under 1 KB
MAX_CHECKPOINT_FILE = 64 << 10  # a signed checkpoint is a few lines (as for `verify --checkpoint @FILE`)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds this topic's sub-commands."""
    hq = subparsers.add_parser("hq", help="headquarters' archive (PostgreSQL): import, witness, search, verify")
    actions = hq.add_subparsers(dest="hq_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("--dir", type=Path, default=os.environ.get("EVIDENCE_HQ_DIR"),
                            help="headquarters' folder (default: $EVIDENCE_HQ_DIR)")
        parser.add_argument("--db", default=os.environ.get("EVIDENCE_HQ_DB"),
                            help="PostgreSQL connection string (default: the cluster in DIR/postgres)")
        parser.set_defaults(func=func)
        return parser

    init = action("init", "create headquarters: identity, hq-public.pem, database schema", cmd_init)
    init.add_argument("--name", required=True, help="headquarters' name, e.g. hq.example.org (the witness name)")
    imp = action("import", "import a transfer package and write its receipt", cmd_import)
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--receipt-out", type=Path, metavar="PATH", help="where to write the receipt "
                     "(default: next to the package, FILE.receipt)")
    listing = action("list", "list archive items, field vaults or packages", cmd_list)
    group = listing.add_mutually_exclusive_group()
    group.add_argument("--vaults", action="store_true", help="one line per field vault (with forks)")
    group.add_argument("--packages", action="store_true", help="one line per imported package")
    listing.add_argument("--origin", help="only the items of this field vault")
    listing.add_argument("--json", action="store_true")
    search = action("search", "search archive items (any script)", cmd_search)
    search.add_argument("text")
    search.add_argument("--json", action="store_true")
    verify = action("verify", "re-hash every original and re-check every log; exit 1 on any problem", cmd_verify)
    verify.add_argument("--checkpoint", type=Path, metavar="FILE",
                        help="an earlier headquarters checkpoint ('hq checkpoint'); the log must still extend it")
    verify.add_argument("--json", action="store_true")
    export = action("export", "write a signed bundle (a folder) or a sealed PDF dossier (FILE.pdf) of archive items",
                    cmd_export)
    export.add_argument("--items", required=True, help="comma-separated archive item numbers (see 'hq list'), or all")
    export.add_argument("--out", type=Path, required=True, metavar="FOLDER|FILE.pdf",
                        help="a folder: the signed HQ bundle; a .pdf file: the sealed PDF dossier (one field vault)")
    export.add_argument("--audience", choices=("court", "un", "ngo", "media"), default="court",
                        help="for a PDF dossier: who it is for (consent is checked for it; default court)")
    export.add_argument("--level", choices=("original", "redacted"), default="original",
                        help="for a PDF dossier: redacted = pictures through the redacted copies made in the field, "
                             "protected names replaced by pseudonyms (default original)")
    witness = action("witness", "cosign a field checkpoint (or a consistency-proof file) sent on its own", cmd_witness)
    witness.add_argument("file", type=Path, metavar="FILE", help="a checkpoint, or 'evidence-vault proof' output")
    witness.add_argument("--key", type=Path, required=True, metavar="PEM", help="the field vault's public key")
    receipt = action("receipt", "write the receipt of an imported package again", cmd_receipt)
    receipt.add_argument("package_id")
    receipt.add_argument("--out", type=Path, required=True)
    action("checkpoint", "print headquarters' own signed checkpoint", cmd_checkpoint)
    action("gc", "remove originals staged by interrupted imports that will not be run again", cmd_gc)
    check = actions.add_parser("verify-export", help="check an 'hq export' folder (no database or passphrase needed)")
    check.add_argument("folder", type=Path, metavar="FOLDER")
    check.add_argument("--hq", type=Path, required=True, metavar="hq-public.pem", help="headquarters' public key file")
    check.set_defaults(func=cmd_verify_export)


# -- helpers ---------------------------------------------------------------------------------


def _actor(args: argparse.Namespace) -> str:
    return actor_name(args, default="headquarters")


def _folder(args: argparse.Namespace) -> Path:
    if not args.dir:
        raise InvalidInput("Say which headquarters folder to use: --dir DIR, or set EVIDENCE_HQ_DIR.")
    return Path(args.dir)


def _open(args: argparse.Namespace) -> Any:
    from app.hq.headquarters import Headquarters

    passphrase = PassphraseSource(args).current()
    read_only = bool(getattr(args, "read_only", False))
    return Headquarters.open(_folder(args), passphrase, conninfo=args.db, read_only=read_only)


# -- commands --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from app.hq.headquarters import PUBLIC_NAME, Headquarters

    folder = _folder(args)
    passphrase = PassphraseSource(args).for_new_vault()
    with Headquarters.create(folder, passphrase, name=args.name, actor=_actor(args), conninfo=args.db) as hq:
        print(f"Headquarters {hq.name} created (key id {hq.identity.key_id()}).")
        print(f"Give field laptops {folder / PUBLIC_NAME}.")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from app.hq.archive import import_package

    # Before the passphrase and the database: a missing file, a folder or a named pipe is said at once
    # (the package is opened again, just as safely, by the import itself).
    open_regular_file(args.file, what="transfer package").close()
    with _open(args) as hq:
        bar = ProgressBar("Importing")
        try:
            result = import_package(hq, args.file, actor=_actor(args), receipt_out=args.receipt_out, progress=bar)
        finally:
            bar.finish()
    print(f"Imported package {result.package_id} from {result.origin}: {result.items} items, "
          f"{result.new_originals} new originals, {result.duplicate_originals} already in the archive.")
    if result.resumed_originals:
        print(f"Resumed an interrupted import: {result.resumed_originals} originals were already stored and were not "
              f"stored again ({result.bytes_stored} bytes written now).")
    print("Its checkpoint was cosigned" + (" (first package from this vault)." if result.first_sight else "."))
    if result.receipt_path is not None:
        print(f"Receipt for the field laptop: {result.receipt_path}")
    else:
        print("The receipt file could not be written; write it with 'evidence-vault hq receipt "
              f"{result.package_id} --out FILE'.")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from app.hq import query

    with _open(args) as hq:
        if args.vaults:
            rows: list[Any] = query.list_vaults(hq)
            if args.json:
                print_json([asdict(r) for r in rows])
            for r in [] if args.json else rows:
                fork = f"  FORK DETECTED ({r.forks})" if r.forks else ""
                print(f"{r.origin}  {r.items} items  {r.packages} packages  log {r.last_tree_size} events  "
                      f"{r.checkpoints_witnessed} checkpoints witnessed{fork}")
        elif args.packages:
            packages = query.list_packages(hq)
            if args.json:
                print_json(packages)
            for p in [] if args.json else packages:
                print(f"{p['package_id']}  {p['origin']}  {p['received_at']}  {p['items']} items  {p['bytes']} bytes")
        else:
            items = query.list_items(hq, origin=args.origin)
            if args.json:
                print_json([asdict(i) for i in items])
            for i in [] if args.json else items:
                print(f"{i.id:>6}  {i.kind:<10} {i.size:>12}  {i.origin}#{i.field_item_id}  {clean_text(i.title)}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from app.hq import query

    with _open(args) as hq:
        hits = query.search(hq, args.text)
    if args.json:
        print_json([{"item": asdict(h.item), "snippet": h.snippet} for h in hits])
        return EXIT_OK
    for hit in hits:
        print(f"{hit.item.id:>6}  {clean_text(hit.item.title)}  — {clean_text(hit.snippet)}")
    if not hits:
        print("No items match.")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from app.hq.verify import verify_archive

    held = None
    if args.checkpoint is not None:
        raw = read_small_file(args.checkpoint, limit=MAX_CHECKPOINT_FILE, what="checkpoint file")
        try:
            held = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"The checkpoint file {clean_text(str(args.checkpoint))} is not text. Give the "
                               "file 'evidence-vault hq checkpoint' printed.") from exc
    with _open(args) as hq:
        bar = ProgressBar("Verifying")
        try:
            report = verify_archive(hq, progress=bar, actor=_actor(args), held_checkpoint=held)
        finally:
            bar.finish()
    if args.json:
        print_json({**asdict(report), "ok": report.ok})
    else:
        for problem in report.problems:
            print(f"PROBLEM: {clean_text(problem)}")
        verdict = "INTACT" if report.ok else "FAILED"
        print(f"{verdict}: {report.originals_checked} originals ({report.bytes_hashed} bytes) re-hashed, "
              f"{report.field_vaults} field vaults with {report.field_events} events and "
              f"{report.checkpoints_witnessed} witnessed checkpoints, {report.hq_events} headquarters events, "
              f"{report.forks} forks recorded.")
        if report.staged_originals:
            print(f"Note: {report.staged_originals} originals ({report.staged_bytes} bytes) were stored by an import "
                  "that did not finish; they are not part of the archive. Import that package again to finish it, "
                  "or remove them with 'evidence-vault hq gc'.")
    return EXIT_OK if report.ok else EXIT_FAILED


def _item_ids(text: str) -> list[int] | None:
    if text.strip().lower() == "all":
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("--items takes item numbers separated by commas, e.g. 1,2,5, or 'all'.") from None


def cmd_export(args: argparse.Namespace) -> int:
    from app.hq.export_bundle import export_items

    if args.out.suffix.lower() == ".pdf":
        from app.hq.dossier import export_dossier

        with _open(args) as hq:
            bar = ProgressBar("Dossier")
            try:
                dossier = export_dossier(hq, _item_ids(args.items), args.out, audience=args.audience,
                                         actor=_actor(args), level=args.level, progress=bar)
            finally:
                bar.finish()
        print(f"Dossier of {dossier.exhibits} exhibits ({args.level} level) from field vault {dossier.origin} "
              f"written to {dossier.path} "
              f"(sealed; SHA-256 {dossier.pdf_sha256}; proofs lead to its checkpoint of {dossier.tree_size} events, "
              "cosigned by headquarters).")
        print("Load files (DAT, CSV, OPT page map) beside it: " + ", ".join(p.name for p in dossier.load_files))
        return EXIT_OK
    with _open(args) as hq:
        result = export_items(hq, _item_ids(args.items), args.out, actor=_actor(args))
    print(f"Exported {result.items} items from {result.field_vaults} field vaults to {result.path} "
          f"(manifest SHA-256 {result.manifest_sha256}).")
    return EXIT_OK


def cmd_witness(args: argparse.Namespace) -> int:
    from app.hq.witness_store import ForkFound, Offered, record_fork, witness
    from app.vault.keys import load_public_key_pem
    from app.vault.proofs_file import HEADER, MAX_FILE_BYTES, parse_proof_file, verify_proof_file

    pem = read_small_file(args.key, limit=MAX_KEY_FILE, what="key file")
    try:
        text = read_small_file(args.file, limit=MAX_FILE_BYTES, what="checkpoint or proof file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{clean_text(str(args.file))} is not text: give a checkpoint or the output of "
                           "'evidence-vault proof'.") from exc
    if text.startswith(HEADER):
        old, _new = verify_proof_file(text, load_public_key_pem(pem))
        parsed = parse_proof_file(text)
        offered = Offered(parsed.new_checkpoint, pem, proof_from=(old.tree_size, old.root, parsed.proof))
    else:
        offered = Offered(text, pem)
    with _open(args) as hq:
        try:
            with hq.conn.transaction():
                result = witness(hq.conn, hq.identity, offered, package_id=None, actor=_actor(args))
        except ForkFound as fork:
            record_fork(hq.conn, fork.evidence, package_id=None, actor=_actor(args))
            raise
    sys.stdout.write(result.cosigned_text)
    return EXIT_OK


def cmd_gc(args: argparse.Namespace) -> int:
    from app.hq.staging import collect_garbage

    with _open(args) as hq:
        removed = collect_garbage(hq, actor=_actor(args))
    if removed.originals:
        print(f"Removed {removed.originals} staged originals ({removed.bytes} bytes) left by interrupted imports. "
              "Imported evidence was not touched.")
    else:
        print("Nothing to remove: no interrupted import left originals behind.")
    return EXIT_OK


def cmd_receipt(args: argparse.Namespace) -> int:
    from app.hq.archive import stored_receipt

    with _open(args) as hq:
        data = stored_receipt(hq, args.package_id)
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"The receipt could not be written to {args.out}: {exc.strerror}.") from exc
    print(f"Receipt written to {args.out}.")
    return EXIT_OK


def cmd_checkpoint(args: argparse.Namespace) -> int:
    with _open(args) as hq:
        row = hq.conn.execute("SELECT checkpoint FROM hq_checkpoints ORDER BY tree_size DESC LIMIT 1").fetchone()
    if row is None:
        raise InvalidInput("Headquarters has no checkpoint yet.")
    sys.stdout.write(str(row[0]))
    return EXIT_OK


def cmd_verify_export(args: argparse.Namespace) -> int:
    from app.hq.export_bundle import verify_export
    from app.transfer.identity import HqPublicIdentity

    public = HqPublicIdentity.from_pem(read_small_file(args.hq, limit=MAX_KEY_FILE, what="headquarters key file"))
    problems = verify_export(args.folder, public)
    for problem in problems:
        print(f"PROBLEM: {clean_text(problem)}")
    print("FAILED" if problems else f"INTACT: every file, signature, cosignature and custody log checks out "
          f"(headquarters {public.name}, key id {public.key_id()}).")
    return EXIT_FAILED if problems else EXIT_OK
