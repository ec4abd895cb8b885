"""Give every shaped run on a page its real text, so it can be searched and copied.

After HarfBuzz shaping, reportlab draws *glyphs*: Khmer subscripts, Burmese medials and Thai
marks that have no Unicode code point of their own get private-use codes in the font's ToUnicode
map, and glyphs drawn in visual order (Khmer and Burmese pre-base vowels) come back in the wrong
order.  Text extraction then finds nothing ("0/4 Khmer phrases").  PDF's answer is a marked-content
span carrying the run's text (ISO 32000-1, 14.9.4, allowed in PDF/A):

    /Span <</ActualText <FEFF...>>> BDC  ...glyphs...  EMC

reportlab has no hook for this, so this module makes small, contained changes:

1. :func:`tag_shaped_word` (called from the shaping wrapper in :mod:`app.export.pdf.fonts`)
   stores on each shaped string the text it was shaped from, using HarfBuzz's cluster indices.
2. ``ShapedStr.__add__``/``__radd__`` carry that text along when reportlab joins a line's words
   (a join with a plain string, e.g. a space, adds that string itself).
3. ``PDFTextObject._formatText`` wraps the operators of a shaped string that has its text in
   the span above.  A string whose text is unknown (reportlab sliced it) is drawn as before.
   It also records each run's text and font, for the invisible copy below.

Readers that ignore ActualText (pypdf, pdf.js) read the glyphs through the font's ToUnicode map.
So, while tagging, we also learn what each private-use glyph stands for (a Thai mark moved
down, a Khmer subscript: the characters of its HarfBuzz cluster that no other glyph of the
cluster draws), and :func:`_to_unicode_cmap` writes that into the map instead of the private
code.  Glyphs drawn out of logical order (Khmer and Burmese pre-base vowels) still come back in
visual order from such readers, so a text object (a paragraph) holding a shaped run that does
not read back as its text also gets, just before its ``ET``, an invisible copy of all its text
in logical order (4. ``PDFTextObject.getCode``):

    /Span <</ActualText <FEFF>>> BDC 3 Tr  ...each character's own glyph...  0 Tr EMC

Text render mode 3 paints nothing, and nothing is drawn after it in the text object, so nothing
moves.  The empty ActualText makes ActualText-aware readers (pdftotext, Acrobat) read it as
nothing, so they do not get the text twice; pypdf-like readers get the glyphs' reading followed
by the whole paragraph's real text (a wrapped phrase comes back whole).  Lines are joined
without a separator (reportlab drops the space at a line break).

The visible glyph operators are unchanged, so the pages look exactly the same; only glyph codes
in the font subsets may be numbered differently, as the copy's characters take codes too.
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
_original_get_code = textobject.PDFTextObject.getCode


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


#: opens the invisible copy of a text object's text: an empty ActualText, so that readers which
#: honour ActualText (pdftotext, Acrobat) replace it with nothing instead of reading it twice
INVISIBLE_SPAN = "/Span <</ActualText <FEFF>>> BDC"
_SEGMENTS = "_ev_text_segments"  # on a PDFTextObject: [(font name, size, leading, text)]
_UNREADABLE = "_ev_needs_copy"  # on a PDFTextObject: a shaped run reads wrongly through ToUnicode
_COPIED = "_ev_copy_written"  # on a PDFTextObject: its invisible copy is in its code


def _reads_correctly(font: object, run: ShapedStr, real: str) -> bool:
    """Whether ``run``'s glyph codes, through the ToUnicode map we write, give back ``real``."""
    known: dict[int, str] = getattr(font, _PRIVATE, {})
    return "".join(known.get(ord(c), c) for c in str(run)) == real


def _record(self: textobject.PDFTextObject, text: str, real: str | None) -> None:
    segments = self.__dict__.setdefault(_SEGMENTS, [])
    font = pdfmetrics.getFont(self._fontname)
    if isinstance(text, ShapedStr):
        if real is None:
            segments.append(None)
            return
        if not _reads_correctly(font, text, real):
            self.__dict__[_UNREADABLE] = True
    else:
        real = str(text)
    segments.append((self._fontname, self._fontsize, self._leading, real))


def _invisible_copy(self: textobject.PDFTextObject) -> str:
    """The text object's text in logical order, each character drawn with its own glyph (the
    font's cmap) in text render mode 3, for readers that ignore ActualText (pypdf, pdf.js).

    It is written just before ``ET``, so it follows every line of the paragraph (a phrase that
    wraps comes back whole) and moves nothing that is drawn; nothing of it is painted."""
    segments = self.__dict__.get(_SEGMENTS) or []
    if not self.__dict__.get(_UNREADABLE) or None in segments or self._clipping:
        return ""
    saved = (self._fontname, self._fontsize, self._leading, self._curSubset)
    ops: list[str] = []
    try:
        for fontname, size, leading, text in segments:
            font = pdfmetrics.getFont(fontname)
            if not getattr(font, "_dynamicFont", False):
                continue
            # a character the font has no glyph for (a zero-width joiner, say) is left out: it
            # would draw .notdef, which PDF/A forbids
            text = "".join(c for c in text if font.face.charToGlyph.get(ord(c)))
            if not text:
                continue
            if (fontname, size) != (self._fontname, self._fontsize):
                self._fontname, self._fontsize, self._leading = fontname, size, leading
                self._curSubset = -1
            ops.append(_original_format(self, text))
    finally:
        self._fontname, self._fontsize, self._leading, self._curSubset = saved
    if not ops:
        return ""
    return f"{INVISIBLE_SPAN} 3 Tr {' '.join(ops)} {self._textRenderMode} Tr EMC"


def _format_text(self: textobject.PDFTextObject, text: str) -> str:
    ops = _original_format(self, text)
    real = actual_text(text) if isinstance(text, ShapedStr) else None
    if ops:
        _record(self, text, real)
    if not real or not ops:
        return ops
    return f"{span_operator(real)} {ops} EMC"


def _get_code(self: textobject.PDFTextObject) -> str:
    # once per text object, however often its code is asked for
    copy = "" if self.__dict__.get(_COPIED) else _invisible_copy(self)
    if copy:
        self._code.append(copy)
        self.__dict__[_COPIED] = True
    return _original_get_code(self)


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
        textobject.PDFTextObject.getCode = _get_code


__all__ = ["actual_text", "install", "span_operator", "tag_shaped_word"]
