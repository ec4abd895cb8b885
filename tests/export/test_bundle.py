"""Sealed bundles made from the real custody primitives: round trip, tamper detection, writer safety."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from app.errors import Cancelled, DiskFull, IntegrityError, InvalidInput
from app.export import bundle as layout
from app.export import bundle_sinks
from app.export.bundle import BundleFile, write_bundle
from app.export.bundle_verify import extract_bundle, verify_bundle
from app.progress import CancelToken
from app.vault import keys
from app.vault.canonical import canonical_json
from app.vault.checkpoint import sign_checkpoint
from tests.export.test_bundle_support import (
    DOSSIER_NAME,
    PHOTO_NAME,
    build_bundle,
    bundle_files,
    flip_byte,
    prepare_export,
    resign,
    sample_png,
    seal_cert_pem,
    standard_log,
)

ALL_FILES = [
    DOSSIER_NAME, PHOTO_NAME, layout.DOSSIER_MANIFEST, layout.EVENTS, layout.PROOFS, layout.CHECKPOINT,
    layout.CONSISTENCY, layout.PUBLIC_KEY,
    layout.SEAL_CERT, layout.INSTRUCTIONS, layout.SUMS, layout.MANIFEST, layout.SIGNATURE,
]


def parts(report) -> set[str]:
    return {p.file_or_part for p in report.problems}


# --- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_bundle_round_trip_verifies(tmp_path: Path, as_zip: bool) -> None:
    built = build_bundle(tmp_path, as_zip=as_zip)
    report = verify_bundle(built.path, expected_key_id=built.key_id)
    assert report.problems == []
    assert report.ok and report.key_trusted
    assert report.key_id == built.key_id
    assert report.files_checked == 11  # with dossier-manifest.json and custody/consistency.json
    assert report.events_checked == 6  # events 0, 1, 2, 3, 5 and the export's own 6 (item 9's 4 is not exported)
    assert report.tree_size == 7 and report.audience == "court" and report.level == "redacted"
    listed = [e.path for e in built.result.files]
    assert sorted([*listed, layout.MANIFEST, layout.SIGNATURE]) == sorted(ALL_FILES)
    assert list(tmp_path.iterdir()) == [built.path]  # no temporary files left beside it


def test_bundle_contents_follow_the_format(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    with zipfile.ZipFile(built.path) as archive:
        methods = {i.filename: i.compress_type for i in archive.infolist()}
        manifest_bytes = archive.read(layout.MANIFEST)
        signature = archive.read(layout.SIGNATURE)
        events = archive.read(layout.EVENTS).decode().splitlines()
    assert methods[PHOTO_NAME] == zipfile.ZIP_STORED and methods[DOSSIER_NAME] == zipfile.ZIP_STORED
    assert methods[layout.EVENTS] == zipfile.ZIP_DEFLATED and methods[layout.MANIFEST] == zipfile.ZIP_DEFLATED
    built.key.public_key().verify(signature, manifest_bytes)  # raw 64-byte Ed25519 over the exact bytes
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "evidence-vault-bundle" and manifest["format_version"] == 1
    assert manifest["vault_key_id"] == built.key_id and manifest["events"] == 6
    assert manifest["checkpoint"].startswith(f"evidence-vault/{built.key_id}\n7\n")
    assert [json.loads(line)["seq"] for line in events] == [0, 1, 2, 3, 5, 6]
    photo = next(e for e in manifest["files"] if e["path"] == PHOTO_NAME)
    assert photo == {"path": PHOTO_NAME, "sha256": built.result.files[1].sha256, "size": len(sample_png()),
                     "role": "exhibit", "item_id": 3}


def test_extracted_zip_bundle_verifies_as_folder(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    written = extract_bundle(built.path, tmp_path / "out")
    assert len(written) == 13
    assert verify_bundle(tmp_path / "out").ok


# --- tampering: one byte in each kind of file ---------------------------------------------------------


EXPECTED_PART = {
    DOSSIER_NAME: {DOSSIER_NAME},
    PHOTO_NAME: {PHOTO_NAME},
    layout.DOSSIER_MANIFEST: {layout.DOSSIER_MANIFEST},
    layout.EVENTS: {layout.EVENTS},
    layout.PROOFS: {layout.PROOFS},
    layout.CHECKPOINT: {layout.CHECKPOINT},
    layout.CONSISTENCY: {layout.CONSISTENCY},
    layout.PUBLIC_KEY: {layout.PUBLIC_KEY},
    layout.SEAL_CERT: {layout.SEAL_CERT},
    layout.INSTRUCTIONS: {layout.INSTRUCTIONS},
    layout.SUMS: {layout.SUMS},
    layout.MANIFEST: {layout.MANIFEST, layout.SIGNATURE},
    layout.SIGNATURE: {layout.SIGNATURE},
}


@pytest.mark.parametrize("name", ALL_FILES)
def test_flipped_byte_in_folder_bundle_is_named(tmp_path: Path, name: str) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    flip_byte(built.path / name)
    report = verify_bundle(built.path)
    assert not report.ok
    assert parts(report) & EXPECTED_PART[name], report.problems
    if name not in (layout.MANIFEST, layout.SIGNATURE):
        assert any(p.file_or_part == name and "SHA-256 does not match the manifest" in p.message
                   for p in report.problems)


@pytest.mark.parametrize("name", ALL_FILES)
def test_flipped_byte_inside_zip_is_named(tmp_path: Path, name: str) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    with zipfile.ZipFile(built.path) as archive:
        info = archive.getinfo(name)
    # The member's data starts after its 30-byte local header, name and extra field.
    raw = built.path.read_bytes()
    extra_len = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + len(name.encode()) + extra_len
    flip_byte(built.path, start + info.compress_size // 2)
    report = verify_bundle(built.path)
    assert not report.ok
    assert parts(report) & EXPECTED_PART[name], report.problems


def test_manifest_hash_edit_breaks_signature(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    manifest = (built.path / layout.MANIFEST).read_bytes()
    photo_hash = built.result.files[1].sha256
    changed = photo_hash[:10] + ("0" if photo_hash[10] != "0" else "1") + photo_hash[11:]
    (built.path / layout.MANIFEST).write_bytes(manifest.replace(photo_hash.encode(), changed.encode()))
    report = verify_bundle(built.path)
    messages = {str(p) for p in report.problems}
    assert f"{PHOTO_NAME}: SHA-256 does not match the manifest (the file was changed)" in messages
    assert any(p.file_or_part == layout.SIGNATURE and "does not match manifest.json" in p.message
               for p in report.problems)


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_removed_and_added_files_are_named(tmp_path: Path, as_zip: bool) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    (built.path / PHOTO_NAME).unlink()
    (built.path / "exhibits" / "0004-extra.png").write_bytes(sample_png())
    target = built.path
    if as_zip:
        target = tmp_path / "re.zip"
        with zipfile.ZipFile(target, "w") as archive:
            for path in sorted(built.path.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(built.path).as_posix())
    report = verify_bundle(target)
    messages = {str(p) for p in report.problems}
    assert f"{PHOTO_NAME}: is listed in the manifest but missing from the bundle" in messages
    assert "exhibits/0004-extra.png: is in the bundle but not listed in the manifest (it was added)" in messages


def _resigned_checkpoint(text: str, key) -> str:
    lines = text.split("\n")
    return sign_checkpoint(origin=f"evidence-vault/{keys.key_id(key)}", tree_size=int(lines[1]),
                           root=__import__("base64").b64decode(lines[2]), time="2026-11-25T10:00:00Z", key=key)


def test_swapped_key_and_signature_caught_only_with_expected_key(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    attacker = keys.new_signing_key()
    # The attacker re-signs the checkpoint and the consistency proofs' checkpoints (same log) with their key.
    (built.path / layout.CHECKPOINT).write_text(_resigned_checkpoint((built.path / layout.CHECKPOINT).read_text(),
                                                                     attacker))
    consistency = json.loads((built.path / layout.CONSISTENCY).read_bytes())
    for entry in consistency["proofs"]:
        entry["checkpoint"] = _resigned_checkpoint(entry["checkpoint"], attacker)
    (built.path / layout.CONSISTENCY).write_bytes(canonical_json(consistency))
    resign(built.path, attacker, set_key=True)
    alone = verify_bundle(built.path)
    assert alone.key_id == keys.key_id(attacker) and not alone.key_trusted
    # Only the checkpoint printed on the dossier (its manifest is bound by the export's own event, so it
    # cannot be re-signed without changing the log) still names the real key.
    assert [str(p) for p in alone.problems] == [
        f"{layout.DOSSIER_MANIFEST}: its checkpoint (the one printed on the dossier) is not signed by this "
        "bundle's vault key: the dossier comes from another vault, or the bundle was re-signed with another key"]
    expected = verify_bundle(built.path, expected_key_id=built.key_id)
    assert not expected.ok and not expected.key_trusted
    assert any(p.file_or_part == layout.PUBLIC_KEY and built.key_id in p.message for p in expected.problems)
    trusted = verify_bundle(built.path, trusted_public_key=built.key.public_key())
    assert not trusted.ok
    assert {layout.PUBLIC_KEY, layout.SIGNATURE, layout.CHECKPOINT} <= parts(trusted)


# --- custody checks behind a valid signature (an insider re-signing with the real key) -------------------


def test_altered_event_fails_its_inclusion_proof(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    lines = (built.path / layout.EVENTS).read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"actor":"investigator-7"', b'"actor":"investigator-8"')
    (built.path / layout.EVENTS).write_bytes(b"\n".join(lines))
    resign(built.path, built.key)
    report = verify_bundle(built.path)
    messages = [str(p) for p in report.problems]
    assert any("custody/proofs.json: the leaf hash for event 3" in m for m in messages), messages
    assert "custody/events.jsonl: event 5 does not follow" not in " ".join(messages)  # 3 and 5 not adjacent


def test_altered_proof_and_broken_chain_and_exhibit_are_named(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    proofs = json.loads((built.path / layout.PROOFS).read_bytes())
    proofs["proofs"][2]["inclusion_proof"][0] = "ab" * 32
    (built.path / layout.PROOFS).write_bytes(canonical_json(proofs))
    (built.path / PHOTO_NAME).write_bytes(sample_png() + b"appended")
    resign(built.path, built.key)
    report = verify_bundle(built.path)
    messages = {str(p) for p in report.problems}
    assert ("custody/proofs.json: the inclusion proof for event 2 does not lead to the checkpoint root "
            "(the event or the proof was changed)") in messages
    assert f"{PHOTO_NAME}: no custody event records item 3 with this SHA-256" in messages
    assert report.events_checked == 5


def test_checkpoint_text_edit_fails_checkpoint_signature(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    text = (built.path / layout.CHECKPOINT).read_text()
    (built.path / layout.CHECKPOINT).write_text(text.replace("\n7\n", "\n8\n", 1))
    resign(built.path, built.key)
    report = verify_bundle(built.path)
    assert any(p.file_or_part == layout.CHECKPOINT and "signature is not valid" in p.message
               for p in report.problems), report.problems


def test_unlisted_key_means_the_signature_cannot_pass(tmp_path: Path) -> None:
    """A manifest (re-signed) that drops the key from its list: nothing may silently skip the signature."""
    built = build_bundle(tmp_path, as_zip=False)
    manifest = json.loads((built.path / layout.MANIFEST).read_bytes())
    manifest["files"] = [e for e in manifest["files"] if e["path"] != layout.PUBLIC_KEY]
    (built.path / layout.MANIFEST).write_bytes(canonical_json(manifest))
    (built.path / layout.PUBLIC_KEY).unlink()
    resign(built.path, built.key)
    report = verify_bundle(built.path)
    messages = {str(p) for p in report.problems}
    assert "manifest.json: does not list keys/vault-ed25519.pem as 'public-key', so the bundle cannot be " \
        "fully checked" in messages
    assert "manifest.json.sig: cannot be checked: the bundle has no valid vault public key" in messages
    assert not report.ok


def test_byte_budget_stops_reading(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    report = verify_bundle(built.path, max_total_bytes=1000)
    assert not report.ok
    assert any("larger than this check may read" in p.message for p in report.problems)


# --- the writer ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, *, as_zip: bool = True, files=None, log=None, checkpoint=None, **kwargs):
    log = log or standard_log()
    made = prepare_export(log, files)
    return write_bundle(
        out=tmp_path / ("b.zip" if as_zip else "b"), as_zip=as_zip, files=made.files, events=made.events,
        leaf_hashes=log.leaves, checkpoint_text=checkpoint or made.checkpoint, signing_key=log.key,
        seal_cert_pem=seal_cert_pem(), audience="court", level="redacted", earlier_checkpoints=made.earlier,
        **kwargs,
    )


def test_checkpoint_must_cover_included_events(tmp_path: Path) -> None:
    log = standard_log()
    with pytest.raises(InvalidInput, match="Make a new checkpoint"):
        _write(tmp_path, log=log, checkpoint=log.checkpoint(size=5))  # event 5 is included
    assert list(tmp_path.iterdir()) == []


def test_exhibit_must_match_its_ingest_event(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="does not match the ingest record of item 3"):
        _write(tmp_path, files=bundle_files(png=sample_png() + b"x"))
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_from_another_key_is_refused(tmp_path: Path) -> None:
    other = standard_log()
    with pytest.raises(IntegrityError):
        _write(tmp_path, checkpoint=other.checkpoint())


@pytest.mark.parametrize("name", ["../x.png", "/x.png", "a\\b.png", "manifest.json", "keys/extra.pem",
                                  "C:x.png", "exhibits/CON.png", "Dossier.PDF"])
def test_unsafe_or_reserved_arcnames_are_refused(tmp_path: Path, name: str) -> None:
    files = [*bundle_files(), BundleFile(name, lambda: io.BytesIO(b"x"), None, "attachment")]
    with pytest.raises(InvalidInput):
        _write(tmp_path, files=files)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "b.zip").write_bytes(b"precious")
    with pytest.raises(InvalidInput, match="already exists"):
        _write(tmp_path)
    assert (tmp_path / "b.zip").read_bytes() == b"precious"


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_cancel_leaves_nothing(tmp_path: Path, as_zip: bool) -> None:
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if done == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        _write(tmp_path, as_zip=as_zip, progress=progress, cancel=token)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_full_disk_raises_diskfull_and_leaves_nothing(tmp_path: Path, monkeypatch, as_zip: bool) -> None:
    real_open = bundle_sinks.open_exclusive
    budget = {"left": 3000}

    class FillingFile(io.RawIOBase):
        """A real file on disk whose device 'fills up' after a few kilobytes (ENOSPC from write)."""

        def __init__(self, path: Path) -> None:
            self.inner = real_open(path)

        def writable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def write(self, data) -> int:
            budget["left"] -= len(data)
            if budget["left"] < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.inner.write(data)

        def seek(self, *args) -> int:
            return self.inner.seek(*args)

        def tell(self) -> int:
            return self.inner.tell()

        def flush(self) -> None:
            self.inner.flush()

        def fileno(self) -> int:
            return self.inner.fileno()

        def close(self) -> None:
            if not self.closed:
                super().close()
                self.inner.close()

    monkeypatch.setattr(bundle_sinks, "open_exclusive", FillingFile)
    with pytest.raises(DiskFull):
        _write(tmp_path, as_zip=as_zip)
    assert list(tmp_path.iterdir()) == []


def test_file_size_limit_of_the_drive_is_reported_and_cleaned_up(tmp_path: Path) -> None:
    """A real EFBIG (as on FAT32) from RLIMIT_FSIZE in a child process: DiskFull, no partial output."""
    script = textwrap.dedent(f"""
        import io, resource, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from app.errors import DiskFull
        from app.export.bundle import BundleFile
        from tests.export.test_bundle import _write
        from tests.export.test_bundle_support import bundle_files
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        big = BundleFile("exhibits/big.bin", lambda: io.BytesIO(bytes(300_000)), None, "attachment")
        try:
            _write(Path({str(tmp_path)!r}), files=[*bundle_files(), big])
        except DiskFull as error:
            print("DiskFull:", error.user_message())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "DiskFull: The bundle is too large for this drive's file system" in result.stdout, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_large_exhibit_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    size = 64 << 20

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    big = BundleFile("exhibits/big.bin", Zeros, None, "attachment")
    tracemalloc.start()
    try:
        result = _write(tmp_path, files=[*bundle_files(), big])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak
    assert next(e for e in result.files if e.path == "exhibits/big.bin").size == size
    assert verify_bundle(result.path).ok
    assert os.path.getsize(result.path) > size  # stored, not deflated


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_non_latin_file_names_round_trip(tmp_path: Path, as_zip: bool) -> None:
    names = ["exhibits/0005-រូបថត.png", "exhibits/0006-ภาพถ่าย.png", "exhibits/0007-照片.png"]
    extra = [BundleFile(name, lambda: io.BytesIO(sample_png()), None, "attachment") for name in names]
    result = _write(tmp_path, as_zip=as_zip, files=[*bundle_files(), *extra])
    report = verify_bundle(result.path)
    assert report.ok, report.problems
    if as_zip:
        with zipfile.ZipFile(result.path) as archive:
            assert set(names) <= set(archive.namelist())
        extract_bundle(result.path, tmp_path / "x")
    folder = tmp_path / "x" if as_zip else result.path
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0 and "0005-រូបថត.png: OK" in check.stdout


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (layout.EVENTS, b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        (layout.PROOFS, b"[" * 100_000 + b"]" * 100_000),
        (layout.PROOFS, b'{"format":"evidence-vault-inclusion-proofs","proofs":[{"seq":[1]}],"root":"","tree_size":6}'),
        (layout.EVENTS, b'{"v":1}\n'),
        (layout.CHECKPOINT, b"\xff\xfe not text"),
        (layout.SEAL_CERT, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        (layout.PUBLIC_KEY, keys.new_seal_identity("x").cert_pem),
    ],
    ids=["deep-events", "deep-proofs", "odd-proof-seq", "bad-event", "binary-checkpoint", "bad-cert", "rsa-cert"],
)
def test_hostile_content_behind_a_valid_signature_is_reported(tmp_path: Path, name: str, content: bytes) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    (built.path / name).write_bytes(content)
    resign(built.path, built.key)
    report = verify_bundle(built.path)
    assert not report.ok
    assert name in parts(report), report.problems


def test_deeply_nested_signed_manifest_is_reported(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    deep = b"[" * 100_000 + b"]" * 100_000
    (built.path / layout.MANIFEST).write_bytes(deep)
    (built.path / layout.SIGNATURE).write_bytes(built.key.sign(deep))
    report = verify_bundle(built.path)
    assert "manifest.json: is not valid canonical JSON (it was changed or damaged)" in {str(p) for p in report.problems}


def test_pathologically_compressible_text_exhibit_still_verifies(tmp_path: Path) -> None:
    """2 MiB of spaces would deflate ~1000:1, beyond the verifier's bomb limit: the writer stores it."""
    padded = BundleFile("exhibits/0008-transcript.txt", lambda: io.BytesIO(b" " * (2 << 20)), None, "transcript")
    small = BundleFile("exhibits/0009-notes.txt", lambda: io.BytesIO(b"note " * 1000), None, "transcript")
    result = _write(tmp_path, files=[*bundle_files(), padded, small])
    with zipfile.ZipFile(result.path) as archive:
        assert archive.getinfo("exhibits/0008-transcript.txt").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("exhibits/0009-notes.txt").compress_type == zipfile.ZIP_DEFLATED
    assert verify_bundle(result.path).ok
