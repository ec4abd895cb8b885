"""Writing a sealed evidence bundle: the files an auditor checks alone, with sha256sum and openssl.

Layout (docs/FORMAT.md, section "Bundles", has the full specification)::

    dossier.pdf, exhibits/...        the caller's files (BundleFile), streamed, hashed while copied
    custody/events.jsonl             the included custody events, one canonical JSON event per line
    custody/proofs.json              RFC 9162 inclusion proof of each event against the checkpoint
    custody/checkpoint.txt           the signed checkpoint (C2SP signed note) the proofs lead to
    custody/consistency.json         RFC 9162 consistency proofs from every earlier checkpoint the vault
                                     printed or received to the bundle's checkpoint
    keys/vault-ed25519.pem           the vault's Ed25519 public key
    keys/vault-seal-cert.pem         the certificate of the PDF seal
    VERIFY.txt                       step-by-step instructions (and a short proof-checking script)
    SHA256SUMS                       `sha256sum -c` list of all the files above
    manifest.json                    every file's path, SHA-256, size and role, plus bundle metadata
    manifest.json.sig                raw 64-byte Ed25519 signature over the exact bytes of manifest.json

The bundle is written under a temporary name beside ``out`` and renamed into place only when complete,
so a crash, a cancel or a full disk never leaves a half bundle under the real name.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.durable import sync_folder
from app.errors import DiskFull, EvidenceVaultError, IntegrityError, InvalidInput
from app.export.bundle_instructions import verify_instructions
from app.export.bundle_sinks import FolderSink, Sink, ZipSink
from app.export.safe_zip import MAX_ENTRIES, RATIO_CHECK_FROM, find_duplicates, name_key, unsafe_name_reason
from app.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from app.vault import checkpoint as checkpoints
from app.vault import keys
from app.vault.canonical import canonical_json
from app.vault.events import GENESIS_PREV_HASH, Event, utc_now
from app.vault.merkle import MerkleTree, verify_consistency, verify_inclusion

FORMAT_NAME = "evidence-vault-bundle"
FORMAT_VERSION = 1
PROOFS_FORMAT = "evidence-vault-inclusion-proofs"
CONSISTENCY_FORMAT = "evidence-vault-consistency-proofs"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
SUMS = "SHA256SUMS"
INSTRUCTIONS = "VERIFY.txt"
EVENTS = "custody/events.jsonl"
PROOFS = "custody/proofs.json"
CHECKPOINT = "custody/checkpoint.txt"
CONSISTENCY = "custody/consistency.json"
PUBLIC_KEY = "keys/vault-ed25519.pem"
SEAL_CERT = "keys/vault-seal-cert.pem"
UNLISTED = frozenset({MANIFEST, SIGNATURE})  # the only files not named in the manifest
GENERATED_ROLES = {
    EVENTS: "custody-events",
    PROOFS: "custody-proofs",
    CHECKPOINT: "checkpoint",
    CONSISTENCY: "custody-consistency",
    PUBLIC_KEY: "public-key",
    SEAL_CERT: "seal-certificate",
    INSTRUCTIONS: "instructions",
    SUMS: "checksums",
}
CALLER_ROLES = frozenset({"dossier", "exhibit", "transcript", "attachment"})
RESERVED_FOLDERS = ("custody/", "keys/")
INGEST_ACTION = "item_ingested"
EXPORTED_ACTION = "exported"
DOSSIER_ROLE = "dossier"
DOSSIER_MANIFEST = "dossier-manifest.json"  # the exporter's name for it (app.export.dossier_files)
DOSSIER_MANIFEST_FORMAT = "evidence-vault-dossier-manifest"
MAX_LABEL = 200
# Already-compressed media gain nothing from deflate; text shrinks well and is small.
TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".txt", ".pem", ".csv", ".srt", ".vtt", ".md", ".xml", ".html"})
# The Concordance DAT and Opticon OPT load files are text too, under suffixes an exhibit may also carry
# as binary data: they are recognised by their folder, not their suffix.
LOAD_FILES_FOLDER = "loadfiles/"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BundleFile:
    """A file to put in the bundle.  ``open`` returns a fresh binary stream (closed by the writer)."""

    arcname: str
    open: Callable[[], BinaryIO]
    item_id: int | None = None
    role: str = "exhibit"


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    size: int
    role: str
    item_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "role": self.role,
                "item_id": self.item_id}


@dataclass(frozen=True)
class BundleResult:
    path: Path
    manifest_sha256: str
    files: list[ManifestEntry]
    key_id: str = ""


def is_text_name(name: str) -> bool:
    return name == SUMS or name.startswith(LOAD_FILES_FOLDER) or Path(name).suffix.lower() in TEXT_SUFFIXES


def _deflate(name: str, size_hint: int | None) -> bool:
    """Deflate text only.  Caller text of 1 MiB or more (or of unknown size) is stored: a pathological
    file (pages of spaces) could exceed the compression ratio the verifier accepts (safe_zip.MAX_RATIO).
    The bundle's own files (hex hashes, JSON) compress far less than that at any size."""
    if not is_text_name(name):
        return False
    return name in GENERATED_ROLES or name in UNLISTED or (size_hint is not None and size_hint < RATIO_CHECK_FROM)


