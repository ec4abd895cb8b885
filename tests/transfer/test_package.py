"""Writing and opening transfer packages from a real SQLCipher field vault with real media."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from app.errors import Cancelled, DiskFull, InvalidInput, NotFound
from app.progress import CancelToken
from app.transfer import actions, package
from app.transfer.errors import TransferError
from app.transfer.identity import HqIdentity, generate_hq_identity
from app.transfer.package import open_transfer, write_transfer
from app.vault.checkpoint import parse_checkpoint, verify_checkpoint
from app.vault.keys import load_public_key_pem
from app.vault.merkle import proof_from_hex, verify_consistency
from tests.transfer.conftest import Field
from tests.transfer.pkgkit import reseal


def _write(field: Field, hq: HqIdentity, name: str = "case.evt", **kwargs: Any) -> Path:
    out = field.folder / name
    options: dict[str, Any] = {"item_ids": None, **kwargs}
    write_transfer(field.vault, case_id=field.case_id, recipient=hq.public(), out_path=out, **options)
    return out


def _transfers(field: Field) -> list[Any]:
    return [e for e in field.vault.events() if actions.is_action(e, actions.TRANSFERRED)]


def test_round_trip_with_real_media(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq)
    with open_transfer(out, hq) as pkg:
        assert pkg.verify() == []
        manifest = pkg.manifest
        assert manifest.field_origin == field.vault.origin and manifest.field_key_id == field.vault.key_id
        assert manifest.recipient_key_id == hq.key_id()
        assert sorted(i["id"] for i in manifest.items) == field.item_ids
        for item_id in field.item_ids:
            item = field.vault.get_item(item_id)
            with field.vault.open_original(item_id) as stored, pkg.open_original(item.sha256) as sent:
                assert sent.read() == stored.read()
        assert [p["name"] for p in manifest.persons] == ["Nguyễn Văn An"]
        assert manifest.persons[0]["protected"] is True
        assert manifest.links == [{"item_id": field.item_ids[0], "person_id": field.person_id}]
        assert [c["scopes"] for c in manifest.consents] == [["court", "un"]]
        assert [n["text"] for n in manifest.notes] == ["recorded in the shelter"]
        assert manifest.case["title"] == "Compound K"
        assert field.other_item not in {i["id"] for i in manifest.items}
    data = out.read_bytes()
    assert "Nguyễn".encode() not in data and b"Compound K" not in data  # encrypted, names too


def test_transfer_event_precedes_and_is_covered_by_the_checkpoint(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq)
    with open_transfer(out, hq) as pkg:
        manifest = pkg.manifest
    [event] = _transfers(field)
    checkpoint = verify_checkpoint(manifest.checkpoint, load_public_key_pem(field.vault.public_key_pem()))
    assert event.seq < checkpoint.tree_size == len(manifest.events)
    assert event.details["package_id"] == manifest.package_id
    assert event.details["recipient_key_id"] == hq.key_id()
    assert event.details["item_ids"] == field.item_ids
    assert sorted(event.details["sha256s"]) == sorted(manifest.item_hashes())
    assert manifest.events[event.seq]["chain_hash"] == event.chain_hash()
    assert manifest.checkpoint.strip() == field.vault.checkpoints()[-1].strip()


def test_consistency_proofs_from_every_stored_checkpoint(field: Field, hq: HqIdentity) -> None:
    earlier = [t.strip() for t in field.vault.checkpoints()]
    assert len(earlier) == 2
    out = _write(field, hq)
    with open_transfer(out, hq) as pkg:
        manifest = pkg.manifest
    assert [t.strip() for t in manifest.checkpoints] == earlier
    new = parse_checkpoint(manifest.checkpoint)
    assert len(manifest.consistency) == 2
    for entry in manifest.consistency:
        old = parse_checkpoint(entry["checkpoint"])
        verify_consistency(old_size=old.tree_size, new_size=new.tree_size, old_root=old.root, new_root=new.root,
                           proof=proof_from_hex(entry["consistency_proof"]))


def test_selected_items_only(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq, item_ids=[field.item_ids[1]])
    with open_transfer(out, hq) as pkg:
        assert [i["id"] for i in pkg.manifest.items] == [field.item_ids[1]]
        assert pkg.manifest.persons == [] and pkg.verify() == []


def test_bad_selections_record_nothing(field: Field, hq: HqIdentity) -> None:
    before = len(field.vault.events())
    with pytest.raises(InvalidInput, match="does not belong to case"):
        _write(field, hq, item_ids=[field.other_item])
    with pytest.raises(NotFound, match="no item number 999"):
        _write(field, hq, item_ids=[999])
    with pytest.raises(NotFound, match="no case number 77"):
        write_transfer(field.vault, case_id=77, item_ids=None, recipient=hq.public(), out_path=field.folder / "x")
    empty = field.vault.add_case("Empty")
    with pytest.raises(InvalidInput, match="no items"):
        write_transfer(field.vault, case_id=empty, item_ids=None, recipient=hq.public(), out_path=field.folder / "x")
    assert len(field.vault.events()) == before + 1  # only the case_added of "Empty"
    assert not (field.folder / "case.evt").exists()


def test_existing_output_is_never_overwritten(field: Field, hq: HqIdentity) -> None:
    (field.folder / "case.evt").write_bytes(b"precious")
    with pytest.raises(InvalidInput, match="already exists"):
        _write(field, hq)
    assert (field.folder / "case.evt").read_bytes() == b"precious"
    assert _transfers(field) == []


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".partial") or n == "case.evt")


def test_cancel_leaves_no_file_and_no_event(field: Field, hq: HqIdentity) -> None:
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        token.cancel()

    with pytest.raises(Cancelled):
        _write(field, hq, progress=progress, cancel=token)
    assert _leftovers(field.folder) == []
    assert _transfers(field) == []


class _FullDisk:
    """A file that accepts ``room`` bytes, then fails as a full disk does."""

    def __init__(self, real: BinaryIO, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize("room", [10, 200_000])
def test_full_disk_leaves_no_partial_file(field: Field, hq: HqIdentity, monkeypatch: pytest.MonkeyPatch,
                                          room: int) -> None:
    real_open = package._open_exclusive
    monkeypatch.setattr(package, "_open_exclusive", lambda path: _FullDisk(real_open(path), room))
    with pytest.raises(DiskFull, match="disk is full"):
        _write(field, hq, chunk_size=4096)
    assert _leftovers(field.folder) == []
    assert _transfers(field) == []


def test_wrong_headquarters_key_names_the_intended_key(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq)
    other = generate_hq_identity("hq.other.org")
    with pytest.raises(TransferError) as caught:
        open_transfer(out, other)
    message = caught.value.user_message()
    assert "encrypted for a different headquarters key" in message and hq.key_id() in message


@pytest.mark.parametrize("fraction", [0.0005, 0.1, 0.5, 0.9, 0.9999])
def test_a_flipped_byte_anywhere_is_caught(field: Field, hq: HqIdentity, fraction: float) -> None:
    out = _write(field, hq, chunk_size=4096)
    data = bytearray(out.read_bytes())
    where = max(68, int(len(data) * fraction))
    data[where] ^= 0x20
    out.write_bytes(bytes(data))
    with pytest.raises(TransferError, match=r"failed its check|cut short|altered"), open_transfer(out, hq) as pkg:
        problems = pkg.verify()
        raise TransferError(" ".join(problems))


def test_truncated_and_extended_packages(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq, chunk_size=4096)
    data = out.read_bytes()
    out.write_bytes(data[:68 + 4112 * 3])
    with pytest.raises(TransferError, match="cut short"):
        open_transfer(out, hq)
    out.write_bytes(data + b"\x00" * 100)
    with pytest.raises(TransferError, match="added at its end"):
        open_transfer(out, hq)


def test_unsigned_manifest_change_is_refused(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq)
    forged = reseal(out, field.folder / "forged.evt", hq, generate_hq_identity("x.org").signing_key,
                    manifest=lambda m: m["items"][0].update(title="changed"))
    with pytest.raises(TransferError, match="not signed by the field vault it names"):
        open_transfer(forged, hq)


def _problems(field: Field, hq: HqIdentity, **changes: Any) -> list[str]:
    out = _write(field, hq)
    changed = reseal(out, field.folder / "changed.evt", hq, field.vault.signing_key, **changes)
    with open_transfer(changed, hq) as pkg:
        return pkg.verify()


def test_resealed_without_change_verifies(field: Field, hq: HqIdentity) -> None:
    assert _problems(field, hq) == []


def test_an_altered_event_is_found(field: Field, hq: HqIdentity) -> None:
    def change(m: dict[str, Any]) -> None:
        m["events"][3]["actor"] = "Someone else"

    assert any("does not match its recorded chain hash" in p for p in _problems(field, hq, manifest=change))


def test_a_rehashed_altered_event_breaks_the_chain(field: Field, hq: HqIdentity) -> None:
    from app.transfer.manifest import event_from_record

    def change(m: dict[str, Any]) -> None:
        body = {k: v for k, v in m["events"][3].items() if k != "chain_hash"}
        body["actor"] = "Someone else"
        m["events"][3] = {**body, "chain_hash": _chain(body)}
        event_from_record(m["events"][3])  # the altered event is valid on its own

    assert any("chain in this package is broken at event 4" in p for p in _problems(field, hq, manifest=change))


def _chain(body: dict[str, Any]) -> str:
    from app.vault.canonical import canonical_json
    from app.vault.events import Event

    return Event.from_canonical(canonical_json(body)).chain_hash()


def test_a_removed_event_is_found(field: Field, hq: HqIdentity) -> None:
    problems = _problems(field, hq, manifest=lambda m: m["events"].pop())
    assert any("its checkpoint covers" in p for p in problems)


def test_swapped_original_is_found(field: Field, hq: HqIdentity) -> None:
    def swap(blobs: list[bytes]) -> list[bytes]:
        return [bytes([blobs[0][0] ^ 1]) + blobs[0][1:], *blobs[1:]]

    problems = _problems(field, hq, originals=swap)
    assert any("does not match its recorded SHA-256" in p for p in problems)


def test_item_hash_changed_to_match_a_different_original_is_found(field: Field, hq: HqIdentity) -> None:
    def change(m: dict[str, Any]) -> None:
        m["items"][0]["sha256"] = "a" * 64

    problems = _problems(field, hq, manifest=change)
    assert any("no ingest record" in p for p in problems)


def test_broken_consistency_proof_is_found(field: Field, hq: HqIdentity) -> None:
    def change(m: dict[str, Any]) -> None:
        proof = m["consistency"][0]["consistency_proof"]
        proof[0] = "0" * 64

    problems = _problems(field, hq, manifest=change)
    assert any("Consistency proof 1" in p for p in problems)
    assert any("has no consistency proof" in p for p in problems)


def test_manifest_of_another_package_is_refused(field: Field, hq: HqIdentity) -> None:
    out = _write(field, hq)
    changed = reseal(out, field.folder / "changed.evt", hq, field.vault.signing_key,
                     manifest=lambda m: m.update(package_id="0" * 32))
    with pytest.raises(TransferError, match="assembled from parts of different packages"):
        open_transfer(changed, hq)


def test_item_of_another_case_is_found(field: Field, hq: HqIdentity) -> None:
    problems = _problems(field, hq, manifest=lambda m: m["items"][0].update(case_id=field.other_case))
    assert any("belongs to another case" in p for p in problems)
