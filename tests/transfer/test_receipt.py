"""Receipts from headquarters, imported into the real field vault that made the transfer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.transfer import actions
from app.transfer.errors import ForkError, TransferError
from app.transfer.identity import HqIdentity, generate_hq_identity
from app.transfer.package import open_transfer, write_transfer
from app.transfer.receipt import import_receipt, make_receipt, read_receipt
from app.transfer.witness import add_cosignature, cosign
from app.vault.events import utc_now
from tests.transfer.conftest import Field
from tests.vault.vaultkit import new_vault


def _receipt_for(field: Field, hq: HqIdentity, *, signer: HqIdentity | None = None) -> bytes:
    out = field.folder / f"case-{time.monotonic_ns()}.evt"
    write_transfer(field.vault, case_id=field.case_id, item_ids=None, recipient=hq.public(), out_path=out)
    with open_transfer(out, hq) as pkg:
        assert pkg.verify() == []
        manifest = pkg.manifest
    signer = signer or hq
    cosigned = add_cosignature(manifest.checkpoint, cosign(manifest.checkpoint, signer.signing_key, signer.name,
                                                           timestamp=int(time.time())))
    return make_receipt(signer, package_id=manifest.package_id, field_origin=manifest.field_origin,
                        cosigned_checkpoint=cosigned, item_hashes=manifest.item_hashes(), received_at=utc_now())


def _imports(field: Field) -> list[object]:
    return [e for e in field.vault.events() if actions.is_action(e, actions.RECEIPT_IMPORTED)]


def test_receipt_round_trip_and_import(field: Field, hq: HqIdentity) -> None:
    data = _receipt_for(field, hq)
    receipt = read_receipt(data, hq.public())
    assert receipt.hq_name == hq.name and receipt.field_origin == field.vault.origin
    imported = import_receipt(field.vault, data, hq.public())
    assert imported.package_id == receipt.package_id
    [event] = _imports(field)
    assert event.details["package_id"] == receipt.package_id  # type: ignore[attr-defined]
    assert "\u2014 hq.example.org " in event.details["cosigned_checkpoint"]  # type: ignore[attr-defined]
    assert field.vault.verify(record=False).ok


def test_received_checkpoint_travels_in_the_next_package(field: Field, hq: HqIdentity) -> None:
    data = _receipt_for(field, hq)
    import_receipt(field.vault, data, hq.public())
    out = field.folder / "second.evt"
    write_transfer(field.vault, case_id=field.case_id, item_ids=None, recipient=hq.public(), out_path=out)
    with open_transfer(out, hq) as pkg:
        assert any("\u2014 hq.example.org " in text for text in pkg.manifest.checkpoints)
        assert pkg.verify() == []


def test_replayed_receipt_is_refused(field: Field, hq: HqIdentity) -> None:
    data = _receipt_for(field, hq)
    import_receipt(field.vault, data, hq.public())
    before = len(field.vault.events())
    with pytest.raises(TransferError, match="already imported"):
        import_receipt(field.vault, data, hq.public())
    assert len(field.vault.events()) == before


def test_forged_receipt_is_refused(field: Field, hq: HqIdentity) -> None:
    impostor = generate_hq_identity(hq.name)
    data = _receipt_for(field, hq, signer=impostor)
    before = len(field.vault.events())
    with pytest.raises(TransferError, match=f"not signed by the headquarters key {hq.key_id()}"):
        import_receipt(field.vault, data, hq.public())
    record = json.loads(_receipt_for(field, hq))
    record["receipt"]["received_at"] = "2020-01-01T00:00:00.000000Z"
    with pytest.raises(TransferError, match="forged, altered"):
        import_receipt(field.vault, json.dumps(record).encode(), hq.public())
    assert len(field.vault.events()) == before + 2  # the second transfer and its checkpoint only
    assert _imports(field) == []


def test_receipt_for_another_vault_is_refused(field: Field, hq: HqIdentity, tmp_path: Path) -> None:
    data = _receipt_for(field, hq)
    other = new_vault(tmp_path, "other.vault")
    try:
        before = len(other.events())
        with pytest.raises(TransferError, match="for another field vault"):
            import_receipt(other, data, hq.public())
        assert len(other.events()) == before
    finally:
        other.close()


def test_receipt_for_an_unknown_package_is_refused(field: Field, hq: HqIdentity) -> None:
    checkpoint = field.vault.checkpoint()
    cosigned = add_cosignature(checkpoint, cosign(checkpoint, hq.signing_key, hq.name, timestamp=1))
    data = make_receipt(hq, package_id="ab" * 16, field_origin=field.vault.origin, cosigned_checkpoint=cosigned,
                        item_hashes=[], received_at=utc_now())
    with pytest.raises(TransferError, match="made no transfer with the package number"):
        import_receipt(field.vault, data, hq.public())


def test_receipt_missing_originals_is_refused(field: Field, hq: HqIdentity) -> None:
    record = json.loads(_receipt_for(field, hq))
    receipt = record["receipt"]
    data = make_receipt(hq, package_id=receipt["package_id"], field_origin=receipt["field_origin"],
                        cosigned_checkpoint=receipt["cosigned_checkpoint"], item_hashes=receipt["item_hashes"][1:],
                        received_at=receipt["received_at"])
    with pytest.raises(TransferError, match="not list exactly the originals"):
        import_receipt(field.vault, data, hq.public())
    assert _imports(field) == []


def test_cosigned_checkpoint_of_a_forked_log_is_refused(field: Field, hq: HqIdentity) -> None:
    from app.vault.checkpoint import sign_checkpoint

    record = json.loads(_receipt_for(field, hq))
    receipt = record["receipt"]
    size = len(field.vault.leaf_hashes()) - 1
    fork = sign_checkpoint(origin=field.vault.origin, tree_size=size, root=b"\x07" * 32, time=utc_now(),
                           key=field.vault.signing_key)
    cosigned = add_cosignature(fork, cosign(fork, hq.signing_key, hq.name, timestamp=1))
    data = make_receipt(hq, package_id=receipt["package_id"], field_origin=receipt["field_origin"],
                        cosigned_checkpoint=cosigned, item_hashes=receipt["item_hashes"],
                        received_at=receipt["received_at"])
    with pytest.raises(ForkError, match="fork was detected"):
        import_receipt(field.vault, data, hq.public())


def test_malformed_receipts(hq: HqIdentity) -> None:
    for data in (b"", b"not json", b"[]", b'{"receipt": {}, "signature": "x"}', b"\xff" * 10):
        with pytest.raises(TransferError, match=r"not a valid receipt|not signed"):
            read_receipt(data, hq.public())