def _stream_chunks(stream: BinaryIO, cancel: CancelToken, on_chunk: Callable[[int], None]) -> Iterable[bytes]:
    while chunk := stream.read(_CHUNK):
        cancel.check()
        on_chunk(len(chunk))
        yield chunk


def _size_of(stream: BinaryIO) -> int | None:
    try:
        if stream.seekable():
            here = stream.tell()
            end = stream.seek(0, os.SEEK_END)
            stream.seek(here)
            return end - here
    except (OSError, ValueError):
        pass
    return None


def _check_files(files: Sequence[BundleFile]) -> None:
    if len(files) + len(GENERATED_ROLES) + len(UNLISTED) > MAX_ENTRIES:
        raise InvalidInput(f"A bundle can hold at most {MAX_ENTRIES - 10:,} files; split the export.")
    reserved = {name_key(n) for n in (*GENERATED_ROLES, *UNLISTED)}
    for bundle_file in files:
        name = bundle_file.arcname
        reason = unsafe_name_reason(name) if isinstance(name, str) else "is not text"
        if reason or name.endswith("/"):
            raise InvalidInput(f"The file name {name!r} cannot be used in a bundle: it {reason or 'is a folder'}.")
        if name_key(name) in reserved or name_key(name).startswith(RESERVED_FOLDERS):
            raise InvalidInput(f"The file name {name!r} is reserved for the bundle's own files.")
        if bundle_file.role not in CALLER_ROLES:
            raise InvalidInput(f"Unknown bundle file role {bundle_file.role!r}.")
        if bundle_file.item_id is not None and (
            not isinstance(bundle_file.item_id, int) or isinstance(bundle_file.item_id, bool)
            or bundle_file.item_id < 0
        ):
            raise InvalidInput(f"The item id of {name!r} is not valid.")
    clashes = find_duplicates([f.arcname for f in files])
    if clashes:
        name, first = next(iter(clashes.items()))
        raise InvalidInput(
            f"The bundle would contain {name!r} and {first!r}, which are the same name on some computers."
        )


def export_binding(files: Sequence[BundleFile], events: Sequence[Event]) -> dict[str, object]:
    """What the bundle's ``exported`` event records so that the custody log binds the bundle's content
    (docs/FORMAT.md, "What the exported event binds"); the exporter records it before writing the bundle.

    ``bundle_files``: [path, SHA-256] of every file without a vault item (made at export: the dossier, its
    manifest, transcripts, load files, placeholders), in bundle order.  ``bundle_items``: the item id of
    every file that *is* a vault item (its bytes are bound by that item's ``item_ingested`` event; its
    path may hold a file name, which the chain never carries).  ``bundle_event_seqs``: the ``seq`` of
    every other custody event the bundle includes, ascending, so that leaving one out is detectable."""
    made: list[list[str]] = []
    for bundle_file in files:
        if bundle_file.item_id is not None:
            continue
        digest = hashlib.sha256()
        with bundle_file.open() as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        made.append([bundle_file.arcname, digest.hexdigest()])
    return {
        "bundle_files": made,
        "bundle_items": [f.item_id for f in files if f.item_id is not None],
        "bundle_event_seqs": sorted({e.seq for e in events}),
    }


