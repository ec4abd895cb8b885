"""Passphrase strength: a simple, explainable estimate used to refuse weak vault passphrases and to
drive the strength meter in the GUI.

The estimate is deliberately conservative and dependency-free: a character-pool entropy
(length x log2(pool size)) where the length counted is reduced for repeated characters, keyboard and
alphabet runs, and well-known passwords.  It is not a cracking model; it catches the passphrases an
attacker with a seized laptop would try first.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from app.errors import WeakPassphrase

MIN_LENGTH = 12
MIN_BITS = 50.0

_COMMON = (
    "password", "passwort", "motdepasse", "contraseña", "qwerty", "azerty", "letmein", "welcome",
    "iloveyou", "admin", "secret", "evidence", "vault", "dragon", "monkey", "football", "123456",
)
_RAW_KEY = re.compile(r"[xX]'[0-9A-Fa-f]*'")
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "01234567890")


@dataclass(frozen=True)
class Strength:
    """``score`` 0 (very weak) .. 4 (very strong); ``bits`` the entropy estimate; ``reason`` a plain
    sentence saying what is wrong, or what makes it good."""

    score: int
    bits: float
    reason: str

    @property
    def acceptable(self) -> bool:
        return self.score >= 2


def normalise(passphrase: str) -> str:
    """NFC form: the same passphrase typed on two keyboards must give the same key."""
    return unicodedata.normalize("NFC", passphrase)


def _pool_size(text: str) -> int:
    pool = 0
    if any(c.islower() and c.isascii() for c in text):
        pool += 26
    if any(c.isupper() and c.isascii() for c in text):
        pool += 26
    if any(c.isdigit() and c.isascii() for c in text):
        pool += 10
    if any(c.isascii() and not c.isalnum() for c in text):
        pool += 33
    if any(not c.isascii() for c in text):
        pool += 100  # letters of other scripts: a rough but safe lower bound for a big alphabet
    return max(pool, 1)


def _effective_length(text: str) -> tuple[float, str]:
    """Length after discounting what an attacker guesses cheaply; plus the main reason for a discount."""
    lowered = text.lower()
    reason = ""
    discount = 0.0
    for word in _COMMON:
        if word in lowered:
            discount += len(word) - 1  # a well-known word is one guess, not len(word) characters
            reason = reason or f"it contains a very common password ('{word}')"
    # Each run of the same character counts once; each step along an alphabet/keyboard/digit row
    # counts a quarter.
    length = 0.0
    previous = ""
    for index, char in enumerate(lowered):
        if char == previous:
            reason = reason or "it repeats the same character"
            continue
        pair = previous + char
        if previous and any(pair in run or pair[::-1] in run for run in _RUNS):
            length += 0.25
            if index >= 3 and any(lowered[index - 3: index + 1] in run for run in _RUNS):
                reason = reason or "it contains a run like 'abcd' or '1234'"
        else:
            length += 1.0
        previous = char
    length -= discount
    distinct = len(set(lowered))
    if distinct * 2 < length:
        length = distinct * 2.0
        reason = reason or "it uses too few different characters"
    return max(length, 0.0), reason


NOT_TEXT = ("The passphrase contains bytes that are not valid text (UTF-8). Type it again, or check the "
            "character encoding of the program or file that sends it.")
UNTYPEABLE = ("The passphrase contains a line break, a tab or another control character, which cannot be typed "
              "where the vault asks for its passphrase. Choose one without them.")
# Control characters (Cc: C0 incl. tab, CR, LF; DEL; C1) and the Unicode line and paragraph separators.
# Why each cannot be entered again: --passphrase-stdin reads one line (LF ends it, a final CR is dropped);
# the terminal prompt ends at Enter (CR and LF) and gives most other control keys a meaning (Ctrl-C,
# Ctrl-U, Ctrl-W...); the desktop window's field moves on at Tab.  A tab typed at a prompt does reach
# us, but the same vault must open in the window too, and a tab looks like a space when written down.
# Format characters (Cf) stay allowed: ZWNJ (U+200C) is typed on Persian keyboards, for example.
_UNTYPEABLE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def entry_problem(passphrase: str) -> str | None:
    """Why ``passphrase`` can never be entered again, as a plain sentence, or None.

    Lone surrogates (undecodable bytes on standard input or in the environment, which Python keeps as
    U+DC80..U+DCFF) have no UTF-8 form, so no key can be derived from them."""
    for char in passphrase:
        category = unicodedata.category(char)
        if category == "Cs":
            return NOT_TEXT
        if category in _UNTYPEABLE_CATEGORIES:
            return UNTYPEABLE
    return None


def passphrase_strength(passphrase: str) -> Strength:
    """Estimate the strength of ``passphrase`` (any script).  Never raises."""
    text = normalise(passphrase)
    length = len(text)
    effective, discount_reason = _effective_length(text)
    bits = round(effective * math.log2(_pool_size(text)), 1)
    if length == 0:
        return Strength(0, 0.0, "Enter a passphrase.")
    problem = entry_problem(text)
    if problem is not None:
        return Strength(0, bits, problem)
    if length < MIN_LENGTH:
        score = 0 if length < 8 else 1
        return Strength(score, bits, f"This passphrase is too short: use at least {MIN_LENGTH} characters "
                                     f"(it has {length}), for example several unrelated words.")
    if bits < 28:
        score, quality = 0, "very weak"
    elif bits < MIN_BITS:
        score, quality = 1, "weak"
    elif bits < 70:
        score, quality = 2, "acceptable"
    elif bits < 100:
        score, quality = 3, "strong"
    else:
        score, quality = 4, "very strong"
    if score < 2:
        why = discount_reason or "it is too predictable"
        return Strength(score, bits, f"This passphrase is {quality}: {why}. Add more unrelated words.")
    return Strength(score, bits, f"This passphrase is {quality}.")


def check_passphrase(passphrase: str) -> str:
    """Return the normalised passphrase, or raise WeakPassphrase with the reason."""
    if not isinstance(passphrase, str):
        raise WeakPassphrase("The passphrase must be text.")
    problem = entry_problem(passphrase)
    if problem is not None:  # before the strength check: the passphrase could never be typed again
        raise WeakPassphrase(problem)
    if _RAW_KEY.fullmatch(passphrase.strip()):
        # SQLCipher would take x'...' as a raw key and skip the key derivation entirely.
        raise WeakPassphrase("A passphrase of the form x'...' cannot be used. Choose several unrelated words.")
    strength = passphrase_strength(passphrase)
    if not strength.acceptable:
        raise WeakPassphrase(strength.reason, debug_detail=f"score={strength.score} bits={strength.bits}")
    return normalise(passphrase)
