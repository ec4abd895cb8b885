"""Benchmark: a 200-exhibit dossier rendered, turned into PDF/A-3b and sealed.

180 photos (1600x1200 JPEG, real photos from ../shared/data/faces when present, else synthetic),
10 video contact sheets (6 key frames), 10 transcripts in Khmer, Thai, Burmese, Chinese,
Indonesian, English and Vietnamese.  Prints seconds per stage, pages/s, output size and peak
memory (ru_maxrss), and the ratio against a baseline measured in the same run: reportlab
placing the same 200 photos one per page with no text, shaping, PDF/A or seal.

    .venv/bin/python benchmarks/export_pdf.py [--exhibits 200]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.export.dossier_model import (  # noqa: E402
    ConsentRow,
    ConsentSection,
    ContactSheet,
    CustodyRow,
    Declaration,
    Dossier,
    Exhibit,
    ImageContent,
    ProofRow,
    RedactionRow,
    TranscriptContent,
)
from app.export.pdf.pdfa import PdfaMetadata, make_pdfa  # noqa: E402
from app.export.pdf.render import render_dossier  # noqa: E402
from app.export.pdf.seal import seal_pdf, validate_sealed_pdf  # noqa: E402
from app.vault.keys import new_seal_identity  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
VIETNAMESE = "Người làm chứng khai rằng họ bị giữ trên tàu cá suốt mười bốn tháng."


def _photos(n: int) -> list[bytes]:
    """n distinct 1600x1200 JPEGs (quality 90), encoded once and reused."""
    sources = sorted((SHARED / "faces").glob("*.jpg"))[:n]
    out = []
    for i in range(n):
        if sources:
            with Image.open(sources[i % len(sources)]) as src:
                img = src.convert("RGB").resize((1600, 1200))
        else:
            img = Image.effect_noise((1600, 1200), 60).convert("RGB").filter(ImageFilter.GaussianBlur(2))
            ImageDraw.Draw(img).ellipse((500, 300, 1100, 900), fill=(30 * i % 255, 120, 90))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def photo_opener(photos: list[bytes], i: int):  # type: ignore[no-untyped-def]
    """A distinct photo per exhibit (identical images would be stored once by reportlab): the base
    photo with the exhibit number stamped on, made when the renderer opens it, as a vault would
    decrypt it then."""

    def open_photo() -> io.BytesIO:
        with Image.open(io.BytesIO(photos[i % len(photos)])) as img:
            img = img.convert("RGB")
        ImageDraw.Draw(img).rectangle((20, 20, 220 + i, 90), fill=(i % 256, 255 - i % 256, 40))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        buf.seek(0)
        return buf

    return open_photo


def _sentences() -> dict[str, list[str]]:
    path = SHARED / "text" / "names_multilingual.jsonl"
    by_lang: dict[str, list[str]] = {"vi": [VIETNAMESE]}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            by_lang.setdefault(rec["lang"], []).append(rec["text"])
    else:
        by_lang["en"] = ["The witness described the boat and the captain."]
    return by_lang


def build(n_exhibits: int, photos: list[bytes], *, court_sections: bool = True) -> Dossier:
    s = _sentences()
    langs = sorted(s)
    exhibits = []
    for i in range(n_exhibits):
        lang = langs[i % len(langs)]
        text = s[lang][i % len(s[lang])]
        content: object
        if i % 20 == 7:
            frames = [photos[(i + k) % len(photos)] for k in range(6)]
            content, kind = ContactSheet(frames, [k * 11.5 for k in range(6)]), "video"
        elif i % 20 == 13:
            segs = [(k * 5.0, k * 5.0 + 4.5, f"Speaker {k % 2}", langs[k % len(langs)],
                     s[langs[k % len(langs)]][k % len(s[langs[k % len(langs)]])]) for k in range(20)]
            content, kind = TranscriptContent(segs), "transcript"
        else:
            content, kind = ImageContent(photo_opener(photos, i)), "photo"
        exhibits.append(Exhibit(
            number=f"EX-{i + 1:04d}", title=text[:50], kind=kind, description=text,
            captured_at="2026-11-20T10:00:00.000000Z", source="Field phone",
            sha256_original=f"{i:064x}", sha256_derivative=f"{i + 7:064x}",
            media_facts={"Dimensions": "1600 × 1200"}, persons=["Witness K-7"],
            custody=[CustodyRow(f"2026-11-2{k}T10:00:00.000000Z", "investigator-1", a, text[:40], f"{i * 4 + k:064x}")
                     for k, a in enumerate(["ingested", "viewed", "redacted", "exported"])],
            proofs=[ProofRow(i * 4 + k, f"{i * 4 + k:064x}", [f"{j:064x}" for j in range(10)]) for k in range(2)],
            content=content, ern=f"EV-BENCH-{i + 1:05d}-Red", language=lang,
            confidentiality="CONFIDENTIAL - REDACTED VERSION", consent_status="consent covers a court (1 person)",
            ))  # type: ignore[arg-type]
    # The court sections (issue 11): consent, a redaction log of two rows per exhibit, the legend on every page.
    consent = ConsentSection(
        rows=[ConsentRow(f"Witness K-{p}", ", ".join(e.ern for e in exhibits[p::3]), "a court, a UN mechanism",
                         "2026-10-02", "Interviewer Kim", f"EV-BENCH-{900 + p:05d}", "", "yes") for p in range(3)],
        decision="The recorded consent of every survivor and witness linked to these exhibits covers sharing "
                 "with a court.")
    redactions = [RedactionRow(e.ern, what, code, "fill", "Reviewer R", "2026-11-24T10:00:00.000000Z")
                  for e in exhibits for what, code in (("faces of protected people and bystanders", "PW-ID, TP-PRIV"),
                                                      ("2 protected names in the transcript", "PW-ID"))]
    if not court_sections:  # the dossier as it was before issue 11, for comparison
        for exhibit in exhibits:
            exhibit.ern = exhibit.language = exhibit.confidentiality = exhibit.consent_status = ""
    return Dossier(
        case_title="ករណីជួញដូរមនុស្ស / Benchmark case", organisation="Benchmark org",
        produced_at="2026-11-25T15:00:00.000000Z", audience="court", level="redacted", ern_prefix="EV-BENCH",
        manifest_sha256="ab" * 32, checkpoint_text="bench\n800\nroot\n", merkle_root="cd" * 32, tree_size=800,
        declaration=Declaration("A. Lim", "Investigator", "Bangkok", "2026-11-25", "I declare."), exhibits=exhibits,
        confidentiality="CONFIDENTIAL - REDACTED VERSION" if court_sections else "",
        consent=consent if court_sections else None, redactions=redactions if court_sections else None,
        seal_fingerprint="ef" * 32 if court_sections else "",
        seal_note="self-signed organisation seal (benchmark)" if court_sections else "",
        redaction_marks=["[Witness K-7]"] if court_sections else [])


def generation_cost(photos: list[bytes], n: int) -> float:
    """CPU seconds spent making the synthetic photos (part of the export figures, not of a real export)."""
    t = time.process_time()
    for i in range(n):
        photo_opener(photos, i)()
    return time.process_time() - t


def baseline(photos: list[bytes], n: int) -> tuple[float, float]:
    """reportlab alone placing the same photos (passed through as JPEG) one per page."""
    t, c = time.perf_counter(), time.process_time()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for i in range(n):
        canvas.drawImage(ImageReader(photo_opener(photos, i)()), 40, 300, 515, 386)
        canvas.showPage()
    canvas.save()
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exhibits", type=int, default=200)
    parser.add_argument("--without-court-sections", action="store_true",
                        help="leave out the consent section, redaction log, ERNs and legend (issue 11), to compare")
    args = parser.parse_args()
    photos = _photos(20)
    dossier = build(args.exhibits, photos, court_sections=not args.without_court_sections)
    identity = new_seal_identity("Benchmark seal")

    t0 = time.perf_counter()
    c0 = time.process_time()
    raw = io.BytesIO()
    result = render_dossier(dossier, raw)
    t1 = time.perf_counter()
    raw.seek(0)
    pdfa = io.BytesIO()
    make_pdfa(raw, pdfa, metadata=PdfaMetadata(title="Benchmark", author="Benchmark org"), full_text=result.text)
    t2 = time.perf_counter()
    pdfa.seek(0)
    sealed = io.BytesIO()
    seal_pdf(pdfa, sealed, key_pem=identity.key_pem, cert_pem=identity.cert_pem, reason="bench",
             location="here", name="bench")
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    sealed.seek(0)
    report = validate_sealed_pdf(sealed, cert_pem=identity.cert_pem)
    total = t3 - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the baseline runs
    base_wall, base_cpu = baseline(photos, args.exhibits)
    n_photos = sum(isinstance(e.content, ImageContent) for e in dossier.exhibits)
    gen_cpu = generation_cost(photos, n_photos)
    print(f"exhibits            {args.exhibits}")
    print(f"pages               {result.pages}")
    print(f"render   s          {t1 - t0:.2f}")
    print(f"pdf/a    s          {t2 - t1:.2f}")
    print(f"seal     s          {t3 - t2:.2f}")
    print(f"total    s          {total:.2f}   (target < 60)")
    print(f"cpu      s          {cpu:.2f}   (wall time above includes waiting for a shared CPU)")
    print(f"pages/s             {result.pages / total:.1f}")
    print(f"output   MiB        {len(sealed.getvalue()) / 2**20:.1f}")
    print(f"text     chars      {len(result.text)}")
    print(f"peak RSS MiB        {peak_mib:.0f}")
    print(f"seal valid          {report.ok}")
    print(f"  of which making the synthetic photos, cpu s  {gen_cpu:.2f}")
    print(f"baseline wall/cpu s {base_wall:.2f} / {base_cpu:.2f}   (reportlab alone, the same photos one per page)")
    print(f"ratio export/base   {cpu / base_cpu:.1f}x cpu, {total / base_wall:.1f}x wall")

if __name__ == "__main__":
    main()
