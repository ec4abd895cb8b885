"""The screenshot walk-through (README pictures) runs in CI: a real X server (Xvfb), the real app."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.conftest import PROJECT_ROOT


@pytest.mark.slow
def test_screenshot_script_walks_the_main_screens(tmp_path: Path) -> None:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (scripts/setup.sh installs xvfb)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "scripts/screenshots.py", "--out", str(tmp_path / "shots")],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    shots = sorted((tmp_path / "shots").glob("*.png"))
    assert len(shots) >= 10
    for shot in shots:
        with Image.open(shot) as image:
            assert image.width >= 400 and image.height >= 200
            spread = ImageStat.Stat(image.convert("L")).stddev[0]
            assert spread > 5, f"{shot.name} looks blank"
