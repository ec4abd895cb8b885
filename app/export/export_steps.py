"""Steps of an export that are about telling the truth afterwards: which redacted copies were kept when
an export failed, what the chain records of a bundle before it is written, and that a bundle which could
not be completed after its ``exported`` event was recorded is marked as such in the chain.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from app.errors import Cancelled, DiskFull, EvidenceVaultError, IntegrityError
from app.export import selection as selection_mod
from app.export.dossier_builder import TextGuard
from app.progress import CancelToken, ProgressCallback


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
    exc.kept_items = list(kept)  # type: ignore[attr-defined]  # the wizard says what was kept on cancel too


def damaged_placeholder(exhibit: Any, item: Any, exhibit_ern: str, problem: str, *, bundle: bool) -> None:
    """Originals: an exhibit whose picture cannot be read gets a placeholder saying where its file is."""
    from app.export.ern import member_suffix
    from app.export.unreadable import placeholder_text

    if bundle:
        native: str | None = f"native file exhibits/{exhibit_ern}{member_suffix(item)} in the bundle"
    elif exhibit.attachment is not None:
        native = f"native file {exhibit.attachment.name} attached to this PDF"
    else:
        native = None
    exhibit.media_facts["Placeholder"] = placeholder_text(exhibit_ern, problem, native=native, sha256=item.sha256)


def withhold_damaged(dossier: Any, plans: Sequence[Any], damaged: dict[int, str], withheld: dict[int, str]) -> None:
    """Redacted level: a picture that cannot be read cannot be redacted, so it is withheld, saying why."""
    from app.export.unreadable import withheld_text

    for exhibit, plan in zip(dossier.exhibits, plans, strict=True):
        if plan.item.id in damaged:
            exhibit.withheld = withheld[plan.item.id] = withheld_text(damaged[plan.item.id])


def damaged_bundle_placeholders(files: list[Any], withheld_files: list[tuple[int, str]], dossier: Any,
                                plans: Sequence[Any], damaged: dict[int, str]) -> None:
    """Redacted bundles: the placeholder file of a damaged picture says why it was withheld."""
    from app.export.bundle import BundleFile
    from app.export.dossier_court import placeholder_bytes
    from app.export.unreadable import withheld_text

    erns = {plan.item.id: exhibit.ern for exhibit, plan in zip(dossier.exhibits, plans, strict=True)}
    for index, bundle_file in enumerate(files):
        for item_id, problem in damaged.items():
            if bundle_file.arcname == f"exhibits/{erns[item_id]}-WITHHELD.txt":
                data = placeholder_bytes(erns[item_id], withheld_text(problem))
                files[index] = BundleFile(bundle_file.arcname, open=_bytes_opener(data), role=bundle_file.role)
    for index, (item_id, _why) in enumerate(withheld_files):
        if item_id in damaged:
            withheld_files[index] = (item_id, f"the photo could not be read ({damaged[item_id]}), so it cannot "
                                              "be redacted and was withheld")


def _bytes_opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def record_failed(vault: Any, seq: int, exc: BaseException) -> None:
    """The chain already says the bundle was exported: say that it was not completed after all."""
    reason = "cancelled" if isinstance(exc, Cancelled) else "disk full" if isinstance(exc, DiskFull) else \
        "error"
    with contextlib.suppress(EvidenceVaultError):
        vault.record_event("exported", details={"failed_export_event": seq, "completed": False,
                                                "reason": reason})


def check_shown_whole(event: Any, view: Callable[[Any], dict[str, object] | None] | None) -> None:
    """A bundle's own ``exported`` event binds its files and events only when shown whole: a withheld
    line's visible values are not covered by its leaf hash, so a verifier could not trust them."""
    if view is not None and view(event) is not None:
        raise IntegrityError(
            "This redacted bundle cannot be written: the record of the export (who exported it, or a "
            "reviewer's name) contains the name of a person in the vault, and a bundle must show that "
            "record whole. Export under another user name. No bundle was written.")


def event_view(guard: TextGuard, hidden: set[int]) -> Callable[[Any], dict[str, object] | None] | None:
    key = guard.commitment_key
    if not guard.redacting or key is None:
        return None
    from app.export.commitments import public_view
    from app.export.dossier_files import protected_people_in

    redactor = guard.redactor

    def names_in(text: str) -> bool:  # the last leak check's own test: a value it would refuse is withheld
        return redactor is not None and bool(protected_people_in(text, redactor))

    return lambda event: public_view(event, key, hidden_items=hidden, names_in=names_in)


def write_bundle(vault: Any, out: Path, files: Sequence[Any], events: Sequence[Any], checkpoint_text: str, *,
                  audience: str, level: str, view: Callable[[Any], dict[str, object] | None] | None,
                  progress: ProgressCallback, cancel: CancelToken | None, seal_cert_pem: bytes | None = None) -> Any:
    """``seal_cert_pem``: the certificate the dossier PDF was sealed with (an organisation's), else the vault's."""
    from app.export.bundle import write_bundle
    from app.transfer.gather import received_checkpoints

    # Checkpoints headquarters cosigned (receipts) come first, so the bundle carries their cosignatures
    # rather than the vault's own copy of the same checkpoint.
    earlier = [*received_checkpoints(vault), *vault.checkpoints()]
    return write_bundle(
        out=out, as_zip=out.suffix.lower() == ".zip", files=files, events=events,
        leaf_hashes=vault.leaf_hashes(), checkpoint_text=checkpoint_text, signing_key=vault.signing_key,
        seal_cert_pem=seal_cert_pem or vault.seal_identity.cert_pem, audience=audience, level=level, progress=progress,
        cancel=cancel, earlier_checkpoints=earlier, event_view=view)
