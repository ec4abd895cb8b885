"""`evidence-vault verify-pdf FILE`: an auditor with only the sealed dossier PDF checks it.

Needs no vault and no passphrase.  Exit status: 0 the PDF is intact, 1 it failed a check,
2 the check could not run (no such file, not a PDF, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import EvidenceVaultError
from app.user_files import read_small_file

if TYPE_CHECKING:
    from app.export.pdf.verify_pdf import PdfReport

EXIT_OK, EXIT_FAILED, EXIT_COULD_NOT_RUN = 0, 1, 2
MAX_CERT_FILE = 1 << 20  # a PEM certificate is a few KB; with its issuers' certificates still far below
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify-pdf",
        help="check a sealed dossier PDF on its own (seal, checkpoint, custody proofs, hashes)",
        description="Check the seal of a dossier PDF, the signed checkpoint printed on its cover, every "
        "custody event's inclusion proof and the hashes of the original files attached to it, using only "
        "what the PDF carries. Nothing is changed.",
    )
    parser.add_argument("path", metavar="FILE", type=Path, help="the dossier PDF")
    parser.add_argument("--seal-cert", metavar="PEM", type=Path, default=None,
                        help="the seal certificate you received separately from the organisation (else the "
                        "one inside the PDF is used: compare its fingerprint with the published one)")
    parser.add_argument("--expect-key-id", metavar="ID", default=None,
                        help="the vault key ID you received separately (16 hex digits); the check fails if "
                        "the checkpoint is signed by any other key")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run_verify_pdf)


def _could_not_run(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": message, "problems": []}, ensure_ascii=False))
    else:
        print(f"evidence-vault: {message}")
    return EXIT_COULD_NOT_RUN


def run_verify_pdf(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.is_file():
        return _could_not_run(args, f"There is no file {path}. Check the name and try again.")
    expected = args.expect_key_id
    if expected is not None:
        expected = expected.strip().lower()
        if not _KEY_ID.fullmatch(expected):
            return _could_not_run(args, "The key ID must be 16 hexadecimal digits (0-9, a-f).")
    cert = None
    if args.seal_cert is not None:
        try:  # a certificate (PEM) is a few KB; a chain of them still far below the limit
            cert = read_small_file(args.seal_cert, limit=MAX_CERT_FILE, what="seal certificate")
        except EvidenceVaultError as exc:
            return _could_not_run(args, exc.user_message())
    try:
        from app.export.pdf.verify_pdf import verify_pdf  # pyHanko takes 0.4 s to load: only when needed

        report = verify_pdf(path, seal_cert_pem=cert, expect_key_id=expected)
    except EvidenceVaultError as exc:
        return _could_not_run(args, exc.user_message())
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_report(report: PdfReport) -> None:
    if report.ok:
        print(f"VERIFIED: the seal is intact and {report.proofs_checked} custody proof(s) of {report.exhibits} "
              f"exhibit(s) lead to the signed checkpoint ({report.tree_size} events).")
    else:
        print(f"NOT VERIFIED: {len(report.problems)} problem(s) found:")
        for problem in report.problems:
            print(f"  - {problem}")
    if report.seal_signer:
        print(f"Sealed by: {report.seal_signer}" + (f" on {report.seal_signed_at}" if report.seal_signed_at else ""))
    if report.seal_certificate_sha256:
        print(f"Seal certificate ({report.seal_certificate_source}) SHA-256 fingerprint: "
              f"{report.seal_certificate_sha256}")
    if report.originals_checked:
        print(f"{report.originals_checked} original file(s) attached inside the PDF match their SHA-256.")
    if report.key_id:
        print(f"Checkpoint signed by vault key ID: {report.key_id}")
        if report.key_checked:
            print("The key matches the key you expected.")
        else:
            print("Compare this key ID (and the certificate fingerprint) with the ones you received separately "
                  "from the organisation: the PDF alone cannot prove who made it.")
