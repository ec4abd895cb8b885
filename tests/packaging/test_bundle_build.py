"""The PyInstaller one-folder bundle builds and passes its self-test on a machine without Python."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_bundle_builds_and_passes_its_self_test(tmp_path: Path) -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (it comes with the test extra: bash scripts/setup.sh test)")
    dist, work = tmp_path / "dist", tmp_path / "build"
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
         "--distpath", str(dist), "--workpath", str(work), str(PROJECT_ROOT / "build.spec")],
        cwd=PROJECT_ROOT, check=True, timeout=900,
    )
    program = dist / "evidence-vault" / "evidence-vault"
    assert program.is_file()
    home = tmp_path / "home"
    home.mkdir()
    # No Python on PATH, no virtual environment, an empty home: what a field laptop has.
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    result = subprocess.run([str(program), "--self-test"], env=bare, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Self-test passed" in result.stderr and "face model" in result.stderr
    helped = subprocess.run([str(program), "--help"], env=bare, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "verify" in helped.stdout
    assert not any(name for name in os.listdir(tmp_path) if name.startswith("ev-selftest-"))
