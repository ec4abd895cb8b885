"""Packages and receipts anyone can make (hq-public.pem is handed out) that try to crash, exhaust or hang
headquarters: a deeply nested manifest, a huge manifest, a named pipe instead of a file.  Each is refused
with a sentence, quickly; the manifest limit is also enforced by the writer, before anything is recorded."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from app.transfer import actions, container, package
from app.transfer.errors import TransferError
from app.transfer.identity import HqIdentity
from app.transfer.manifest import MAX_MANIFEST, TRAILER_MAGIC
from app.transfer.package import open_transfer, write_transfer
from app.transfer.receipt import read_receipt
from tests.hangs import finishes
from tests.transfer.conftest import Field

DEEP = b"[" * 100_000 + b"]" * 100_000


def _forged(path: Path, hq: HqIdentity, manifest: Iterable[bytes], length: int) -> Path:
    """A package as make_hostile_package.py built it: encrypted to HQ's public key, a fake signature."""
    with open(path, "wb") as out:
        writer = container.EncryptingWriter(out, hq.public().encryption_key, hq.key_id())
        for chunk in manifest:
            writer.write(chunk)
        writer.write(b"\0" * 64)
        writer.write(struct.pack(">Q", length) + TRAILER_MAGIC)
        writer.finish()
    return path


def test_a_deeply_nested_manifest_is_refused_not_a_crash(tmp_path: Path, hq: HqIdentity) -> None:
    forged = _forged(tmp_path / "deep.evt", hq, [DEEP], len(DEEP))
    with pytest.raises(TransferError, match="nested far too deeply"):
        open_transfer(forged, hq)


def test_a_manifest_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, hq: HqIdentity,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    body = [b"["] + [b"0," * (1 << 20)] * (MAX_MANIFEST // (2 << 20)) + [b"0]"]  # "[0,0,...,0]", 64 MiB + 3
    length = sum(map(len, body))
    assert length > MAX_MANIFEST
    forged = _forged(tmp_path / "huge.evt", hq, body, length)
    parsed: list[int] = []
    monkeypatch.setattr(package.TransferManifest, "from_json", lambda data: parsed.append(len(data)))
    started = time.monotonic()
    with pytest.raises(TransferError, match=r"64 MB this program reads"):
        open_transfer(forged, hq)
    assert parsed == [] and time.monotonic() - started < 10  # not read, let alone parsed


def test_a_named_pipe_is_refused_without_waiting(tmp_path: Path, hq: HqIdentity) -> None:
    fifo = tmp_path / "package.evt"
    os.mkfifo(fifo)
    with pytest.raises(TransferError, match="named pipe"):
        finishes(lambda: open_transfer(fifo, hq), fifo=fifo)


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: None])
def test_a_folder_or_a_missing_file_is_a_sentence(tmp_path: Path, hq: HqIdentity,
                                                  make: Callable[[Path], None]) -> None:
    target = tmp_path / "package.evt"
    make(target)
    with pytest.raises(TransferError, match=r"folder|does not exist"):
        open_transfer(target, hq)


def test_a_deeply_nested_receipt_is_refused(hq: HqIdentity) -> None:
    with pytest.raises(TransferError, match="nested far too deeply"):
        read_receipt(DEEP, hq.public())


def test_the_writer_refuses_a_manifest_over_the_limit_before_recording(field: Field, hq: HqIdentity,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "MAX_MANIFEST", 20_000)
    events = len(field.vault.events())
    out = field.folder / "case.evt"
    with pytest.raises(TransferError, match="Nothing was written or recorded"):
        write_transfer(field.vault, case_id=field.case_id, item_ids=None, recipient=hq.public(), out_path=out)
    assert len(field.vault.events()) == events
    assert not out.exists() and not list(field.folder.glob("*.partial"))


def test_the_writer_never_sends_a_manifest_headquarters_would_refuse(field: Field, hq: HqIdentity,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the estimate ever be too low, the manifest itself is measured before it is written."""
    monkeypatch.setattr(package, "MAX_MANIFEST", 2_000)  # the field's manifest is larger
    monkeypatch.setattr(package, "_check_manifest_fits", lambda *args: None)
    out = field.folder / "case.evt"
    with pytest.raises(TransferError, match="attempt is recorded"):
        write_transfer(field.vault, case_id=field.case_id, item_ids=None, recipient=hq.public(), out_path=out)
    assert not out.exists() and not list(field.folder.glob(".*.partial"))
    assert [e for e in field.vault.events() if actions.is_action(e, actions.TRANSFERRED)]


def test_a_package_within_the_limit_is_written_as_before(field: Field, hq: HqIdentity) -> None:
    out = field.folder / "case.evt"
    write_transfer(field.vault, case_id=field.case_id, item_ids=None, recipient=hq.public(), out_path=out)
    with open_transfer(out, hq) as opened:
        assert opened.verify() == []
        assert len(opened.manifest_bytes) < MAX_MANIFEST