def consistency_document(
    earlier_checkpoints: Iterable[str], tree: MerkleTree, checkpoint: checkpoints.Checkpoint,
    signing_key: Ed25519PrivateKey,
) -> bytes:
    """custody/consistency.json: a consistency proof from each earlier checkpoint to ``checkpoint``.

    Every earlier checkpoint must be signed by this vault and match the log at its size: one that does
    not means the log was rewritten since it was made, and the export is refused.  Checkpoints larger
    than the bundle's (only possible when an old checkpoint is exported) are left out."""
    public = signing_key.public_key()
    seen: set[tuple[int, bytes]] = set()
    entries = []
    for raw in earlier_checkpoints:
        text = raw.replace("\r\n", "\n").strip() + "\n"
        earlier = checkpoints.verify_checkpoint(text, public)
        if earlier.tree_size > checkpoint.tree_size or (earlier.tree_size, earlier.root) in seen:
            continue
        if tree.root(earlier.tree_size) != earlier.root:
            raise IntegrityError(
                f"A checkpoint this vault made earlier (of {earlier.tree_size} events) does not match the "
                "custody log: the log was rewritten. Run a vault check; do not export.",
                debug_detail=f"stored checkpoint of size {earlier.tree_size}",
            )
        seen.add((earlier.tree_size, earlier.root))
        proof = tree.consistency_proof(earlier.tree_size, checkpoint.tree_size)
        verify_consistency(old_size=earlier.tree_size, new_size=checkpoint.tree_size, old_root=earlier.root,
                           new_root=checkpoint.root, proof=proof)
        entries.append({"checkpoint": text, "tree_size": earlier.tree_size, "root": earlier.root.hex(),
                        "consistency_proof": [node.hex() for node in proof]})
    entries.sort(key=lambda e: (e["tree_size"], e["root"]))
    return canonical_json({
        "format": CONSISTENCY_FORMAT,
        "format_version": FORMAT_VERSION,
        "hash": "sha256",
        "tree_size": checkpoint.tree_size,
        "root": checkpoint.root.hex(),
        "proofs": entries,
    })


EventView = Callable[[Event], "dict[str, object] | None"]


