"""``verify`` on a vault file with one damaged page (a flipped bit, as a failing disk or a bad copy leaves):
the report names what is damaged, in plain words, and everything else is still checked.

SQLCipher latches the first page that fails its HMAC check on a connection: every later read of a page it
has not cached fails too.  Verification once read on through that connection and so called every original
"unreadable" after one damaged page of (empty) notes (audit finding, repro_flip_verify.sh), and showed
SQLite's own words ("Tree 14 page 14: btreeInitPage() returns error code 11")."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.cli.main import main
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, speed_up

PAGE = 65_536
# SQLite's and SQLCipher's words, which mean nothing to the reader of a report.
INTERNALS = ("btree", "tree ", "error code", "malformed", "sqlite", "disk image", "not a database")


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        v.add_case("Damage")
        for number in range(3):  # originals of 2 to 7 pages, so that pages of each can be damaged
            source = tmp_path / f"original-{number}.bin"
            source.write_bytes(os.urandom(150_000 * (number + 1)))
            v.ingest_file(source)
        person = v.add_person(name="Lan", protected=True)
        v.add_consent(person, scopes="court")
        v.checkpoint()  # the notes table stays empty, as in the audit's vault
    (tmp_path / "test.vault.lock").unlink()
    return tmp_path / "test.vault"


def _root_pages(path: Path) -> dict[int, str]:
    """Page number -> the table (or index) whose b-tree starts there; in this small vault each fits one page."""
    conn = raw_connect(path)
    try:
        return {int(page): str(name) for name, page in conn.execute(
            "SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0")}
    finally:
        conn.close()


def _flip(path: Path, page: int, at: int = 1000) -> None:
    with open(path, "r+b") as handle:
        handle.seek((page - 1) * PAGE + at)
        byte = handle.read(1)
        handle.seek((page - 1) * PAGE + at)
        handle.write(bytes([byte[0] ^ 1]))


def _verify(path: Path) -> object:
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        return vault.verify()


def _page_of(path: Path, table: str) -> int:
    return next(page for page, name in _root_pages(path).items() if name == table)


def _no_internals(messages: list[str]) -> None:
    for message in messages:
        assert not any(word in message.lower() for word in INTERNALS), message


def test_damaged_notes_page_is_named_and_every_original_is_still_checked(vault_path: Path) -> None:
    """The audit's case: one flipped bit in the page of the empty notes table."""
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        stored = {item.id: item.sha256 for item in vault.list_items()}
    _flip(vault_path, _page_of(vault_path, "notes"))
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as vault:
        report = vault.verify()
        # what export and verify-pdf see: every original still reads back whole
        for item_id, sha in stored.items():
            assert hashlib.sha256(vault.open_original(item_id).read()).hexdigest() == sha
    assert [(p.kind, p.location) for p in report.problems] == [("vault_file", "vault file (notes)")]
    assert "holding the notes is damaged" in report.problems[0].message
    assert "restore the vault from a backup" in report.problems[0].message
    assert report.items_checked == 3 and report.bytes_hashed == 900_000
    assert report.events_checked > 0 and report.checkpoints_checked == 1
    _no_internals([p.message for p in report.problems])


def test_damaged_index_page_is_named_in_plain_words(vault_path: Path) -> None:
    """Damage in an index of items: quick_check's own words ("Tree 14 page 14: btreeInitPage() returns
    error code 11") go to the debug log, the report says which part of the vault it is."""
    _flip(vault_path, _page_of(vault_path, "items_case"))
    report = _verify(vault_path)
    assert [(p.kind, p.location) for p in report.problems] == [("vault_file", "vault file (items)")]
    assert "holding the list of items is damaged" in report.problems[0].message
    assert report.items_checked == 3 and report.bytes_hashed == 900_000
    _no_internals([p.message for p in report.problems])


def test_records_are_still_compared_when_only_the_search_index_is_damaged(vault_path: Path) -> None:
    conn = raw_connect(vault_path)
    conn.execute("UPDATE persons SET protected = 0")  # an insider's edit, which the log replay must catch
    conn.close()
    _flip(vault_path, _page_of(vault_path, "search_words_data"))
    report = _verify(vault_path)
    kinds = [p.kind for p in report.problems]
    assert kinds[0] == "vault_file" and "search index" in report.problems[0].message
    assert any(kind.startswith("record_") for kind in kinds[1:]), kinds
    assert report.items_checked == 3


def test_every_damaged_page_is_reported_where_it_is(vault_path: Path) -> None:
    """One page at a time, every page past the vault's settings and keys (damage there stops the opening
    or the signing key, reported by Vault.open / Vault.verify): a table's page is named, and only it; an
    original's page makes that original "cannot be read" (never "altered", never another original)."""
    roots = _root_pages(vault_path)
    pages = vault_path.stat().st_size // PAGE
    original = vault_path.read_bytes()
    first = _page_of(vault_path, "cases")
    # the page holding every original's rows, and the index leading to them
    shared = {_page_of(vault_path, "chunks"), _page_of(vault_path, "chunks_blob_seq")}
    for page in range(first, pages + 1):
        vault_path.write_bytes(original)
        _flip(vault_path, page)
        report = _verify(vault_path)
        problems = report.problems
        where = f"page {page} ({roots.get(page, 'a page of chunks')})"
        assert problems, where
        _no_internals([p.message for p in problems])
        table = roots.get(page)
        if table is not None and table not in ("chunks", "chunks_blob_seq"):
            assert {p.kind for p in problems} == {"vault_file"}, (where, problems)
            if table not in ("items", "blobs", "sqlite_autoindex_blobs_1", "items_case", "items_sha256",
                             "items_derived_from"):
                assert report.items_checked == 3 and report.bytes_hashed == 900_000, where
        else:
            unreadable = [p for p in problems if p.kind == "item_content"]
            assert unreadable and all("cannot be read" in p.message for p in unreadable), (where, problems)
            assert not any("no longer matches" in p.message for p in problems), (where, problems)
            assert len(unreadable) < 3 or page in shared, where
        (vault_path.parent / "test.vault.lock").unlink(missing_ok=True)


def test_cli_names_the_damage_and_no_original(vault_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _flip(vault_path, _page_of(vault_path, "notes"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    code = main(["--vault", str(vault_path), "--actor", ACTOR, "verify"])
    err = capsys.readouterr().err
    assert code == 1
    assert "ALTERED: The part of the vault file holding the notes is damaged" in err
    assert "original" not in err and "also:" not in err


def test_a_damaged_original_is_named_and_the_damaged_file_not_written_to(vault_path: Path) -> None:
    """Opened read-write, verify records its outcome in the log, but never into a damaged file."""
    last = vault_path.stat().st_size // PAGE  # the end of the largest original
    _flip(vault_path, last)
    before = hashlib.sha256(vault_path.read_bytes()).hexdigest()
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR) as vault:
        report = vault.verify()
        # the connection still reads what is intact: the other originals open
        assert len(vault.open_original(1).read()) == 150_000
    assert not report.recorded
    assert hashlib.sha256(vault_path.read_bytes()).hexdigest() == before
    assert [(p.kind, p.location) for p in report.problems] == [("vault_file", "vault file (chunks)"),
                                                               ("item_content", "item 3")]
    assert "holding the stored originals is damaged" in report.problems[0].message
    assert "1 of them cannot be read" in report.problems[0].message
    assert report.problems[1].message.startswith("The stored original of item 3 cannot be read: the part of the "
                                                 "vault file holding it is damaged")
