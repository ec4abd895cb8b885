"""Give every shaped run on a page its real text, so it can be searched and copied.

After HarfBuzz shaping, reportlab draws *glyphs*: Khmer subscripts, Burmese medials and Thai
marks that have no Unicode code point of their own get private-use codes in the font's ToUnicode
map, and glyphs drawn in visual order (Khmer and Burmese pre-base vowels) come back in the wrong
order.  Text extraction then finds nothing ("0/4 Khmer phrases").  PDF's answer is a marked-content
span carrying the run's text (ISO 32000-1, 14.9.4, allowed in PDF/A):

    /Span <</ActualText <FEFF...>>> BDC  ...glyphs...  EMC

reportlab has no hook for this, so this module makes three small, contained changes:

1. :func:`tag_shaped_word` (called from the shaping wrapper in :mod:`app.export.pdf.fonts`)
   stores on each shaped string the text it was shaped from, using HarfBuzz's cluster indices.
2. ``ShapedStr.__add__``/``__radd__`` carry that text along when reportlab joins a line's words
   (a join with a plain string, e.g. a space, adds that string itself).
3. ``PDFTextObject._formatText`` wraps the operators of a shaped string that has its text in
   the span above.  A string whose text is unknown (reportlab sliced it) is drawn as before.

Readers that ignore ActualText (pypdf, pdf.js) read the glyphs through the font's ToUnicode map.
So, while tagging, we also learn what each private-use glyph stands for (a Thai mark moved
down, a Khmer subscript: the characters of its HarfBuzz cluster that no other glyph of the
cluster draws), and :func:`_to_unicode_cmap` writes that into the map instead of the private
code.  Glyphs drawn out of logical order (Khmer and Burmese pre-base vowels) still come back in
visual order from such readers; only ActualText fixes those.

The glyph operators themselves are unchanged, so the pages look exactly the same.
"""

from __future__ import annotations

import threading
from typing import Any

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import ShapedStr
from reportlab.pdfgen import textobject

_ATTR = "_ev_actual_text"
_PRIVATE = "_ev_private_glyph_text"  # on a TTFont: {private-use code: the characters it draws}
_current = threading.local()  # the TTFont whose PDF objects are being written
_STACKERS = "\u17d2\u1039"  # Khmer coeng, Burmese virama: the next consonant is drawn below


def actual_text(s: str) -> str | None:
    """The text a shaped string was made from, or None when it is not known."""
    return getattr(s, _ATTR, None)


def tag_shaped_word(shaped: list[Any], source: list[Any]) -> list[Any]:
    """Store on each shaped string of ``shaped`` (a reportlab frag word, ``[width, (frag, str)...]``)
    the characters of ``source`` (the word before shaping) that it draws; return ``shaped``."""
    if not isinstance(shaped, ttfonts.ShapedFragWord):
        return shaped
    text = "".join(s for f, s in source[1:] if not hasattr(f, "cbDefn"))
    runs = [s for _, s in shaped[1:] if isinstance(s, ShapedStr) and s.__shapeData__]
    # clusters are monotone (reportlab asks for MONOTONE_CHARACTERS, left-to-right scripts only)
    starts = [min(d.cluster for d in s.__shapeData__) for s in runs]
    for run, start, end in zip(runs, starts, [*starts[1:], len(text)], strict=True):
        setattr(run, _ATTR, text[start:end])
    clusters = sorted({d.cluster for s in runs for d in s.__shapeData__})
    cluster_end = dict(zip(clusters, [*clusters[1:], len(text)], strict=True))
    for frag, s in shaped[1:]:
        if isinstance(s, ShapedStr) and s.__shapeData__ and hasattr(frag, "fontName"):
            _learn_private_glyphs(pdfmetrics.getFont(frag.fontName), s, text, cluster_end)
    return shaped


def _is_private(ch: str) -> bool:
    return 0xE000 <= ord(ch) <= 0xF8FF


