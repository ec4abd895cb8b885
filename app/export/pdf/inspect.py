"""Take a PDF apart completely, to prove what it does *not* contain (leak tests, reliability suite).

A name can hide in many places of a PDF besides the visible text: document info, XMP, bookmark
titles, annotations, attached files, image metadata (EXIF, GPS, XMP packets in JPEG APP1), or
glyphs whose text only appears through a font's ToUnicode map.  :func:`extract_everything`
gathers all of them; :func:`find_strings` searches all of them with Unicode normalisation.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import ExifTags, Image
from pypdf import PdfReader

_GPS_TAG = 0x8825


@dataclass
class ImageInfo:
    page: int  # 1-based; 0 when the image is not on a page (e.g. an unused XObject)
    name: str
    width: int
    height: int
    filter: str
    mode: str
    exif: dict[str, str] = field(default_factory=dict)
    has_gps: bool = False
    metadata_segments: list[str] = field(default_factory=list)  # JPEG APPn / PNG text chunks found


@dataclass
class PdfContents:
    streams: list[bytes]  # every stream of the file, decompressed (images excepted)
    page_texts: list[str]  # pypdf's extraction, page by page
    tounicode_texts: list[str]  # text shown on each page, decoded through each font's ToUnicode map
    info: dict[str, str]
    xmp: str
    outlines: list[str]
    annotations: list[dict[str, str]]
    attachments: dict[str, bytes]
    images: list[ImageInfo]
    fonts: list[dict[str, object]]  # BaseFont, Subtype, embedded (has a font file)


@dataclass(frozen=True)
class Hit:
    needle: str
    where: str
    excerpt: str


def _s(obj: object) -> str:
    if isinstance(obj, pikepdf.String):
        return str(obj)
    return str(obj)


# --- ToUnicode --------------------------------------------------------------------------------

_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[([^\]]*)\]")


def _hex_to_text(h: bytes) -> str:
    raw = bytes.fromhex(re.sub(rb"\s", b"", h).decode())
    return raw.decode("utf-16-be", errors="replace")


def parse_tounicode(cmap: bytes) -> dict[bytes, str]:
    """bfchar and bfrange entries of a ToUnicode CMap: code bytes -> text."""
    out: dict[bytes, str] = {}
    for block in _BFCHAR.findall(cmap):
        tokens = re.findall(rb"<([0-9A-Fa-f\s]*)>", block)
        for src, dst in zip(tokens[::2], tokens[1::2], strict=False):
            out[bytes.fromhex(src.decode())] = _hex_to_text(dst)
    for block in _BFRANGE.findall(cmap):
        items = _HEX.findall(block)
        for i in range(0, len(items) - 2, 3):
            lo_b, hi_b, dst = bytes.fromhex(items[i][0].decode()), bytes.fromhex(items[i + 1][0].decode()), items[i + 2]
            n = len(lo_b)
            start, end = int.from_bytes(lo_b, "big"), int.from_bytes(hi_b, "big")
            if dst[1]:  # an array: one destination per code
                dsts = re.findall(rb"<([0-9A-Fa-f\s]*)>", dst[1])
                for k, code in enumerate(range(start, min(end + 1, start + len(dsts)))):
                    out[code.to_bytes(n, "big")] = _hex_to_text(dsts[k])
            else:  # consecutive destinations
                base = bytes.fromhex(re.sub(rb"\s", b"", dst[0]).decode())
                first = int.from_bytes(base, "big")
                for k, code in enumerate(range(start, end + 1)):
                    val = (first + k).to_bytes(len(base), "big")
                    out[code.to_bytes(n, "big")] = val.decode("utf-16-be", errors="replace")
    return out


def _decode_with(cmap: dict[bytes, str], data: bytes) -> str:
    if not cmap:
        return data.decode("latin-1")
    lengths = sorted({len(k) for k in cmap}, reverse=True)
    out, i = [], 0
    while i < len(data):
        for n in lengths:
            chunk = data[i:i + n]
            if chunk in cmap:
                out.append(cmap[chunk])
                i += n
                break
        else:
            out.append(chr(data[i]))
            i += 1
    return "".join(out)


def _font_maps(resources: pikepdf.Object | None) -> dict[str, dict[bytes, str]]:
    maps: dict[str, dict[bytes, str]] = {}
    fonts = resources.get("/Font") if resources is not None else None
    if fonts is None:
        return maps
    for name, font in fonts.items():
        tu = font.get("/ToUnicode")
        maps[name] = parse_tounicode(tu.read_bytes()) if isinstance(tu, pikepdf.Stream) else {}
    return maps


def _page_text_via_tounicode(page: pikepdf.Page) -> str:
    maps = _font_maps(page.obj.get("/Resources"))
    current: dict[bytes, str] = {}
    parts: list[str] = []
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue  # inline images carry no text
        operands, operator = instruction.operands, instruction.operator
        op = str(operator)
        if op == "Tf" and operands:
            current = maps.get(str(operands[0]), {})
        elif op in ("Tj", "'", '"') and operands:
            parts.append(_decode_with(current, bytes(operands[-1])))
        elif op == "TJ" and operands:
            for item in operands[0]:
                if isinstance(item, pikepdf.String):
                    parts.append(_decode_with(current, bytes(item)))
        elif op in ("ET", "T*", "Td", "TD"):
            parts.append("\n" if op == "ET" else "")
    return "".join(parts)


# --- images -----------------------------------------------------------------------------------

def _image_info(page_no: int, name: str, obj: pikepdf.Stream) -> ImageInfo:
    filt = obj.get("/Filter")
    filt_name = str(filt) if filt is not None else ""
    info = ImageInfo(page_no, name, int(obj.get("/Width", 0)), int(obj.get("/Height", 0)), filt_name, "")
    try:
        if "/DCTDecode" in filt_name:
            filters = list(filt) if isinstance(filt, pikepdf.Array) else [filt]
            raw = (obj.read_raw_bytes() if len(filters) == 1
                   else obj.read_bytes(decode_level=pikepdf.StreamDecodeLevel.generalized))
            img: Image.Image = Image.open(io.BytesIO(raw))
            img.load()
            info.metadata_segments = [str(k) for k in img.info if k not in ("jfif", "jfif_version", "jfif_unit",
                                                                            "jfif_density", "dpi", "progressive",
                                                                            "progression", "adobe",
                                                                            "adobe_transform")]
            if b"Exif\x00\x00" in raw[:65536] or b"http://ns.adobe.com/xap" in raw[:65536]:
                info.metadata_segments.append("APP1")
        else:
            img = pikepdf.PdfImage(obj).as_pil_image()
            info.metadata_segments = [str(k) for k in img.info]
        info.mode = img.mode
        exif = img.getexif()
        info.exif = {ExifTags.TAGS.get(k, str(k)): str(v) for k, v in exif.items()}
        info.has_gps = _GPS_TAG in exif and bool(exif.get_ifd(_GPS_TAG))
    except (OSError, ValueError, NotImplementedError, pikepdf.PdfError) as exc:
        info.metadata_segments.append(f"undecodable: {exc!r}")
    return info


# --- everything -------------------------------------------------------------------------------

def extract_everything(pdf_path: str | Path) -> PdfContents:
    pdf_path = Path(pdf_path)
    streams: list[bytes] = []
    images: list[ImageInfo] = []
    fonts: list[dict[str, object]] = []
    with pikepdf.open(pdf_path) as pdf:
        image_pages: dict[tuple[int, int], int] = {}
        for number, page in enumerate(pdf.pages, start=1):
            for name, xobj in page.get_images().items():
                image_pages[xobj.objgen] = number
                if isinstance(xobj, pikepdf.Stream):
                    images.append(_image_info(number, str(name), xobj))
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == pikepdf.Name.Font:
                desc = obj.get("/FontDescriptor")
                descendants = obj.get("/DescendantFonts")
                if desc is None and descendants is not None and len(descendants):
                    desc = descendants[0].get("/FontDescriptor")
                embedded = desc is not None and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts.append({"BaseFont": str(obj.get("/BaseFont", "")), "Subtype": str(obj.get("/Subtype", "")),
                              "embedded": embedded})
            if not isinstance(obj, pikepdf.Stream):
                continue
            if obj.get("/Subtype") == pikepdf.Name.Image:
                if obj.objgen not in image_pages:
                    images.append(_image_info(0, f"obj {obj.objgen[0]}", obj))
                continue
            try:
                streams.append(obj.read_bytes())
            except pikepdf.PdfError:
                streams.append(obj.read_raw_bytes())
        tounicode = [_page_text_via_tounicode(p) for p in pdf.pages]
        info = {str(k): _s(v) for k, v in pdf.docinfo.items()} if "/Info" in pdf.trailer else {}
        meta = pdf.Root.get("/Metadata")
        xmp = meta.read_bytes().decode("utf-8", errors="replace") if meta is not None else ""
        outlines: list[str] = []
        with pdf.open_outline() as outline:
            stack = list(outline.root)
            while stack:
                item = stack.pop(0)
                outlines.append(item.title)
                stack[0:0] = list(item.children)
        annotations: list[dict[str, str]] = []
        for page in pdf.pages:
            for annot in page.obj.get("/Annots", []):
                annotations.append({str(k): _s(v) for k, v in annot.items()
                                    if k in ("/Subtype", "/Contents", "/T", "/TU", "/TM", "/NM", "/RC")})
        attachments = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    page_texts = [page.extract_text() or "" for page in PdfReader(str(pdf_path)).pages]
    return PdfContents(streams, page_texts, tounicode, info, xmp, outlines, annotations,
                       attachments, images, fonts)


_IGNORABLE = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def normalise(text: str) -> str:
    """NFKC, case-folded, without any whitespace or zero-width characters (extraction from shaped
    or wrapped text splits words and drops joiners); every private-use character is the same
    (reportlab numbers unmapped glyphs per process)."""
    text = _IGNORABLE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return _PRIVATE_USE.sub("\ue000", text)


def shaped_forms(needle: str) -> set[str]:
    """How a needle reads back from the page once shaped: Khmer, Burmese or Thai text comes back
    as the characters of the glyphs drawn (subscripts reordered, some glyphs private-use), not as
    typed.  Searching these forms too finds names on pages whose extracted text is lossy."""
    from reportlab.pdfbase import ttfonts

    from app.export.pdf.fonts import ensure_fonts, split_runs

    fonts = ensure_fonts()
    forms = set()
    for bold in (False, True):
        parts = []
        for script, run in split_runs(needle):
            font = fonts[script].bold if bold else fonts[script].regular
            parts.append(str(ttfonts.shapeStr(run, font, 10)))
        forms.add("".join(parts))
    forms.discard(needle)
    return forms


def _haystacks(c: PdfContents) -> list[tuple[str, str]]:
    hay: list[tuple[str, str]] = []
    hay += [(f"page {i} text", t) for i, t in enumerate(c.page_texts, 1)]
    hay += [(f"page {i} text via ToUnicode", t) for i, t in enumerate(c.tounicode_texts, 1)]
    hay += [(f"document info {k}", v) for k, v in c.info.items()]
    hay.append(("XMP metadata", c.xmp))
    hay += [("bookmark", t) for t in c.outlines]
    hay += [(f"annotation {k}", v) for a in c.annotations for k, v in a.items()]
    for name, data in c.attachments.items():
        hay.append(("attachment name", name))
        hay.append((f"attachment {name}", data.decode("utf-8", errors="replace")))
    for img in c.images:
        hay += [(f"image {img.name} on page {img.page} EXIF {k}", v) for k, v in img.exif.items()]
    for i, raw in enumerate(c.streams):
        hay.append((f"stream {i} (latin-1)", raw.decode("latin-1")))
        hay.append((f"stream {i} (utf-8)", raw.decode("utf-8", errors="ignore")))
        hay.append((f"stream {i} (utf-16)", raw.decode("utf-16-be", errors="ignore")))
    return hay


def find_strings(contents: PdfContents, needles: list[str]) -> list[Hit]:
    """Every place where any needle occurs (normalised), with a short excerpt."""
    hits: list[Hit] = []
    wanted = [(n, normalise(form)) for n in needles for form in {n, *shaped_forms(n)} if normalise(form)]
    for where, text in _haystacks(contents):
        flat = normalise(text)
        found = set()
        for needle, norm in wanted:
            pos = flat.find(norm)
            if pos >= 0 and needle not in found:
                found.add(needle)
                hits.append(Hit(needle, where, flat[max(0, pos - 30):pos + len(norm) + 30]))
    return hits
