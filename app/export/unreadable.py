"""An exhibit picture that cannot be read stops the export with a message naming the item.

The picture is decoded long after the exhibit was chosen -- while its dossier page is drawn, or while its
face-redacted copy is made -- by code that sees only bytes, so its error ("This file is damaged ...")
cannot say which of fifty exhibits it was.  The exporter hands the renderer openers that name the item in
any media error raised while the picture is open, and the redaction step names the item it was working
on.  Items are named by exhibit number, ERN and item number, never by title or file name: a message
never carries what may identify someone (app/errors.py).

Better still, :func:`find_damaged` decodes every exhibit picture up front (seconds, before the long redaction
work) and :func:`damaged_error` stops the export with :class:`DamagedExhibits`, naming each item and offering
the way on: ``damaged_as_native`` includes the file unchanged as a native with a placeholder page (withheld at
the redacted level, since a picture that cannot be read cannot be redacted).

HEIC/HEIF photos (iPhones) are decoded through pillow-heif, registered here so the dossier can show them
whichever module was imported first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any, BinaryIO, cast

import pillow_heif
from PIL import Image, UnidentifiedImageError

from app.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMedia
from app.export.dossier_model import ImageContent
from app.export.ern import item_ern
from app.export.selection import media_class
from app.progress import CancelToken, ProgressCallback

pillow_heif.register_heif_opener()

_WHAT_WENT_WRONG = (
    (MediaTooLarge, "its picture is far larger than any real photo (possibly a decompression bomb) and was refused"),
    (UnsupportedMedia, "its picture is in a format that cannot be shown"),
    (CorruptMedia, "its picture is damaged or truncated and cannot be decoded"),
)


# As app.export.pdf.flowables (the renderer): a picture larger than this is refused there too.
_MAX_PIXELS = 250_000_000


class DamagedExhibits(CorruptMedia):
    """Exhibit pictures that cannot be read, found before anything was made or written.
    ``item_ids``: the original items concerned, in exhibit order."""

    def __init__(self, message: str, item_ids: Sequence[int]) -> None:
        super().__init__(message)
        self.item_ids = list(item_ids)


def _readable(stream: IO[bytes]) -> str | None:
    """None when the picture decodes; otherwise what is wrong with it, in words."""
    try:
        with Image.open(stream) as img:
            if img.width * img.height > _MAX_PIXELS:
                return _what(MediaTooLarge())
            if img.format in ("JPEG", "MPO"):
                # Scaled decoding still walks all the entropy-coded data, so truncation shows.
                img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except Image.DecompressionBombError:
        return _what(MediaTooLarge())
    except UnidentifiedImageError:
        return _what(UnsupportedMedia())
    except Exception:  # any decoder failure means the picture cannot be shown
        return _what(CorruptMedia())
    return None


def find_damaged(vault: Any, exhibits: Sequence[Any], shown: dict[int, Any], *,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> dict[int, str]:
    """original id -> what is wrong, for every photo exhibit whose picture cannot be decoded.  ``shown``:
    original id -> the redacted copy that stands in for it (its picture is the one checked)."""
    photos = [item for item in exhibits if media_class(item) == "photo"]
    damaged: dict[int, str] = {}
    for done, item in enumerate(photos):
        if cancel is not None:
            cancel.check()
        if progress is not None:
            progress(done, len(photos), f"Checking that exhibit pictures can be read ({done + 1} of {len(photos)})")
        copy = shown.get(item.id)
        with vault.open_original(copy.id if copy is not None else item.id) as stream:
            problem = _readable(stream)
        if problem is not None:
            damaged[item.id] = problem
    return damaged


def damaged_error(damaged: dict[int, str], ern_prefix: str) -> DamagedExhibits:
    """The export stops on damaged pictures: which ones (ERN and item number, never a title), and the choices."""
    ids = list(damaged)
    parts = [f"item {i} (ERN {item_ern(ern_prefix, i)}): {damaged[i]}" for i in ids]
    one = len(ids) == 1
    return DamagedExhibits(
        f"{'An exhibit picture' if one else f'{len(ids)} exhibit pictures'} could not be read: {'; '.join(parts)}. "
        f"You can include {'it' if one else 'them'} unchanged as the original file with a placeholder page "
        "instead (in the export wizard, answer Yes; on the command line, add --damaged-as-native); a redacted "
        f"export withholds {'it' if one else 'them'} with a placeholder, since an unreadable picture cannot be "
        "redacted. Or open the item in the vault, replace it with a readable copy from the camera or sender, or "
        "leave it out of the selection. Nothing was written.", ids)


def placeholder_text(exhibit_ern: str, problem: str, *, native: str | None, sha256: str | None) -> str:
    """The placeholder for a damaged exhibit: what could not be shown, and where its unchanged file is
    (``native``: e.g. "native file exhibits/EV-00012.jpg in the bundle"; None: not in this export)."""
    digest = f", SHA-256 {sha256}" if sha256 else ""
    if native is None:
        return (f"EXHIBIT {exhibit_ern}: the file could not be displayed ({problem}). It is not in this PDF; the "
                f"original file{digest}, stays unchanged in the vault and a bundle export includes it as a "
                "native file.")
    return (f"EXHIBIT {exhibit_ern}: the file could not be displayed ({problem}); it is included unchanged as "
            f"{native}{digest}.")


def withheld_text(problem: str) -> str:
    """Why a damaged picture is withheld from a redacted export."""
    return (f"the photo could not be read ({problem}), so it cannot be redacted; it is withheld rather than "
            "shipped unredacted. The original stays unchanged in the vault.")


def _what(exc: MediaError) -> str:
    for kind, words in _WHAT_WENT_WRONG:
        if isinstance(exc, kind):
            return words
    return "its picture could not be read"


def _rename(exc: MediaError, message: str) -> None:
    exc.message = message
    exc.args = (message,)
    exc.named_item = True  # type: ignore[attr-defined]  # an outer step must not name it a second time


def is_named(exc: BaseException) -> bool:
    return bool(getattr(exc, "named_item", False))


def name_in_dossier(exc: MediaError, *, item_id: int, exhibit: str, ern: str = "") -> None:
    """Make ``exc`` say which exhibit's picture could not be put in the dossier, and what to do."""
    if is_named(exc):
        return
    where = f"Exhibit {exhibit} ({f'ERN {ern}, ' if ern else ''}item {item_id})"
    _rename(exc, f"{where} could not be put in the dossier: {_what(exc)}. Open item {item_id} in the vault to "
                 "check it; replace it with a readable copy from the camera or sender, or leave it out of the "
                 "selection, then export again.")


