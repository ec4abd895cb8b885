"""Steps of an export that are about telling the truth afterwards: which redacted copies were kept when
an export failed, what the chain records of a bundle before it is written, and that a bundle which could
not be completed after its ``exported`` event was recorded is marked as such in the chain.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.errors import Cancelled, DiskFull, EvidenceVaultError
from app.export import selection as selection_mod
from app.export.dossier_builder import TextGuard
from app.progress import CancelToken, ProgressCallback

_CHUNK = 1 << 20


def kept_copies(vault: Any, sel: selection_mod.Selection, last_item: int) -> list[int]:
    originals = {item.id for item in sel.exhibits}
    try:
        return [item.id for item in vault.list_items()
                if item.id > last_item and item.derived_from in originals]
    except EvidenceVaultError:
        return []


def say_what_was_kept(exc: EvidenceVaultError, kept: Sequence[int]) -> None:
    """Make the error's message true: redacted copies made for the export stay in the vault."""
    message = exc.message
    for claim in ("Nothing was written.", "nothing was written.", "Nothing was changed.", "Nothing was lost;"):
        message = message.replace(claim, "No export file was written." if claim != "Nothing was lost;"
                                  else "No export file was written;")
    listed = ", ".join(str(i) for i in kept)
    exc.message = (f"{message} The redacted {'copy' if len(kept) == 1 else 'copies'} made for this export "
                   f"({'item' if len(kept) == 1 else 'items'} {listed}) {'was' if len(kept) == 1 else 'were'} "
                   "kept in the vault and recorded in the custody log; the next export uses "
                   f"{'it' if len(kept) == 1 else 'them'}.")
    exc.args = (exc.message,)


def record_failed(vault: Any, seq: int, exc: BaseException) -> None:
    """The chain already says the bundle was exported: say that it was not completed after all."""
    reason = "cancelled" if isinstance(exc, Cancelled) else "disk full" if isinstance(exc, DiskFull) else \
        "error"
    with contextlib.suppress(EvidenceVaultError):
        vault.record_event("exported", details={"failed_export_event": seq, "completed": False,
                                                "reason": reason})


def file_hashes(files: Sequence[Any]) -> list[list[str]]:
    """[path, SHA-256] of the bundle files made at export (dossier, its manifest, transcripts).  Files
    of vault items are already in the chain by item id and hash; their paths may hold file names,
    which the chain never carries."""
    out: list[list[str]] = []
    for bundle_file in files:
        if bundle_file.item_id is not None:
            continue
        digest = hashlib.sha256()
        with bundle_file.open() as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        out.append([bundle_file.arcname, digest.hexdigest()])
    return out


def event_view(guard: TextGuard, hidden: set[int]) -> Callable[[Any], dict[str, object] | None] | None:
    key = guard.commitment_key
    if not guard.redacting or key is None:
        return None
    from app.export.commitments import public_view

    return lambda event: public_view(event, key, hidden_items=hidden)


def write_bundle(vault: Any, out: Path, files: Sequence[Any], events: Sequence[Any], checkpoint_text: str, *,
                  audience: str, level: str, view: Callable[[Any], dict[str, object] | None] | None,
                  progress: ProgressCallback, cancel: CancelToken | None) -> Any:
    from app.export.bundle import write_bundle

    return write_bundle(
        out=out, as_zip=out.suffix.lower() == ".zip", files=files, events=events,
        leaf_hashes=vault.leaf_hashes(), checkpoint_text=checkpoint_text, signing_key=vault.signing_key,
        seal_cert_pem=vault.seal_identity.cert_pem, audience=audience, level=level, progress=progress,
        cancel=cancel, earlier_checkpoints=vault.checkpoints(), event_view=view)