def _prepare_custody(
    events: Sequence[Event], leaf_hashes: Sequence[bytes], checkpoint_text: str, signing_key: Ed25519PrivateKey,
    earlier_checkpoints: Iterable[str] = (), event_view: EventView | None = None,
) -> tuple[str, bytes, bytes, bytes]:
    """Check that the events, the log and the checkpoint agree; return (checkpoint, events, proofs,
    consistency proofs).  ``event_view`` gives the withheld form of an event (see
    app.export.commitments.public_view) or None to write it whole."""
    text = checkpoint_text.replace("\r\n", "\n").strip() + "\n"
    checkpoint = checkpoints.verify_checkpoint(text, signing_key.public_key())
    if checkpoint.tree_size > len(leaf_hashes):
        raise InvalidInput("The checkpoint covers more events than the custody log given for the export.")
    tree = MerkleTree(leaf_hashes)
    if tree.root(checkpoint.tree_size) != checkpoint.root:
        raise IntegrityError(
            "The checkpoint does not match the custody log; run a vault check before exporting.",
            debug_detail=f"tree size {checkpoint.tree_size}",
        )
    ordered = sorted(events, key=lambda e: e.seq)
    if len({e.seq for e in ordered}) != len(ordered):
        raise InvalidInput("The same custody event was given twice for the bundle.")
    if ordered and ordered[-1].seq >= checkpoint.tree_size:
        raise InvalidInput(
            f"The checkpoint covers {checkpoint.tree_size} custody events, but the bundle includes event "
            f"{ordered[-1].seq}. Make a new checkpoint and export again."
        )
    for earlier, later in itertools.pairwise(ordered):
        if earlier.seq + 1 == later.seq and later.prev_hash != earlier.chain_hash():
            raise IntegrityError(f"The custody chain is broken at event {later.seq}; run a vault check.")
    if ordered and ordered[0].seq == 0 and ordered[0].prev_hash != GENESIS_PREV_HASH:
        raise IntegrityError("The first custody event does not start the chain; run a vault check.")
    proofs = []
    lines = []
    for event in ordered:
        leaf = event.leaf_hash()
        if leaf_hashes[event.seq] != leaf:
            raise IntegrityError(
                f"Custody event {event.seq} does not match the custody log; run a vault check.",
                debug_detail="leaf hash mismatch",
            )
        path = tree.inclusion_proof(event.seq, checkpoint.tree_size)
        verify_inclusion(leaf_hash=leaf, index=event.seq, tree_size=checkpoint.tree_size, proof=path,
                         root=checkpoint.root)
        proofs.append({"seq": event.seq, "leaf_index": event.seq, "leaf_hash": leaf.hex(),
                       "inclusion_proof": [node.hex() for node in path]})
        view = event_view(event) if event_view is not None else None
        lines.append((canonical_json(view) if view is not None else event.canonical_bytes()) + b"\n")
    proof_doc = {
        "format": PROOFS_FORMAT,
        "format_version": FORMAT_VERSION,
        "hash": "sha256",
        "tree_size": checkpoint.tree_size,
        "root": checkpoint.root.hex(),
        "proofs": proofs,
    }
    consistency = consistency_document(earlier_checkpoints, tree, checkpoint, signing_key)
    return text, b"".join(lines), canonical_json(proof_doc), consistency


