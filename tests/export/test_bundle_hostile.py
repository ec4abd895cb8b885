"""Hostile bundles: crafted ZIPs and folders must be refused or reported precisely, in bounded time and
memory, and nothing may ever be written outside the target folder."""

from __future__ import annotations

import os
import stat
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import BundleError
from app.export.bundle_verify import extract_bundle, verify_bundle
from app.export.safe_zip import SafeZipReader, unsafe_name_reason
from tests.export.test_bundle_support import (
    DOSSIER_NAME,
    PHOTO_NAME,
    RawEntry,
    build_bundle,
    deflate,
    files_under,
    raw_zip,
    zip_members,
)

SYMLINK = (stat.S_IFLNK | 0o777) << 16


def _hostile(tmp_path: Path, extra: list[RawEntry], *, keep=lambda m: True) -> Path:
    """A real, valid bundle's members (filtered by ``keep``) plus hostile ``extra`` entries."""
    (tmp_path / "src").mkdir(parents=True)
    built = build_bundle(tmp_path / "src", as_zip=True)
    members = [m for m in zip_members(built.path) if keep(m)]
    path = tmp_path / "hostile.zip"
    path.write_bytes(raw_zip(members + extra))
    return path


def _assert_refused_everywhere(tmp_path: Path, path: Path, part: str, fragment: str) -> None:
    """verify_bundle names ``part``; extract_bundle refuses; nothing appears outside the target."""
    report = verify_bundle(path)
    assert not report.ok
    assert any(p.file_or_part == part and fragment in p.message for p in report.problems), report.problems
    jail = tmp_path / "jail"
    jail.mkdir()
    before = files_under(tmp_path)
    with pytest.raises(BundleError):
        extract_bundle(path, jail / "target")
    assert files_under(jail / "target") == set()
    assert files_under(tmp_path) - before <= {"jail/target"}


HOSTILE_NAMES = [
    (b"../evil.txt", "../evil.txt", "'..'"),
    (b"exhibits/../../evil.txt", "exhibits/../../evil.txt", "'..'"),
    (b"/tmp/evil.txt", "/tmp/evil.txt", "absolute path"),
    (b"exhibits\\..\\..\\evil.txt", "exhibits\\..\\..\\evil.txt", "backslash"),
    (b"C:/Windows/evil.txt", "C:/Windows/evil.txt", "colon"),
    (b"exhibits//evil.txt", "exhibits//evil.txt", "empty"),
    (b"exhibits/./evil.txt", "exhibits/./evil.txt", "'.'"),
    (b"exhibits/CON.txt", "exhibits/CON.txt", "device name"),
    (b"exhibits/evil.txt ", "exhibits/evil.txt ", "dot or space"),
    (b"exhibits/ev\x07il.txt", "exhibits/ev\x07il.txt", "control character"),
    ("exhibits/photo\u202egnp.exe".encode(), "exhibits/photo\u202egnp.exe", "text-direction"),
    ("exhibits/cafe\u0301.txt".encode(), "exhibits/cafe\u0301.txt", "normal form C"),
    (b"/".join([b"d"] * 17) + b"/x.txt", "/".join(["d"] * 17) + "/x.txt", "nested"),
    (b"a" * 300 + b".txt", "a" * 300 + ".txt", "longer than"),
]


@pytest.mark.parametrize(("raw", "shown", "fragment"), HOSTILE_NAMES, ids=[n[1][:30] for n in HOSTILE_NAMES])
def test_unsafe_member_names_are_refused(tmp_path: Path, raw: bytes, shown: str, fragment: str) -> None:
    path = _hostile(tmp_path, [RawEntry(raw, b"evil", flags=0x800)])
    _assert_refused_everywhere(tmp_path, path, shown, fragment)


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(b"exhibits/link.png", b"/etc/passwd", external_attr=SYMLINK)])
    _assert_refused_everywhere(tmp_path, path, "exhibits/link.png", "symbolic link")


def test_symlink_replacing_a_listed_file_is_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(PHOTO_NAME.encode(), b"/etc/passwd", external_attr=SYMLINK)],
                    keep=lambda m: m.name != PHOTO_NAME.encode())
    _assert_refused_everywhere(tmp_path, path, PHOTO_NAME, "symbolic link")


def test_device_entry_is_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(b"exhibits/dev", b"", external_attr=(stat.S_IFCHR | 0o600) << 16)])
    _assert_refused_everywhere(tmp_path, path, "exhibits/dev", "special file")


