"""Shared fixtures.  Real test data lives in ../shared/data (never committed); tests that need
it skip with a clear message where it is absent, and fail under CI (``CI=true``), where it must be."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-qt does not choose a platform: without a screen the whole process would abort.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EVIDENCE_VAULT_TEST_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def shared_data_path(*parts: str) -> Path:
    """Path inside ../shared/data, or skip the test with a clear reason (fail it under CI)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"real test data not available: {path} is missing (see ../shared/data/SOURCES.md)"
        if running_in_ci():
            pytest.fail(f"{reason}; CI must run with the shared data beside the clone", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_data_path()


# A passphrase strong enough for the strength check; tests use a fast KDF only where they say so.
TEST_PASSPHRASE = "correct horse battery staple orbit"


@pytest.fixture
def passphrase() -> str:
    return TEST_PASSPHRASE


CLI_TESTS = PROJECT_ROOT / "tests" / "cli"
CHEAP_KDF_ITER = 4000


@pytest.fixture(autouse=True)
def _cheap_kdf_for_cli_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault's documented test-only switch, for the command-line tests (which do not test the
    KDF; one marked ``real_kdf`` keeps the production cost).  Production defaults are untouched."""
    if CLI_TESTS not in request.path.parents or request.node.get_closest_marker("real_kdf"):
        return
    from app.vault import db

    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", CHEAP_KDF_ITER)


# -- The app never opens a network connection ---------------------------------------------------
# Every test runs with Internet sockets disabled: any attempt to connect, bind or send over
# AF_INET/AF_INET6 fails the test that made it.  Unix sockets (used by multiprocessing) stay.
import socket  # noqa: E402

_NETWORK_FAMILIES = {socket.AF_INET, socket.AF_INET6}
NETWORK_ATTEMPTS: list[str] = []


def _guarded(name: str):
    original = getattr(socket.socket, name)

    def guard(self, *args, **kwargs):
        if self.family in _NETWORK_FAMILIES:
            NETWORK_ATTEMPTS.append(f"{name}{args!r}")
            raise OSError(f"network access attempted during tests: socket.{name}{args!r}")
        return original(self, *args, **kwargs)

    return guard


for _name in ("connect", "connect_ex", "bind", "sendto"):
    setattr(socket.socket, _name, _guarded(_name))


@pytest.fixture(autouse=True)
def _fresh_detection_memo() -> None:
    """Each test sees its own detections: a test that fakes the model must not get another test's answer."""
    from app.redact.detection_memo import PHOTO_DETECTIONS

    PHOTO_DETECTIONS.clear()


@pytest.fixture(autouse=True)
def _no_network_attempts():
    before = len(NETWORK_ATTEMPTS)
    yield
    attempts = NETWORK_ATTEMPTS[before:]
    assert not attempts, f"the code under test tried to use the network: {attempts}"