def _check_label(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL:
        raise InvalidInput(f"The bundle's {what} must be short, non-empty text.")
    return value


def write_bundle(
    *,
    out: Path,
    as_zip: bool,
    files: Sequence[BundleFile],
    events: Sequence[Event],
    leaf_hashes: Sequence[bytes],
    checkpoint_text: str,
    signing_key: Ed25519PrivateKey,
    seal_cert_pem: bytes,
    audience: str,
    level: str,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    earlier_checkpoints: Sequence[str] = (),
    event_view: EventView | None = None,
) -> BundleResult:
    """Write a sealed bundle at ``out`` (a .zip file when ``as_zip``, otherwise a folder).

    ``leaf_hashes`` is the whole custody log (every event's leaf hash, in order); ``events`` are the
    events to include (normally those of the included items).  Each file with an ``item_id`` must
    match an included ``item_ingested`` event for that item with the same SHA-256.
    ``earlier_checkpoints`` are the checkpoints the vault printed or received (its ``checkpoints``
    table): the bundle carries a consistency proof from each to its own checkpoint.
    ``event_view`` (redacted exports): the withheld form of an event, or None to write it whole.

    Raises InvalidInput (bad arguments, ``out`` exists, checkpoint too old), IntegrityError (log,
    events and checkpoint disagree), DiskFull, Cancelled; in every error case nothing is left behind.
    """
    progress = progress or no_progress
    cancel = cancel or NEVER_CANCELLED
    out = Path(out)
    audience, level = _check_label(audience, "audience"), _check_label(level, "level")
    _check_files(files)
    try:
        x509.load_pem_x509_certificate(bytes(seal_cert_pem))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The seal certificate is not a valid PEM certificate.", debug_detail=str(exc)) from exc
    if os.path.lexists(out):
        raise InvalidInput(f"{out} already exists. Choose another name, or move the old bundle away first.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    ingested = {(e.item_id, e.item_sha256) for e in events if e.action == INGEST_ACTION}
    ingested_ids = {item_id for item_id, _ in ingested}
    for bundle_file in files:
        if bundle_file.item_id is not None and bundle_file.item_id not in ingested_ids:
            raise InvalidInput(
                f"{bundle_file.arcname}: the custody events of item {bundle_file.item_id} (its ingest "
                "record) must be included in the bundle."
            )
    checkpoint_text, events_bytes, proofs_bytes, consistency_bytes = _prepare_custody(
        events, leaf_hashes, checkpoint_text, signing_key, earlier_checkpoints, event_view
    )
    public = signing_key.public_key()
    created_at = utc_now()
    stamp = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").timetuple()[:6]
    temp = out.parent / f".{out.name}.{secrets.token_hex(6)}.partial"
    total_steps = len(files) + len(GENERATED_ROLES) + 2
    entries: list[ManifestEntry] = []
    sink: Sink | None = None
    try:
        sink = ZipSink(temp, stamp, _deflate) if as_zip else FolderSink(temp)
        for step, bundle_file in enumerate(files):
            cancel.check()
            progress(step, total_steps, f"Adding {bundle_file.arcname}")
            with bundle_file.open() as stream:
                sha, size = sink.add(bundle_file.arcname, _stream_chunks(stream, cancel, lambda n: None),
                                     _size_of(stream))
            if bundle_file.item_id is not None and (bundle_file.item_id, sha) not in ingested:
                raise IntegrityError(
                    f"{bundle_file.arcname}: its SHA-256 does not match the ingest record of item "
                    f"{bundle_file.item_id}; the file was changed. Run a vault check.",
                )
            entries.append(ManifestEntry(bundle_file.arcname, sha, size, bundle_file.role, bundle_file.item_id))
        key_id = keys.key_id(public)
        generated = {
            EVENTS: events_bytes,
            PROOFS: proofs_bytes,
            CHECKPOINT: checkpoint_text.encode("utf-8"),
            CONSISTENCY: consistency_bytes,
            PUBLIC_KEY: keys.public_key_pem(public),
            SEAL_CERT: bytes(seal_cert_pem),
            INSTRUCTIONS: verify_instructions(key_id=key_id, created_at=created_at, audience=audience,
                                              level=level).encode("utf-8"),
        }
        for step, (name, data) in enumerate(generated.items(), start=len(files)):
            cancel.check()
            progress(step, total_steps, f"Writing {name}")
            sha, size = sink.add(name, [data], len(data))
            entries.append(ManifestEntry(name, sha, size, GENERATED_ROLES[name]))
        sums = "".join(f"{e.sha256}  {e.path}\n" for e in entries).encode("utf-8")
        sha, size = sink.add(SUMS, [sums], len(sums))
        entries.append(ManifestEntry(SUMS, sha, size, GENERATED_ROLES[SUMS]))
        manifest = canonical_json({
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created_at": created_at,
            "audience": audience,
            "level": level,
            "vault_key_id": key_id,
            "checkpoint": checkpoint_text,
            "events": len(events),
            "files": [e.as_dict() for e in entries],
        })
        cancel.check()
        progress(total_steps - 2, total_steps, "Signing the manifest")
        sink.add(MANIFEST, [manifest], len(manifest))
        sink.add(SIGNATURE, [signing_key.sign(manifest)], 64)
        sink.finish()
        cancel.check()
        os.replace(temp, out)
        sync_folder(out.parent)
    except OSError as exc:
        if sink is not None:
            sink.abort()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(debug_detail=str(exc)) from exc
        if exc.errno == errno.EFBIG:
            raise DiskFull(
                "The bundle is too large for this drive's file system (FAT32 drives hold at most 4 GB "
                "per file). Export as a folder, or use a drive formatted as exFAT or NTFS.",
                debug_detail=str(exc),
            ) from exc
        raise EvidenceVaultError(
            f"The bundle could not be written to {out.parent}: {exc.strerror}. Check the drive and try again.",
            debug_detail=str(exc),
        ) from exc
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    progress(total_steps, total_steps, "Bundle written")
    return BundleResult(path=out, manifest_sha256=hashlib.sha256(manifest).hexdigest(), files=entries,
                        key_id=key_id)
