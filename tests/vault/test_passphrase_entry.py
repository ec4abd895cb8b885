"""A new passphrase must be one that can be entered again: no line break, tab or other control character
(--passphrase-stdin reads one line, the prompt ends at Enter, the window's field moves on at Tab), and
valid text.  Refused at creation and at a change of passphrase, before anything is written; a vault made
before the rule still opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import WeakPassphrase
from app.vault.passphrase import check_passphrase, entry_problem, passphrase_strength
from app.vault.vault import Vault
from tests.conftest import TEST_PASSPHRASE
from tests.vault.vaultkit import ACTOR, new_vault, speed_up

UNTYPEABLE = [
    "correct horse\nbattery staple 42",  # line feed: --passphrase-stdin would stop at it
    "correct horse battery staple 42\r",  # a final CR is dropped from a line read on standard input
    "correct horse\rbattery staple 42",  # Enter at a prompt
    "correct horse\tbattery staple 42",  # Tab moves on in the window; looks like a space on paper
    "correct horse\x00battery staple 42",
    "correct horse\x1bbattery staple 42",  # Escape
    "correct horse\x7fbattery staple 42",  # Delete erases at a prompt
    "correct horse\x85battery staple 42",  # C1 next-line
    "correct horse\u2028battery staple 42",  # Unicode line separator
]


@pytest.mark.parametrize("passphrase", UNTYPEABLE)
def test_a_passphrase_that_cannot_be_typed_again_is_refused(passphrase: str) -> None:
    with pytest.raises(WeakPassphrase, match="cannot be typed"):
        check_passphrase(passphrase)
    strength = passphrase_strength(passphrase)  # the window's meter says so too, before "Create"
    assert not strength.acceptable and "cannot be typed" in strength.reason


def test_undecodable_bytes_are_refused_as_not_text() -> None:
    with pytest.raises(WeakPassphrase, match="not valid text"):
        check_passphrase("correct horse \udcff\udcfe battery staple")


@pytest.mark.parametrize("passphrase", [
    "correct horse battery staple 42",
    "  leading and trailing spaces are typed too  ",
    "می\u200cخواهم رمز عبور طولانی",  # Persian with ZWNJ (a format character on Persian keyboards)
    "Nguyễn Văn An đi chợ sáng nay",
    "emoji 🔒🗝️ are typed too, with words",
])
def test_ordinary_passphrases_of_any_script_pass(passphrase: str) -> None:
    assert entry_problem(passphrase) is None
    check_passphrase(passphrase)


def test_create_refuses_it_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    with pytest.raises(WeakPassphrase, match="line break"):
        Vault.create(tmp_path / "new.vault", "correct horse\nbattery staple 42", actor=ACTOR)
    assert list(tmp_path.iterdir()) == []


def test_a_change_of_passphrase_refuses_it_and_changes_nothing(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    speed_up(monkeypatch)
    with new_vault(tmp_path) as vault:
        before = vault.path.read_bytes()
        with pytest.raises(WeakPassphrase, match="tab"):
            vault.change_passphrase("correct horse\tbattery staple 42")
    assert (tmp_path / "test.vault").read_bytes() == before
    Vault.open(tmp_path / "test.vault", TEST_PASSPHRASE, actor=ACTOR).close()


def test_a_vault_made_before_the_rule_still_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening never applies the rule: an older vault whose passphrase has a tab (set through the
    environment) opens as before."""
    speed_up(monkeypatch)
    old = "correct horse\tbattery staple 42"
    monkeypatch.setattr("app.vault.vault.check_passphrase", lambda text: text)  # as before the rule
    Vault.create(tmp_path / "old.vault", old, actor=ACTOR).close()
    monkeypatch.undo()
    speed_up(monkeypatch)
    with Vault.open(tmp_path / "old.vault", old, actor=ACTOR) as vault:
        assert vault.list_items() == []
