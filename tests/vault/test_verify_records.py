"""An insider with the passphrase edits records (not events) with plain SQL: verify() must notice and
name the record.  Consent and the protected flag decide what leaves the vault, so they come first."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pytest
import rfc8785

from app.vault.events import Event
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, raw_connect, speed_up


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Case 1 and 2; person 1 (protected survivor) with consent 1 (court), person 2 with a withdrawn
    consent 2; item 1 (photo, case 1, GPS + capture time) linked to both, with a note and a transcript;
    item 2 derived from item 1."""
    folder = tmp_path_factory.mktemp("records")
    with pytest.MonkeyPatch.context() as mp:
        speed_up(mp)
        with new_vault(folder) as v:
            v.add_case("Harbour case", "Boats")
            v.add_case("Other case")
            survivor = v.add_person(name="Nguyễn Thị Lan", aliases=["Lan"], pseudonym="W-1", role="survivor",
                                    protected=True)
            witness = v.add_person(name="Somchai", role="witness")
            source = folder / "photo.bin"
            source.write_bytes(b"\x89PNG not really" * 100)
            item = v.ingest_file(source, case_id=1, kind="photo").item_id
            v.update_item(item, captured_at="2026-03-01T10:00:00.000000Z", place="Harbour",
                          metadata={"gps": {"latitude": 10.6, "longitude": 103.5}})
            v.add_consent(survivor, scopes=["court"], date="2026-03-02", taken_by="Investigator A",
                          record_item_id=item)
            v.add_consent(witness, scopes=["court", "ngo"])
            v.withdraw_consent(witness, reason="afraid")
            v.link(item, survivor)
            v.link(item, witness)
            v.add_note(item, "Met at the harbour")
            v.set_transcript(item, [{"start": 0, "end": 1.5, "text": "hello", "speaker": "W-1"}])
            import io
            v.ingest_stream(io.BytesIO(b"redacted"), name="red.png", kind="photo", derived_from=item,
                            derivation={"boxes": [[1, 2, 3, 4]]})
            assert v.verify(record=False).ok
    return folder / "test.vault"


