"""Shared fixtures.  Real test data lives in ../shared/data (never committed); tests that need
it skip with a clear message where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-qt does not choose a platform: without a screen the whole process would abort.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EVIDENCE_VAULT_TEST_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def shared_data_path(*parts: str) -> Path:
    """Path inside ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} is missing (see ../shared/data/SOURCES.md)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


# A passphrase strong enough for the strength check; tests use a fast KDF only where they say so.
TEST_PASSPHRASE = "correct horse battery staple orbit"


@pytest.fixture
def passphrase() -> str:
    return TEST_PASSPHRASE
