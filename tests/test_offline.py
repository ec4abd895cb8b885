"""The app never opens a network connection: field laptops are watched.

Three layers of proof: no module of ours imports a networking library; every test runs with
Internet sockets disabled (tests/conftest.py); and the whole command-line workflow runs inside
a network namespace with no interfaces at all (``unshare --net``), where any attempt would fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE

NETWORK_MODULES = {
    "socket", "ssl", "http", "urllib", "urllib3", "requests", "httpx", "aiohttp", "ftplib",
    "smtplib", "xmlrpc", "asyncio", "websocket", "websockets", "PySide6.QtNetwork", "PySide6.QtWebEngineCore",
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_ours_imports_a_network_library() -> None:
    offenders = []
    for path in sorted((PROJECT_ROOT / "app").rglob("*.py")):
        for name in _imported_modules(path):
            if name in NETWORK_MODULES or name.split(".")[0] in NETWORK_MODULES - {"PySide6"}:
                offenders.append(f"{path.relative_to(PROJECT_ROOT)} imports {name}")
    assert not offenders, offenders


def test_socket_guard_is_active() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="network access"):
        sock.connect(("127.0.0.1", 9))
    from tests import conftest

    conftest.NETWORK_ATTEMPTS.pop()  # this attempt was ours, on purpose


def _unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
def test_whole_cli_workflow_runs_without_any_network(tmp_path: Path) -> None:
    if not _unshare_available():
        pytest.skip("unshare --net is not permitted here (needs root or user namespaces)")
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo)
    vault = tmp_path / "case.vault"
    env = dict(os.environ, EVIDENCE_VAULT=str(vault), EVIDENCE_VAULT_PASSPHRASE=TEST_PASSPHRASE)
    cli = [sys.executable, "-m", "app"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["unshare", "--net", *cli, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result

    # Inside the namespace there is no interface but a down loopback: any connection would fail.
    probe = subprocess.run(
        ["unshare", "--net", sys.executable, "-c",
         "import socket; s=socket.socket(); s.settimeout(2); s.connect(('1.1.1.1', 53))"],
        capture_output=True, text=True,
    )
    assert probe.returncode != 0
    run("init")
    case_id = run("case", "add", "Compound K").stdout.strip()
    item_id = run("ingest", str(photo), "--case", case_id).stdout.strip()
    run("show", item_id)
    run("verify")
    assert "evidence-vault" in run("checkpoint").stdout
