"""JSON from outside is parsed with a bounded depth: hostile nesting ('[' * 100000) is a ValueError or the
module's own IntegrityError, never a RecursionError, and what canonical_json writes always reads back."""

from __future__ import annotations

import json

import pytest

from app.errors import IntegrityError, InvalidInput
from app.vault.canonical import (
    MAX_JSON_DEPTH,
    JsonTooDeep,
    canonical_json,
    load_json_bounded,
    parse_canonical,
    parse_json_strict,
)

HOSTILE = b"[" * 100_000 + b"]" * 100_000


def _nested(levels: int, inner: object = 1) -> object:
    value = inner
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("data", [HOSTILE, HOSTILE.decode(), b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_hostile_nesting_is_a_value_error(data: bytes | str) -> None:
    with pytest.raises(JsonTooDeep, match="nested more than 64 levels"):
        load_json_bounded(data)
    assert issubclass(JsonTooDeep, ValueError)  # every `except ValueError` for bad JSON catches it


def test_nesting_below_the_recursion_limit_but_beyond_the_bound_is_refused_too() -> None:
    with pytest.raises(JsonTooDeep):
        load_json_bounded(json.dumps(_nested(200)))


@pytest.mark.parametrize("parse", [parse_json_strict, parse_canonical])
def test_the_strict_parsers_turn_it_into_their_own_error(parse) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError) as caught:
        parse(HOSTILE)
    assert isinstance(caught.value.__cause__, JsonTooDeep)


def test_the_bound_is_the_one_canonical_json_writes_with() -> None:
    deepest = _nested(MAX_JSON_DEPTH)  # a scalar at depth 64: written and read back
    assert parse_canonical(canonical_json(deepest)) == deepest
    assert load_json_bounded(json.dumps(_nested(MAX_JSON_DEPTH - 1, []))) == _nested(MAX_JSON_DEPTH - 1, [])
    too_deep = _nested(MAX_JSON_DEPTH + 1)
    with pytest.raises(InvalidInput):
        canonical_json(too_deep)
    with pytest.raises(JsonTooDeep):
        load_json_bounded(json.dumps(too_deep))


def test_wide_documents_are_not_deep() -> None:
    wide = {"events": [{"details": {"items": [1, 2, {"a": [3]}]}} for _ in range(2000)]}
    assert load_json_bounded(json.dumps(wide)) == wide
    assert load_json_bounded("[" * 30 + "]" * 30) == _nested(29, [])
