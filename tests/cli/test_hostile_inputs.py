"""Bad input to the command line gets one clear sentence (exit 2), loses nothing and never hangs: a
passphrase that is empty, undecodable or could never be typed again; a named pipe, an endless or
enormous file, or deeply nested JSON where a small file is expected.  Real vault, real files, the real
``main`` (the reproductions of the robustness audit, /tmp/audit/robust)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from app.cli.main import main
from app.transfer.identity import generate_hq_identity
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
from tests.hangs import finishes

DEEP = b"[" * 100_000 + b"]" * 100_000
NEW_PASSPHRASE = "another long passphrase for testing 77"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``evidence-vault ARGS`` in-process, in a thread that must end, on tmp_path/case.vault; ``stdin``
    becomes standard input, decoded with ``errors`` like Python's own. Returns (exit status, out, err)."""
    monkeypatch.setenv("EVIDENCE_VAULT", str(tmp_path / "case.vault"))
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", TEST_PASSPHRASE)
    monkeypatch.chdir(tmp_path)

    def call(*args: str, stdin: bytes | None = None, errors: str = "surrogateescape",
             fifo: Path | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors=errors))
        code = finishes(lambda: main(list(args)), fifo=fifo)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return call


@pytest.fixture
def vault(run: Callable[..., tuple[int, str, str]], tmp_path: Path) -> Path:
    """A vault with one case and one photo (item 1)."""
    assert run("init")[0] == 0
    assert run("case", "add", "Case")[0] == 0
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), "gray").save(photo)
    assert run("ingest", "--case", "1", str(photo))[0] == 0
    return tmp_path / "case.vault"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# -- passphrases --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stdin", "errors", "expected"), [
    (b"\n", "surrogateescape", "is an empty line"),
    (b"\xff\xfe bad bytes\n", "surrogateescape", "not valid text"),  # the C locale's decoder
    (b"\xff\xfe bad bytes\n", "strict", "not valid text"),  # a UTF-8 locale's decoder
    (b"correct horse\x00battery staple\n", "strict", "(NUL)"),
])
def test_an_unusable_passphrase_on_standard_input(run, vault: Path, stdin: bytes, errors: str,
                                                  expected: str) -> None:
    before = vault.read_bytes()
    code, _, err = run("--passphrase-stdin", "list", stdin=stdin, errors=errors)
    assert code == 2 and expected in err
    assert vault.read_bytes() == before


