"""``hq import`` against real packages from real field vaults and a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.hq import query
from app.hq.archive import import_package
from app.hq.headquarters import Headquarters
from app.hq.verify import verify_archive
from app.transfer.errors import ForkError, TransferError
from app.transfer.identity import generate_hq_identity
from app.transfer.receipt import read_receipt
from app.transfer.witness import find_cosignature
from app.vault.checkpoint import parse_checkpoint
from tests.hq.fieldkit import add_text, field_vault, transfer
from tests.vault.vaultkit import speed_up


@pytest.fixture(autouse=True)
def _fast_vaults(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


def _counts(hq: Headquarters) -> dict[str, int]:
    tables = ("blobs", "blob_chunks", "items", "packages", "field_events", "persons", "consents", "cases")
    return {t: int(hq.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


def test_import_stores_everything_and_writes_a_receipt(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field", texts=("ពាក្យសាក្សី statement", "คำให้การ second", "证人陈述"))
    try:
        package = transfer(vault, case_id, hq.public(), tmp_path / "case.evt")
    finally:
        vault.close()
    result = import_package(hq, package, actor="archivist")
    assert (result.items, result.new_originals, result.duplicate_originals) == (3, 3, 0)
    assert result.first_sight
    counts = _counts(hq)
    assert counts["items"] == 3 and counts["blobs"] == 3 and counts["packages"] == 1
    field_size = parse_checkpoint(result.cosigned_checkpoint).tree_size
    assert counts["field_events"] == field_size and counts["persons"] == 1 and counts["consents"] == 1
    receipt = read_receipt(result.receipt_path.read_bytes(), hq.public())  # type: ignore[union-attr]
    assert receipt.package_id == result.package_id
    assert find_cosignature(receipt.cosigned_checkpoint, hq.identity.signing_key.public_key(), hq.name) > 0
    # A protected person's name is encrypted at rest: it appears nowhere in the database in clear.
    dump = b"".join(bytes(r[0]) for r in hq.conn.execute("SELECT record FROM persons"))
    assert "Nguyễn".encode() not in dump
    hits = hq.conn.execute("SELECT count(*) FROM items WHERE search_text LIKE '%Nguyễn%'").fetchone()
    assert hits == (0,)


def test_second_package_never_duplicates_an_original(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field", texts=("same bytes in both",))
    try:
        first = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
        add_text(vault, case_id, tmp_path / "field" / "new.txt", "a new statement")
        second = import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "two.evt"), actor="a")
    finally:
        vault.close()
    assert (first.new_originals, second.new_originals, second.duplicate_originals) == (1, 1, 1)
    assert _counts(hq)["blobs"] == 2 and _counts(hq)["items"] == 2
    # The second checkpoint was cosigned because it extends the first.
    sizes = [r[0] for r in hq.conn.execute("SELECT tree_size FROM witnessed_checkpoints ORDER BY id")]
    assert len(sizes) == 2 and sizes[0] < sizes[1]


def test_replayed_package_is_refused(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field")
    try:
        package = transfer(vault, case_id, hq.public(), tmp_path / "case.evt")
    finally:
        vault.close()
    import_package(hq, package, actor="a")
    before = _counts(hq)
    with pytest.raises(TransferError, match="already imported") as caught:
        import_package(hq, package, actor="a")
    assert _counts(hq) == before
    assert "evidence-vault hq receipt " in caught.value.user_message()  # a receipt lost after a kill


def test_package_for_another_hq_is_refused(hq: Headquarters, tmp_path: Path) -> None:
    other = generate_hq_identity("other.example.org")
    vault, case_id = field_vault(tmp_path / "field")
    try:
        package = transfer(vault, case_id, other.public(), tmp_path / "case.evt")
    finally:
        vault.close()
    before = _counts(hq)
    with pytest.raises(TransferError, match=r"(different|another) headquarters"):
        import_package(hq, package, actor="a")
    assert _counts(hq) == before


@pytest.mark.parametrize("where", [0.3, 0.99])
def test_tampered_package_is_refused(hq: Headquarters, tmp_path: Path, where: float) -> None:
    vault, case_id = field_vault(tmp_path / "field", texts=("x" * 300_000,))
    try:
        package = transfer(vault, case_id, hq.public(), tmp_path / "case.evt")
    finally:
        vault.close()
    data = bytearray(package.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    package.write_bytes(bytes(data))
    before = _counts(hq)
    with pytest.raises(TransferError) as caught:
        import_package(hq, package, actor="a")
    assert _counts(hq) == before
    assert "failed its check" in caught.value.user_message()
    assert "Ask the sender for a new copy" in caught.value.user_message()


def test_fork_is_refused_recorded_and_reported(hq: Headquarters, tmp_path: Path, passphrase: str) -> None:
    from app.vault.vault import Vault

    folder = tmp_path / "field"
    vault, case_id = field_vault(folder)
    try:
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "one.evt"), actor="a")
    finally:
        vault.close()
    # An insider keeps a copy of the vault, so two histories grow from one past.
    shutil.copyfile(folder / "field.vault", folder / "copy.vault")
    vault = Vault.open(folder / "field.vault", passphrase, actor="a")
    try:
        add_text(vault, case_id, folder / "honest.txt", "what really happened")
        import_package(hq, transfer(vault, case_id, hq.public(), tmp_path / "two.evt"), actor="a")
    finally:
        vault.close()
    rewritten = Vault.open(folder / "copy.vault", passphrase, actor="a")
    try:
        add_text(rewritten, case_id, folder / "forged.txt", "a rewritten story")
        add_text(rewritten, case_id, folder / "forged2.txt", "and more of it")
        forked = transfer(rewritten, case_id, hq.public(), tmp_path / "three.evt")
    finally:
        rewritten.close()
    before = _counts(hq)
    with pytest.raises(ForkError, match="fork"):
        import_package(hq, forked, actor="a")
    assert _counts(hq) == before  # nothing of the forked package is stored
    assert hq.conn.execute("SELECT count(*) FROM forks").fetchone() == (1,)
    assert hq.conn.execute("SELECT forked FROM field_vaults").fetchone() == (True,)
    actions = [r[0] for r in hq.conn.execute("SELECT convert_from(canonical, 'UTF8')::json->>'action' FROM hq_events")]
    assert actions[-1] == "fork_detected"
    # Reported by `hq list --vaults` and `hq verify` (which fails while a fork stands).
    assert [v.forks for v in query.list_vaults(hq)] == [1]
    report = verify_archive(hq)
    assert not report.ok and any("FORK" in p for p in report.problems) and report.forks == 1


def test_older_package_is_refused_after_a_newer_one(hq: Headquarters, tmp_path: Path) -> None:
    vault, case_id = field_vault(tmp_path / "field")
    try:
        old = transfer(vault, case_id, hq.public(), tmp_path / "old.evt")
        add_text(vault, case_id, tmp_path / "field" / "later.txt", "later statement")
        new = transfer(vault, case_id, hq.public(), tmp_path / "new.evt")
    finally:
        vault.close()
    import_package(hq, new, actor="a")
    before = _counts(hq)
    with pytest.raises(TransferError, match="older than one headquarters already accepted"):
        import_package(hq, old, actor="a")
    assert _counts(hq) == before
    assert hq.conn.execute("SELECT count(*) FROM forks").fetchone() == (0,)  # stale, not a fork


def test_concurrent_imports_store_a_shared_original_once(hq: Headquarters, tmp_path: Path,
                                                         hq_passphrase: str) -> None:
    import threading

    packages = []
    for name in ("north", "south"):  # two field vaults holding the same bytes
        vault, case_id = field_vault(tmp_path / name, texts=("the same photo bytes", f"only in {name}"))
        try:
            packages.append(transfer(vault, case_id, hq.public(), tmp_path / f"{name}.evt"))
        finally:
            vault.close()
    errors: list[BaseException] = []

    def run(package: Path) -> None:
        try:
            with Headquarters.open(hq.folder, hq_passphrase, conninfo=hq.conn.info.dsn) as other:
                import_package(other, package, actor="a")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p,)) for p in packages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    counts = _counts(hq)
    assert (counts["packages"], counts["items"], counts["blobs"]) == (2, 4, 3)
    assert verify_archive(hq).ok


def test_receipt_that_cannot_be_written_is_kept_in_the_archive(hq: Headquarters, tmp_path: Path) -> None:
    """The import commits first; a receipt file that cannot be written (full disk, missing folder) is
    reported and can be written again from the database."""
    from app.hq.archive import stored_receipt

    vault, case_id = field_vault(tmp_path / "field")
    try:
        package = transfer(vault, case_id, hq.public(), tmp_path / "case.evt")
    finally:
        vault.close()
    result = import_package(hq, package, actor="a", receipt_out=tmp_path / "no such folder" / "r.receipt")
    assert result.receipt_path is None and _counts(hq)["packages"] == 1
    assert stored_receipt(hq, result.package_id) == result.receipt
    assert read_receipt(result.receipt, hq.public()).package_id == result.package_id
