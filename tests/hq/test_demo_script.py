"""scripts/hq-demo.sh and scripts/hq.sh run for real (PostgreSQL, field vaults, real media)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, shared_data_path
from tests.hq.conftest import require_postgres, server_folder


@pytest.mark.slow
def test_demo_prints_one_line_and_stops_its_server() -> None:
    require_postgres()
    shared_data_path("media", "video_h264_aac_hamilton.mp4")
    before = set(Path(tempfile.gettempdir()).glob("evhq-demo.*"))
    result = subprocess.run(["bash", "scripts/hq-demo.sh"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=540, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4 items from 2 field vaults, custody unbroken, 3 checkpoints witnessed\n"
    assert set(Path(tempfile.gettempdir()).glob("evhq-demo.*")) == before  # its folder (and server) are gone


def test_hq_sh_start_status_stop() -> None:
    require_postgres()
    folder = server_folder("evhq-sh-")
    hq = folder / "hq"
    try:
        def run(action: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["bash", "scripts/hq.sh", action, str(hq)], cwd=PROJECT_ROOT,
                                  capture_output=True, text=True, timeout=180, check=False)

        assert run("status").stdout.strip() == "stopped"
        started = run("start")
        assert started.returncode == 0, started.stderr
        assert re.search(r"socket in .*/postgres/run", started.stdout)
        assert (hq / "postgres" / "run" / ".s.PGSQL.5432").exists()
        assert run("status").returncode == 0
        assert run("stop").returncode == 0
        assert run("status").returncode == 3
        assert run("bogus").returncode == 2
    finally:
        subprocess.run(["bash", "scripts/hq.sh", "stop", str(hq)], cwd=PROJECT_ROOT, capture_output=True,
                       check=False)
        subprocess.run(["rm", "-rf", str(folder)], check=False)
