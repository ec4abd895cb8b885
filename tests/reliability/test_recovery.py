"""Organisational recovery (SLIP-39 k-of-n shares of a raw vault key) and the panic action, on real
SQLCipher files: recovery with k shares works, k-1 fails clearly, a panic leaves only the shares."""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.errors import InvalidInput, NotAVault, VaultInUse, WeakPassphrase, WrongPassphrase
from app.vault import db, keyslot, recovery
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, OTHER_PASSPHRASE, new_vault, raw_connect, speed_up

NEW_PASSPHRASE = "a brand new passphrase after recovery"


@pytest.fixture
def vault_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as v:
        v.add_case("Recovery case")
        source = tmp_path / "evidence.bin"
        source.write_bytes(os.urandom(300_000))
        v.ingest_file(source)
    return tmp_path / "test.vault"


def _items(path: Path, passphrase: str) -> list[str]:
    with recovery.open_vault(path, passphrase, actor=ACTOR) as v:
        assert v.verify(record=False).ok
        return [i.sha256 for i in v.list_items()]


def test_enable_then_passphrase_opens_via_keyslot_and_vault_uses_raw_key(vault_path: Path) -> None:
    before = _items(vault_path, TEST_PASSPHRASE)
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=5, threshold=3)
    assert len(setup.shares) == 5 and setup.threshold == 3
    assert all(len(s.split()) == 33 for s in setup.shares)  # SLIP-39, 256-bit secret
    assert _items(vault_path, TEST_PASSPHRASE) == before
    # The vault file itself is no longer keyed by the passphrase (stock SQLCipher with it fails)...
    with pytest.raises(Exception, match="not a database"):
        raw_connect(vault_path)
    # ...but by K, which k shares give back: an auditor can open it with stock SQLCipher and K.
    key = recovery.key_from_shares(setup.shares[:3])
    conn = raw_connect(vault_path, passphrase=keyslot.raw_key_literal(key))
    assert conn.execute("SELECT value FROM settings WHERE key='format'").fetchone() == ("evidence-vault",)
    conn.close()
    assert keyslot.read(vault_path).fingerprint == setup.fingerprint == keyslot.key_fingerprint(key)
    with recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        event = v.events()[-1]
        assert event.action == "recovery_configured"
        assert event.details["threshold"] == 3 and event.details["shares"] == 5
        assert key.hex() not in repr(event.details)
    with pytest.raises(WrongPassphrase):
        recovery.open_vault(vault_path, OTHER_PASSPHRASE, actor=ACTOR)


def test_keyslot_file_holds_no_key_in_clear_and_is_authenticated(vault_path: Path) -> None:
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    key = recovery.key_from_shares(setup.shares[:2])
    data = keyslot.keyslot_path(vault_path).read_bytes()
    assert key not in data and key.hex().encode() not in data
    assert oct(keyslot.keyslot_path(vault_path).stat().st_mode & 0o777) == "0o600"
    # Lowering the iteration count (or any header field) makes unwrapping fail: it is bound as GCM AAD.
    tampered = data.replace(b'"iterations":2000', b'"iterations":1000')
    assert tampered != data
    with pytest.raises(WrongPassphrase):
        keyslot.unwrap(keyslot.parse(tampered), TEST_PASSPHRASE)
    with pytest.raises(NotAVault):
        keyslot.parse(b"{not json")


