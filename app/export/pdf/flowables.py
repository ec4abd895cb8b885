"""Flowables and the canvas of the dossier.

Page numbers ("page N of M"), the evidence registration number (ERN) on every page, the page
numbers in the table of contents and the PDF outline are only known once every page is laid
out.  Instead of laying the whole dossier out twice (slow with 200 photos), the canvas keeps
each finished page and draws these late facts when the document is saved: anchors record on
which page each section starts, placeholders record where a page reference must be written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from PIL import Image, ImageOps
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from app.errors import CorruptMedia, MediaTooLarge
from app.export.pdf.fonts import BASE_FONT, BASE_FONT_BOLD
from app.progress import CancelToken, ProgressCallback

# A photo far beyond any camera is refused rather than decoded (decompression bombs).
MAX_IMAGE_PIXELS = 250_000_000
# Photos are embedded at this resolution at most: sharp in print, small files.
EMBED_DPI = 150
JPEG_QUALITY = 82


@dataclass
class LateState:
    """Facts gathered while pages are drawn, used when the document is saved."""

    ern_prefix: str
    footer_left: str
    anchors: dict[str, int] = field(default_factory=dict)  # key -> page number
    placeholders: dict[int, list[tuple[float, float, str, float]]] = field(default_factory=dict)
    bookmarks: dict[int, list[tuple[str, str, int, float]]] = field(default_factory=dict)
    pages: int = 0
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None
    exhibits_total: int = 0
    exhibits_done: int = 0
    legend: str = ""  # the confidentiality legend printed at the top of every page
    exhibit_erns: dict[str, str] = field(default_factory=dict)  # anchor key -> the exhibit's persistent ERN

    def ern(self, page: int) -> str:
        return f"{self.ern_prefix}-{page:06d}"

    def section_span(self, key: str) -> tuple[int, int] | None:
        """First and last page of the section that starts at anchor ``key`` (known once laid out)."""
        first = self.anchors.get(key)
        if not first:
            return None
        later = [p for p in self.anchors.values() if p > first]
        return first, (min(later) - 1 if later else max(self.pages, first))

    def exhibit_page_ern(self, page: int) -> str:
        """The persistent ERN of ``page`` when it belongs to an exhibit (app.export.ern), else ""."""
        best: tuple[int, str] | None = None
        for key in self.exhibit_erns:
            start = self.anchors.get(key)
            if start and start <= page and (best is None or start > best[0]):
                best = (start, key)
        if best is None:
            return ""
        span = self.section_span(best[1])
        if span is None or page > span[1]:
            return ""
        return f"{self.exhibit_erns[best[1]]}-{page - best[0] + 1:04d}"

    def page_ref(self, key: str) -> str:
        if key.startswith("range:"):
            span = self.section_span(key[6:])
            ern = self.exhibit_erns.get(key[6:], "")
            if span is None or not ern:
                return ""
            return f"{ern}-0001 – {ern}-{span[1] - span[0] + 1:04d}"
        page = self.anchors.get(key)
        return f"{page}  ({self.ern(page)})" if page else ""


class DossierCanvas(Canvas):
    """A canvas that holds pages back until save() to stamp "page N of M", ERNs, the page numbers
    of the contents and the outline."""

    def __init__(self, *args: Any, late: LateState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._late = late
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        late = self._late
        late.pages = total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self._stamp(number, total)
            super().showPage()
        self._held.clear()
        super().save()

    def _stamp(self, number: int, total: int) -> None:
        late = self._late
        width, height = self._pagesize
        self.saveState()
        self.setFillGray(0.25)
        self.setFont(BASE_FONT_BOLD, 9)
        exhibit_ern = late.exhibit_page_ern(number)
        self.drawRightString(width - 40, height - 28, exhibit_ern or late.ern(number))
        self.drawRightString(width - 40, 22, late.ern(number))
        if late.legend:
            self.setFillColorRGB(0.6, 0, 0)
            self.drawString(40, height - 28, late.legend)
            self.drawCentredString(width / 2, 34, late.legend)
            self.setFillGray(0.25)
        self.setFont(BASE_FONT, 8)
        self.drawString(40, 22, late.footer_left)
        self.drawCentredString(width / 2, 22, f"page {number} of {total}")
        self.setFillGray(0)
        self.setFont(BASE_FONT, 8.5)
        for x, y, key, size in late.placeholders.get(number, []):
            self.setFont(BASE_FONT, size)
            self.drawRightString(x, y, late.page_ref(key))
        self.restoreState()
        for key, title, level, top in late.bookmarks.get(number, []):
            self.bookmarkPage(key, fit="XYZ", left=0, top=top)
            self.addOutlineEntry(title, key, level=level, closed=level > 0)


class Anchor(Flowable):
    """Zero-size marker: "section ``key`` starts here" (page number, outline entry, progress)."""

    def __init__(self, late: LateState, key: str, title: str, level: int = 0, *, exhibit: bool = False):
        super().__init__()
        self.late, self.key, self.title, self.level, self.exhibit = late, key, title, level, exhibit
        self.width = self.height = 0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        page = self.canv.getPageNumber()
        self.late.anchors.setdefault(self.key, page)
        _, top = self.canv.absolutePosition(0, 0)
        self.late.bookmarks.setdefault(page, []).append((self.key, self.title, self.level, top + 24))
        if self.exhibit:
            if self.late.cancel is not None:
                self.late.cancel.check()
            self.late.exhibits_done += 1
            if self.late.progress is not None:
                self.late.progress(self.late.exhibits_done, self.late.exhibits_total,
                                   f"Laying out exhibit {self.late.exhibits_done} of {self.late.exhibits_total}")


class PageRef(Flowable):
    """The page (and ERN) where section ``key`` starts, written in when the document is saved."""

    def __init__(self, late: LateState, key: str, size: float = 8.5) -> None:
        super().__init__()
        self.late, self.key, self.size = late, key, size

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        self.width = aw
        return aw, self.size * 1.3

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(self.width, self.size * 0.25)
        self.late.placeholders.setdefault(self.canv.getPageNumber(), []).append((x, y, self.key, self.size))


def _open_image(data: BinaryIO) -> Image.Image:
    try:
        img = Image.open(data)
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise MediaTooLarge()
        return img
    except MediaTooLarge:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptMedia("An exhibit image could not be read for the dossier. Check the exhibit, "
                           "then export again.", debug_detail=repr(exc)) from exc


class LazyImage(Flowable):
    """A picture opened only while its page is drawn, fitted into (max_w, max_h), re-encoded as
    a baseline JPEG without any metadata (EXIF/GPS/XMP never reach the PDF)."""

    def __init__(self, opener: Callable[[], BinaryIO], max_w: float, max_h: float) -> None:
        super().__init__()
        self.opener, self.max_w, self.max_h = opener, max_w, max_h
        self._size: tuple[int, int] | None = None

    def _pixel_size(self) -> tuple[int, int]:
        if self._size is None:
            with self.opener() as fh:
                img = _open_image(fh)
                w, h = img.size
                # EXIF orientation 5-8 swaps the displayed width and height
                orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
                self._size = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
        return self._size

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        w, h = self._pixel_size()
        scale = min(min(aw, self.max_w) / w, self.max_h / h)
        self.width, self.height = w * scale, h * scale
        return self.width, self.height

    def draw(self) -> None:
        target = (max(1, round(self.width / 72 * EMBED_DPI)), max(1, round(self.height / 72 * EMBED_DPI)))
        with self.opener() as fh:
            img = _open_image(fh)
            if img.format == "JPEG":
                img.draft("RGB", target)  # decode at a fraction of full size: much faster
            try:
                img = ImageOps.exif_transpose(img)
                img = img.convert("RGB")
            except (OSError, ValueError) as exc:
                raise CorruptMedia("An exhibit image is damaged and could not be put in the dossier.",
                                   debug_detail=repr(exc)) from exc
        if img.width > target[0] or img.height > target[1]:
            img.thumbnail(target, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=False)  # no exif=, no icc_profile=
        buf.seek(0)
        self.canv.drawImage(ImageReader(buf), 0, 0, self.width, self.height)


def bytes_opener(frame: bytes | Callable[[], bytes]) -> Callable[[], BinaryIO]:
    """Turn contact-sheet frame bytes (or a callable giving them) into a file opener."""
    if callable(frame):
        return lambda: io.BytesIO(frame())
    return lambda: io.BytesIO(frame)