def test_an_empty_passphrase_typed_at_the_prompt(run, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("EVIDENCE_VAULT_PASSPHRASE")
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")  # Enter pressed at once
    code, _, err = run("list")
    assert code == 2 and "No passphrase was typed" in err


def test_init_with_undecodable_bytes_leaves_nothing(run, tmp_path: Path) -> None:
    before = _files(tmp_path)
    code, _, err = run("--vault", str(tmp_path / "new.vault"), "--passphrase-stdin", "init",
                       stdin=b"\xff\xfe correct horse battery staple\n")
    assert code == 2 and "not valid text" in err
    assert _files(tmp_path) == before  # no vault and no stray new.vault.lock


@pytest.mark.parametrize("passphrase", ["correct horse\nbattery staple 42", "correct horse\tbattery staple 42"])
def test_init_refuses_a_passphrase_that_could_never_be_typed(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             passphrase: str) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT_PASSPHRASE", passphrase)
    before = _files(tmp_path)
    code, _, err = run("--vault", str(tmp_path / "new.vault"), "init")
    assert code == 2 and "cannot be typed" in err
    assert _files(tmp_path) == before


def test_passwd_refuses_one_and_keeps_the_old_passphrase(run, vault: Path) -> None:
    before = vault.read_bytes()
    code, _, err = run("--passphrase-stdin", "passwd",
                       stdin=f"{TEST_PASSPHRASE}\ncorrect horse\tbattery staple 42\n".encode())
    assert code == 2 and "cannot be typed" in err
    assert vault.read_bytes() == before
    assert run("list")[0] == 0


# -- named pipes: every command that reads a small file the user names --------------------------------


@pytest.fixture
def keys(run, vault: Path, tmp_path: Path) -> dict[str, Path]:
    """The vault's public key, a checkpoint and headquarters' public key, as files."""
    out: dict[str, Path] = {}
    code, pem, _ = run("export-key")
    out["vault_key"] = tmp_path / "vault-key.pem"
    out["vault_key"].write_text(pem)
    code, checkpoint, _ = run("checkpoint")
    assert code == 0
    out["checkpoint"] = tmp_path / "checkpoint.txt"
    out["checkpoint"].write_text(checkpoint)
    out["hq_key"] = tmp_path / "hq-public.pem"
    out["hq_key"].write_bytes(generate_hq_identity("hq.example.org").public().to_pem())
    return out


def _pipe_cases(fifo: str, k: dict[str, Path], tmp_path: Path) -> list[list[str]]:
    return [
        ["verify-proof", "--key", str(k["vault_key"]), fifo],
        ["verify-proof", "--key", fifo, str(k["checkpoint"])],
        ["verify-proof", "--key", str(k["vault_key"]), str(k["checkpoint"]), "--from", f"@{fifo}"],
        ["verify-bundle", "--trusted-key", fifo, str(tmp_path)],
        ["verify", "--checkpoint", f"@{fifo}"],
        ["proof", "--from", f"@{fifo}"],
        ["redact", "1", "--faces", "--no-names", "--boxes", fifo],
        ["receipt", "import", "--hq", str(k["hq_key"]), fifo],
        ["receipt", "import", "--hq", fifo, str(k["checkpoint"])],
        ["transfer", "--case", "1", "--to", fifo, "--out", str(tmp_path / "x.evt")],
        ["hq", "import", "--dir", str(tmp_path), fifo],
        ["hq", "witness", "--dir", str(tmp_path), "--key", fifo, str(k["checkpoint"])],
        ["hq", "verify-export", "--hq", fifo, str(tmp_path)],
        ["seal", "import", fifo],
        ["export", "--case", "1", "--audience", "court", "--level", "original", "--out",
         str(tmp_path / "x.pdf"), "--seal-p12", fifo],
        ["verify-pdf", "--seal-cert", fifo, str(k["checkpoint"])],
        ["transcript", "import", "1", fifo],
    ]


def test_no_command_waits_on_a_named_pipe(run, vault: Path, keys: dict[str, Path], fifo: Path,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_VAULT_SEAL_PASSPHRASE", "")
    before = vault.read_bytes()
    for args in _pipe_cases(str(fifo), keys, tmp_path):
        code, out, err = run(*args, fifo=fifo)
        assert code == 2, (args, out, err)
        # One sentence (verify-pdf prints it on standard output, as all its could-not-run messages).
        assert (out + err).startswith("evidence-vault: ") and "named pipe" in out + err, (args, out, err)
    assert not (tmp_path / "x.evt").exists() and not (tmp_path / "x.pdf").exists()
    assert vault.read_bytes() == before  # nothing was recorded, nothing changed


def test_boxes_from_standard_input_still_work(run, vault: Path) -> None:
    code, _, err = run("redact", "1", "--faces", "--no-names", "--boxes", "-",
                       stdin=json.dumps({"boxes": [[1, 2, 10, 10]]}).encode())
    assert code == 0, err


# -- enormous files and deep JSON ----------------------------------------------------------------------


def test_a_20_gb_key_file_is_refused_before_reading(run, tmp_path: Path) -> None:
    huge = tmp_path / "huge.pem"
    with open(huge, "wb") as handle:
        handle.truncate(20 << 30)  # sparse: nothing is written to the disk
    code, _, err = run("verify-bundle", "--trusted-key", str(huge), str(tmp_path))
    assert code == 2 and "larger than any key file can be" in err and "20.0 GB" in err
    code, _, err = run("verify-proof", "--key", str(huge), str(huge))
    assert code == 2 and "larger than any key file can be" in err


def test_an_oversized_receipt_is_refused_unread(run, vault: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    huge = tmp_path / "receipt.json"
    with open(huge, "wb") as handle:
        handle.truncate(17 << 20)
    code, _, err = run("receipt", "import", "--hq", str(keys["hq_key"]), str(huge))
    assert code == 2 and "larger than any receipt can be" in err


def test_a_deeply_nested_receipt(run, vault: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    code, _, err = run("receipt", "import", "--hq", str(keys["hq_key"]), str(deep))
    assert code == 2 and "nested far too deeply" in err


def test_deeply_nested_face_boxes(run, vault: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    code, _, err = run("redact", "1", "--faces", "--no-names", "--boxes", str(deep), "--yes")
    assert code == 2 and "not valid JSON" in err and "nested more than 64 levels" in err
    assert run("list")[1].count("\n") == 1  # nothing was made


def test_a_pdf_with_deeply_nested_proofs(run, tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["dossier-proofs.json"] = pikepdf.AttachedFileSpec(pdf, DEEP, filename="dossier-proofs.json")
    path = tmp_path / "deep.pdf"
    pdf.save(path)
    code, out, err = run("verify-pdf", str(path), "--json")
    assert code == 1, err
    problems = json.loads(out)["problems"]
    assert any("custody proofs inside the PDF could not be read" in p and "nested" in p for p in problems)


def test_a_missing_transcript_is_a_sentence(run, vault: Path, tmp_path: Path) -> None:
    code, _, err = run("transcript", "import", "1", str(tmp_path / "missing.vtt"))
    assert code == 2 and "does not exist" in err


def test_a_key_file_the_user_may_not_read(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n")
    key.chmod(0o000)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root reads anything unless it drops these two capabilities
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    done = subprocess.run([*prefix, sys.executable, "-m", "app.cli.main", "verify-proof", "--key", str(key),
                           str(key)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "do not have permission to open it" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
