"""The passphrase strength estimate (used to refuse weak passphrases and by the GUI's meter)."""

from __future__ import annotations

import pytest

from app.errors import WeakPassphrase
from app.vault.passphrase import check_passphrase, passphrase_strength


@pytest.mark.parametrize("weak", [
    "", "short", "elevenchars", "aaaaaaaaaaaaaaaa", "password1234", "123456789012", "abcdefghijklmnop",
    "qwertyuiopasdf", "abababababababab",
])
def test_weak_passphrases_are_refused_with_a_reason(weak: str) -> None:
    strength = passphrase_strength(weak)
    assert strength.score < 2 and not strength.acceptable
    assert strength.reason.endswith(".")
    with pytest.raises(WeakPassphrase) as error:
        check_passphrase(weak)
    assert error.value.user_message() == strength.reason


@pytest.mark.parametrize("strong", [
    "correct horse battery staple orbit", "Tr0ub4dor&3xyz!", "ខ្ញុំស្រឡាញ់ភ្នំពេញណាស់",
    "ฉันชอบกินข้าวเหนียวมะม่วง", "Mưa rơi trên mái nhà cũ",
])
def test_strong_passphrases_in_any_script(strong: str) -> None:
    strength = passphrase_strength(strong)
    assert strength.acceptable and 0 <= strength.score <= 4 and strength.bits >= 50
    assert check_passphrase(strong) == strong


def test_scores_grow_with_length_and_variety() -> None:
    phrases = ("abc", "tiger lamp", "tiger lamp river", "tiger lamp river stone moon")
    scores = [passphrase_strength(p).score for p in phrases]
    assert scores == sorted(scores) and scores[0] == 0 and scores[-1] == 4


def test_nfc_normalisation_makes_keyboards_agree() -> None:
    composed = "Nguyễn Văn An đi làm xa"
    import unicodedata

    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert check_passphrase(decomposed) == check_passphrase(composed)


def test_control_characters_refused() -> None:
    with pytest.raises(WeakPassphrase):
        check_passphrase("correct horse\x00battery staple")


def test_raw_key_syntax_refused() -> None:
    raw = "x'" + "ab" * 32 + "'"
    with pytest.raises(WeakPassphrase):
        check_passphrase(raw)