@pytest.mark.parametrize(("n", "k"), [(5, 3), (3, 2), (7, 4)])
def test_recover_with_k_shares_and_fail_with_k_minus_1(vault_path: Path, n: int, k: int) -> None:
    before = _items(vault_path, TEST_PASSPHRASE)
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=n, threshold=k)
    rng = random.Random(n * 10 + k)
    too_few = rng.sample(setup.shares, k - 1)
    with pytest.raises(recovery.RecoveryFailed, match=f"{k} different shares are needed, {k - 1} were given"):
        recovery.recover(vault_path, too_few, NEW_PASSPHRASE, actor="HQ")
    # k-1 copies plus a repeated share is still k-1 distinct shares
    with pytest.raises(recovery.RecoveryFailed, match="Not enough"):
        recovery.recover(vault_path, [*too_few, too_few[0]], NEW_PASSPHRASE, actor="HQ")
    keyslot_before = keyslot.keyslot_path(vault_path).read_bytes()
    assert keyslot.keyslot_path(vault_path).read_bytes() == keyslot_before  # failures changed nothing
    chosen = rng.sample(setup.shares, k)
    messy = [f"  {s.upper()}  " for s in chosen]  # case and spacing do not matter
    recovery.recover(vault_path, messy, NEW_PASSPHRASE, actor="HQ")
    assert _items(vault_path, NEW_PASSPHRASE) == before
    with pytest.raises(WrongPassphrase):
        recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    with recovery.open_vault(vault_path, NEW_PASSPHRASE, actor=ACTOR) as v:
        last = v.events()[-1]
        assert last.action == "passphrase_changed" and last.details["method"] == "recovery shares"
        assert last.actor == "HQ"


def test_mistyped_share_and_shares_of_another_vault_fail_clearly(vault_path: Path, tmp_path: Path) -> None:
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    words = setup.shares[0].split()
    words[5] = "zzzzz"
    with pytest.raises(recovery.RecoveryFailed, match="Share 1 is not valid"):
        recovery.recover(vault_path, [" ".join(words), setup.shares[1]], NEW_PASSPHRASE, actor="HQ")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    new_vault(other_dir).close()
    other = other_dir / "test.vault"
    other_setup = recovery.enable(other, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    with pytest.raises(recovery.RecoveryFailed, match="belong to another vault"):
        recovery.recover(vault_path, other_setup.shares[:2], NEW_PASSPHRASE, actor="HQ")
    with pytest.raises(recovery.RecoveryFailed):  # shares of two different secrets do not combine
        recovery.recover(vault_path, [setup.shares[0], other_setup.shares[1]], NEW_PASSPHRASE, actor="HQ")
    with pytest.raises(WeakPassphrase):
        recovery.recover(vault_path, setup.shares[:2], "short", actor="HQ")
    assert _items(vault_path, TEST_PASSPHRASE)


def test_rotation_invalidates_old_shares(vault_path: Path) -> None:
    first = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    second = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    assert first.fingerprint != second.fingerprint
    with pytest.raises(recovery.RecoveryFailed, match="older recovery key"):
        recovery.recover(vault_path, first.shares[:2], NEW_PASSPHRASE, actor="HQ")
    recovery.recover(vault_path, second.shares[1:], NEW_PASSPHRASE, actor="HQ")
    assert _items(vault_path, NEW_PASSPHRASE)


def test_change_passphrase_only_rewraps_the_key(vault_path: Path) -> None:
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    vault_bytes = hashlib.sha256(vault_path.read_bytes()).hexdigest()
    recovery.change_passphrase(vault_path, TEST_PASSPHRASE, OTHER_PASSPHRASE, actor=ACTOR)
    with pytest.raises(WrongPassphrase):
        recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    assert _items(vault_path, OTHER_PASSPHRASE)
    assert vault_bytes != hashlib.sha256(vault_path.read_bytes()).hexdigest()  # only the event was appended
    with pytest.raises(WrongPassphrase):
        recovery.change_passphrase(vault_path, TEST_PASSPHRASE, NEW_PASSPHRASE, actor=ACTOR)


def test_recovery_needs_the_vault_closed(vault_path: Path) -> None:
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR), pytest.raises(VaultInUse):
        recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    with pytest.raises(InvalidInput):
        recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=1)
    with pytest.raises(InvalidInput):
        recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=2, threshold=3)
    with pytest.raises(WrongPassphrase):
        recovery.enable(vault_path, OTHER_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    assert not keyslot.exists(vault_path)


def test_panic_destroys_keyslot_only_shares_open_the_vault(vault_path: Path) -> None:
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2,
                            panic_destroys_keys=True)
    vault = recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    result = recovery.panic(vault_path, vault=vault)  # configured: destroys
    assert result.locked and result.keys_destroyed and not vault.is_open
    assert not keyslot.exists(vault_path)
    assert not [p for p in vault_path.parent.iterdir() if "keyslot" in p.name]
    with pytest.raises(WrongPassphrase):
        recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    with pytest.raises(recovery.RecoveryFailed):
        recovery.recover(vault_path, setup.shares[:1], NEW_PASSPHRASE, actor="HQ")
    recovery.recover(vault_path, setup.shares[:2], NEW_PASSPHRASE, actor="HQ")
    assert _items(vault_path, NEW_PASSPHRASE)
    assert keyslot.read(vault_path).panic_destroys_keys is False  # the setting went with the destroyed file


