"""Helpers for the vault tests (plain functions; each test module declares its own fixtures, and
``fast_vault`` is the body many of their ``vault`` fixtures share).

Tests lower SQLCipher's KDF cost through the clearly named test-only knob
``app.vault.db._unsafe_kdf_iter_for_tests`` (production stays at 256,000 iterations; at least one test
uses the real value) and reuse one real RSA seal identity per process, because generating an RSA-3072
key for each of a hundred test vaults would dominate the run time.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from app.vault import db, keys
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE

FAST_KDF_ITER = 2_000
ACTOR = "Investigator A"
OTHER_PASSPHRASE = "a different long passphrase for the field"

_real_new_seal_identity = keys.new_seal_identity


@functools.lru_cache(maxsize=1)
def _one_seal_identity(common_name: str) -> keys.SealIdentity:
    return _real_new_seal_identity(common_name)


def speed_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", FAST_KDF_ITER)
    monkeypatch.setattr(keys, "new_seal_identity",
                        lambda common_name, *, organisation="", now=None: _one_seal_identity("Test seal"))


def new_vault(folder: Path, name: str = "test.vault") -> Vault:
    return Vault.create(folder / name, TEST_PASSPHRASE, actor=ACTOR)


def fast_vault(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vault]:
    """Body of a module's ``vault`` fixture: a new vault with the fast KDF, closed after the test."""
    speed_up(monkeypatch)
    opened = new_vault(folder)
    yield opened
    opened.close()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_connect(path: Path, passphrase: str = TEST_PASSPHRASE, kdf_iter: int = FAST_KDF_ITER) -> sqlcipher3.Connection:
    """Open a vault as an auditor (or an insider) would with stock SQLCipher: the PRAGMAs of
    docs/FORMAT.md, written out literally here rather than taken from app.vault.db."""
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute("PRAGMA key = '" + passphrase.replace("'", "''") + "'")
    conn.execute("PRAGMA cipher_page_size = 65536")
    conn.execute(f"PRAGMA kdf_iter = {kdf_iter}")
    conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
    conn.execute("PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn
