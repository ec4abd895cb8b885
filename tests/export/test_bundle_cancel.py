"""verify_bundle stops on a CancelToken like the other long operations, and leaves the bundle as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.errors import Cancelled
from app.export.bundle_verify import verify_bundle
from app.progress import CancelToken
from tests.export.test_bundle_support import build_bundle


def _fingerprint(path: Path) -> dict[str, str]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.parametrize("as_zip", [True, False], ids=["zip", "folder"])
def test_cancel_while_files_are_checked_stops_the_check(tmp_path: Path, as_zip: bool) -> None:
    built = build_bundle(tmp_path, as_zip=as_zip)
    before = _fingerprint(built.path)
    cancel = CancelToken()
    messages: list[str] = []

    def progress(_done: int, _total: int, message: str) -> None:
        messages.append(message)
        if message.startswith("Checking"):
            cancel.cancel()  # as the Cancel button does, from another thread, while a file is read

    with pytest.raises(Cancelled):
        verify_bundle(built.path, progress=progress, cancel=cancel)
    assert messages and messages[-1].startswith("Checking") and "Files checked" not in messages
    assert _fingerprint(built.path) == before
    assert verify_bundle(built.path, expected_key_id=built.key_id).ok  # nothing left half-open


def test_a_token_cancelled_before_the_start_reads_no_file(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=True)
    cancel = CancelToken()
    cancel.cancel()
    messages: list[str] = []
    with pytest.raises(Cancelled):
        verify_bundle(built.path, progress=lambda _d, _t, m: messages.append(m), cancel=cancel)
    assert len(messages) <= 1  # at most the first "Checking …" before its first chunk


def test_an_unused_token_changes_nothing(tmp_path: Path) -> None:
    built = build_bundle(tmp_path, as_zip=False)
    report = verify_bundle(built.path, expected_key_id=built.key_id, cancel=CancelToken())
    assert report.ok and report.problems == [] and report.files_checked == 11
