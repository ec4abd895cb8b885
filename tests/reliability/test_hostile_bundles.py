"""Hostile bundles: structure-aware mutations of a real sealed bundle (path traversal, absolute paths,
links, duplicate names, huge declared sizes, zip bombs) plus random damage, through verify_bundle and
extract_bundle; and tampering after export (bundles and sealed PDFs), each detected and located."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import EvidenceVaultError
from app.export import bundle as layout
from app.export.bundle_verify import extract_bundle, verify_bundle
from app.export.pdf.seal import SealInvalid, validate_sealed_pdf
from tests.export.test_bundle_support import RawEntry, build_bundle, deflate, raw_zip, zip_members
from tests.reliability.figures import record
from tests.reliability.hostile import tree_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SCALE = float(os.environ.get("EVIDENCE_VAULT_FUZZ_SCALE", "1"))
SYMLINK = 0o120777 << 16
ATTACKS = ("traversal", "absolute", "backslash", "symlink", "duplicate", "case_duplicate", "huge_size",
           "bomb", "crc", "drive", "nul", "damage", "truncate")


@pytest.fixture(scope="module")
def valid_members(tmp_path_factory: pytest.TempPathFactory) -> list[RawEntry]:
    built = build_bundle(tmp_path_factory.mktemp("bundle"), as_zip=True)
    return zip_members(built.path)


def _attack(members: list[RawEntry], attack: str, pick: int, amount: int) -> bytes:
    entries = [RawEntry(m.name, m.data, flags=m.flags) for m in members]
    target = entries[pick % len(entries)]
    if attack == "traversal":
        target.name = b"../" * (1 + amount % 5) + target.name
    elif attack == "absolute":
        target.name = b"/tmp/" + target.name
    elif attack == "backslash":
        target.name = b"..\\..\\" + target.name
    elif attack == "drive":
        target.name = b"C:/" + target.name
    elif attack == "nul":
        target.name = target.name + b"\x00.txt"
    elif attack == "symlink":
        target.external_attr = SYMLINK
        target.data = b"/etc/passwd" if amount % 2 else b"../../outside"
    elif attack == "duplicate":
        entries.append(RawEntry(target.name, b"second copy", flags=target.flags))
    elif attack == "case_duplicate":
        entries.append(RawEntry(target.name.upper(), b"second copy", flags=target.flags))
    elif attack == "huge_size":
        target.size = 0xFFFFFFF0 - amount  # ~4 GiB declared for a few bytes stored
    elif attack == "bomb":
        zeros = deflate(b"\x00" * (8 << 20))
        entries.append(RawEntry(b"exhibits/bomb.bin", zeros, size=8 << 20, crc=zlib.crc32(b"\x00" * (8 << 20)),
                                method=8, flags=0x800))
    elif attack == "crc":
        target.crc = (zlib.crc32(target.data) + 1 + amount) & 0xFFFFFFFF
    data = raw_zip(entries)
    if attack == "damage":
        buffer = bytearray(data)
        for i in range(1 + amount % 8):
            buffer[(pick * 7919 + i * 104729) % len(buffer)] ^= 1 + (amount + i) % 255
        data = bytes(buffer)
    elif attack == "truncate":
        data = data[: (pick * 7919) % len(data)]
    return data


@settings(max_examples=max(1, int(160 * SCALE)), deadline=None, database=None,
          derandomize=os.environ.get("EVIDENCE_VAULT_FUZZ_RANDOM") != "1",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(attacks=st.lists(st.sampled_from(ATTACKS), min_size=1, max_size=3), pick=st.integers(0, 10_000),
       amount=st.integers(0, 10_000))
def test_hostile_bundle_zip(valid_members: list[RawEntry], attacks: list[str], pick: int, amount: int) -> None:
    data = raw_zip(valid_members)
    members = valid_members
    for attack in attacks:
        data = _attack(members, attack, pick, amount)
        try:
            members = zip_members_from_bytes(data)
        except Exception:
            break
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        sentinel = root / "sentinel"
        sentinel.mkdir()
        (sentinel / "keep.txt").write_text("sentinel")
        before = tree_snapshot(sentinel)
        path = root / "hostile.zip"
        path.write_bytes(data)
        try:
            report = verify_bundle(path)
            assert report.ok == (not report.problems)
            if set(attacks) & {"traversal", "absolute", "symlink", "duplicate", "case_duplicate", "huge_size",
                               "bomb", "crc", "drive", "nul", "backslash"}:
                assert not report.ok, f"{attacks}: a hostile bundle was reported as valid"
            for problem in report.problems:
                assert problem.file_or_part and problem.message  # located
        except EvidenceVaultError as exc:
            assert exc.user_message()
        target = root / "extract"
        try:
            written = extract_bundle(path, target, max_total_bytes=64 << 20)
            for item in written:
                assert item.resolve().is_relative_to(target.resolve()) and not item.is_symlink()
        except EvidenceVaultError as exc:
            assert exc.user_message()
            assert not target.exists() or not any(target.iterdir()), "partial extraction left behind"
        assert tree_snapshot(sentinel) == before
        assert set(os.listdir(root)) <= {"sentinel", "hostile.zip", "extract"}
        for found in root.rglob("*"):
            assert not found.is_symlink(), found
    record("fuzz inputs: bundles (verify_bundle + extract_bundle)", 1)


def zip_members_from_bytes(data: bytes) -> list[RawEntry]:
    import zipfile

    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            members.append(RawEntry(info.filename.encode("utf-8"), archive.read(info), flags=0x800))
    return members


# -- tampering after export ---------------------------------------------------------------------

@pytest.mark.parametrize("as_zip", [False, True])
def test_bundle_tampering_is_detected_and_located(tmp_path: Path, as_zip: bool) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    assert verify_bundle(built.path).ok
    cases = {
        "exhibit byte changed": ("exhibits/0003-photo.png", lambda p: _flip(p, 40)),
        "dossier replaced": ("dossier.pdf", lambda p: p.write_bytes(p.read_bytes() + b"%appended\n")),
        "event edited": (layout.EVENTS, lambda p: p.write_bytes(p.read_bytes().replace(b"investigator-7",
                                                                                        b"investigator-8", 1))),
        "event removed": (layout.EVENTS, lambda p: p.write_bytes(b"".join(p.read_bytes().splitlines(True)[1:]))),
        "checkpoint edited": (layout.CHECKPOINT, lambda p: _flip(p, 60)),
        "manifest edited": (layout.MANIFEST, lambda p: p.write_bytes(p.read_bytes().replace(b'"court"', b'"media"'))),
        "signature damaged": (layout.SIGNATURE, lambda p: _flip(p, 3)),
        "file deleted": ("exhibits/0003-photo.png", lambda p: p.unlink()),
        "file added": ("exhibits/extra.txt", lambda p: p.write_text("planted")),
        "proof edited": (layout.PROOFS, lambda p: _flip(p, len(p.read_bytes()) // 2)),
    }
    for name, (member, change) in cases.items():
        copy = tmp_path / f"copy-{len(name)}-{abs(hash(name)) % 10**6}"
        shutil.copytree(built.path, copy)
        change(copy / member)
        target = copy
        if as_zip:
            target = tmp_path / f"{copy.name}.zip"
            entries = [RawEntry(str(p.relative_to(copy)).encode(), p.read_bytes(), flags=0x800)
                       for p in sorted(copy.rglob("*")) if p.is_file()]
            target.write_bytes(raw_zip(entries))
        report = verify_bundle(target)
        assert not report.ok, f"{name}: not detected"
        where = {p.file_or_part for p in report.problems}
        assert any(member in w or w in member for w in where) or name in ("event removed", "proof edited",
                                                                           "checkpoint edited", "event edited"), \
            f"{name}: problems {where} do not name {member}"
        record("tampering cases detected (bundles)", 1)


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[min(offset, len(data) - 1)] ^= 0x20
    path.write_bytes(bytes(data))


def test_sealed_pdf_tampering_is_detected(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    from app.export.pdf.seal import seal_pdf
    from app.vault import keys

    identity = keys.new_seal_identity("Tamper test")
    plain = io.BytesIO()
    page = canvas.Canvas(plain, invariant=True)
    page.drawString(72, 720, "Exhibit EV-000001: statement of witness W-03")
    page.save()
    sealed = io.BytesIO()
    seal_pdf(io.BytesIO(plain.getvalue()), sealed, key_pem=identity.key_pem, cert_pem=identity.cert_pem,
             reason="test", location="test", name="Tamper test")
    data = sealed.getvalue()
    assert validate_sealed_pdf(io.BytesIO(data), cert_pem=identity.cert_pem).ok
    at = data.find(b"W-03")
    assert at > 0 or b"/Contents" in data
    variants = {
        "byte inside the signed range changed": data[:200] + bytes([data[200] ^ 0x01]) + data[201:],
        "incremental update appended": data + b"\n1 0 obj\n<< /Tampered true >>\nendobj\n%%EOF\n",
        "truncated": data[: len(data) // 2],
        "other certificate": None,
    }
    other = keys.new_seal_identity("Someone else")
    for name, variant in variants.items():
        with pytest.raises(SealInvalid):
            if variant is None:
                validate_sealed_pdf(io.BytesIO(data), cert_pem=other.cert_pem)
            else:
                validate_sealed_pdf(io.BytesIO(variant), cert_pem=identity.cert_pem)
        record("tampering cases detected (sealed PDF)", 1)
        print(f"sealed PDF: {name}: detected")


def test_hostile_folder_bundles(tmp_path: Path) -> None:
    """Folder bundles with a link out of the folder, a FIFO (a read would block forever), a hard link to
    an outside file and a link loop: each named as a problem, nothing outside read or changed."""
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    secret = sentinel / "outside.txt"
    secret.write_text("outside the bundle")
    before = tree_snapshot(sentinel)
    built = build_bundle(tmp_path, as_zip=False)

    def link_out(p: Path) -> None:
        p.unlink()
        p.symlink_to(secret)

    def fifo(p: Path) -> None:
        p.unlink()
        os.mkfifo(p)

    def hard_link(p: Path) -> None:
        p.unlink()
        os.link(secret, p)

    def loop(p: Path) -> None:
        (p.parent / "loop").symlink_to(p.parent / "loop")

    def folder_link(p: Path) -> None:
        shutil.rmtree(p.parent)
        p.parent.symlink_to(sentinel, target_is_directory=True)

    for name, change in (("symlink out", link_out), ("fifo", fifo), ("hard link", hard_link),
                         ("link loop", loop), ("folder link", folder_link)):
        copy = tmp_path / f"copy-{name.replace(' ', '-')}"
        shutil.copytree(built.path, copy, symlinks=True)
        change(copy / "exhibits" / "0003-photo.png")
        try:
            report = verify_bundle(copy)
            assert not report.ok, f"{name}: not detected"
            assert all(p.file_or_part and p.message for p in report.problems)
        except EvidenceVaultError as exc:
            assert exc.user_message()
        record("fuzz inputs: bundles (verify_bundle + extract_bundle)", 1)
    assert tree_snapshot(sentinel) == before
