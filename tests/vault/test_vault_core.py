"""The vault service against real SQLCipher files: create, open, errors, ingest, read back."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import (
    Cancelled,
    InvalidInput,
    NotAVault,
    NotFound,
    VaultExists,
    VaultInUse,
    VaultNotFound,
    WeakPassphrase,
    WrongPassphrase,
)
from app.progress import CancelToken
from app.vault import blobs, db
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, raw_connect, sha256_file, speed_up


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)


@pytest.fixture
def vault(tmp_path: Path):
    v = Vault.create(tmp_path / "case.vault", TEST_PASSPHRASE, actor=ACTOR)
    yield v
    v.close()


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_production_kdf_settings_open_with_stock_sqlcipher_pragmas(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", None)
    path = tmp_path / "real.vault"
    Vault.create(path, TEST_PASSPHRASE, actor=ACTOR).close()
    head = path.read_bytes()[:16]
    assert not head.startswith(b"SQLite format 3")
    assert path.stat().st_size % 65536 == 0
    conn = raw_connect(path, kdf_iter=256_000)
    assert conn.execute("SELECT value FROM settings WHERE key = 'format'").fetchone() == ("evidence-vault",)
    settings = {row[0] for row in conn.execute("PRAGMA cipher_settings")}
    assert "PRAGMA kdf_iter = 256000;" in settings
    assert "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;" in settings
    conn.close()
    # SQLCipher's default page size cannot read it: the documented PRAGMAs are really needed.
    import sqlcipher3

    plain = sqlcipher3.connect(str(path))
    plain.execute("PRAGMA cipher_log_level = NONE")
    plain.execute("PRAGMA key = '" + TEST_PASSPHRASE + "'")
    with pytest.raises(sqlcipher3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    plain.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as opened:
        assert [e.action for e in opened.events()] == ["vault_created"]


def test_create_refuses_weak_passphrase_and_existing_path(tmp_path: Path) -> None:
    path = tmp_path / "weak.vault"
    with pytest.raises(WeakPassphrase) as error:
        Vault.create(path, "password1234", actor=ACTOR)
    assert "common password" in error.value.user_message()
    assert not path.exists()
    Vault.create(path, TEST_PASSPHRASE, actor=ACTOR).close()
    with pytest.raises(VaultExists):
        Vault.create(path, TEST_PASSPHRASE, actor=ACTOR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weak.vault", "weak.vault.lock"]


def test_wrong_passphrase_leaves_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "v.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.add_case("Case")
    before = sha256_file(path)
    with pytest.raises(WrongPassphrase) as error:
        Vault.open(path, "not the right passphrase at all", actor=ACTOR)
    assert "passphrase is not correct" in error.value.user_message()
    assert sha256_file(path) == before
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:  # the failed attempt left no lock behind
        assert [c.title for c in v.list_cases()] == ["Case"]


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFound):
        Vault.open(tmp_path / "nope.vault", TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(VaultNotFound):
        db.connect(tmp_path / "nope.vault", TEST_PASSPHRASE)  # never creates a file by accident
    assert not (tmp_path / "nope.vault").exists()
    empty = _file(tmp_path / "empty.vault", b"")
    with pytest.raises(NotAVault):
        Vault.open(empty, TEST_PASSPHRASE, actor=ACTOR)
    photo = _file(tmp_path / "photo.vault", os.urandom(12345))
    with pytest.raises(NotAVault):
        Vault.open(photo, TEST_PASSPHRASE, actor=ACTOR)
    import sqlite3

    plain = tmp_path / "plain.vault"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t(x)")
    with pytest.raises(NotAVault) as error:
        Vault.open(plain, TEST_PASSPHRASE, actor=ACTOR)
    assert "unencrypted" in error.value.user_message()


def test_damaged_header_is_not_a_vault_but_wrong_passphrase_stays_wrong(tmp_path: Path) -> None:
    path = tmp_path / "v.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.add_case("Case")
    data = bytearray(path.read_bytes())
    data[100:110] = bytes(10)  # inside page 1, after the salt
    path.write_bytes(bytes(data))
    with pytest.raises(NotAVault) as error:
        Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)
    assert "damaged" in error.value.user_message()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, "not the right passphrase at all", actor=ACTOR)


def test_encrypted_database_that_is_not_a_vault(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = db.connect(path, TEST_PASSPHRASE, create=True)
    conn.execute("CREATE TABLE other(x)")
    conn.close()
    with pytest.raises(NotAVault):
        Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)


_HOLDER = """
import sys
from app.vault import db
db._unsafe_kdf_iter_for_tests = 2000
from app.vault.vault import Vault
v = Vault.open(sys.argv[1], sys.argv[2], actor="other process")
print("ready", flush=True)
sys.stdin.readline()
v.close()
"""


def test_second_process_gets_vault_in_use(tmp_path: Path) -> None:
    path = tmp_path / "v.vault"
    Vault.create(path, TEST_PASSPHRASE, actor=ACTOR).close()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), TEST_PASSPHRASE], cwd=PROJECT_ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(VaultInUse):
            Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        with pytest.raises(VaultInUse):  # also within one process
            Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)
        assert v.is_open


def test_ingest_and_read_back_seekable(vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(3 * blobs.CHUNK_SIZE + 12345)
    source = _file(tmp_path / "interview.bin", data)
    case_id = vault.add_case("Compound K", "Recruitment through a job advert")
    seen: list[tuple[int, int]] = []
    result = vault.ingest_file(source, case_id=case_id, kind="interview", title="First interview",
                               progress=lambda done, total, message: seen.append((done, total)))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data) and result.duplicate_of is None
    assert seen[-1] == (len(data), len(data))
    item = vault.get_item(result.item_id)
    assert (item.kind, item.title, item.case_id, item.original_name) == ("interview", "First interview",
                                                                         case_id, "interview.bin")
    assert [i.id for i in vault.list_items(case_id)] == [result.item_id]
    with vault.open_original(result.item_id) as original:
        assert original.seekable() and original.readable() and not original.writable()
        assert original.read() == data
        for offset in (0, blobs.CHUNK_SIZE - 5, 2 * blobs.CHUNK_SIZE, len(data) - 3):
            original.seek(offset)
            assert original.read(10) == data[offset: offset + 10]
        original.seek(-4, io.SEEK_END)
        assert original.read() == data[-4:]
        with pytest.raises(OSError):
            original.write(b"x")  # type: ignore[attr-defined]
    event = vault.events(result.item_id)[0]
    assert (event.action, event.item_sha256, event.details["size"]) == ("item_ingested", result.sha256, len(data))


def test_identical_bytes_are_stored_once(vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(2 * blobs.CHUNK_SIZE + 1)
    first = vault.ingest_file(_file(tmp_path / "a.bin", data))
    second = vault.ingest_stream(io.BytesIO(data), name="copy.bin", kind="document")
    assert second.duplicate_of == first.item_id and second.item_id != first.item_id
    with vault._read() as conn:  # white-box: one blob, one set of chunks
        assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (3,)
    assert vault.events(second.item_id)[0].details["duplicate_of"] == first.item_id
    assert vault.open_original(second.item_id).read() == data


def test_zero_byte_file_refused_and_nothing_recorded(vault: Vault, tmp_path: Path) -> None:
    before = len(vault.events())
    with pytest.raises(InvalidInput) as error:
        vault.ingest_file(_file(tmp_path / "empty.jpg", b""))
    assert "empty" in error.value.user_message()
    with pytest.raises(InvalidInput):
        vault.ingest_stream(io.BytesIO(b""), name="empty.mp4", kind="video")
    with pytest.raises(InvalidInput):
        vault.ingest_file(tmp_path / "missing.jpg")
    with pytest.raises(InvalidInput):
        vault.ingest_file(tmp_path)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput):
        vault.ingest_file(fifo)  # refused without blocking on open()
    assert vault.list_items() == [] and len(vault.events()) == before


def test_non_utf8_file_name_is_stored_safely(vault: Vault, tmp_path: Path) -> None:
    raw_name = b"t\xe9moignage\xff.bin"
    path = os.path.join(os.fsencode(tmp_path), raw_name)
    with open(path, "wb") as handle:
        handle.write(b"testimony bytes")
    result = vault.ingest_file(path)  # type: ignore[arg-type]
    item = vault.get_item(result.item_id)
    assert item.original_name == "t\\xe9moignage\\xff.bin"
    item.original_name.encode("utf-8")  # valid text
    assert item.metadata["original_name_bytes_hex"] == raw_name.hex()


def test_cancel_leaves_nothing_behind(vault: Vault, tmp_path: Path) -> None:
    token = CancelToken()
    source = _file(tmp_path / "big.bin", os.urandom(4 * blobs.CHUNK_SIZE))

    def progress(done: int, total: int, message: str) -> None:
        if done >= 2 * blobs.CHUNK_SIZE:
            token.cancel()

    with pytest.raises(Cancelled):
        vault.ingest_file(source, progress=progress, cancel=token)
    assert vault.list_items() == []
    with vault._read() as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (0,)
    assert vault.verify(record=False).ok


def test_derivative_records_its_derivation(vault: Vault, tmp_path: Path) -> None:
    original = vault.ingest_file(_file(tmp_path / "photo.jpg", os.urandom(5000)))
    derivation = {"operation": "face_blur", "faces": 2, "threshold": 0.5, "model": "centerface"}
    redacted = vault.ingest_stream(io.BytesIO(os.urandom(4000)), name="photo-redacted.jpg", kind="photo",
                                   derived_from=original.item_id, derivation=derivation)
    item = vault.get_item(redacted.item_id)
    assert item.derived_from == original.item_id and item.derivation == derivation
    event = vault.events(redacted.item_id)[0]
    assert event.details["derived_from"] == original.item_id and event.details["derivation"] == derivation
    with pytest.raises(NotFound):
        vault.ingest_stream(io.BytesIO(b"x"), name="x.jpg", kind="photo", derived_from=999)
    with pytest.raises(InvalidInput):
        vault.ingest_stream(io.BytesIO(b"x"), name="x.jpg", kind="painting")
    with pytest.raises(InvalidInput):  # a value that cannot be hashed reproducibly is refused
        vault.ingest_stream(io.BytesIO(b"y"), name="y.jpg", kind="photo", derived_from=original.item_id,
                            derivation={"when": object()})
    assert len(vault.list_items()) == 2


def test_records_and_their_events(vault: Vault, tmp_path: Path) -> None:
    item = vault.ingest_file(_file(tmp_path / "a.bin", b"some testimony")).item_id
    person = vault.add_person(name="Nguyễn Văn An", aliases=["An", "អាន"], pseudonym="Witness A",
                              role="survivor", protected=True)
    assert vault.get_person(person).aliases == ("An", "អាន")
    vault.update_person(person, pseudonym="Witness B")
    assert vault.get_person(person).pseudonym == "Witness B"
    assert vault.consent_scopes(person) == frozenset()
    vault.add_consent(person, scopes=["court", "un"], date="2026-11-20", taken_by="Interviewer 2",
                      record_item_id=item)
    assert vault.consent_scopes(person) == {"court", "un"}
    vault.withdraw_consent(person, reason="afraid of reprisals")
    assert vault.consent_scopes(person) == frozenset()
    with pytest.raises(InvalidInput):
        vault.add_consent(person, scopes=["newspaper"])
    vault.link(item, person)
    vault.link(item, person)  # idempotent: no second event
    assert [p.id for p in vault.persons_for_item(item)] == [person]
    assert [i.id for i in vault.items_for_person(person)] == [item]
    note = vault.add_note(item, "Mentions the compound near the river")
    assert [n.id for n in vault.notes(item)] == [note]
    vault.update_item(item, title="Interview 1", tags=["recruitment", "debt"], place="Sihanoukville")
    assert vault.get_item(item).tags == ("recruitment", "debt")
    actions = [e.action for e in vault.events()]
    assert actions == ["vault_created", "item_ingested", "person_added", "person_changed", "consent_added",
                       "consent_withdrawn", "item_linked", "note_added", "item_changed"]
    # Event details never carry names or free text: they cannot be redacted once hash-chained.
    everything = b"".join(e.canonical_bytes() for e in vault.events()).decode("utf-8")
    for secret in ("Nguyễn", "Witness", "Interviewer 2", "reprisals", "river", "Sihanoukville"):
        assert secret not in everything
    with pytest.raises(NotFound):
        vault.get_item(999)
    with pytest.raises(InvalidInput):
        vault.update_item(item, sha256="0" * 64)


def test_transcript_round_trip(vault: Vault, tmp_path: Path) -> None:
    item = vault.ingest_file(_file(tmp_path / "a.mp3", b"not really audio")).item_id
    vault.set_transcript(item, [{"start": 0.5, "end": 2.0, "speaker": "W", "text": "ខ្ញុំត្រូវគេលក់"},
                                {"start": 2.0, "end": 4.25, "text": "I was sold"}], language="km")
    segments = vault.transcript(item)
    assert [(s.start, s.end, s.speaker, s.language, s.text) for s in segments] == [
        (0.5, 2.0, "W", "km", "ខ្ញុំត្រូវគេលក់"), (2.0, 4.25, None, "km", "I was sold")]
    vault.set_transcript(item, [{"start": 0, "end": 1, "text": "replaced"}])
    assert [s.text for s in vault.transcript(item)] == ["replaced"]
    with pytest.raises(InvalidInput):
        vault.set_transcript(item, [{"start": 3, "end": 1, "text": "backwards"}])


def test_record_event_and_append_only_log(vault: Vault, tmp_path: Path) -> None:
    item = vault.ingest_file(_file(tmp_path / "a.bin", b"x" * 100)).item_id
    event = vault.record_event("item_viewed", item_id=item, details={"purpose": "review"})
    assert event.item_sha256 == vault.get_item(item).sha256 and event.seq == 2
    for internal in ("item_ingested", "vault_created", "checkpoint_made", "passphrase_changed",
                     "seal_imported", "seal_removed"):
        with pytest.raises(InvalidInput):
            vault.record_event(internal)
    with pytest.raises(InvalidInput):
        vault.record_event("deleted_everything")
    with pytest.raises(NotFound):
        vault.record_event("exported", item_id=42)
    assert not hasattr(vault, "delete_event") and not hasattr(vault, "update_event")
    import sqlcipher3

    with vault._read() as conn, pytest.raises(sqlcipher3.DatabaseError):
        conn.execute("UPDATE events SET action = 'x' WHERE seq = 0")
    assert len(vault.leaf_hashes()) == 3


def test_checkpoint_and_verify(vault: Vault, tmp_path: Path) -> None:
    vault.ingest_file(_file(tmp_path / "a.bin", os.urandom(70_000)))
    text = vault.checkpoint()
    assert text.startswith(vault.origin + "\n2\n")
    assert vault.events()[-1].action == "checkpoint_made"
    report = vault.verify(checkpoint=text)
    assert report.ok, report.problems
    assert (report.items_checked, report.bytes_hashed, report.checkpoints_checked) == (1, 70_000, 2)
    assert report.tree_size == 3 and len(report.root) == 64
    assert vault.events()[-1].action == "verified" and vault.events()[-1].details["ok"] is True
    assert b"BEGIN PUBLIC KEY" in vault.public_key_pem()
    assert b"BEGIN CERTIFICATE" in vault.seal_identity.cert_pem


def test_change_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "v.vault"
    new = "a different long passphrase for the field"
    with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        item = v.ingest_file(_file(tmp_path / "a.bin", b"secret testimony" * 1000)).item_id
        v.add_note(item, "พวกเขาขายฉัน")
        with pytest.raises(WeakPassphrase):
            v.change_passphrase("short")
        v.change_passphrase(new)
        assert v.events()[-1].action == "passphrase_changed"
        assert v.search("ขายฉัน")[0].item_id == item  # full-text indexes survived the re-encryption
        assert v.verify(record=False).ok
    with pytest.raises(WrongPassphrase):
        Vault.open(path, TEST_PASSPHRASE, actor=ACTOR)
    conn = raw_connect(path, new)  # stock SQLCipher with the documented PRAGMAs
    assert conn.execute("PRAGMA cipher_page_size").fetchone() == ("65536",)
    conn.close()
    with Vault.open(path, new, actor=ACTOR) as v:
        assert v.open_original(item).read() == b"secret testimony" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "v.vault", "v.vault-journal", "v.vault.lock"]


def test_closed_vault_refuses_work(tmp_path: Path) -> None:
    v = Vault.create(tmp_path / "v.vault", TEST_PASSPHRASE, actor=ACTOR)
    item = v.ingest_stream(io.BytesIO(b"abc"), name="a.txt", kind="document").item_id
    reader = v.open_original(item)
    v.close()
    v.close()
    with pytest.raises(Exception, match="locked"):
        v.list_items()
    with pytest.raises(Exception, match=r"locked|closed"):  # locking closes open streams (no plaintext kept)
        reader.read()


def test_derivative_streamed_from_an_original_of_the_same_vault(vault: Vault, tmp_path: Path) -> None:
    data = os.urandom(2 * blobs.CHUNK_SIZE + 77)
    original = vault.ingest_file(_file(tmp_path / "v.bin", data)).item_id

    class Upper(io.RawIOBase):  # a transforming pipe reading the vault while the vault writes
        def __init__(self) -> None:
            self.source = vault.open_original(original)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.source.read(len(buffer))
            buffer[: len(chunk)] = bytes(b ^ 0xFF for b in chunk[:16]) + chunk[16:]
            return len(chunk)

    result = vault.ingest_stream(io.BufferedReader(Upper()), name="v-redacted.bin", kind="document",
                                 derived_from=original, derivation={"op": "xor-head"})
    assert result.size == len(data) and result.duplicate_of is None
    assert vault.verify(record=False).ok


def test_original_extracted_with_plain_sql_as_documented(tmp_path: Path) -> None:
    data = os.urandom(blobs.CHUNK_SIZE * 2 + 5)
    with Vault.create(tmp_path / "v.vault", TEST_PASSPHRASE, actor=ACTOR) as v:
        item_id = v.ingest_file(_file(tmp_path / "a.bin", data)).item_id
    conn = raw_connect(tmp_path / "v.vault")
    extracted = b"".join(row[0] for row in conn.execute(
        "SELECT data FROM chunks WHERE blob_id = (SELECT blob_id FROM items WHERE id = ?) ORDER BY seq", (item_id,)))
    sha, size = conn.execute("SELECT sha256, size FROM items WHERE id = ?", (item_id,)).fetchone()
    conn.close()
    assert extracted == data and sha == hashlib.sha256(data).hexdigest() and size == len(data)


def test_vault_names_with_special_characters(tmp_path: Path) -> None:
    path = tmp_path / "ករណី [1] #a?b%20 'x'.vault"
    with Vault.create(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.add_case("Case")
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.change_passphrase("a different long passphrase for the field")
        assert [c.title for c in v.list_cases()] == ["Case"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + "-journal", path.name + ".lock"]


def test_item_rows_map_to_item_fields_in_order() -> None:
    import dataclasses

    from app.vault.models import Item
    from app.vault.records import ITEM_COLUMNS

    assert [c.strip() for c in ITEM_COLUMNS.split(",")] == [f.name for f in dataclasses.fields(Item)]


def test_ingest_warnings_are_stored_with_the_item(vault, tmp_path: Path) -> None:
    """A PNG named .mp4 is stored with a warning: kept in the item's metadata (for show and the dossier)
    and counted, not quoted, in the item_ingested event."""
    from PIL import Image

    misnamed = tmp_path / "clip.mp4"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(misnamed, format="PNG")
    result = vault.ingest_file(misnamed)
    assert result.warnings
    item = vault.get_item(result.item_id)
    assert item.metadata["ingest_warnings"] == list(result.warnings) == list(item.ingest_warnings)
    event = next(e for e in vault.events(result.item_id) if e.action == "item_ingested")
    assert event.details["warnings"] == len(result.warnings)
    assert result.warnings[0] not in event.canonical_bytes().decode()
    clean = vault.ingest_file(_file(tmp_path / "plain.bin", b"no warning here"))
    assert "ingest_warnings" not in vault.get_item(clean.item_id).metadata
    assert vault.verify(record=False).ok
