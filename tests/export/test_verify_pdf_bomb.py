"""``verify-pdf`` on a dossier whose attachment is a decompression bomb (audit finding: a 3.6 MB PDF whose
dossier-text.txt inflates to 3 GiB took 6.3 GB of memory and 26 s, and under a memory limit was called
"not a PDF").  Attachments are decoded chunk by chunk, never past the size they state nor past what a
dossier can hold, originals are hashed as they are decoded, and the report names the attachment.

Real vault, real court export (an original attached), real seal; the bombs are made from that PDF."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pikepdf
import pytest

from app.cli import main as cli_main
from app.export.pdf.proofs import PROOFS_ATTACHMENT_NAME
from app.export.pdf.verify_pdf import verify_pdf
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE, shared_data_path
from tests.vault.vaultkit import speed_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BOMB_GIB = 3
# A verification in a fresh process needs about 70 MiB (Python, pikepdf, pyHanko); reading the bomb whole
# took gigabytes.
MAX_RSS_MIB = 300


@pytest.fixture(scope="module")
def court_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    speed_up(mp)
    mp.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    folder = tmp_path_factory.mktemp("pdf_bomb")
    path = folder / "case.vault"
    try:
        with Vault.create(path, TEST_PASSPHRASE, actor="Investigator A", organisation="Test NGO") as vault:
            case_id = vault.add_case("Harbour case")
            vault.ingest_file(shared_data_path("media", "jpeg_exif_gps_DSCN0010.jpg"), case_id=case_id)
        out = folder / "court.pdf"
        code = cli_main.main(["--vault", str(path), "--actor", "Investigator A", "export", "--case", str(case_id),
                              "--audience", "court", "--level", "original", "--out", str(out)])
        assert code == 0
    finally:
        mp.undo()
    assert verify_pdf(out).ok and verify_pdf(out).originals_checked == 1
    return out


def _zeros_deflated(gib: int) -> bytes:
    """A zlib stream of ``gib`` GiB of zeros, a few MB long, made in a second: a fully flushed deflate block
    of 16 MiB of zeros repeated (each starts afresh), then the end block and the checksum."""
    chunk = b"\0" * (1 << 24)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    count = gib * 64
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + block * count + end + adler.to_bytes(4, "big")


def _with_attachment(source: Path, out: Path, name: str, data: bytes, *, size: int | None,
                     compressed: bool = True) -> Path:
    """``source`` with attachment ``name`` replaced by ``data``; ``size``: its stated /Params /Size
    (None: no /Params at all, as in the audit's bomb)."""
    with pikepdf.open(source) as pdf:
        stream = pdf.attachments[name].obj.EF.F
        stream.write(data, filter=pikepdf.Name.FlateDecode if compressed else None)
        if size is None:
            if "/Params" in stream:
                del stream.Params
        else:
            stream.Params.Size = size
        pdf.save(out)
    return out


def _original_name(pdf_path: Path) -> str:
    with pikepdf.open(pdf_path) as pdf:
        return next(name for name in pdf.attachments if name.startswith("EV-"))


def _verify_in_a_process(pdf_path: Path) -> tuple[list[str], int]:
    """(problems, peak memory in MiB) of verify_pdf in a fresh process, whose address space is capped at
    2 GiB (it needs about 100 MiB) so that a bomb read whole fails at once instead of filling the memory.
    The peak is the process's own (VmHWM): Linux carries ru_maxrss over from the parent across fork and
    exec, so in a long test run it reported the test runner's size."""
    code = ("import json, resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from pathlib import Path\n"
            "from app.export.pdf.verify_pdf import verify_pdf\n"
            "report = verify_pdf(Path(sys.argv[1]))\n"
            "peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
            "print(json.dumps({'problems': report.problems, 'originals': report.originals_checked,\n"
            "                  'rss': peak // 1024}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(pdf_path)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    return result["problems"], result["rss"]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _zeros_deflated(BOMB_GIB)


def test_text_bomb_without_a_stated_size(court_pdf: Path, bomb: bytes, tmp_path: Path) -> None:
    """The audit's bomb: dossier-text.txt inflating to 3 GiB, its /Params removed."""
    pdf = _with_attachment(court_pdf, tmp_path / "bomb.pdf", "dossier-text.txt", bomb, size=None)
    assert pdf.stat().st_size < 8 * 1024 * 1024
    problems, rss = _verify_in_a_process(pdf)
    assert rss < MAX_RSS_MIB, f"{rss} MiB"
    assert problems[0].startswith("The file dossier-text.txt attached inside the PDF does not state its size")
    assert "could not be read as a PDF" not in " ".join(problems)


def test_text_bomb_stating_a_small_size_is_not_read_past_it(court_pdf: Path, bomb: bytes, tmp_path: Path) -> None:
    pdf = _with_attachment(court_pdf, tmp_path / "bomb.pdf", "dossier-text.txt", bomb, size=10_000)
    problems, rss = _verify_in_a_process(pdf)
    assert rss < MAX_RSS_MIB, f"{rss} MiB"
    assert problems[0] == ("The file dossier-text.txt attached inside the PDF holds more than the 10000 bytes "
                           "it states: the PDF was changed. It was not read further. Do not rely on this PDF; "
                           "ask the sender for the original file.")


def test_text_bomb_stating_its_size_is_too_large(court_pdf: Path, bomb: bytes, tmp_path: Path) -> None:
    pdf = _with_attachment(court_pdf, tmp_path / "bomb.pdf", "dossier-text.txt", bomb, size=BOMB_GIB << 30)
    problems, rss = _verify_in_a_process(pdf)
    assert rss < MAX_RSS_MIB, f"{rss} MiB"
    assert problems[0].startswith("The file dossier-text.txt attached inside the PDF is larger than the text of "
                                  "the pages of any dossier (64 MiB at most); it states 3221225472 bytes and "
                                  "was not read.")


def test_an_original_that_is_a_bomb_is_named_and_hashed_in_bounded_memory(court_pdf: Path, bomb: bytes,
                                                                            tmp_path: Path) -> None:
    """Originals are hashed while decoded: a lying one stops at its stated size, a large one is refused."""
    name = _original_name(court_pdf)
    for size, expected in ((1000, "holds more than the 1000 bytes it states"),
                           (BOMB_GIB << 30, "is too large: the originals attached to a dossier add up to "
                                            "256 MiB at most; it states 3221225472 bytes and was not read.")):
        pdf = _with_attachment(court_pdf, tmp_path / f"bomb-{size}.pdf", name, bomb, size=size)
        problems, rss = _verify_in_a_process(pdf)
        assert rss < MAX_RSS_MIB, f"{rss} MiB"
        assert problems[0].startswith(f"The file {name} attached inside the PDF ") and expected in problems[0]
        # not read, so not said to differ from its exhibit's hash either
        assert not any("does not match its SHA-256" in problem for problem in problems), problems


def test_an_attachment_not_of_its_stated_size_or_checksum(court_pdf: Path, tmp_path: Path) -> None:
    with pikepdf.open(court_pdf) as pdf:
        proofs = pdf.attachments[PROOFS_ATTACHMENT_NAME].get_file().read_bytes()
    short = _with_attachment(court_pdf, tmp_path / "short.pdf", PROOFS_ATTACHMENT_NAME,
                             zlib.compress(proofs[:-10]), size=len(proofs))
    report = verify_pdf(short)
    assert report.problems[0] == (f"The file {PROOFS_ATTACHMENT_NAME} attached inside the PDF holds "
                                  f"{len(proofs) - 10} bytes but states {len(proofs)}: the PDF was changed. Do "
                                  "not rely on this PDF; ask the sender for the original file.")
    # same size, other bytes: the stated MD5 checksum (/Params /CheckSum) no longer matches
    changed = proofs.replace(b'"court"', b'"COURT"')
    assert changed != proofs and len(changed) == len(proofs)
    other = _with_attachment(court_pdf, tmp_path / "other.pdf", PROOFS_ATTACHMENT_NAME, zlib.compress(changed),
                             size=len(proofs))
    assert verify_pdf(other).problems[0] == (
        f"The file {PROOFS_ATTACHMENT_NAME} attached inside the PDF does not match the checksum stated with it: "
        "the PDF was changed. Do not rely on this PDF; ask the sender for the original file.")


def test_an_uncompressed_attachment_is_read_too(court_pdf: Path, tmp_path: Path) -> None:
    """A plain (unfiltered) stream is a valid way to carry a file: only its content counts."""
    name = _original_name(court_pdf)
    with pikepdf.open(court_pdf) as pdf:
        original = pdf.attachments[name].get_file().read_bytes()
    plain = _with_attachment(court_pdf, tmp_path / "plain.pdf", name, original, size=len(original),
                             compressed=False)
    report = verify_pdf(plain)
    assert report.originals_checked == 1
    assert not any(name in problem for problem in report.problems), report.problems