def test_panic_without_configuration_only_locks(vault_path: Path) -> None:
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    vault = recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    result = recovery.panic(vault_path, vault=vault)
    assert result.locked and not result.keys_destroyed and not vault.is_open
    assert _items(vault_path, TEST_PASSPHRASE)
    plain_dir = vault_path.parent / "plain"
    plain_dir.mkdir()
    new_vault(plain_dir).close()
    result = recovery.panic(plain_dir / "test.vault", destroy_keys=True)
    assert not result.keys_destroyed and "not enabled" in result.message


def test_panic_overwrites_key_bytes_before_unlinking(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    path = keyslot.keyslot_path(vault_path)
    original = path.read_bytes()
    seen: list[bytes] = []
    real_unlink = Path.unlink

    def spy(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            seen.append(self.read_bytes())
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", spy)
    assert recovery.panic(vault_path, destroy_keys=True).keys_destroyed
    assert seen and len(seen[0]) == len(original) and seen[0] != original and b"slots" not in seen[0]


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
         stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_enable_recover_panic(vault_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--vault", str(vault_path), "--actor", "HQ", "--passphrase-stdin"]
    code, out, err = _cli(monkeypatch, capsys, [*base, "recovery", "enable", "--shares", "4", "--threshold", "2",
                                                "--panic-destroys-keys"], TEST_PASSPHRASE + "\n")
    assert code == 0, err
    assert "shown ONCE" in err and "never stored" in err
    shares = [line for line in out.splitlines() if len(line.split()) == 33]
    assert len(shares) == 4
    code, out, _ = _cli(monkeypatch, capsys, ["--vault", str(vault_path), "recovery", "status"])
    assert code == 0 and "enabled" in out and "destroys" in out
    code, out, _ = _cli(monkeypatch, capsys, ["--vault", str(vault_path), "panic"])
    assert code == 0 and "destroyed" in out and not keyslot.exists(vault_path)
    # one share: too few, clear one-sentence error, exit non-zero
    code, _, err = _cli(monkeypatch, capsys, [*base, "recover"], shares[0] + "\n\n" + NEW_PASSPHRASE + "\n")
    assert code != 0 and "Not enough recovery shares" in err and "Traceback" not in err
    code, out, err = _cli(monkeypatch, capsys, [*base, "recover"], f"{shares[3]}\n{shares[1]}\n{NEW_PASSPHRASE}\n")
    assert code == 0, err
    assert "recovered" in out
    assert _items(vault_path, NEW_PASSPHRASE)
    code, out, err = _cli(monkeypatch, capsys, ["--vault", str(vault_path), "panic", "--destroy-keys"])
    assert code == 0 and not keyslot.exists(vault_path)


def test_real_kdf_keyslot(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production parameters: the keyslot records 256,000 PBKDF2-HMAC-SHA512 iterations."""
    monkeypatch.setattr(db, "_unsafe_kdf_iter_for_tests", None)
    slot = keyslot.build(TEST_PASSPHRASE, {"current": os.urandom(32)}, panic_destroys_keys=False)
    assert slot.iterations == 256_000
    assert b'"iterations":256000' in slot.to_bytes()
    assert keyslot.unwrap(keyslot.parse(slot.to_bytes()), TEST_PASSPHRASE)["current"]


def test_vault_reencrypted_under_passphrase_still_opens(vault_path: Path) -> None:
    """A passphrase change that bypasses the keyslot (the storage layer's re-encryption) never locks the
    owner out: the file opens with the new passphrase; the stale keyslot is ignored."""
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    with recovery.open_vault(vault_path, TEST_PASSPHRASE, actor=ACTOR) as v:
        from app.vault.rekey import rewrite_with_new_passphrase

        with v._lock:
            conn, v._conn = v._conn, None
            v._conn = rewrite_with_new_passphrase(conn, vault_path, OTHER_PASSPHRASE, actor=ACTOR)
    assert _items(vault_path, OTHER_PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        recovery.open_vault(vault_path, NEW_PASSPHRASE, actor=ACTOR)


# -- integration with Vault.open / Vault.change_passphrase -------------------------------------------

def test_vault_open_and_change_passphrase_use_the_keyslot(vault_path: Path) -> None:
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    vault = Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    assert vault._raw_key == recovery.key_from_shares(setup.shares[:2])
    vault.change_passphrase(OTHER_PASSPHRASE)  # rewraps K; the file keeps K
    assert vault.events()[-1].details["method"] == "keyslot rewrap"
    assert vault.verify(record=False).ok
    vault.close()
    assert vault._raw_key is None  # dropped on lock
    with pytest.raises(WrongPassphrase):
        Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR)
    with Vault.open(vault_path, OTHER_PASSPHRASE, actor=ACTOR) as v:
        assert v.verify(record=False).ok
    recovery.recover(vault_path, setup.shares[1:], NEW_PASSPHRASE, actor="HQ")  # the shares still work
    with Vault.open(vault_path, NEW_PASSPHRASE, actor=ACTOR) as v:
        assert v.verify(record=False).ok


def test_cli_passwd_on_a_recovery_enabled_vault(vault_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    code, _, err = _cli(monkeypatch, capsys, ["--vault", str(vault_path), "--passphrase-stdin", "passwd"],
                        f"{TEST_PASSPHRASE}\n{OTHER_PASSPHRASE}\n")
    assert code == 0, err
    code, _, err = _cli(monkeypatch, capsys, ["--vault", str(vault_path), "--passphrase-stdin", "verify"],
                          f"{OTHER_PASSPHRASE}\n")
    assert code == 0, err


def test_independent_verifier_opens_a_recovery_vault_from_format_md(vault_path: Path) -> None:
    """tools/independent_verifier.py (written from docs/FORMAT.md alone) opens a recovery-enabled vault
    both through the keyslot with the passphrase and with K combined from the shares."""
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    tool = PROJECT_ROOT / "tools" / "independent_verifier.py"
    setup = recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    env = {**os.environ, "EVIDENCE_VAULT_PASSPHRASE": TEST_PASSPHRASE}
    common = [sys.executable, str(tool), str(vault_path), "--kdf-iter", str(db.kdf_iter()), "--no-copy"]
    by_passphrase = subprocess.run(common, env=env, capture_output=True, text=True, timeout=120)
    assert by_passphrase.returncode == 0 and "INTACT" in by_passphrase.stdout, by_passphrase.stdout[-2000:]
    key = recovery.key_from_shares(setup.shares[:2]).hex()
    by_key = subprocess.run([*common, "--raw-key", key], input="unused\n", capture_output=True, text=True,
                            timeout=120, env={k: v for k, v in os.environ.items() if k != "EVIDENCE_VAULT_PASSPHRASE"})
    assert by_key.returncode == 0 and "INTACT" in by_key.stdout, by_key.stdout[-2000:]
    env["EVIDENCE_VAULT_PASSPHRASE"] = OTHER_PASSPHRASE
    wrong = subprocess.run(common, env=env, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2


def test_read_only_open_of_a_recovery_vault_writes_nothing(vault_path: Path) -> None:
    recovery.enable(vault_path, TEST_PASSPHRASE, actor=ACTOR, shares=3, threshold=2)
    slot_path = keyslot.keyslot_path(vault_path)
    before = (hashlib.sha256(vault_path.read_bytes()).hexdigest(), slot_path.read_bytes())
    with Vault.open(vault_path, TEST_PASSPHRASE, actor=ACTOR, read_only=True) as v:
        assert v.verify(record=False).ok
    assert (hashlib.sha256(vault_path.read_bytes()).hexdigest(), slot_path.read_bytes()) == before