@pytest.mark.parametrize(
    "duplicate",
    [PHOTO_NAME, PHOTO_NAME.upper(), "exhibits/0003-photo.\uff50ng", "Exhibits/0003-photo.png"],
    ids=["exact", "case", "fullwidth-nfkc", "folder-case"],
)
def test_duplicate_names_are_refused(tmp_path: Path, duplicate: str) -> None:
    path = _hostile(tmp_path, [RawEntry(duplicate.encode(), b"a different photo", flags=0x800)])
    report = verify_bundle(path)
    assert not report.ok
    clashing = [p for p in report.problems if "appears more than once" in p.message]
    assert clashing and all(PHOTO_NAME in (p.file_or_part, p.message.split("'")[1]) for p in clashing)
    assert not any(p.message.startswith("SHA-256") for p in report.problems)  # neither copy was trusted
    with pytest.raises(BundleError, match="appears more than once"):
        extract_bundle(path, tmp_path / "target")


def test_file_and_folder_of_the_same_name_clash(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(b"dossier.pdf/inner.txt", b"x")])
    report = verify_bundle(path)
    assert any(p.file_or_part == "dossier.pdf/inner.txt" and "appears more than once" in p.message
               for p in report.problems)


def test_non_utf8_names_are_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry("exhibits/Ç.txt".encode("cp437"), b"x")])
    report = verify_bundle(path)
    assert any(p.file_or_part == "exhibits/\\x80.txt" and "not marked as UTF-8" in p.message
               for p in report.problems), report.problems
    with pytest.raises(BundleError):
        extract_bundle(path, tmp_path / "target")
    invalid = _hostile(tmp_path / "x", [RawEntry(b"exhibits/\xff\xfe.txt", b"x", flags=0x800)])
    with pytest.raises(BundleError, match=r"exhibits/\\xff\\xfe.txt.*not valid UTF-8"):
        verify_bundle(invalid)


def test_encrypted_and_unknown_compression_entries_are_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(b"exhibits/secret.bin", b"\x00" * 12 + b"data", flags=0x1),
                               RawEntry(b"exhibits/bz.bin", b"BZh9data", method=12, size=4)])
    report = verify_bundle(path)
    assert any(p.file_or_part == "exhibits/secret.bin" and "encrypted" in p.message for p in report.problems)
    assert any(p.file_or_part == "exhibits/bz.bin" and "compression method" in p.message for p in report.problems)


def test_declared_size_mismatch_is_named_without_reading(tmp_path: Path) -> None:
    """The photo's headers claim 3 GB (stored: both sizes); the manifest says a few kB."""
    def lie(member: RawEntry) -> RawEntry:
        if member.name == PHOTO_NAME.encode():
            member.size = 3 << 30
        return member

    built = build_bundle(tmp_path, as_zip=True)
    members = [lie(m) for m in zip_members(built.path)]
    path = tmp_path / "lying.zip"
    path.write_bytes(raw_zip(members))
    report = verify_bundle(path)
    assert any(p.file_or_part == PHOTO_NAME and "two sizes differ" in p.message for p in report.problems)


def test_deflated_entry_longer_than_declared_is_damaged_not_inflated(tmp_path: Path) -> None:
    """A 'small' entry whose stream inflates to 50 MB: reading stops at the declared size, CRC fails."""
    stream = deflate(bytes(50 << 20))
    path = _hostile(tmp_path, [RawEntry(b"exhibits/0003-photo.png", stream, method=8, size=3, crc=0)],
                    keep=lambda m: m.name != PHOTO_NAME.encode())
    report = verify_bundle(path)
    assert any(p.file_or_part == PHOTO_NAME for p in report.problems), report.problems


