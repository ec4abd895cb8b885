"""Vault commands of `evidence-vault`: cases, items, people, consent, transcripts, profile and passphrase
(the fixed interface of the vault-core issue; the custody log and verification are in
``app.cli.custody_cmds``). Each handler opens the vault once (one KDF per process), does its work and
closes it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from app.cli.terminal import PassphraseSource, ProgressBar, actor_name, clean_text, print_json, vault_path
from app.errors import Cancelled, DiskFull, EvidenceVaultError, InvalidInput, VaultNotFound
from app.vault.collect import NOTHING_TO_IMPORT, Skipped, collect_files

ITEM_KINDS = ("interview", "photo", "video", "audio", "document", "transcript")
PERSON_ROLES = ("survivor", "witness", "interviewer", "perpetrator", "other")
CONSENT_SCOPES = ("court", "un", "ngo", "media")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = subparsers.add_parser

    add("init", help="create a new vault").set_defaults(func=cmd_init)

    case = add("case", help="cases").add_subparsers(dest="case_command", metavar="ACTION", required=True)
    case_add = case.add_parser("add", help="add a case; prints its id")
    case_add.add_argument("title")
    case_add.add_argument("--description", default="")
    case_add.set_defaults(func=cmd_case_add)
    case.add_parser("list", help="list cases").set_defaults(func=cmd_case_list)

    ingest = add("ingest", help="store files and folders in the vault; prints one item id per line")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--case", type=int, dest="case_id")
    ingest.add_argument("--kind", choices=[k for k in ITEM_KINDS if k != "transcript"])
    ingest.set_defaults(func=cmd_ingest)

    listing = add("list", help="list items")
    listing.add_argument("--case", type=int, dest="case_id")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    show = add("show", help="show one item: metadata, hashes, people, custody")
    show.add_argument("item_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    item = add("item", help="change an item's description, or hide a mistaken import").add_subparsers(
        dest="item_command", metavar="ACTION", required=True)
    item_edit = item.add_parser("edit", help="change title, description, place, source, capture time, tags or case "
                                "(each change is a custody event; an empty value clears place, source, time, tags)")
    item_edit.add_argument("item_id", type=int, metavar="ID")
    item_edit.add_argument("--title")
    item_edit.add_argument("--description")
    item_edit.add_argument("--place")
    item_edit.add_argument("--source")
    item_edit.add_argument("--captured", metavar="TIME", help="e.g. 2026-11-20 or 2026-11-20T14:05+07:00")
    item_edit.add_argument("--tags", help="comma-separated; replaces the item's tags")
    item_edit.add_argument("--case", dest="case_id", metavar="CASE",
                           help="the case number, or 'none' to take the item out of its case")
    item_edit.set_defaults(func=cmd_item_edit)
    for name, hidden, text in (("hide", True, "hide a mistaken import from lists (nothing is erased)"),
                               ("unhide", False, "show a hidden item in lists again")):
        hide = item.add_parser(name, help=text)
        hide.add_argument("item_id", type=int, metavar="ID")
        hide.set_defaults(func=cmd_item_hide, hidden=hidden)

    search = add("search", help="full-text search in any script")
    search.add_argument("text")
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    person = add("person", help="people").add_subparsers(dest="person_command", metavar="ACTION", required=True)
    person_add = person.add_parser("add", help="add a person; prints the id")
    person_add.add_argument("--name", required=True)
    person_add.add_argument("--alias", action="append", default=[])
    person_add.add_argument("--pseudonym")
    person_add.add_argument("--role", choices=PERSON_ROLES, default="witness")
    person_add.add_argument("--protected", action="store_true")
    person_add.set_defaults(func=cmd_person_add)
    person_list = person.add_parser("list", help="list people")
    person_list.add_argument("--json", action="store_true")
    person_list.set_defaults(func=cmd_person_list)

    consent = add("consent", help="consent").add_subparsers(dest="consent_command", metavar="ACTION", required=True)
    consent_add = consent.add_parser("add", help="record consent")
    consent_add.add_argument("person_id", type=int, metavar="PERSON")
    consent_add.add_argument("--scope", required=True, help="comma-separated: court,un,ngo,media")
    consent_add.add_argument("--date")
    consent_add.add_argument("--taken-by")
    consent_add.add_argument("--record", type=int, metavar="ITEM")
    consent_add.set_defaults(func=cmd_consent_add)
    consent_withdraw = consent.add_parser("withdraw", help="record that consent was withdrawn")
    consent_withdraw.add_argument("person_id", type=int, metavar="PERSON")
    consent_withdraw.add_argument("--date")
    consent_withdraw.add_argument("--reason", default="")
    consent_withdraw.set_defaults(func=cmd_consent_withdraw)

    link = add("link", help="link an item to a person")
    link.add_argument("item_id", type=int, metavar="ITEM")
    link.add_argument("person_id", type=int, metavar="PERSON")
    link.set_defaults(func=cmd_link)

    transcript = add("transcript", help="transcripts").add_subparsers(
        dest="transcript_command", metavar="ACTION", required=True
    )
    transcript_import = transcript.add_parser("import", help="import WebVTT, SRT or plain UTF-8 text")
    transcript_import.add_argument("item_id", type=int, metavar="ITEM")
    transcript_import.add_argument("file", type=Path, metavar="FILE")
    transcript_import.add_argument("--language")
    transcript_import.add_argument("--replace", action="store_true",
                                   help="replace the item's existing transcript (the old text is not kept)")
    transcript_import.set_defaults(func=cmd_transcript_import)

    profile = add("profile", help="show or set your role and organisation, remembered inside the vault for "
                  "your --actor name (printed on the certification of the dossiers you export)")
    profile.add_argument("--role", help='e.g. "Lawyer"')
    profile.add_argument("--organisation")
    profile.set_defaults(func=cmd_profile)

    add("passwd", help="change the vault's passphrase").set_defaults(func=cmd_passwd)


# -- helpers ---------------------------------------------------------------------------------


@contextmanager
def open_vault(args: argparse.Namespace) -> Iterator[Any]:
    from app.vault.vault import Vault

    path = vault_path(args)
    if not path.exists():
        raise VaultNotFound()
    vault = Vault.open(path, PassphraseSource(args).current(), actor=actor_name(args),
                       read_only=bool(getattr(args, "read_only", False)))
    try:
        yield vault
    finally:
        vault.close()


def plain(value: Any) -> Any:
    """Dataclasses, sets and bytes to JSON-friendly values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: plain(val) for key, val in asdict(value).items()}
    if isinstance(value, dict):
        return {str(key): plain(val) for key, val in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(val) for val in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, bytes):
        return value.hex()
    return value