def name_in_redaction(exc: MediaError, *, item_id: int) -> None:
    """Make ``exc`` say which item's redacted copy could not be made for the export, and what to do."""
    if is_named(exc):
        return
    _rename(exc, f"Item {item_id} could not be redacted for the export: {_what(exc)}. Open item {item_id} in the "
                 "vault to check it; replace it with a readable copy from the camera or sender, or leave it out "
                 "of the selection, then export again.")


class _NamingStream:
    """The opened picture as a context manager: a media error raised inside ``with`` names the item."""

    def __init__(self, stream: IO[bytes], name: Callable[[MediaError], None]) -> None:
        self._stream, self._name = stream, name

    def __enter__(self) -> IO[bytes]:
        return self._stream.__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if isinstance(exc, MediaError):
            self._name(exc)
        return self._stream.__exit__(kind, exc, tb)

    def __getattr__(self, name: str) -> Any:  # read/seek/close for callers that do not use ``with``
        return getattr(self._stream, name)


def _naming_opener(opener: Callable[[], BinaryIO], name: Callable[[MediaError], None]) -> Callable[[], BinaryIO]:
    return lambda: cast(BinaryIO, _NamingStream(opener(), name))


def name_pictures(exhibits: Sequence[Any], item_ids: Sequence[int]) -> None:
    """Give every exhibit picture an opener that names its item (``item_ids``: the exhibits' original item
    ids, in the same order) when the picture cannot be read while the dossier is drawn."""
    for exhibit, item_id in zip(exhibits, item_ids, strict=True):
        content = exhibit.content
        if not isinstance(content, ImageContent):
            continue

        def name(exc: MediaError, exhibit: Any = exhibit, item_id: int = item_id) -> None:
            name_in_dossier(exc, item_id=item_id, exhibit=str(exhibit.number), ern=str(getattr(exhibit, "ern", "")))

        exhibit.content = dataclasses.replace(content, open=_naming_opener(content.open, name))
