"""Bytes hidden in text: ``\\xNN`` escapes and undecodable bytes, decoded the ways old devices wrote them.

The vault stores a file name that is not UTF-8 with ``\\xNN`` escapes (app.vault.ingest.safe_name), so
赵新民 written by a Chinese Windows phone arrives as ``\\xd5\\xd4\\xd0\\xc2\\xc3\\xf1``.  A name matcher
looking at that text sees no name at all.  At the redacted level two things follow:

- :func:`strip_escaped` removes every such run from what goes into an export (the bytes cannot be
  pseudonymised, since nobody can tell which encoding they were in);
- :func:`legacy_readings` gives the last leak check every plausible reading of such runs (GBK, Big5,
  cp874/TIS-620, cp1258, Shift-JIS, EUC-KR), so a protected name hidden that way is still found.

A run is a sequence of escapes (or lone surrogates, Python's form of undecodable bytes), possibly with
one or two other characters between them: the second byte of a GBK, Big5 or Shift-JIS character may be
an ASCII letter or a backslash, which safe_name keeps as it is, and two legacy bytes may happen to be
valid UTF-8 (EUC-KR ``\xce\xbc`` becomes "μ").
"""

from __future__ import annotations

import re

LEGACY_ENCODINGS: tuple[str, ...] = ("gbk", "big5", "cp874", "tis-620", "cp1258", "shift_jis", "euc-kr")
ESCAPED_PLACEHOLDER = "[?]"

_BYTE = r"(?:\\x[0-9a-fA-F]{2}|[\udc80-\udcff])"
# Between two escaped bytes up to two other characters may sit: a trail byte in 0x40-0x7e (GBK, Big5 and
# Shift-JIS keep those as ASCII, a backslash included), or a pair of bytes that happened to be valid UTF-8
# and so became a character.  One more may end the run (the trail byte of the last character).
_RUN = re.compile(_BYTE + r"(?:\S{0,2}?" + _BYTE + r")*\S?")
_ONE = re.compile(_BYTE)


def _run_bytes(run: str) -> bytes:
    out = bytearray()
    index = 0
    while index < len(run):
        match = _ONE.match(run, index)
        if match is None:
            # safe_name decoded valid UTF-8 byte sequences to characters: encoding them again gives the bytes
            out += run[index].encode("utf-8", "surrogatepass")
            index += 1
            continue
        token = match.group(0)
        out.append(int(token[2:], 16) if token.startswith("\\x") else ord(token) - 0xDC00)
        index = match.end()
    return bytes(out)


def escaped_runs(text: str) -> list[tuple[int, int, bytes]]:
    """(start, end, bytes) of every run of escaped or undecodable bytes in ``text``."""
    return [(m.start(), m.end(), _run_bytes(m.group(0))) for m in _RUN.finditer(text)]


def has_escaped(text: str) -> bool:
    return _ONE.search(text) is not None


def strip_escaped(text: str, placeholder: str = ESCAPED_PLACEHOLDER) -> str:
    """``text`` with every run of escaped or undecodable bytes replaced by ``placeholder``."""
    if not has_escaped(text):
        return text
    parts: list[str] = []
    cursor = 0
    for start, end, _ in escaped_runs(text):
        parts += [text[cursor:start], placeholder]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def _text_bytes(text: str) -> bytes:
    """The bytes a stored file name was made from: escapes and surrogates back to bytes, the rest UTF-8."""
    return _run_bytes(text)


def legacy_readings(text: str) -> list[str]:
    """Every plausible reading of the escaped bytes of ``text`` in the legacy encodings.

    Each line holding escaped bytes is read whole (its bytes restored exactly, so a name whose bytes
    partly formed valid UTF-8, or whose parts are separated by spaces, reads right), and each run
    alone, both from its first byte and from its second (for a name cut in the middle of a
    character).  Lines without escaped bytes are never read: ordinary text decoded as GBK is noise
    that could match a short name by chance."""
    pieces = [_text_bytes(line) for line in text.splitlines() if has_escaped(line)]
    pieces += [data for _, _, data in escaped_runs(text)]
    readings: list[str] = []
    for data in pieces:
        for encoding in LEGACY_ENCODINGS:
            for skip in (0, 1) if len(data) > 1 else (0,):
                decoded = data[skip:].decode(encoding, "replace")
                if decoded and decoded not in readings:
                    readings.append(decoded)
    return readings