@pytest.fixture
def vault(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    path = tmp_path / "test.vault"
    shutil.copyfile(pristine, path)
    return path


def _tamper_and_verify(path: Path, *sql: str):
    conn = raw_connect(path)
    for statement in sql:
        conn.execute(statement)
    conn.close()
    with Vault.open(path, TEST_PASSPHRASE, actor=ACTOR) as v:
        return v.verify(record=False)


@pytest.mark.parametrize(("sql", "location", "words"), [
    # consent and protection: what decides whether anything may leave the vault
    ("""UPDATE consents SET scopes = '["court","media","ngo","un"]' WHERE id = 1""", "consent 1", "scopes"),
    ("DELETE FROM consents WHERE id = 2", "consent 2", "deleted"),
    ("UPDATE consents SET withdrawn_at = NULL WHERE id = 2", "consent 2", "withdrawal"),
    ("INSERT INTO consents(person_id, scopes, created_at) VALUES (2, '[\"media\"]', 'x')", "consent 3", "added"),
    ("UPDATE consents SET taken_by = 'Someone else' WHERE id = 1", "consent 1", "outside the application"),
    ("UPDATE persons SET protected = 0 WHERE id = 1", "person 1", "protected"),
    ("UPDATE persons SET role = 'perpetrator' WHERE id = 2", "person 2", "role"),
    ("UPDATE persons SET pseudonym = NULL WHERE id = 1", "person 1", "pseudonym"),
    ("UPDATE persons SET name = 'Other' WHERE id = 1", "person 1", "name"),
    ("""UPDATE persons SET aliases = '[]' WHERE id = 1""", "person 1", "aliases"),
    ("DELETE FROM item_persons WHERE person_id = 1", "item 1", "removed"),
    ("INSERT INTO persons(name, role, protected, created_at) VALUES ('X', 'other', 0, 'x')", "person 3", "added"),
    # the item's recorded fields
    ("UPDATE items SET captured_at = '2020-01-01T00:00:00' WHERE id = 1", "item 1", "capture time"),
    ("UPDATE items SET metadata = json_set(metadata, '$.gps.latitude', 1.0) WHERE id = 1", "item 1", "GPS"),
    ("UPDATE items SET case_id = 2 WHERE id = 1", "item 1", "case"),
    ("UPDATE items SET kind = 'document' WHERE id = 1", "item 1", "kind"),
    ("UPDATE items SET title = 'renamed', original_name = 'x.jpg' WHERE id = 1", "item 1", "title"),
    ("UPDATE items SET description = 'd' WHERE id = 1", "item 1", "description"),
    ("UPDATE items SET place = NULL WHERE id = 1", "item 1", "place"),
    ("UPDATE items SET source = 's' WHERE id = 1", "item 1", "source"),
    ("""UPDATE items SET tags = '["a"]' WHERE id = 1""", "item 1", "tags"),
    ("UPDATE items SET derived_from = NULL WHERE id = 2", "item 2", "source item"),
    ("UPDATE items SET derivation = '{}' WHERE id = 2", "item 2", "derivation"),
    ("UPDATE items SET title = CAST('x' AS BLOB) WHERE id = 1", "item 1", "title"),
    # cases, notes, transcripts
    ("UPDATE cases SET title = 'x' WHERE id = 1", "case 1", "title"),
    ("UPDATE notes SET text = 'changed' WHERE id = 1", "note 1", "text"),
    ("DELETE FROM notes WHERE id = 1", "note 1", "deleted"),
    ("UPDATE transcript_segments SET text = 'bye'", "transcript 1", "segments"),
    ("DELETE FROM transcript_segments", "transcript 1", "segments"),
    ("INSERT INTO transcript_segments VALUES (2, 0, 0, 1, NULL, NULL, 'x')", "transcript 2", "added"),
])
def test_record_edited_by_an_insider_is_found_and_named(vault: Path, sql: str, location: str, words: str) -> None:
    report = _tamper_and_verify(vault, sql)
    assert not report.ok
    assert report.problems[0].location == location, report.problems
    assert words in report.problems[0].message, report.problems[0].message


def test_untouched_vault_is_intact_and_edits_through_the_app_stay_intact(vault: Path) -> None:
    with Vault.open(vault, TEST_PASSPHRASE, actor=ACTOR) as v:
        v.update_person(1, protected=False, name="Lan N.", aliases=["L"], role="witness")
        v.update_item(1, case_id=2, kind="document", metadata={}, captured_at=None)
        v.add_consent(1, scopes="court,un")
        v.withdraw_consent(1)
        v.update_case(1, description="changed")
        v.set_transcript(1, [])
        assert v.verify(record=False).ok


def test_record_key_removed(vault: Path) -> None:
    report = _tamper_and_verify(vault, "DELETE FROM keys WHERE name = 'record'")
    assert [p.kind for p in report.problems] == ["record_key"]


def test_events_carry_no_names_or_free_text_in_clear(vault: Path) -> None:
    conn = raw_connect(vault)
    # event 0 is left out: its base64 public key could contain any short word by chance
    log = b"\n".join(bytes(r[0]) for r in conn.execute("SELECT canonical FROM events WHERE seq > 0"))
    conn.close()
    for secret in ("Nguyễn", "Lan", "W-1", "Somchai", "Harbour", "harbour", "hello", "afraid", "10.6",
                   "Investigator A\",\"scopes", "2026-03-01T10"):
        assert secret.encode() not in log, secret


def test_digest_is_computable_from_format_md_alone(vault: Path) -> None:
    """docs/FORMAT.md: HMAC-SHA256(record key, RFC 8785 of {"record", "id", protected columns as stored})."""
    conn = raw_connect(vault)
    key = bytes(conn.execute("SELECT private_key FROM keys WHERE name = 'record'").fetchone()[0])
    assert len(key) == 32
    name, aliases, pseudonym = conn.execute("SELECT name, aliases, pseudonym FROM persons WHERE id = 1").fetchone()
    fields = {"record": "person", "id": 1, "name": name, "aliases": aliases, "pseudonym": pseudonym}
    expected = hmac.new(key, rfc8785.dumps(fields), hashlib.sha256).hexdigest()
    segments = [dict(zip(("idx", "start", "end", "speaker", "language", "text"), r, strict=True)) for r in
                conn.execute("SELECT idx, start, end, speaker, language, text FROM transcript_segments "
                             "WHERE item_id = 1 ORDER BY idx")]
    transcript = hmac.new(key, rfc8785.dumps({"record": "transcript", "id": 1, "segments": segments}),
                          hashlib.sha256).hexdigest()
    events = [Event.from_canonical(bytes(r[0])) for r in conn.execute("SELECT canonical FROM events ORDER BY seq")]
    conn.close()
    added = [e for e in events if e.action == "person_added" and e.details["person_id"] == 1]
    assert added[0].details["record_digest"] == expected
    assert [e.details["record_digest"] for e in events if e.action == "transcript_set"] == [transcript]
    assert json.loads(aliases) == ["Lan"]
