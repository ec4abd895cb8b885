"""`evidence-vault export`: a case or items -> a sealed PDF dossier, or a sealed bundle (fixed interface).

    evidence-vault --vault V export (--case ID | --items ID,ID...) --audience court|un|ngo|media
                   --level original|redacted --out PATH [--bundle] [--ern-prefix P]
                   [--override-consent REASON] [--accept-near-matches REVIEWER]
                   [--confidentiality LEGEND] [--paper A4|Letter] [--place PLACE]
                   [--accept-automatic-redaction NAME] [--seal-p12 FILE] [--timestamp-command CMD]
                   [--damaged-as-native]

Prints what it wrote on standard output; errors (consent refusals included) go to standard error
as plain sentences with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.cli.terminal import ProgressBar, clean_text
from app.cli.vault_cmds import open_vault
from app.export.dossier_model import AUDIENCES, LEVELS, PAPERS
from app.export.ern import LEGENDS
from app.export.selection import parse_item_ids

SEAL_PASSPHRASE_ENV = "EVIDENCE_VAULT_SEAL_PASSPHRASE"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a case or items as a sealed PDF dossier (or a sealed bundle)",
        description="Export a case or items as a sealed PDF/A-3 dossier, or with --bundle as a sealed "
        "bundle (a folder, or a .zip) an auditor can check alone. Consent decides what may leave.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--case", type=int, dest="case_id", metavar="ID", help="export every item of this case")
    which.add_argument("--items", metavar="ID,ID...", help="export these items (comma-separated ids)")
    parser.add_argument("--audience", required=True, choices=AUDIENCES,
                        help="who receives it: court (under seal), un, ngo or media")
    parser.add_argument("--level", required=True, choices=LEVELS,
                        help="original, or redacted (faces covered, protected names replaced by pseudonyms)")
    parser.add_argument("--out", required=True, type=Path, metavar="PATH",
                        help="the .pdf to write; with --bundle a folder, or a file ending in .zip")
    parser.add_argument("--bundle", action="store_true", help="write a sealed bundle instead of a lone PDF")
    parser.add_argument("--ern-prefix", default="EV", metavar="P",
                        help="prefix of the evidence registration number on every page (default EV)")
    parser.add_argument("--override-consent", metavar="REASON", default=None,
                        help="court only: export despite missing consent; the reason is recorded in the chain")
    parser.add_argument("--accept-near-matches", metavar="REVIEWER", default=None,
                        help="redacted level: the places that look like a protected name (listed by an "
                        "earlier attempt) were checked and are harmless; your name is recorded in the chain")
    parser.add_argument("--confidentiality", choices=sorted(LEGENDS), default=None,
                        help="the legend printed on every page (default: under-seal for court originals, "
                        "confidential for other originals, public-redacted for the media, else confidential-redacted)")
    parser.add_argument("--paper", choices=PAPERS, default="A4", help="paper size of the dossier (default A4)")
    parser.add_argument("--place", default="", metavar="PLACE",
                        help="where you make the certification (printed with your name, role and organisation)")
    parser.add_argument("--accept-automatic-redaction", metavar="NAME", default=None,
                        help="redacted level: photos and videos without a reviewed redacted copy are redacted "
                        "automatically; your name is recorded in the chain and the redaction log")
    parser.add_argument("--seal-p12", type=Path, metavar="FILE", default=None,
                        help="seal with the organisation's certificate and key from this PKCS#12 file (its "
                        f"passphrase from ${SEAL_PASSPHRASE_ENV}) for this export, instead of the seal kept in the "
                        "vault ('seal import') or the vault's self-signed seal")
    parser.add_argument("--timestamp-command", metavar="CMD", default=None,
                        help="add an RFC 3161 timestamp to the seal (PAdES B-T): a command that reads a DER "
                        "timestamp request on standard input and writes the DER response (e.g. openssl ts "
                        "-reply ...); the app itself never goes online")
    parser.add_argument("--damaged-as-native", action="store_true",
                        help="a photo that cannot be read (damaged or truncated) gets a placeholder page and is "
                        "included unchanged as its original file (named by ERN in a bundle) instead of stopping "
                        "the export; a redacted export withholds it, since it cannot be redacted")
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from app.export.exporter import export

    item_ids = parse_item_ids(args.items) if args.items is not None else None
    seal = None
    if args.seal_p12 is not None:
        from app.export.org_seal import load_pkcs12_file

        seal = load_pkcs12_file(args.seal_p12, os.environ.get(SEAL_PASSPHRASE_ENV))
    timestamper = None
    if args.timestamp_command is not None:
        from app.export.tsa import CommandTimeStamper

        timestamper = CommandTimeStamper.from_command_line(args.timestamp_command)
    with open_vault(args) as vault:
        bar = ProgressBar("Exporting")
        try:
            result = export(vault, case_id=args.case_id, item_ids=item_ids, audience=args.audience,
                            level=args.level, out=args.out, bundle=args.bundle, ern_prefix=args.ern_prefix,
                            override_reason=args.override_consent,
                            accept_near_matches=args.accept_near_matches, confidentiality=args.confidentiality,
                            paper=args.paper, place=args.place, review_required=True,
                            accept_automatic_redaction=args.accept_automatic_redaction, seal=seal,
                            timestamper=timestamper, damaged_as_native=args.damaged_as_native, progress=bar)
        finally:
            bar.finish()
    kind = ("bundle (ZIP)" if args.out.suffix.lower() == ".zip" else "bundle (folder)") if args.bundle \
        else "sealed PDF dossier"
    print(f"Wrote {kind}: {clean_text(str(result.paths[0]))}")
    for load_file in result.paths[1:]:  # a lone PDF's load files (DAT, CSV, OPT) beside it
        print(f"  load file: {clean_text(str(load_file))}")
    print(f"  exhibits: {len(result.exhibits)} (items {', '.join(map(str, result.exhibits))})")
    print(f"  pages: {result.pages} ({result.ern_first} to {result.ern_last})")
    print(f"  audience: {args.audience}; level: {args.level}")
    print(f"  dossier manifest SHA-256: {result.manifest_sha256}")
    print(f"  dossier PDF SHA-256: {result.pdf_sha256}")
    if result.bundle_manifest_sha256:
        print(f"  bundle manifest SHA-256: {result.bundle_manifest_sha256}")
    if result.derivatives_created:
        print(f"  redacted copies made now: items {', '.join(map(str, result.derivatives_created))}")
    for item_id, why in result.damaged:
        print(f"  note: item {item_id} could not be displayed ({why}): it has a placeholder page", file=sys.stderr)
    for item_id, why in result.withheld_files:
        print(f"  note: item {item_id} file not included: {why}", file=sys.stderr)
    print(f"  recorded as custody event {result.event_seq}")
    return 0
