"""Shared set-up of the command-line tests (a module may still declare its own ``cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import main
from tests.conftest import TEST_PASSPHRASE


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Runs ``evidence-vault ARGS`` in-process on a vault in tmp_path; ``cli.vault`` is its path."""
    vault = tmp_path / "case.vault"
    monkeypatch.setenv("EVIDENCE_VAULT", str(vault))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)

    def run(*args: str, expect: int = 0) -> tuple[str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == expect, f"{args} exited {code}: {err}"
        return out, err

    run.vault = vault  # type: ignore[attr-defined]
    return run
