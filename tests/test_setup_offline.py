"""Once set up, scripts/setup.sh (and so scripts/run.sh) needs neither pip nor apt: a field laptop is offline.
Also: what a missing ../shared/data means for a developer (skip) and for CI (failure).

The script runs in a copy of the project whose .venv has no pip at all and with every pip index
pointing nowhere, so any pip call fails the run; ``apt-get`` and ``sudo`` on PATH record a call and fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

OFFLINE = {
    "PIP_INDEX_URL": "http://127.0.0.1:9/", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": "/dev/null",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "scripts" / "setup.sh", copy / "scripts" / "setup.sh")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy2(PROJECT_ROOT / name, copy / name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(copy / ".venv")], check=True, timeout=120)
    return copy


def _stamp(project: Path, extras: str) -> None:
    wanted = hashlib.sha256((project / "pyproject.toml").read_bytes() + (project / "constraints.txt").read_bytes())
    (project / ".venv" / ".evidence-vault-setup").write_text(f"{wanted.hexdigest()} {extras}\n")


def _setup(project: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    calls = tmp_path / "calls.log"
    for tool in ("apt-get", "sudo"):
        (fake / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 1\n')
        (fake / tool).chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", **OFFLINE)
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(["bash", str(project / "scripts" / "setup.sh"), *args], env=env, capture_output=True,
                            text=True, timeout=120)
    return result, calls


@pytest.mark.parametrize(("stamped", "asked"), [("app", "app"), ("test", "test"), ("test", "app")])
def test_a_set_up_venv_is_used_without_pip_or_apt(project: Path, tmp_path: Path, stamped: str, asked: str) -> None:
    _stamp(project, stamped)
    result, calls = _setup(project, tmp_path, asked)
    assert result.returncode == 0, result.stderr
    assert "pip not needed" in result.stdout
    assert not calls.exists(), calls.read_text()


@pytest.mark.parametrize("change", ["constraints", "extras"])
def test_a_changed_lock_or_a_missing_extra_does_call_pip(project: Path, tmp_path: Path, change: str) -> None:
    # The same offline setting, with a stamp that no longer matches: pip is called and fails (no pip,
    # no index), which is what proves the passing runs above never reached it.
    _stamp(project, "app")
    if change == "constraints":
        with open(project / "constraints.txt", "a", encoding="utf-8") as lock:
            lock.write("# edited\n")
    result, calls = _setup(project, tmp_path, "test" if change == "extras" else "app")
    assert result.returncode != 0
    assert "pip not needed" not in result.stdout
    assert "No module named pip" in result.stderr
    assert not calls.exists()


# -- The shared test data: optional for a developer, required in CI -------------------------------

def test_missing_shared_data_skips_for_a_developer_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import shared_data_path

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="real test data not available"):
        shared_data_path("no such folder", "nothing.jpg")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run with the shared data"):
        shared_data_path("no such folder", "nothing.jpg")
    assert shared_data_path().is_dir()  # present here: CI and developers get the real path
