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


def _traced_network_syscalls(tmp_path: Path, code: str) -> tuple[list[str], list[str]]:
    """Run Python ``code`` under strace; return its Internet socket syscalls and what it left in TMPDIR."""
    trace, scratch = tmp_path / "trace.log", tmp_path / "scratch"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # some libraries stay quiet only under CI
    env["TMPDIR"] = str(scratch)
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace),
         sys.executable, "-c", code],
        env=env, cwd=PROJECT_ROOT, check=True, timeout=300,
    )
    calls = [line for line in trace.read_text().splitlines() if "AF_INET" in line or "sin_port" in line]
    return calls, sorted(p.name for p in scratch.iterdir())


@pytest.mark.slow
def test_native_code_opens_no_socket_while_detecting_faces_and_working_a_vault(tmp_path: Path) -> None:
    """The socket guard sees only Python; strace sees native libraries too (onnxruntime, Qt, ffmpeg)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (scripts/setup.sh installs it)")
    code = f"""
import io, numpy as np
from PIL import Image
from app.redact.faces import FaceDetector
from app.vault.vault import Vault
FaceDetector().detect(np.zeros((240, 320, 3), dtype=np.uint8))
vault = Vault.create({str(tmp_path / 'v.vault')!r}, {TEST_PASSPHRASE!r}, actor="t")
buffer = io.BytesIO(); Image.new("RGB", (64, 48)).save(buffer, format="PNG")
vault.ingest_stream(io.BytesIO(buffer.getvalue()), name="p.png", kind="photo")
assert vault.verify().ok
vault.close()
"""
    calls, leftovers = _traced_network_syscalls(tmp_path, code)
    assert calls == [], calls
    assert leftovers == [], f"files left in TMPDIR: {leftovers}"


def test_onnxruntime_is_a_version_without_telemetry() -> None:
    from importlib.metadata import version

    major, minor = (int(part) for part in version("onnxruntime").split(".")[:2])
    assert (major, minor) < (1, 29), "onnxruntime 1.29+ ships telemetry; keep the pin in pyproject.toml"
