"""Opening a vault with input that cannot work says so in one plain sentence, and leaves nothing behind:
an empty or undecodable passphrase, a vault file the user may not read, a vault cut short or damaged
at its start (real SQLCipher files throughout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import NotAVault, WeakPassphrase, WrongPassphrase
from app.vault import db, recovery
from app.vault.lock import lock_path_for
from app.vault.vault import Vault
from tests.conftest import PROJECT_ROOT, TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, speed_up

UNDECODABLE = "correct horse \udcff\udcfe battery staple"  # bytes ff fe read with surrogateescape


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as vault:
        case = vault.add_case("Case")
        for index in range(3):  # enough pages that a missing last one is not the header's
            source = tmp_path / f"evidence{index}.bin"
            source.write_bytes(os.urandom(150_000))
            vault.ingest_file(source, case_id=case)
    return tmp_path / "test.vault"


def _beside(vault_path: Path) -> list[str]:
    return sorted(p.name for p in vault_path.parent.iterdir() if p.name.startswith(vault_path.name))


@pytest.mark.parametrize(("passphrase", "expected"), [
    ("", "No passphrase"), (UNDECODABLE, "not valid text"), ("correct horse\x00battery staple", "NUL")])
def test_a_passphrase_sqlcipher_cannot_take_is_a_wrong_passphrase(vault_path: Path, passphrase: str,
                                                                  expected: str) -> None:
    before = vault_path.read_bytes()
    with pytest.raises(WrongPassphrase, match=expected):
        Vault.open(vault_path, passphrase, actor=ACTOR)
    assert vault_path.read_bytes() == before


def test_an_undecodable_passphrase_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    with pytest.raises(WeakPassphrase, match="not valid text"):
        Vault.create(tmp_path / "new.vault", UNDECODABLE, actor=ACTOR)
    assert list(tmp_path.iterdir()) == []  # no vault, no stray .lock


def test_the_connection_refuses_a_key_sqlcipher_cannot_take(vault_path: Path) -> None:
    for key in ("", UNDECODABLE, "correct horse\x00battery staple"):
        with pytest.raises(WrongPassphrase):
            db.connect(vault_path, key)


def _without_file_permission_bypass() -> list[str]:
    """How to run a process to which file permissions apply: root ignores them unless it drops
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (as /tmp/audit's nocap.sh did)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]


@pytest.mark.parametrize("read_only", [False, True])
def test_a_vault_file_the_user_may_not_read(vault_path: Path, read_only: bool) -> None:
    lock_path_for(vault_path).unlink()  # as for a vault copied here without its .lock
    before = _beside(vault_path)
    vault_path.chmod(0o000)
    try:
        done = subprocess.run(
            [*_without_file_permission_bypass(), sys.executable, "-m", "app.cli.main", "--vault", str(vault_path),
             *(["--read-only"] if read_only else []), "list"],
            cwd=PROJECT_ROOT, env={**os.environ, "EVIDENCE_VAULT_PASSPHRASE": TEST_PASSPHRASE},
            capture_output=True, text=True, timeout=120, check=False)
    finally:
        vault_path.chmod(0o600)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "do not have permission to read this vault file" in done.stderr
    assert _beside(vault_path) == before  # the .lock made for it was removed


def test_a_vault_cut_short_by_a_page_says_so(vault_path: Path) -> None:
    size = vault_path.stat().st_size
    os.truncate(vault_path, size - db.PAGE_SIZE)
    with pytest.raises(NotAVault) as caught:
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    message = caught.value.user_message()
    assert "passphrase is right" in message and "cut short" in message
    assert "start of the vault file" not in message


def test_a_damaged_start_is_still_called_the_start(vault_path: Path) -> None:
    with open(vault_path, "r+b") as handle:
        handle.seek(300)
        handle.write(b"\x00" * 16)
    with pytest.raises(NotAVault, match="start of the vault file is damaged"):
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)


def test_a_wrong_passphrase_on_a_cut_vault_is_still_a_wrong_passphrase(vault_path: Path) -> None:
    os.truncate(vault_path, vault_path.stat().st_size - db.PAGE_SIZE)
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, "another long passphrase entirely", actor=ACTOR)


def test_a_recovery_vault_cut_short_says_so(vault_path: Path) -> None:
    """With recovery enabled the file is keyed by a raw key (x'...'), not through the passphrase KDF."""
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    os.truncate(vault_path, vault_path.stat().st_size - db.PAGE_SIZE)
    with pytest.raises(NotAVault, match="cut short"):
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)

