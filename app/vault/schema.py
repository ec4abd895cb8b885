"""The vault's tables (docs/FORMAT.md, "Vault file (SQLCipher)") and their migrations.

``MIGRATIONS[n]`` takes a vault from schema version ``n`` to ``n + 1``.  A vault records every applied
version in ``schema_version``; :func:`migrate` applies what is missing inside the caller's transaction,
so an interrupted upgrade leaves the vault at the old version.  Never edit a released migration; add
a new one.
"""

from __future__ import annotations

import sqlcipher3

from app.errors import NotAVault

_V1 = """
CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL
);
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE keys (
    name             TEXT PRIMARY KEY,           -- 'signing' (Ed25519) or 'seal' (RSA + X.509)
    algorithm        TEXT NOT NULL,
    private_key      BLOB NOT NULL,              -- Ed25519: 32-byte seed; RSA: PKCS#8 PEM (file is encrypted)
    public_pem       BLOB NOT NULL,
    certificate_pem  BLOB,
    key_id           TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE TABLE cases (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    aliases     TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings, any script
    pseudonym   TEXT,
    role        TEXT NOT NULL
                CHECK (role IN ('survivor', 'witness', 'interviewer', 'perpetrator', 'other')),
    protected   INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),
    created_at  TEXT NOT NULL
);
CREATE TABLE blobs (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT UNIQUE,                    -- NULL only inside the ingest transaction
    size         INTEGER NOT NULL,
    chunk_size   INTEGER NOT NULL,
    chunk_count  INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE chunks (
    id       INTEGER PRIMARY KEY,
    blob_id  INTEGER NOT NULL REFERENCES blobs(id),
    seq      INTEGER NOT NULL,                   -- 0, 1, 2, ... in file order
    data     BLOB NOT NULL
);
CREATE UNIQUE INDEX chunks_blob_seq ON chunks(blob_id, seq);
CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER REFERENCES cases(id),
    kind           TEXT NOT NULL
                   CHECK (kind IN ('interview', 'photo', 'video', 'audio', 'document', 'transcript')),
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    captured_at    TEXT,
    place          TEXT,                         -- sensitive: never exported unredacted
    source         TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    original_name  TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    mime           TEXT NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    derived_from   INTEGER REFERENCES items(id),
    derivation     TEXT,                         -- JSON object, for derivatives (e.g. redaction parameters)
    blob_id        INTEGER NOT NULL REFERENCES blobs(id),
    created_at     TEXT NOT NULL
);
CREATE INDEX items_case ON items(case_id);
CREATE INDEX items_sha256 ON items(sha256);
CREATE INDEX items_derived_from ON items(derived_from);
CREATE TABLE item_persons (
    item_id    INTEGER NOT NULL REFERENCES items(id),
    person_id  INTEGER NOT NULL REFERENCES persons(id),
    PRIMARY KEY (item_id, person_id)
) WITHOUT ROWID;
CREATE INDEX item_persons_person ON item_persons(person_id);
CREATE TABLE consents (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES persons(id),
    date            TEXT,
    taken_by        TEXT,
    scopes          TEXT NOT NULL,               -- JSON array from court, un, ngo, media
    withdrawn_at    TEXT,
    reason          TEXT NOT NULL DEFAULT '',
    record_item_id  INTEGER REFERENCES items(id),
    created_at      TEXT NOT NULL
);
CREATE INDEX consents_person ON consents(person_id);
CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id),
    text        TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX notes_item ON notes(item_id);
CREATE TABLE transcript_segments (
    item_id   INTEGER NOT NULL REFERENCES items(id),
    idx       INTEGER NOT NULL,
    start     REAL NOT NULL,
    end       REAL NOT NULL,
    speaker   TEXT,
    language  TEXT,
    text      TEXT NOT NULL,
    PRIMARY KEY (item_id, idx)
) WITHOUT ROWID;
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,             -- 0-based, = Merkle leaf index
    canonical   BLOB NOT NULL,                   -- RFC 8785 bytes: authoritative
    chain_hash  TEXT NOT NULL,
    action      TEXT NOT NULL,                   -- copies of canonical fields, for queries only
    item_id     INTEGER
);
CREATE INDEX events_item ON events(item_id);
CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    tree_size   INTEGER NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
-- Search: one row per searchable text; two FTS5 indexes over it (external content).
CREATE TABLE search_docs (
    id       INTEGER PRIMARY KEY,
    item_id  INTEGER NOT NULL,
    field    TEXT NOT NULL,                      -- title, description, tags, note, transcript
    ref_id   INTEGER,                            -- note id / transcript segment idx
    text     TEXT NOT NULL,
    folded   TEXT NOT NULL                       -- text with letters like Vietnamese đ folded to d
);
CREATE INDEX search_docs_item ON search_docs(item_id, field, ref_id);
CREATE VIRTUAL TABLE search_trigram USING fts5(
    text, content='search_docs', content_rowid='id', tokenize='trigram remove_diacritics 1'
);
CREATE VIRTUAL TABLE search_words USING fts5(
    folded, content='search_docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_trigram(rowid, text) VALUES (new.id, new.text);
    INSERT INTO search_words(rowid, folded) VALUES (new.id, new.folded);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_trigram(search_trigram, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO search_words(search_words, rowid, folded) VALUES ('delete', old.id, old.folded);
END;
-- The custody log is append-only: refuse edits and deletes even from plain SQL mistakes.
-- (An insider can drop these triggers; verification, not triggers, is the protection.)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN
    SELECT RAISE(ABORT, 'custody events cannot be changed');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN
    SELECT RAISE(ABORT, 'custody events cannot be deleted');
END;
"""

MIGRATIONS: list[str] = [_V1]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlcipher3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlcipher3.Connection, *, now: str) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION` (call inside a transaction); returns the version."""
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise NotAVault(
            "This vault was written by a newer version of Evidence Vault. Update the program to open it.",
            debug_detail=f"schema {version} > {SCHEMA_VERSION}",
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _split(MIGRATIONS[target - 1]):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version(version, applied_at) VALUES (?, ?)", (target, now))
    return SCHEMA_VERSION


def _split(script: str) -> list[str]:
    """Split a migration into statements (executescript would COMMIT the caller's transaction)."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        buffer.append(line)
        candidate = "\n".join(buffer).strip()
        if candidate.endswith(";") and sqlcipher3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    if "\n".join(buffer).strip():
        raise ValueError("incomplete statement in migration")
    return statements
