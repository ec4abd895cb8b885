"""Headquarters' PostgreSQL schema.

What is secret is encrypted before it reaches PostgreSQL (AES-256-GCM with keys derived from HQ's
identity, see :mod:`app.hq.storage_crypto`): every original (``blob_chunks.data``) and every record
(``*.record``: cases, items, persons, consents, derivations as JSON).  What stays in clear, because
SQL must work on it: content hashes, sizes, kinds, field ids, custody events (they carry record
digests, never names), checkpoints, and ``items.search_text`` (titles, descriptions, tags, transcript
text, NFC) for trigram search.  Protected persons' names never enter ``search_text``.  The data
directory should sit on an encrypted filesystem all the same (docs/SCALE.md).
"""

from __future__ import annotations

import psycopg

SCHEMA_VERSION = 1

STATEMENTS: tuple[str, ...] = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE hq_meta (
        key text PRIMARY KEY,
        value text NOT NULL
    )""",
    # Originals, content-addressed.  Chunks are inserted before their blob row, inside one transaction.
    """CREATE TABLE blobs (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size >= 0),
        chunk_size integer NOT NULL CHECK (chunk_size > 0),
        chunk_count integer NOT NULL CHECK (chunk_count >= 0),
        stored_at text NOT NULL
    )""",
    """CREATE TABLE blob_chunks (
        sha256 text NOT NULL REFERENCES blobs(sha256) DEFERRABLE INITIALLY DEFERRED,
        seq integer NOT NULL CHECK (seq >= 0),
        nonce bytea NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (sha256, seq)
    )""",
    # Ciphertext does not compress: spare PostgreSQL the attempt.
    "ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL",
    """CREATE TABLE field_vaults (
        id serial PRIMARY KEY,
        origin text NOT NULL UNIQUE,
        key_id text NOT NULL,
        public_pem bytea NOT NULL,
        first_seen text NOT NULL,
        last_checkpoint text,
        last_tree_size bigint,
        last_root bytea,
        last_cosigned text,
        forked boolean NOT NULL DEFAULT false
    )""",
    """CREATE TABLE packages (
        package_id text PRIMARY KEY,
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        created_at text NOT NULL,
        received_at text NOT NULL,
        checkpoint text NOT NULL,
        cosigned_checkpoint text NOT NULL,
        item_count integer NOT NULL,
        bytes bigint NOT NULL,
        hq_event_seq bigint NOT NULL,
        receipt bytea NOT NULL
    )""",
    # The field vault's custody log as received, byte for byte (canonical JSON of each event).
    """CREATE TABLE field_events (
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        seq bigint NOT NULL CHECK (seq >= 0),
        canonical bytea NOT NULL,
        PRIMARY KEY (field_vault_id, seq)
    )""",
    """CREATE TABLE witnessed_checkpoints (
        id bigserial PRIMARY KEY,
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        tree_size bigint NOT NULL,
        checkpoint text NOT NULL,
        cosigned text NOT NULL,
        cosigned_at bigint NOT NULL,
        package_id text
    )""",
    """CREATE TABLE forks (
        id bigserial PRIMARY KEY,
        origin text NOT NULL,
        field_vault_id integer REFERENCES field_vaults(id),
        detected_at text NOT NULL,
        package_id text,
        accepted_checkpoint text NOT NULL,
        offered_checkpoint text NOT NULL,
        reason text NOT NULL,
        hq_event_seq bigint NOT NULL
    )""",
    """CREATE TABLE cases (
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        field_case_id bigint NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (field_vault_id, field_case_id)
    )""",
    """CREATE TABLE items (
        id bigserial PRIMARY KEY,
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        field_item_id bigint NOT NULL,
        field_case_id bigint,
        package_id text NOT NULL REFERENCES packages(package_id) DEFERRABLE INITIALLY DEFERRED,
        sha256 text NOT NULL REFERENCES blobs(sha256) DEFERRABLE INITIALLY DEFERRED,
        kind text NOT NULL,
        size bigint NOT NULL,
        search_text text NOT NULL,
        record bytea NOT NULL,
        imported_at text NOT NULL,
        UNIQUE (field_vault_id, field_item_id)
    )""",
    "CREATE INDEX items_search ON items USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX items_sha256 ON items (sha256)",
    """CREATE TABLE persons (
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        field_person_id bigint NOT NULL,
        protected boolean NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (field_vault_id, field_person_id)
    )""",
    """CREATE TABLE consents (
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        field_consent_id bigint NOT NULL,
        field_person_id bigint,
        record bytea NOT NULL,
        PRIMARY KEY (field_vault_id, field_consent_id)
    )""",
    """CREATE TABLE derivations (
        field_vault_id integer NOT NULL REFERENCES field_vaults(id),
        field_item_id bigint NOT NULL,
        record bytea NOT NULL,
        PRIMARY KEY (field_vault_id, field_item_id)
    )""",
    # Headquarters' own custody log: a hash chain whose leaves form an RFC 9162 Merkle tree.
    """CREATE TABLE hq_events (
        seq bigint PRIMARY KEY CHECK (seq >= 0),
        canonical bytea NOT NULL,
        chain_hash text NOT NULL
    )""",
    """CREATE TABLE hq_checkpoints (
        tree_size bigint PRIMARY KEY,
        checkpoint text NOT NULL
    )""",
)

TABLES = (
    "hq_meta", "blobs", "blob_chunks", "field_vaults", "packages", "field_events", "witnessed_checkpoints",
    "forks", "cases", "items", "persons", "consents", "derivations", "hq_events", "hq_checkpoints",
)


def has_schema(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regclass('public.hq_meta') IS NOT NULL").fetchone()
    return bool(row and row[0])


def create_schema(conn: psycopg.Connection) -> None:
    """Create every table in the caller's transaction."""
    for statement in STATEMENTS:
        conn.execute(statement)
    conn.execute("INSERT INTO hq_meta(key, value) VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
