"""`hq import` of packages anyone holding hq-public.pem can make (the manifest is read before its signature
can be checked): deeply nested, over the manifest limit, or a named pipe instead of a file.  Each is
refused with one sentence, exit 2, and the archive stays empty.  Real PostgreSQL, the real command."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from app.cli.main import main
from app.transfer import container
from app.transfer.identity import HqPublicIdentity
from app.transfer.manifest import MAX_MANIFEST, TRAILER_MAGIC
from tests.conftest import TEST_PASSPHRASE
from tests.hangs import finishes
from tests.vault.vaultkit import speed_up


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)


def _forged(path: Path, public: HqPublicIdentity, manifest: list[bytes]) -> Path:
    """As the audit's make_hostile_package.py: encrypted to HQ's public key, with a fake signature."""
    with open(path, "wb") as out:
        writer = container.EncryptingWriter(out, public.encryption_key, public.key_id())
        for chunk in manifest:
            writer.write(chunk)
        writer.write(b"\0" * 64)
        writer.write(struct.pack(">Q", sum(map(len, manifest))) + TRAILER_MAGIC)
        writer.finish()
    return path


def test_hostile_packages_are_refused_with_a_sentence(tmp_path: Path, hq_db: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "hq"
    where = ["--dir", str(folder), "--db", hq_db]
    assert main(["hq", "init", *where, "--name", "hq.example.org"]) == 0
    public = HqPublicIdentity.from_pem((folder / "hq-public.pem").read_bytes())
    deep = _forged(tmp_path / "deep.evt", public, [b"[" * 100_000 + b"]" * 100_000])
    huge = _forged(tmp_path / "huge.evt", public, [b"["] + [b"0," * (1 << 20)] * (MAX_MANIFEST // (2 << 20))
                   + [b"0]"])
    pipe = tmp_path / "pipe.evt"
    os.mkfifo(pipe)
    capsys.readouterr()
    for package, expected in ((deep, "nested far too deeply"), (huge, "64 MB this program reads"),
                              (pipe, "named pipe")):
        code = finishes(lambda package=package: main(["hq", "import", *where, str(package)]), fifo=pipe)
        err = capsys.readouterr().err
        assert code == 2 and expected in err and "Traceback" not in err, (package, err)
    assert main(["hq", "list", *where, "--packages", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert not list(tmp_path.glob("*.receipt"))
