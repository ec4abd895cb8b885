"""Importing files that are already stored adds nothing (tracker #15), in a real SQLCipher vault:
an import interrupted and started again over the same folder leaves one item per file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from app.errors import Cancelled
from app.progress import CancelToken
from app.vault import blobs
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, speed_up


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


@pytest.fixture
def vault(tmp_path: Path):
    v = Vault.create(tmp_path / "case.vault", TEST_PASSPHRASE, actor=ACTOR)
    yield v
    v.close()


def _counts(vault: Vault) -> tuple[int, int, int, int]:
    with vault._read() as conn:  # white-box: nothing may be written, not even rolled-back chunks
        items, chunks, blob_rows = (conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                                    for table in ("items", "chunks", "blobs"))
    return items, chunks, blob_rows, len(vault.events())


def _folder(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "phone"
    folder.mkdir()
    files = []
    for name, size in (("a.bin", 1000), ("b.bin", blobs.CHUNK_SIZE + 5), ("c.bin", 3 * blobs.CHUNK_SIZE)):
        path = folder / name
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


def test_import_resumed_after_an_interruption_adds_one_item_per_file(vault: Vault, tmp_path: Path) -> None:
    case = vault.add_case("Boat")
    files = _folder(tmp_path)
    token = CancelToken()

    def cancel_midway(done: int, total: int, _message: str) -> None:
        if 0 < done < total:
            token.cancel()

    first = [vault.ingest_file(path, case_id=case) for path in files[:2]]
    with pytest.raises(Cancelled):  # the import stops inside the third file
        vault.ingest_file(files[2], case_id=case, progress=cancel_midway, cancel=token)
    assert [r.already_stored for r in first] == [False, False]
    before = _counts(vault)
    assert before[0] == 2

    again = [vault.ingest_file(path, case_id=case) for path in files]  # the same folder, again
    assert [r.already_stored for r in again] == [True, True, False]
    assert [r.item_id for r in again[:2]] == [r.item_id for r in first]
    assert [r.duplicate_of for r in again] == [first[0].item_id, first[1].item_id, None]
    after = _counts(vault)
    assert after[0] == 3 and after[3] == before[3] + 1  # one new item, one item_ingested event

    once_more = [vault.ingest_file(path, case_id=case) for path in files]
    assert all(r.already_stored for r in once_more)
    assert [r.item_id for r in once_more] == [r.item_id for r in again]
    assert _counts(vault) == after  # no item, chunk, blob or event added
    assert [i.original_name for i in vault.list_items(case)] == ["a.bin", "b.bin", "c.bin"]
    assert vault.verify(record=False).ok


def test_already_stored_keeps_the_warnings_of_the_stored_item(vault: Vault, tmp_path: Path) -> None:
    damaged = tmp_path / "scene.jpg"
    damaged.write_bytes(b"\xff\xd8\xff not a real jpeg")
    first = vault.ingest_file(damaged)
    assert first.warnings
    again = vault.ingest_file(damaged)
    assert again.already_stored and again.item_id == first.item_id and again.warnings == first.warnings


def test_identical_bytes_as_a_different_record_still_make_an_item(vault: Vault, tmp_path: Path) -> None:
    """Same bytes under another name, in another case, as another kind, or after hiding the first:
    a deliberate new record, sharing the stored bytes."""
    case, other_case = vault.add_case("Boat"), vault.add_case("Camp")
    path = tmp_path / "statement.bin"
    path.write_bytes(os.urandom(5000))
    first = vault.ingest_file(path, case_id=case)
    renamed = tmp_path / "statement-copy.bin"
    renamed.write_bytes(path.read_bytes())
    results = [
        vault.ingest_file(renamed, case_id=case),
        vault.ingest_file(path, case_id=other_case),
        vault.ingest_file(path),
        vault.ingest_file(path, case_id=case, kind="interview"),
    ]
    assert [r.already_stored for r in results] == [False] * 4
    assert all(r.duplicate_of == first.item_id for r in results)
    assert len({first.item_id, *(r.item_id for r in results)}) == 5
    vault.set_item_hidden(first.item_id)
    after_hiding = vault.ingest_file(path, case_id=case)
    assert not after_hiding.already_stored
    assert after_hiding.item_id not in {first.item_id, *(r.item_id for r in results)}
    with vault._read() as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (1,)


def test_derivatives_with_the_same_bytes_are_recorded_each_time(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "photo.bin"
    path.write_bytes(os.urandom(3000))
    original = vault.ingest_file(path).item_id
    made = [vault.ingest_stream(io.BytesIO(b"redacted bytes"), name="photo (redacted).bin", kind="document",
                                derived_from=original, derivation={"method": "fill"}) for _ in range(2)]
    assert not any(r.already_stored for r in made) and made[0].item_id != made[1].item_id


def test_subtitle_files_are_transcripts(vault: Vault, tmp_path: Path) -> None:
    vtt = tmp_path / "talk.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n", encoding="utf-8")
    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n", encoding="utf-8")
    notes = tmp_path / "notes.qqq"
    notes.write_bytes(b"\x00\x01\x02")
    kinds = [vault.get_item(vault.ingest_file(p).item_id).kind for p in (vtt, srt, notes)]
    assert kinds == ["transcript", "transcript", "document"]
