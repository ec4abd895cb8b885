"""``hq export``: a signed folder of archive items with the custody that proves them.

app.export's bundle writer signs with the *field* vault's key and checks the checkpoint against it,
which headquarters does not hold, so headquarters writes its own bundle (format
``evidence-vault-hq-export`` v1)::

    OUT/originals/<hq item id>-<sha256 prefix>.<ext>   the originals, decrypted, streamed
    OUT/records/items.json                           item records (no persons, notes or transcripts:
                                                     nothing that can name a protected person)
    OUT/custody/<origin key id>/events.jsonl         the field vault's whole log (canonical JSON lines)
    OUT/custody/<origin key id>/checkpoint.txt       its last accepted checkpoint, cosigned by HQ
    OUT/custody/<origin key id>/field-key.pem        the field vault's Ed25519 public key
    OUT/hq/hq-public.pem, OUT/hq/checkpoint.txt      headquarters' identity and its checkpoint after the export
    OUT/manifest.json                                canonical JSON: every file with SHA-256 and size, the items
    OUT/manifest.sig                                 base64 Ed25519 by HQ's key over
                                                     "evidence-vault hq export v1\\n" || manifest

:func:`verify_export` checks all of it without the database.  Written into a hidden temporary folder
and renamed into place, so a failed export leaves nothing under OUT.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from app.errors import DiskFull, IntegrityError, InvalidInput
from app.hq import blobstore, hq_log, query
from app.hq.headquarters import Headquarters
from app.transfer.identity import HqPublicIdentity
from app.transfer.witness import find_cosignature
from app.vault import merkle
from app.vault.canonical import canonical_json, parse_canonical
from app.vault.checkpoint import verify_checkpoint
from app.vault.events import Event, verify_chain
from app.vault.keys import load_public_key_pem

FORMAT_NAME = "evidence-vault-hq-export"
FORMAT_VERSION = 1
SIGNATURE_CONTEXT = b"evidence-vault hq export v1\n"
_SAFE_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}")


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    items: int
    field_vaults: int
    manifest_sha256: str


def _write(folder: Path, relative: str, data: bytes, files: list[dict[str, Any]]) -> None:
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    files.append({"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})


def export_items(hq: Headquarters, item_ids: list[int] | None, out: Path, *, actor: str) -> ExportSummary:
    out = Path(out)
    if os.path.lexists(out):
        raise InvalidInput(f"{out} already exists. Choose another name, or move the old export away first.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    every = {i.id: i for i in query.list_items(hq)}
    chosen = list(every.values()) if item_ids is None else []
    for item_id in item_ids or []:
        if item_id not in every:
            raise InvalidInput(
                f"There is no item {item_id} in headquarters' archive. See 'hq list'; nothing was exported."
            )
        chosen.append(every[item_id])
    if not chosen:
        raise InvalidInput("There are no items to export.")
    temp = out.parent / f".{out.name}.{secrets.token_hex(6)}.partial"
    files: list[dict[str, Any]] = []
    try:
        temp.mkdir(mode=0o700)
        records = []
        for item in chosen:
            _, record = query.item_record(hq, item.id)
            suffix = Path(str(record["item"].get("original_name") or "")).suffix
            name = f"originals/{item.id}-{item.sha256[:16]}{suffix if _SAFE_EXT.fullmatch(suffix) else ''}"
            target = temp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with hq.conn.transaction(), open(target, "xb") as handle:
                for chunk in blobstore.iter_plain_chunks(hq.conn, hq.keys, item.sha256):
                    digest.update(chunk)
                    handle.write(chunk)
            if digest.hexdigest() != item.sha256:
                raise IntegrityError(f"Archive item {item.id} no longer matches its SHA-256; run 'hq verify'.")
            files.append({"path": name, "sha256": item.sha256, "size": item.size})
            records.append({"hq_item_id": item.id, "origin": item.origin, "field_item_id": item.field_item_id,
                            "sha256": item.sha256, "file": name, "item": record["item"]})
        _write(temp, "records/items.json", json.dumps(records, ensure_ascii=False, indent=2).encode("utf-8"), files)
        origins = sorted({item.origin for item in chosen})
        for origin in origins:
            row = hq.conn.execute(
                "SELECT id, public_pem, last_cosigned, key_id FROM field_vaults WHERE origin = %s", (origin,)
            ).fetchone()
            assert row is not None
            lines = b"".join(bytes(r[0]) + b"\n" for r in hq.conn.execute(
                "SELECT canonical FROM field_events WHERE field_vault_id = %s ORDER BY seq", (row[0],)))
            base = f"custody/{row[3]}"
            _write(temp, f"{base}/events.jsonl", lines, files)
            _write(temp, f"{base}/checkpoint.txt", str(row[2]).encode("utf-8"), files)
            _write(temp, f"{base}/field-key.pem", bytes(row[1]), files)
        with hq.conn.transaction():
            hq_log.append(hq.conn, actor=actor, action="exported", details={
                "items": [i.id for i in chosen], "originals": sorted({i.sha256 for i in chosen}), "out": out.name,
            })
            checkpoint = hq_log.make_checkpoint(hq.conn, hq.identity.signing_key)
        _write(temp, "hq/hq-public.pem", hq.public().to_pem(), files)
        _write(temp, "hq/checkpoint.txt", checkpoint.encode("utf-8"), files)
        manifest = canonical_json({
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "hq_key_id": hq.identity.key_id(),
            "hq_name": hq.name, "files": files,
            "items": [{k: r[k] for k in ("hq_item_id", "origin", "field_item_id", "sha256", "file")} for r in records],
        })
        (temp / "manifest.json").write_bytes(manifest)
        signature = hq.identity.signing_key.sign(SIGNATURE_CONTEXT + manifest)
        (temp / "manifest.sig").write_text(base64.b64encode(signature).decode("ascii") + "\n", encoding="ascii")
        os.replace(temp, out)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        if exc.errno == 28:
            raise DiskFull(debug_detail=str(exc)) from exc
        raise InvalidInput(f"The export could not be written to {out.parent}: {exc.strerror}.") from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return ExportSummary(out, len(chosen), len(origins), hashlib.sha256(manifest).hexdigest())


def verify_export(folder: Path, hq: HqPublicIdentity) -> list[str]:
    """Problems with an export folder, checked with headquarters' public identity only."""
    folder = Path(folder)
    try:
        manifest_bytes = (folder / "manifest.json").read_bytes()
        signature = base64.b64decode((folder / "manifest.sig").read_text(encoding="ascii").strip(), validate=True)
        hq.signing_key.verify(signature, SIGNATURE_CONTEXT + manifest_bytes)
        manifest = parse_canonical(manifest_bytes)
    except (OSError, ValueError, InvalidSignature, IntegrityError) as exc:
        return [f"the manifest is missing, altered or not signed by headquarters {hq.name} ({type(exc).__name__})"]
    problems: list[str] = []
    listed = {f["path"]: f for f in manifest["files"]}
    for path, entry in listed.items():
        digest = hashlib.sha256()
        try:
            with open(folder / path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            problems.append(f"{path} is missing")
            continue
        if digest.hexdigest() != entry["sha256"]:
            problems.append(f"{path} was altered (its SHA-256 differs from the manifest)")
    for custody in sorted({p.split("/")[1] for p in listed if p.startswith("custody/")}):
        base = f"custody/{custody}"
        try:
            public = load_public_key_pem((folder / base / "field-key.pem").read_bytes())
            text = (folder / base / "checkpoint.txt").read_text(encoding="utf-8")
            checkpoint = verify_checkpoint(text, public)
            find_cosignature(text, hq.signing_key, hq.name)
            events = [Event.from_canonical(line) for line in (folder / base / "events.jsonl").read_bytes().splitlines()]
            verify_chain(events)
        except (OSError, IntegrityError) as exc:
            problems.append(f"{base}: {getattr(exc, 'message', exc)}")
            continue
        except Exception as exc:  # a TransferError from a missing cosignature
            problems.append(f"{base}: {getattr(exc, 'message', exc)}")
            continue
        tree = merkle.MerkleTree([e.leaf_hash() for e in events])
        if tree.size < checkpoint.tree_size or tree.root(checkpoint.tree_size) != checkpoint.root:
            problems.append(f"{base}: the log does not match its cosigned checkpoint")
        ingested = {e.item_sha256 for e in events if e.action == "item_ingested"}
        for item in manifest["items"]:
            if item["origin"] == checkpoint.origin and item["sha256"] not in ingested:
                problems.append(f"item {item['hq_item_id']} has no ingest event in its field vault's log")
    return problems
