"""Custody events and canonical JSON: exact bytes, hashes, strict parsing, chain checks."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import IntegrityError, InvalidInput
from app.vault import events as events_module
from app.vault.canonical import canonical_json, parse_canonical
from app.vault.events import ACTIONS, GENESIS_PREV_HASH, Event, utc_now, verify_chain
from app.vault.merkle import root_hash

SHA = "a" * 64


def make_event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "seq": 0,
        "time": "2026-11-25T14:56:22.123456Z",
        "actor": "Investigator A",
        "action": "item_ingested",
        "item_id": 7,
        "item_sha256": SHA,
        "details": {"name": "interview.mp4", "size": 1024},
        "prev_hash": GENESIS_PREV_HASH,
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


# --- canonical JSON ----------------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"], "c": 1.5}) == (
        '{"a":[true,null,"é"],"b":1,"c":1.5}'.encode()
    )


def test_canonical_json_sorts_keys_by_utf16_code_units() -> None:
    # Code-point order would put U+FFFF first; RFC 8785 compares UTF-16 units (0xD83D < 0xFFFF).
    assert canonical_json({"\uffff": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\uffff":1}'.encode()


def test_canonical_json_rfc8785_number_forms() -> None:
    assert canonical_json([1.0, -0.0, 1e21, 0.000001]) == b"[1,0,1e+21,0.000001]"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 2**53, b"bytes", {1: "x"},
                                 {"s": {1, 2}}, datetime.now(UTC)])
def test_canonical_json_rejects_unsupported_values(bad: object) -> None:
    with pytest.raises(InvalidInput):
        canonical_json({"value": bad})


def test_parse_canonical_rejects_non_canonical_and_duplicates() -> None:
    assert parse_canonical(b'{"a":1,"b":[2]}') == {"a": 1, "b": [2]}
    for bad in (b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1,"a":1}', b'{"a":NaN}', b"\xff", b'{"a":1.0}'):
        with pytest.raises(IntegrityError):
            parse_canonical(bad)


# --- events -------------------------------------------------------------------------------------


def test_canonical_bytes_are_exact() -> None:
    event = make_event()
    assert event.canonical_bytes() == (
        b'{"action":"item_ingested","actor":"Investigator A","details":{"name":"interview.mp4",'
        b'"size":1024},"item_id":7,"item_sha256":"' + SHA.encode() + b'","prev_hash":"' + b"0" * 64
        + b'","seq":0,"time":"2026-11-25T14:56:22.123456Z","v":1}'
    )


def test_chain_hash_and_leaf_hash_are_domain_separated() -> None:
    event = make_event()
    data = event.canonical_bytes()
    assert event.chain_hash() == hashlib.sha256(b"evidence-vault:event-chain:v1\x00" + data).hexdigest()
    assert event.leaf_hash() == hashlib.sha256(b"\x00" + data).digest()
    assert bytes.fromhex(event.chain_hash()) != event.leaf_hash()


def test_round_trip_and_equality() -> None:
    event = make_event(details={"nested": {"list": [1, "two", None, False]}, "ratio": 0.25})
    again = Event.from_canonical(event.canonical_bytes())
    assert again == event
    assert hash(again) == hash(event)
    assert again.chain_hash() == event.chain_hash()


def test_details_are_copied_so_the_event_cannot_change() -> None:
    details = {"tags": ["a"]}
    event = make_event(details=details)
    before = event.chain_hash()
    details["tags"].append("b")
    assert event.chain_hash() == before
    with pytest.raises(AttributeError):
        event.actor = "someone else"  # type: ignore[misc]


@pytest.mark.parametrize(
    "overrides",
    [
        {"seq": -1}, {"seq": True}, {"seq": "1"},
        {"time": "2026-11-25T14:56:22Z"}, {"time": "2026-11-25 14:56:22.123456Z"},
        {"time": "2026-02-30T14:56:22.123456Z"}, {"time": "2026-11-25T14:56:22.123456+00:00"},
        {"actor": ""}, {"actor": None},
        {"action": "deleted_everything"},
        {"item_id": -3}, {"item_id": "7"}, {"item_id": False},
        {"item_sha256": "A" * 64}, {"item_sha256": "a" * 63},
        {"details": []}, {"details": {"x": float("nan")}},
        {"prev_hash": "0" * 63}, {"prev_hash": "G" * 64},
    ],
)
def test_invalid_events_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        make_event(**overrides)


def _record(**changes: object) -> bytes:
    record = make_event().as_dict()
    record.update(changes)
    return canonical_json({k: v for k, v in record.items() if v is not _DROP})


_DROP = object()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (lambda: _record(v=2), "version"),
        (lambda: _record(v="1"), "version"),
        (lambda: _record(v=_DROP), "version"),
        (lambda: _record(extra="x"), "unexpected"),
        (lambda: _record(details=_DROP), "missing"),
        (lambda: _record(action="bogus"), "invalid values"),
        (lambda: b"[1,2]", "not a JSON object"),
        (lambda: make_event().canonical_bytes().replace(b'{"action"', b'{ "action"'), "canonical"),
        (lambda: json.dumps(make_event().as_dict()).encode(), "canonical"),
    ],
)
def test_from_canonical_is_strict(data: object, reason: str) -> None:
    with pytest.raises(IntegrityError, match=reason):
        Event.from_canonical(data())  # type: ignore[operator]


def test_actions_are_the_contract_list() -> None:
    assert {
        "vault_created", "case_added", "case_changed", "person_added", "person_changed", "consent_added",
        "consent_withdrawn", "item_ingested", "item_changed", "item_viewed", "item_linked", "note_added",
        "transcript_set", "annotated", "redacted", "exported", "verified", "passphrase_changed",
        "checkpoint_made", "consent_override", "locked", "recovery_configured", "transferred", "receipt_imported",
        "seal_imported", "seal_removed",
    } == ACTIONS


def test_utc_now_format_and_injectable_clock() -> None:
    assert events_module.is_valid_time(utc_now())
    fixed = datetime(2026, 11, 25, 21, 56, 22, 5, tzinfo=timezone(timedelta(hours=7)))
    events_module.set_clock(lambda: fixed)
    try:
        assert utc_now() == "2026-11-25T14:56:22.000005Z"
    finally:
        events_module.set_clock(None)
    assert utc_now() != "2026-11-25T14:56:22.000005Z"
    with pytest.raises(InvalidInput):
        events_module.format_time(datetime(2026, 1, 1))  # naive: no time zone


def _chain(n: int) -> list[Event]:
    chain: list[Event] = []
    prev = GENESIS_PREV_HASH
    for seq in range(n):
        event = make_event(seq=seq, prev_hash=prev, details={"n": seq})
        chain.append(event)
        prev = event.chain_hash()
    return chain


def test_verify_chain_accepts_good_chain_and_detects_tampering() -> None:
    chain = _chain(5)
    verify_chain(chain)
    verify_chain(chain[2:], start_prev_hash=chain[1].chain_hash())
    with pytest.raises(IntegrityError, match="broken at event 3"):
        verify_chain([*chain[:2], make_event(seq=2, prev_hash=chain[1].chain_hash(), details={"n": 99}),
                      *chain[3:]])
    with pytest.raises(IntegrityError, match="gap"):
        verify_chain([*chain[:2], *chain[3:]])
    with pytest.raises(IntegrityError, match="missing"):
        verify_chain(chain[1:])


@settings(max_examples=100, deadline=None)
@given(
    details=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.text(max_size=12)
            | st.integers(-(2**53) + 1, 2**53 - 1) | st.floats(allow_nan=False, allow_infinity=False),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_property_any_allowed_details_round_trip(details: dict) -> None:
    event = make_event(details=details)
    again = Event.from_canonical(event.canonical_bytes())
    assert again.canonical_bytes() == event.canonical_bytes()
    assert again.chain_hash() == event.chain_hash()


def test_format_md_worked_example_events() -> None:
    sha = hashlib.sha256(b"hello").hexdigest()
    e0 = Event(seq=0, time="2026-11-25T14:56:22.123456Z", actor="Investigator A", action="vault_created",
               item_id=None, item_sha256=None, details={"organisation": "Example NGO"},
               prev_hash=GENESIS_PREV_HASH)
    e1 = Event(seq=1, time="2026-11-25T14:57:03.000001Z", actor="Investigator A", action="item_ingested",
               item_id=1, item_sha256=sha, details={"kind": "photo", "size": 5}, prev_hash=e0.chain_hash())
    e2 = Event(seq=2, time="2026-11-25T14:58:10.500000Z", actor="Investigator A", action="item_viewed",
               item_id=1, item_sha256=sha, details={}, prev_hash=e1.chain_hash())
    assert e0.canonical_bytes() == (
        b'{"action":"vault_created","actor":"Investigator A","details":{"organisation":"Example NGO"},'
        b'"item_id":null,"item_sha256":null,"prev_hash":"' + b"0" * 64 + b'","seq":0,'
        b'"time":"2026-11-25T14:56:22.123456Z","v":1}'
    )
    assert [e.chain_hash() for e in (e0, e1, e2)] == [
        "966d6883bc52d2dfeb71da668a2c3c22bb7c57131d21212b30548e7947d75258",
        "20c63bb3d94cb36b89b9a4595918649b48ba85d6c0de92d7f38bcecc2ec1b8bf",
        "02939de68f0fc3aa5628e8a0128e3391b05121244c08de428d2a8bc283dee2e1",
    ]
    assert [e.leaf_hash().hex() for e in (e0, e1, e2)] == [
        "abbf1937d4966699ba67dfb4c3356766aa8bdd6243aa765051addbaef97d5f23",
        "4c951866d8422e042a274b6916cf9ba0a3cfe24207bd441dabf699ebd7585f63",
        "4d6e794db57758816698a30759232efa70995d693d1e8ca783a470552f8c72b3",
    ]
    assert root_hash([e.leaf_hash() for e in (e0, e1, e2)]).hex() == (
        "41755b98a6694b383a67407379c9ad6844fdaa25a6f6940d264e698e0604cafe"
    )
