"""Fonts for the dossiers: one embedded TrueType font per script, chosen per run of text.

reportlab has no font fallback: a Khmer character set in Noto Sans comes out as an empty box.
So text is cut into runs by script, and every run is wrapped in ``<font name=...>`` naming a
font that has its glyphs.  All fonts are TrueType (embedded as subsets, as PDF/A needs):

- Latin, Vietnamese, Indonesian: Noto Sans (fonts-noto-core)
- Thai: Noto Sans Thai (fonts-noto-core)
- Khmer: Khmer OS (fonts-khmeros) — Noto Sans Khmer triggers a reportlab baseline bug (setRise)
- Burmese: Noto Sans Myanmar (fonts-noto-core)
- Chinese (and other CJK): WenQuanYi Micro Hei (fonts-wqy-microhei) — Noto CJK is CFF, which
  reportlab's TrueType loader rejects.

Importing this module also fixes how reportlab shapes a word written in two fonts (see
:func:`_shape_each_font_separately`) and gives every shaped run its real text for search and
copy (see :mod:`app.export.pdf.actualtext`).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import paragraph as _rl_paragraph

from app.errors import EvidenceVaultError
from app.export.pdf import actualtext
from app.export.pdf.actualtext import tag_shaped_word


class FontMissing(EvidenceVaultError):
    default_message = (
        "A font needed for the PDF dossier is not installed. Install the packages fonts-noto-core, "
        "fonts-khmeros and fonts-wqy-microhei (or run scripts/setup.sh), then export again."
    )


LATIN, THAI, KHMER, MYANMAR, CJK = "latin", "thai", "khmer", "myanmar", "cjk"
SCRIPTS = (LATIN, THAI, KHMER, MYANMAR, CJK)


@dataclass(frozen=True)
class _FontSpec:
    script: str
    family: str  # fontconfig family, for the fc-match fallback
    package: str
    regular: tuple[str, ...]  # known Debian paths, first found wins
    bold: tuple[str, ...]


_NOTO = "/usr/share/fonts/truetype/noto/"
_SPECS = (
    _FontSpec(LATIN, "Noto Sans", "fonts-noto-core",
              (_NOTO + "NotoSans-Regular.ttf",), (_NOTO + "NotoSans-Bold.ttf",)),
    _FontSpec(THAI, "Noto Sans Thai", "fonts-noto-core",
              (_NOTO + "NotoSansThai-Regular.ttf",), (_NOTO + "NotoSansThai-Bold.ttf",)),
    _FontSpec(KHMER, "Khmer OS", "fonts-khmeros",
              ("/usr/share/fonts/truetype/khmeros/KhmerOS.ttf",), ()),
    _FontSpec(MYANMAR, "Noto Sans Myanmar", "fonts-noto-core",
              (_NOTO + "NotoSansMyanmar-Regular.ttf",), (_NOTO + "NotoSansMyanmar-Bold.ttf",)),
    _FontSpec(CJK, "WenQuanYi Micro Hei", "fonts-wqy-microhei",
              ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",), ()),
)

BASE_FONT = "EV-latin"
BASE_FONT_BOLD = "EV-latin-bold"


@dataclass(frozen=True)
class RegisteredFont:
    script: str
    regular: str  # reportlab font name
    bold: str
    path: Path
    coverage: frozenset[int]


_lock = threading.Lock()
_registered: dict[str, RegisteredFont] = {}


def _fc_match(family: str, bold: bool) -> Path | None:
    """Ask fontconfig for the file of an exact family (no substitutes)."""
    if not shutil.which("fc-list"):
        return None
    style = "Bold" if bold else "Regular"
    out = subprocess.run(["fc-list", f"{family}:style={style}", "file", "family"],
                         capture_output=True, text=True, timeout=20, check=False).stdout
    for line in out.splitlines():
        path, _, families = line.partition(":")
        if family in [f.strip() for f in families.split(",")] and path.strip().endswith((".ttf", ".ttc")):
            return Path(path.strip())
    return None


def _find(spec: _FontSpec, bold: bool) -> Path | None:
    for candidate in spec.bold if bold else spec.regular:
        if Path(candidate).is_file():
            return Path(candidate)
    return _fc_match(spec.family, bold)


def ensure_fonts() -> dict[str, RegisteredFont]:
    """Register every script font with reportlab (once per process) and return them by script."""
    with _lock:
        if _registered:
            return _registered
        found: dict[str, RegisteredFont] = {}
        for spec in _SPECS:
            regular = _find(spec, bold=False)
            if regular is None:
                raise FontMissing(
                    f"The font '{spec.family}' for {spec.script} text is not installed. Install the "
                    f"package {spec.package} (or run scripts/setup.sh), then export again.",
                    debug_detail=f"looked in {spec.regular} and fc-list",
                )
            bold = _find(spec, bold=True) or regular
            name = f"EV-{spec.script}"
            font = ttfonts.TTFont(name, str(regular))
            pdfmetrics.registerFont(font)
            bold_name = name
            if bold != regular:
                bold_name = f"{name}-bold"
                pdfmetrics.registerFont(ttfonts.TTFont(bold_name, str(bold)))
            else:
                bold_name = f"{name}-bold"
                # same file under the bold name keeps markup simple; no faux bold
                pdfmetrics.registerFont(ttfonts.TTFont(bold_name, str(regular)))
            pdfmetrics.registerFontFamily(name, normal=name, bold=bold_name, italic=name, boldItalic=bold_name)
            found[spec.script] = RegisteredFont(spec.script, name, bold_name, regular,
                                                frozenset(font.face.charToGlyph))
        _registered.update(found)
        return _registered


# --- script detection -------------------------------------------------------------------------

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0E00, 0x0E7F, THAI),
    (0x1000, 0x109F, MYANMAR), (0xA9E0, 0xA9FF, MYANMAR), (0xAA60, 0xAA7F, MYANMAR),
    (0x1780, 0x17FF, KHMER), (0x19E0, 0x19FF, KHMER),
    (0x1100, 0x11FF, CJK), (0x2E80, 0x2FDF, CJK), (0x3000, 0x303F, CJK), (0x3040, 0x31FF, CJK),
    (0x3200, 0x4DBF, CJK), (0x4E00, 0x9FFF, CJK), (0xA960, 0xA97F, CJK), (0xAC00, 0xD7FF, CJK),
    (0xF900, 0xFAFF, CJK), (0xFE30, 0xFE4F, CJK), (0xFF00, 0xFFEF, CJK), (0x20000, 0x3FFFF, CJK),
)


def script_of(ch: str) -> str | None:
    """The script of one character, or None for neutral characters (spaces, digits, punctuation)
    that belong to whichever run surrounds them."""
    cp = ord(ch)
    for lo, hi, script in _RANGES:
        if lo <= cp <= hi:
            return script
    if ch.isalpha() or 0x0300 <= cp <= 0x036F:  # letters and combining accents (Vietnamese)
        return LATIN
    return None


def split_runs(text: str) -> list[tuple[str, str]]:
    """Cut text into (script, run) pieces, each drawable by one font.

    Neutral characters stay in the current run when its font has them (Khmer OS has Latin
    digits; Noto Sans Thai and Noto Sans Myanmar have none), else they go to the first font
    that has them.  Format characters (ZWSP, ZWJ, ZWNJ) always stay in their run: they steer
    the shaping of that run.
    """
    fonts = ensure_fonts()
    runs: list[tuple[str, list[str]]] = []
    current: str | None = None
    for ch in text:
        cp = ord(ch)
        script = script_of(ch)
        if script is None:
            if current is not None and (cp in fonts[current].coverage or 0x200B <= cp <= 0x200D):
                script = current
            else:
                script = next((s for s in SCRIPTS if cp in fonts[s].coverage), LATIN)
        elif cp not in fonts[script].coverage:
            script = next((s for s in SCRIPTS if cp in fonts[s].coverage), script)
        if script == current and runs:
            runs[-1][1].append(ch)
        else:
            runs.append((script, [ch]))
            current = script
    return [(s, "".join(chars)) for s, chars in runs]


def scripts_in(text: str) -> set[str]:
    return {s for s in (script_of(c) for c in text) if s}


# --- reportlab fix: shape each font of a word separately ------------------------------------------
#
# reportlab shapes a whole "word" (text between spaces) with the HarfBuzz font of its first
# fragment, then maps the glyph ids through each fragment's own font.  A word mixing fonts with
# no space in between ("ก.พ.", "ကိုMassachusetts", "ABC中文") comes out as wrong glyphs.  We
# shape each single-font stretch on its own and join the results.

_original_shape = ttfonts.shapeFragWord


# Latin ligatures (fi, fl) would come back from the page as U+FB01..., which breaks copying and
# searching names; the complex scripts' required forms do not depend on these two features.
_NO_LATIN_LIGATURES = {"kern": True, "liga": False, "dlig": False}


def _features(items: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    fonts = {f.fontName for f, _ in items if not hasattr(f, "cbDefn")}
    if "features" not in kwargs and fonts and all(n.startswith(BASE_FONT) for n in fonts):
        return {**kwargs, "features": _NO_LATIN_LIGATURES}
    return kwargs


def _needs_no_shaping(items: Any) -> bool:
    """Latin text without combining marks draws the same unshaped (bar kerning) — and hashes and
    English are most of a dossier, so skipping HarfBuzz for them halves the layout time."""
    for f, s in items:
        if hasattr(f, "cbDefn") or not f.fontName.startswith(BASE_FONT):
            return False
        if any(unicodedata.combining(c) for c in s):
            return False
    return True


def _shape_each_font_separately(w: Any, *args: Any, **kwargs: Any) -> Any:
    if not isinstance(w, ttfonts.ShapedFragWord) and _needs_no_shaping(w[1:]):
        return w
    if isinstance(w, ttfonts.ShapedFragWord):
        return w
    if len(w) <= 2:
        return tag_shaped_word(_original_shape(w, *args, **_features(w[1:], kwargs)), w)
    groups: list[list[Any]] = []
    last_font = None
    for item in w[1:]:
        frag = item[0]
        font = None if hasattr(frag, "cbDefn") else frag.fontName
        if groups and (font is None or font == last_font):
            groups[-1].append(item)
        else:
            groups.append([item])
            if font is not None:
                last_font = font
    if len(groups) == 1:
        return tag_shaped_word(_original_shape(w, *args, **_features(w[1:], kwargs)), w)
    total = 0.0
    pieces: list[Any] = []
    any_shaped = False
    for group in groups:
        width = sum(stringWidth(s, f.fontName, f.fontSize) for f, s in group if not hasattr(f, "cbDefn"))
        sub = w.__class__([width, *group])
        shaped = tag_shaped_word(_original_shape(sub, *args, **_features(group, kwargs)), sub)
        any_shaped = any_shaped or isinstance(shaped, ttfonts.ShapedFragWord)
        total += shaped[0]
        pieces.extend(shaped[1:])
    cls = ttfonts.makeShapedFragWord(w) if any_shaped else w.__class__
    return cls([total, *pieces])


if getattr(_rl_paragraph.shapeFragWord, "__name__", "") != _shape_each_font_separately.__name__:
    _rl_paragraph.shapeFragWord = _shape_each_font_separately
actualtext.install()
