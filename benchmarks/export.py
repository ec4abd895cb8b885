"""Benchmark: a 200-exhibit case exported redacted and sealed, end to end through the vault.

The case: photos (real WIDER FACE photos from ../shared/data/faces where present, the rest
generated 1024x768 pictures), a few short generated videos with a face in them, and interviews
(a short generated sound file each) with transcripts in Thai, Khmer, Burmese, Chinese,
Vietnamese, Indonesian and English naming three protected people.

Phases, each in its own child process so that peak memory (ru_maxrss) is measured per phase:

1. setup     create the vault, ingest everything, register people, consent, links, transcripts
2. baseline  read every photo out of the vault and place it with reportlab, one per page
             (the floor any export pays: decryption, JPEG decode, PDF writing)
3. export 1  the first redacted export: the face-redacted copies of every photo and video do
             not exist yet and are made inside the measured export
4. export 2  the same export again, now with the redacted copies already in the vault

Both exports run with the review step of court dossiers (``review_required``, automatic redaction
accepted by a named reviewer).  Each prints its time by progress stage and by function
(``benchmarks/export_stages.py``: photo detection, decode, encode, vault ingest, video analysis and
encode, audio, PDF render, sealing...) and the load averages, since other work on the machine
inflates wall times.  ``--profile FILE`` writes a cProfile of export 1.

    .venv/bin/python benchmarks/export.py [--exhibits 200] [--keep FOLDER] [--profile FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
PASSPHRASE = "benchmark passphrase of several unrelated words"

PERSONS = [
    ("Nguyễn Thị Lan", ["สมศรี แก้วมณี", "សុខ ចាន់ធា", "阮氏兰", "Lan Nguyen"], "Survivor S-1", "survivor"),
    ("Somchai Boonmee", ["สมชาย บุญมี", "宋猜", "ဦးစိုးမင်း"], "Witness W-2", "witness"),
    ("Siti Rahayu", ["Ibu Siti", "西蒂"], "Witness W-3", "witness"),
]
LINES = {
    "th": "คุณสมศรี แก้วมณี และสมชาย บุญมี ทำงานบนเรือประมงสิบสี่เดือนโดยไม่ได้รับค่าจ้าง",
    "km": "ខ្ញុំឈ្មោះ សុខ ចាន់ធា ខ្ញុំធ្វើការនៅលើទូកនេសាទអស់រយៈពេលដប់បួនខែ",
    "my": "ဦးစိုးမင်း က လှေပေါ်မှာ လစာမရဘဲ အလုပ်လုပ်ခဲ့ရတယ်လို့ ပြောပါတယ်",
    "zh": "阮氏兰说她和宋猜在船上工作了十四个月，没有拿到工资。",
    "vi": "Chị Nguyễn Thị Lan nói rằng anh Somchai Boonmee đã bị giữ trên tàu suốt mười bốn tháng.",
    "id": "Ibu Siti mengatakan bahwa Siti Rahayu dipaksa bekerja di kapal tanpa bayaran.",
    "en": "Lan Nguyen said the captain kept their passports; Somchai Boonmee confirmed it.",
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def _make_inputs(folder: Path, n: int) -> list[tuple[Path, str, str]]:
    """(path, kind, language) of every file to ingest: ~85% photos, 5 videos, the rest interviews."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(7)
    faces = sorted(p for p in (SHARED / "faces").glob("*.jpg") if not p.name.startswith("neg_"))
    n_videos = min(5, max(1, n // 40))
    n_interviews = max(1, n // 8)
    n_photos = n - n_videos - n_interviews
    out: list[tuple[Path, str, str]] = []
    for i in range(n_photos):
        if i % 2 == 0 and faces:
            out.append((faces[(i // 2) % len(faces)], "photo", ""))  # a real photo with faces, as is
            continue
        img = Image.effect_noise((1024, 768), 50).convert("RGB").filter(ImageFilter.GaussianBlur(1.5))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x, y = rng.randrange(0, 900), rng.randrange(0, 650)
            draw.rectangle((x, y, x + rng.randrange(40, 200), y + rng.randrange(40, 200)),
                           fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        path = folder / f"photo_{i:04d}.jpg"
        img.save(path, "JPEG", quality=88)
        out.append((path, "photo", ""))
    for i in range(n_videos):
        face = faces[(i * 7) % len(faces)] if faces else None
        path = folder / f"video_{i}.mp4"
        if face is not None:
            _ffmpeg("-loop", "1", "-i", str(face), "-t", "3", "-r", "10", "-vf",
                    "scale=800:-2,crop=640:360:(iw-640)*t/3:0", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
        else:
            _ffmpeg("-f", "lavfi", "-i", f"testsrc=size=640x360:rate=10:duration=3:decimals={i}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
        out.append((path, "video", ""))
    languages = sorted(LINES)
    for i in range(n_interviews):
        path = folder / f"interview_{i:03d}.wav"
        _ffmpeg("-f", "lavfi", "-i", f"sine=frequency={300 + i * 7}:duration=2", str(path))
        out.append((path, "interview", languages[i % len(languages)]))
    return out


def setup(vault_path: Path, n: int) -> dict:
    from app.vault.vault import Vault

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ev-bench-inputs-") as tmp:
        inputs = _make_inputs(Path(tmp), n)
        t1 = time.perf_counter()
        vault = Vault.create(vault_path, PASSPHRASE, actor="Benchmark investigator", organisation="Bench NGO")
        try:
            case_id = vault.add_case("Benchmark case: the boat of Somchai Boonmee")
            persons = []
            for name, aliases, pseudonym, role in PERSONS:
                pid = vault.add_person(name=name, aliases=aliases, pseudonym=pseudonym, role=role, protected=True)
                vault.add_consent(pid, scopes="court,un,ngo")
                persons.append(pid)
            languages = sorted(LINES)
            for index, (path, kind, lang) in enumerate(inputs):
                item = vault.ingest_file(path, case_id=case_id, kind=kind,
                                         title=f"Exhibit {index} of Nguyễn Thị Lan").item_id
                vault.link(item, persons[index % len(persons)])
                if kind == "interview":
                    segs = [dict(start=k * 4.0, end=k * 4.0 + 3.5, speaker="Nguyễn Thị Lan" if k % 2 else "Interviewer",
                                 language=languages[(index + k) % len(languages)],
                                 text=LINES[languages[(index + k) % len(languages)]]) for k in range(12)]
                    segs[0]["language"], segs[0]["text"] = lang, LINES[lang]
                    vault.set_transcript(item, segs)
                elif index % 10 == 0:
                    vault.add_note(item, f"สมชาย บุญมี confirmed exhibit {index}")
        finally:
            vault.close()
        t2 = time.perf_counter()
    return {"generate_s": t1 - t0, "ingest_s": t2 - t1, "items": len(inputs)}


def baseline(vault_path: Path) -> dict:
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    from app.vault.vault import Vault

    t0 = time.perf_counter()
    vault = Vault.open(vault_path, PASSPHRASE, actor="Benchmark investigator")
    try:
        pages = 0
        canvas = Canvas(io.BytesIO(), pagesize=A4)
        for item in vault.list_items():
            if item.kind != "photo" or item.derived_from is not None:
                continue
            with vault.open_original(item.id) as stream:
                img = Image.open(stream)
                img.draft("RGB", (1070, 690))
                img = img.convert("RGB")
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=82)
            buf.seek(0)
            canvas.drawImage(ImageReader(buf), 40, 300, 515, 386)
            canvas.showPage()
            pages += 1
        canvas.save()
    finally:
        vault.close()
    return {"seconds": time.perf_counter() - t0, "pages": pages}


def run_export(vault_path: Path, out: Path, profile: Path | None = None) -> dict:
    from benchmarks.export_stages import StageTimer

    timer = StageTimer()
    timer.install()  # before the export's own imports bind the names it wraps
    from app.export.exporter import export
    from app.vault.vault import Vault

    vault = Vault.open(vault_path, PASSPHRASE, actor="Benchmark investigator")
    stage_times: dict[str, float] = {}
    last = {"t": time.perf_counter(), "message": "start"}

    def progress(done: int, total: int, message: str) -> None:
        key = message.split(" ")[0]
        now = time.perf_counter()
        stage_times[last["message"]] = stage_times.get(last["message"], 0.0) + now - last["t"]
        last.update(t=now, message=key)

    try:
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        # With the review step of court dossiers: the export may make its own copies only because a
        # reviewer accepted automatic redaction (recorded in the custody log and the redaction log).
        result = export(vault, case_id=1, audience="ngo", level="redacted", out=out, ern_prefix="BENCH",
                        review_required=True, accept_automatic_redaction="Benchmark reviewer", progress=progress)
        seconds = time.perf_counter() - t0
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        from app.export.pdf.seal import validate_sealed_pdf

        with open(out, "rb") as fh:
            sealed_ok = validate_sealed_pdf(fh, cert_pem=vault.seal_identity.cert_pem).ok
    finally:
        vault.close()
    return {"seconds": seconds, "pages": result.pages, "exhibits": len(result.exhibits),
            "derivatives_created": len(result.derivatives_created), "mib": out.stat().st_size / 2**20,
            "seal_ok": sealed_ok, "stages": {k: round(v, 2) for k, v in stage_times.items()},
            "by_function": timer.table(), "load": _load()}


def _load() -> str:
    """The machine's load averages (1, 5, 15 min): other people's work inflates wall times."""
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def _child(phase: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", phase, *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exhibits", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None, help="keep the vault and PDFs in this folder")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the first export (the one making copies) to this file")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--vault", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        if args.phase == "setup":
            result = setup(args.vault, args.exhibits)
        elif args.phase == "baseline":
            result = baseline(args.vault)
        else:
            result = run_export(args.vault, args.out, args.profile)
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="ev-bench-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    vault = folder / "bench.vault"
    try:
        s = _child("setup", "--vault", str(vault), "--exhibits", str(args.exhibits))
        b = _child("baseline", "--vault", str(vault))
        e1 = _child("export", "--vault", str(vault), "--out", str(folder / "first.pdf"),
                    *(["--profile", str(args.profile)] if args.profile else []))
        e2 = _child("export", "--vault", str(vault), "--out", str(folder / "second.pdf"))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"items in the case            {s['items']}")
    print(f"setup: generate inputs  s    {s['generate_s']:.1f}")
    print(f"setup: ingest + records s    {s['ingest_s']:.1f}   (peak RSS {s['peak_rss_mib']:.0f} MiB)")
    print(f"baseline                s    {b['seconds']:.1f}   ({b['pages']} photos read from the vault and "
          f"placed one per page; peak RSS {b['peak_rss_mib']:.0f} MiB)")
    for label, e, target in (("export, redacting now", e1, 300), ("export, copies exist", e2, 60)):
        print(f"{label:<24}s    {e['seconds']:.1f}   {e['pages']} pages, {e['pages'] / e['seconds']:.1f} pages/s, "
              f"{e['exhibits']} exhibits, {e['derivatives_created']} redacted copies made, "
              f"{e['mib']:.1f} MiB, seal ok {e['seal_ok']}, peak RSS {e['peak_rss_mib']:.0f} MiB "
              f"(target < {target} s at 200 exhibits)")
        print(f"    time by stage (s): {e['stages']}")
        print(f"    load averages at the end: {e['load']}")
        print("    time by function (s, exclusive of nested timed calls):")
        for stage, row in e["by_function"].items():
            print(f"        {stage:<52}{row['s']:>8.2f}  ({row['calls']} calls)")
        print(f"    ratio export / baseline      {e['seconds'] / b['seconds']:.1f}x")


if __name__ == "__main__":
    main()