def _bomb(gigabytes: int = 1) -> tuple[bytes, int, int]:
    """A deflate stream of ``gigabytes`` GiB of zeros built from one repeated, byte-aligned block."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib = bytes(1 << 20)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    count = 1024 * gigabytes
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    return block * count + packer.flush(), count << 20, crc


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int, int]:
    return _bomb()


def test_zip_bomb_is_refused_in_bounded_memory(tmp_path: Path, bomb) -> None:
    data, size, crc = bomb
    assert size == 1 << 30 and len(data) < 2 << 20  # a real 1 GiB bomb of about 1 MB
    path = _hostile(tmp_path, [RawEntry(b"exhibits/bomb.bin", data, method=8, size=size, crc=crc)])
    tracemalloc.start()
    try:
        report = verify_bundle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    assert any(p.file_or_part == "exhibits/bomb.bin" and "decompression bomb" in p.message
               for p in report.problems)
    _assert_refused_everywhere(tmp_path, path, "exhibits/bomb.bin", "decompression bomb")


def test_zip_bomb_listed_in_a_forged_manifest_is_not_inflated(tmp_path: Path, bomb) -> None:
    """Even under the photo's own name and size claim, the bomb is refused before any byte is inflated."""
    data, size, crc = bomb
    path = _hostile(tmp_path, [RawEntry(PHOTO_NAME.encode(), data, method=8, size=size, crc=crc)],
                    keep=lambda m: m.name != PHOTO_NAME.encode())
    report = verify_bundle(path)
    assert any(p.file_or_part == PHOTO_NAME and "decompression bomb" in p.message for p in report.problems)


