"""A wheel built from the sources carries the face model, and an installed copy finds and loads it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.redact.centerface import MODEL_SHA256
from tests.conftest import PROJECT_ROOT

MODEL = "app/redact/models/centerface.onnx"
LICENCE = "app/redact/models/LICENSE-centerface.txt"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(PROJECT_ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("evidence_vault-*.whl")
    return built


def test_the_wheel_carries_the_model_and_its_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {MODEL, LICENCE} <= names
        assert hashlib.sha256(archive.read(MODEL)).hexdigest() == MODEL_SHA256
        assert "MIT" in archive.read(LICENCE).decode("utf-8")


def test_an_installed_copy_finds_and_loads_its_own_model(wheel: Path, tmp_path: Path) -> None:
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    probe = (
        "import hashlib, numpy\n"
        "from app.redact import centerface\n"
        "path = centerface.model_path()\n"
        "print(path)\n"
        "print(hashlib.sha256(path.read_bytes()).hexdigest())\n"
        "model = centerface.CenterFaceModel()\n"
        "print(model.run(numpy.zeros((64, 64, 3), dtype=numpy.uint8)).shape[1])\n"
    )
    # -I: isolated mode, so neither the checkout (cwd, PYTHONPATH) nor user site-packages is on sys.path;
    # the venv's site-packages stays for numpy/onnxruntime, and the unzipped wheel comes first.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(installed)!r})\n{probe}"],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    path, digest, columns = result.stdout.split()
    assert Path(path) == installed / MODEL
    assert digest == MODEL_SHA256
    assert columns == "5"