def run_with_progress(label: str, work: Callable[[Callable[[int, int, str], None]], Any]) -> Any:
    bar = ProgressBar(label)
    try:
        return work(bar)
    finally:
        bar.finish()


# -- commands --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from app.vault.vault import Vault

    path = vault_path(args)
    vault = Vault.create(path, PassphraseSource(args).for_new_vault(), actor=actor_name(args))
    vault.close()
    print(f"Created vault {path}", file=sys.stderr)
    return 0


def cmd_case_add(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        print(vault.add_case(args.title, args.description))
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        for case in vault.list_cases():
            print(f"{case.id}\t{clean_text(case.title)}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from app.vault.ingest import FileChanged

    files = collect_files(args.paths)  # the same rule as the app's Import (app/vault/collect.py)
    if not files:  # an empty folder, or one holding only what is never imported: say so, open nothing
        _print_skipped(files.skipped)
        print(f"evidence-vault: {NOTHING_TO_IMPORT}", file=sys.stderr)
        return 1
    failures = stored = 0
    with open_vault(args) as vault:
        if args.case_id is not None:
            vault.get_case(args.case_id)  # a wrong case number is one error, not one per file
        for path in files:
            try:
                def ingest(bar: Callable[[int, int, str], None], path: Path = path) -> Any:
                    return vault.ingest_file(path, case_id=args.case_id, kind=args.kind, progress=bar)

                result = run_with_progress(path.name[:30], ingest)
            except (DiskFull, Cancelled):
                raise
            except FileChanged as error:  # the other files still go in
                failures += 1
                print(f"evidence-vault: {error.about(clean_text(path.name))}", file=sys.stderr)
                continue
            except EvidenceVaultError as error:
                failures += 1
                print(f"evidence-vault: {clean_text(path.name)}: {error.user_message()}", file=sys.stderr)
                continue
            print(result.item_id, flush=True)
            stored += 1
            if result.duplicate_of:
                print(
                    f"note: {clean_text(path.name)} is identical to item {result.duplicate_of}",
                    file=sys.stderr,
                )
            for warning in result.warnings:
                print(f"warning: {clean_text(path.name)}: {warning}", file=sys.stderr)
        _print_skipped(files.skipped)  # last, where a long import's output ends
        if failures and stored == 0 and len(files) > 1:
            print("evidence-vault: no file was stored.", file=sys.stderr)
    # A sub-folder that could not be read is a failure like a file that could not be stored; links and
    # special files are left out by rule (reported above, exit 0 if nothing else went wrong).
    return 1 if failures or any(entry.unreadable for entry in files.skipped) else 0


def _print_skipped(skipped: list[Skipped]) -> None:
    for entry in skipped:
        print(f"evidence-vault: skipped {clean_text(entry.line())}", file=sys.stderr)


def _item_row(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "case_id": item.case_id,
        "kind": item.kind,
        "title": item.title,
        "sha256": item.sha256,
        "size": item.size,
        "captured_at": item.captured_at,
        "created_at": item.created_at,
        "derived_from": item.derived_from,
        "hidden": bool(item.metadata.get("hidden")),
        "warnings": len(item.ingest_warnings),
    }


def cmd_list(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        if args.case_id is not None:
            vault.get_case(args.case_id)
        items = vault.list_items(args.case_id)
        if args.json:
            print_json([_item_row(item) for item in items])
        else:
            for item in items:
                marks = "".join((" (stored with a warning: see show)" if item.ingest_warnings else "",
                                 " (hidden)" if item.metadata.get("hidden") else ""))
                print(f"{item.id}\t{item.kind}\t{item.sha256[:12]}\t{clean_text(item.title or '')}{marks}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        item = vault.get_item(args.item_id)
        persons = vault.persons_for_item(args.item_id)
        events = vault.events(args.item_id)
        if args.json:
            print_json(
                {
                    "item": plain(item),
                    "persons": [plain(p) for p in persons],
                    "custody": [plain(e) for e in events],
                }
            )
            return 0
        print(f"Item {item.id}: {clean_text(item.title or '')}")
        for label, value in (
            ("Kind", item.kind),
            ("Case", item.case_id),
            ("Original name", item.original_name),
            ("Size", f"{item.size} bytes"),
            ("SHA-256", item.sha256),
            ("MIME", item.mime),
            ("Captured at", item.captured_at),
            ("Place", item.place),
            ("Source", item.source),
            ("Tags", ", ".join(item.tags or [])),
            ("Derived from", item.derived_from),
            ("Stored at", item.created_at),
        ):
            if value not in (None, ""):
                print(f"  {label + ':':15} {clean_text(str(value))}")
        if item.description:
            print(f"  Description:    {clean_text(item.description)}")
        for warning in item.ingest_warnings:
            print(f"  Stored with a warning: {clean_text(warning)}")
        for key, value in sorted((item.metadata or {}).items()):
            print(f"  meta.{key}: {clean_text(str(value))[:200]}")
        if persons:
            print("  People:")
            for person in persons:
                print(f"    {person.id}\t{person.role}\t{clean_text(person.name)}")
        print("  Custody:")
        for event in events:
            print(f"    #{event.seq}\t{event.time}\t{clean_text(event.actor)}\t{event.action}")
    return 0


def cmd_item_edit(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {key: getattr(args, name) for key, name in (
        ("title", "title"), ("description", "description"), ("place", "place"), ("source", "source"),
        ("captured_at", "captured"), ("tags", "tags")) if getattr(args, name) is not None}
    if args.case_id is not None:
        if args.case_id.strip().lower() in ("none", ""):
            fields["case_id"] = None
        elif args.case_id.strip().isdigit():
            fields["case_id"] = int(args.case_id)
        else:
            raise InvalidInput("Give the case as its number (see `case list`), or 'none'.")
    if not fields:
        raise InvalidInput("Say what to change, e.g. --title \"Checkpoint photo\" or --place \"Mae Sot\".")
    with open_vault(args) as vault:
        if fields.get("case_id") is not None:
            vault.get_case(fields["case_id"])
        changed = vault.edit_item(args.item_id, **fields)
    if changed:
        print(f"Item {args.item_id}: changed {', '.join(changed)} (recorded in the custody log).", file=sys.stderr)
    else:
        print(f"Item {args.item_id}: nothing changed (the values were already so).", file=sys.stderr)
    return 0


def cmd_item_hide(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        changed = vault.set_item_hidden(args.item_id, args.hidden)
    state = "hidden" if args.hidden else "shown"
    print(f"Item {args.item_id} {'is now' if changed else 'was already'} {state}. Its original and custody "
          "are kept.", file=sys.stderr)
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        if args.role is not None or args.organisation is not None:
            current = vault.actor_profile()
            vault.set_actor_profile(role=current.role if args.role is None else args.role,
                                    organisation=current.organisation if args.organisation is None
                                    else args.organisation)
        profile = vault.actor_profile()
    print(f"{clean_text(profile.name)}\t{clean_text(profile.role) or '(no role)'}\t"
          f"{clean_text(profile.organisation) or '(no organisation)'}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        hits = vault.search(args.text)
        if args.json:
            print_json([plain(hit) for hit in hits])
        else:
            for hit in hits:
                print("\t".join(clean_text(str(value)) for value in plain(hit).values()))
    return 0


def cmd_person_add(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        person_id = vault.add_person(
            name=args.name,
            aliases=tuple(args.alias),
            pseudonym=args.pseudonym,
            role=args.role,
            protected=args.protected,
        )
        print(person_id)
    return 0


def cmd_person_list(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        persons = vault.list_persons()
        if args.json:
            print_json([plain(p) for p in persons])
        else:
            for person in persons:
                flag = "protected" if person.protected else ""
                print(f"{person.id}\t{person.role}\t{clean_text(person.pseudonym or '')}\t{flag}")
    return 0


def _parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = scopes - set(CONSENT_SCOPES)
    if not scopes or unknown:
        raise InvalidInput(
            f"Consent scope must be one or more of {', '.join(CONSENT_SCOPES)} separated by commas "
            f"(got '{clean_text(text)}')."
        )
    return scopes


def cmd_consent_add(args: argparse.Namespace) -> int:
    scopes = _parse_scopes(args.scope)
    with open_vault(args) as vault:
        consent_id = vault.add_consent(
            args.person_id, scopes=scopes, date=args.date, taken_by=args.taken_by, record_item_id=args.record
        )
        print(consent_id)
    return 0


def cmd_consent_withdraw(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        vault.withdraw_consent(args.person_id, date=args.date, reason=args.reason)
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        vault.link(args.item_id, args.person_id)
    return 0


def cmd_transcript_import(args: argparse.Namespace) -> int:
    from app.media.subtitles import MAX_TRANSCRIPT_BYTES, parse_transcript_bytes
    from app.user_files import read_small_file
    from app.vault.models import Segment

    # An ordinary file only, read within the limit; a missing or unreadable file is said plainly.
    raw = read_small_file(args.file, limit=MAX_TRANSCRIPT_BYTES, what="transcript")
    parsed = parse_transcript_bytes(raw, name=args.file.name, language=args.language)
    if not parsed:
        raise InvalidInput("No text was found in this transcript file. Nothing was changed.")
    segments = [
        Segment(start=s.start, end=s.end, speaker=s.speaker, language=args.language, text=s.text) for s in parsed
    ]
    with open_vault(args) as vault:
        if vault.transcript(args.item_id) and not args.replace:
            raise InvalidInput(
                f"Item {args.item_id} already has a transcript. Nothing was changed; to replace it, run the "
                "command again with --replace."
            )
        vault.set_transcript(args.item_id, segments, language=args.language)
    print(f"Imported {len(segments)} segments", file=sys.stderr)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    source = PassphraseSource(args)
    from app.vault.vault import Vault

    path = vault_path(args)
    if not path.exists():
        raise VaultNotFound()
    vault = Vault.open(path, source.current(), actor=actor_name(args))
    try:
        vault.change_passphrase(source.new())
    finally:
        vault.close()
    print("Passphrase changed.", file=sys.stderr)
    return 0
