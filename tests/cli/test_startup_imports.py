"""Every command starts quickly: the heavy libraries (PDF sealing, Qt, PostgreSQL, the face model) are
loaded by the commands that use them, not by the command line itself.  A command that loaded pyHanko at
start-up took 0.4 s longer, enough for a second program to miss the 'vault in use' window in
tests/reliability/test_environment.py."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

HEAVY = ("pyhanko", "aiohttp", "PySide6", "psycopg", "onnxruntime", "reportlab")


def test_help_loads_no_heavy_library() -> None:
    code = ("import contextlib, json, sys\nfrom app.cli.main import main\n"
            "with contextlib.suppress(SystemExit):\n    main(['--help'])\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