def test_extract_refuses_more_than_the_byte_budget(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    with pytest.raises(BundleError, match="would unpack to"):
        extract_bundle(built.path, tmp_path / "target", max_total_bytes=1000)
    assert not (tmp_path / "target").exists() or files_under(tmp_path / "target") == set()


def test_overlapping_entries_are_refused(tmp_path: Path) -> None:
    """Many central entries sharing one local entry's data: the overlapping zip-bomb construction."""
    entries = [RawEntry(b"exhibits/a.bin", deflate(bytes(100_000)), method=8, size=100_000,
                        crc=zlib.crc32(bytes(100_000)))]
    entries += [RawEntry(f"exhibits/b{i}.bin".encode(), entries[0].data, method=8, size=100_000,
                         crc=entries[0].crc, header_offset=0, local=False) for i in range(5)]
    path = tmp_path / "overlap.zip"
    path.write_bytes(raw_zip(entries))
    with pytest.raises(BundleError, match="crafted"):
        verify_bundle(path)
    with pytest.raises(BundleError):
        extract_bundle(path, tmp_path / "target")


def test_entry_whose_data_covers_the_next_entry_is_refused(tmp_path: Path) -> None:
    """Fifield-style overlap: entry a's compressed data claims to run over entry b's header and data."""
    entries = [RawEntry(b"a.bin", b"A" * 100, size=200, central_compress_size=200), RawEntry(b"b.bin", b"B" * 40)]
    path = tmp_path / "overlap.zip"
    path.write_bytes(raw_zip(entries))
    with pytest.raises(BundleError, match="share data"):
        verify_bundle(path)


def test_hundred_thousand_entries_are_refused_without_parsing_them(tmp_path: Path) -> None:
    entries = [RawEntry(f"exhibits/{i:06d}".encode()) for i in range(100_000)]
    path = tmp_path / "many.zip"
    path.write_bytes(raw_zip(entries))
    tracemalloc.start()
    try:
        with pytest.raises(BundleError, match="100,000 entries"):
            verify_bundle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20
    with pytest.raises(BundleError):
        extract_bundle(path, tmp_path / "target")


def test_entry_count_that_lies_is_refused(tmp_path: Path) -> None:
    entries = [RawEntry(f"e{i}".encode()) for i in range(25_000)]
    path = tmp_path / "lying-count.zip"
    path.write_bytes(raw_zip(entries, count=3))
    with pytest.raises(BundleError):
        verify_bundle(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all" * 100, b"PK\x05\x06" + b"\x00" * 10],
                         ids=["empty", "text", "truncated-eocd"])
def test_non_zip_files_raise_bundle_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    with pytest.raises(BundleError):
        verify_bundle(path)


def test_truncated_and_prefixed_zips_raise_bundle_error(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    data = built.path.read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    (tmp_path / "prefixed.zip").write_bytes(b"MZ" + bytes(500) + data)
    for name in ("cut.zip", "prefixed.zip"):
        with pytest.raises(BundleError):
            verify_bundle(tmp_path / name)


def test_split_archive_is_refused(tmp_path: Path) -> None:
    data = bytearray(raw_zip([RawEntry(b"a.txt", b"x")]))
    data[-18:-16] = (1).to_bytes(2, "little")  # "this is disk 1"
    (tmp_path / "split.zip").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="split"):
        verify_bundle(tmp_path / "split.zip")


# --- hostile folders ---------------------------------------------------------------------------------------


def test_folder_with_symlinks_and_special_files(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "photo.png").write_bytes((built.path / PHOTO_NAME).read_bytes())
    (built.path / PHOTO_NAME).unlink()
    os.symlink(outside / "photo.png", built.path / PHOTO_NAME)  # same content, via a link
    os.symlink(outside, built.path / "exhibits" / "linked-folder")
    os.mkfifo(built.path / "exhibits" / "pipe")
    report = verify_bundle(built.path)
    by_part = {p.file_or_part: p.message for p in report.problems}
    assert "symbolic link" in by_part[PHOTO_NAME]
    assert "symbolic link" in by_part["exhibits/linked-folder"]
    assert "special file" in by_part["exhibits/pipe"]
    assert not report.ok


def test_folder_with_non_utf8_and_case_duplicate_names(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    fd = os.open(os.fsencode(built.path / "exhibits") + b"/\xff\xfe.png", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    (built.path / "DOSSIER.pdf").write_bytes(b"other")
    report = verify_bundle(built.path)
    messages = {str(p) for p in report.problems}
    assert "exhibits/\\xff\\xfe.png: has a name that is not valid UTF-8" in messages
    assert any(DOSSIER_NAME in m and "clashes with" in m for m in messages)


def test_folder_with_too_many_entries(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"f{i}").write_bytes(b"")
    with pytest.raises(BundleError, match="more than 50 entries"):
        verify_bundle(folder, max_entries=50)


# --- fuzzing extraction ------------------------------------------------------------------------------------

_PIECES = st.sampled_from(["a", "B", "/", "\\", "..", ".", ":", "\x00", "é", "e\u0301", "~", "C:", " ",
                           "\u202e", "K", "k", "\u212a", "nul", "//", "ﬁ", "fi"])
_NAMES = st.one_of(st.lists(_PIECES, min_size=1, max_size=8).map("".join),
                   st.text(min_size=1, max_size=40))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(_NAMES, min_size=1, max_size=5), utf8_flag=st.booleans(),
       symlink=st.booleans())
def test_extract_never_writes_outside_target(names: list[str], utf8_flag: bool, symlink: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        jail = Path(scratch) / "jail"
        target = jail / "target"
        jail.mkdir()
        entries = [RawEntry(name.encode("utf-8", "surrogatepass"), b"content",
                            flags=0x800 if utf8_flag else 0,
                            external_attr=SYMLINK if symlink and i == 0 else 0o100644 << 16)
                   for i, name in enumerate(names)]
        path = Path(scratch) / "fuzz.zip"
        path.write_bytes(raw_zip(entries))
        try:
            written = extract_bundle(path, target)
        except BundleError:
            written = []
            assert files_under(target) == set() if target.exists() else True
        assert set(os.listdir(scratch)) == {"jail", "fuzz.zip"}
        assert set(os.listdir(jail)) <= {"target"}
        for found in target.rglob("*") if target.exists() else []:
            assert not found.is_symlink()
            assert found.resolve().is_relative_to(target.resolve())
        for item in written:
            assert unsafe_name_reason(item.relative_to(target).as_posix()) is None
            assert item.read_bytes() == b"content"


def test_reader_reports_problems_and_keeps_good_entries(tmp_path: Path) -> None:
    path = _hostile(tmp_path, [RawEntry(b"../evil", b"x")])
    with SafeZipReader(path) as archive:
        assert PHOTO_NAME in archive.files and "../evil" not in archive.files
        assert [p.file_or_part for p in archive.problems] == ["../evil"]


@pytest.fixture(scope="module")
def valid_zip_bytes(tmp_path_factory) -> bytes:
    return build_bundle(tmp_path_factory.mktemp("valid"), as_zip=True).path.read_bytes()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.floats(0.5, 1, exclude_max=True)))
def test_damaged_zip_never_crashes_the_verifier(valid_zip_bytes: bytes, flips, cut) -> None:
    """Random byte damage anywhere (headers, directory, data): a report or a BundleError, nothing else."""
    data = bytearray(valid_zip_bytes)
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "damaged.zip"
        path.write_bytes(bytes(data))
        try:
            report = verify_bundle(path)
        except BundleError:
            return
        assert report.ok == (not report.problems)
        assert set(os.listdir(scratch)) == {"damaged.zip"}
