"""Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) for everything that is hashed or signed.

Allowed values, and nothing else (checked before encoding, so a mistake fails loudly here instead of
producing bytes another verifier cannot reproduce):

- ``None``, ``bool``, ``str``;
- ``int`` within the I-JSON safe range ``-(2**53 - 1) .. 2**53 - 1`` (larger numbers lose precision
  in other languages' JSON parsers);
- finite ``float`` (NaN and infinities have no JSON form); note ``1.0`` encodes as ``1`` and
  ``-0.0`` as ``0``, exactly as RFC 8785 prescribes;
- ``list`` / ``tuple`` of allowed values (both encode as a JSON array);
- ``dict`` with ``str`` keys and allowed values (keys sorted by UTF-16 code units, per RFC 8785).

Bytes, dates, sets and other objects are refused: encode them as strings (hex, RFC 3339) first.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

from app.errors import IntegrityError, InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1
# Deepest nesting written (canonical_json) or read (load_json_bounded): a level counts each array or
# object a value sits in.  Our records nest a handful of levels; 64 leaves room for any future field
# while keeping every recursive step (here, rfc8785, callers walking a record) far from Python's stack
# limit, which hostile JSON such as 100,000 '[' would otherwise hit (a RecursionError, not a message).
MAX_JSON_DEPTH = 64
_MAX_DEPTH = MAX_JSON_DEPTH


def _check(value: Any, path: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise InvalidInput("The data is nested too deeply to be recorded.", debug_detail=path)
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise InvalidInput(
                "A number is too large to be recorded exactly.", debug_detail=f"{path}: {value}"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(
                "A number is not a finite value (NaN or infinity) and cannot be recorded.",
                debug_detail=f"{path}: {value}",
            )
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(
                    "A field name is not text and cannot be recorded.", debug_detail=f"{path}: key {key!r}"
                )
            _check(item, f"{path}.{key}", depth + 1)
        return
    raise InvalidInput(
        "A value of an unsupported type cannot be recorded.",
        debug_detail=f"{path}: {type(value).__name__}",
    )


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (see the module docstring for allowed types).

    Raises InvalidInput for anything outside the allowed types (incl. NaN/inf and unsafe integers).
    """
    _check(value, "$", 0)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:  # e.g. lone surrogates in a str
        raise InvalidInput("The data cannot be written as canonical JSON.", debug_detail=str(exc)) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_int(text: str) -> int | float:
    # A JSON number is an IEEE double (I-JSON): integers beyond 2**53 - 1 can only come from a
    # float with an integral value (canonical form of 1e16 is "10000000000000000"), so read them back
    # as the float they were.
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(value)


class JsonTooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH: a ValueError, so every ``except ValueError`` that handles
    malformed JSON handles it too."""


def load_json_bounded(data: str | bytes, **options: Any) -> Any:
    """``json.loads(data, **options)`` that raises ValueError (:class:`JsonTooDeep`) instead of
    RecursionError for deep nesting, and for any nesting deeper than MAX_JSON_DEPTH.

    Use it for JSON from outside (a file a person gives, a package, a PDF attachment): the standard
    parser recurses once per level, so '[' * 100000 raises RecursionError, which is not a ValueError."""
    try:
        value = json.loads(data, **options)
    except RecursionError:
        raise JsonTooDeep(f"it is nested more than {MAX_JSON_DEPTH} levels deep") from None
    # Fewer than MAX_JSON_DEPTH brackets in all cannot nest deeper: most records skip the walk below.
    brackets = data.count("[") + data.count("{") if isinstance(data, str) else data.count(b"[") + data.count(b"{")
    if brackets > MAX_JSON_DEPTH and _too_deep(value):
        raise JsonTooDeep(f"it is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _too_deep(value: Any) -> bool:
    """Whether ``value`` holds a value deeper than canonical_json accepts (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if depth + 1 > MAX_JSON_DEPTH:
                return True
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def parse_json_strict(data: bytes) -> Any:
    """Parse UTF-8 JSON refusing duplicate keys, NaN/Infinity and nesting deeper than MAX_JSON_DEPTH,
    WITHOUT checking canonical form (callers that re-encode anyway compare the bytes themselves).
    Raises IntegrityError."""
    try:
        text = bytes(data).decode("utf-8")
        return load_json_bounded(
            text, parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=_no_duplicates
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(
            "A stored record is not valid JSON; the vault may have been altered.", debug_detail=str(exc)
        ) from exc


def not_canonical(data: bytes, canonical: bytes) -> IntegrityError:
    """The error for stored bytes that differ from their canonical form."""
    return IntegrityError(
        "A stored record is not in canonical form; the vault may have been altered.",
        debug_detail=f"got {bytes(data)[:200]!r}, canonical {canonical[:200]!r}",
    )


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be canonical JSON: same bytes when re-encoded, no duplicate keys.

    Raises IntegrityError otherwise — a stored record that is not canonical was not written by us.
    """
    value = parse_json_strict(data)
    try:
        again = canonical_json(value)
    except InvalidInput as exc:
        raise IntegrityError(
            "A stored record contains values that cannot be canonical JSON; the vault may have been altered.",
            debug_detail=exc.debug_detail,
        ) from exc
    if again != bytes(data):
        raise not_canonical(data, again)
    return value