def _learn_private_glyphs(font: object, run: ShapedStr, text: str, cluster_end: dict[int, int]) -> None:
    """Record what a private-use glyph of ``font`` draws, from a cluster holding exactly one."""
    glyphs = str(run)
    by_cluster: dict[int, list[str]] = {}
    for ch, d in zip(glyphs, run.__shapeData__, strict=False):
        by_cluster.setdefault(d.cluster, []).append(ch)
    known: dict[int, str] = font.__dict__.setdefault(_PRIVATE, {})
    for cluster, chars in by_cluster.items():
        private = [c for c in chars if _is_private(c)]
        if len(private) != 1 or ord(private[0]) in known:
            continue
        rest = list(text[cluster:cluster_end.get(cluster, len(text))])
        for c in chars:
            if c in rest:
                rest.remove(c)
        # only a glyph for one character (a moved Thai mark, a Burmese medial) or for a
        # subscript (Khmer coeng / Burmese virama + consonant) is sure; a contextual form such
        # as Khmer ល before ោ would otherwise be credited with the vowel too
        if len(rest) == 1 or (len(rest) == 2 and rest[0] in _STACKERS):
            known[ord(private[0])] = "".join(rest)


def _joined(left: str, right: str) -> str | None:
    a = actual_text(left) if isinstance(left, ShapedStr) else str(left)
    b = actual_text(right) if isinstance(right, ShapedStr) else str(right)
    return None if a is None or b is None else a + b


_original_add = ShapedStr.__add__
_original_radd = ShapedStr.__radd__
_original_format = textobject.PDFTextObject._formatText


def _add(self: ShapedStr, other: str) -> ShapedStr:
    out = _original_add(self, other)
    setattr(out, _ATTR, _joined(self, other))
    return out


def _radd(self: ShapedStr, other: str) -> ShapedStr:
    out = _original_radd(self, other)
    setattr(out, _ATTR, _joined(other, self))
    return out


def span_operator(text: str) -> str:
    """The BDC operator opening a span whose ActualText is ``text`` (UTF-16BE with BOM, hex)."""
    return f"/Span <</ActualText <FEFF{text.encode('utf-16-be').hex().upper()}>>> BDC"


def _format_text(self: textobject.PDFTextObject, text: str) -> str:
    ops = _original_format(self, text)
    real = actual_text(text) if isinstance(text, ShapedStr) else None
    if not real or not ops:
        return ops
    return f"{span_operator(real)} {ops} EMC"


_original_cmap = ttfonts.makeToUnicodeCMap
_original_add_objects = ttfonts.TTFont.addObjects


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode map, with each learned private-use glyph mapped to its characters."""
    cmap = _original_cmap(fontname, subset)
    known = getattr(getattr(_current, "font", None), _PRIVATE, None)
    if not known:
        return cmap
    for code, value in enumerate(subset):
        if value in known:
            real = known[value].encode("utf-16-be").hex().upper()
            cmap = cmap.replace(f"<{code:02X}> <{value:04X}>\n", f"<{code:02X}> <{real}>\n", 1)
    return cmap


def _add_objects(self: ttfonts.TTFont, doc: object) -> None:
    _current.font = self
    try:
        _original_add_objects(self, doc)
    finally:
        _current.font = None


def install() -> None:
    """Apply the patches (idempotent; done when :mod:`app.export.pdf.fonts` is imported)."""
    if ttfonts.makeToUnicodeCMap is not _to_unicode_cmap:
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap
        ttfonts.TTFont.addObjects = _add_objects
    if ShapedStr.__add__ is not _add:
        ShapedStr.__add__ = _add
        ShapedStr.__radd__ = _radd
    if textobject.PDFTextObject._formatText is not _format_text:
        textobject.PDFTextObject._formatText = _format_text


__all__ = ["actual_text", "install", "span_operator", "tag_shaped_word"]
