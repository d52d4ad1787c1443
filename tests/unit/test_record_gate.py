"""The native record gate changes how much Python runs, never what comes out.

Two engines with the same policy and key see the same records in the same order; one has
the gate, the other has it switched off. Their outcomes (bytes, kind, issue, counts) must
be equal record by record: on generated corpora, on odd JSON, and on values the scanner
reads through a transformation. A record with values the gate was not taught yet comes
out byte for byte as when such a value sent the whole record the usual way. Separately:
what the gate answers for records it cannot vouch for, and that a record with nothing to
clean leaves byte for byte.
"""

from __future__ import annotations

import json
import random

import pytest

from pipeline.core.engine import Engine, Outcome
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.tools.corpus import generate_lines

KEYS = KeyRing.from_secret("gate-test-secret-0123456789-abcdefghijklmn", "k1")


def _engines() -> tuple[Engine, Engine]:
    gated = Engine(load_policy(None), keys=KEYS, ner=False)
    plain = Engine(load_policy(None), keys=KEYS, ner=False)
    assert gated._gate is not None  # noqa: SLF001
    plain._gate = None  # noqa: SLF001 — the reference: every record walked in Python
    return gated, plain


def _same(a: Outcome, b: Outcome, raw: bytes) -> bool:
    """Equal outcomes; or the gate passed the record as it came (``raw``, byte for byte)
    where the engine re-serialized the same JSON."""
    if (a.kind, a.issue, a.dropped, a.entities, a.operators) != (
        b.kind,
        b.issue,
        b.dropped,
        b.entities,
        b.operators,
    ):
        return False
    if a.value == b.value:
        return True
    return a.value == raw and json.loads(raw) == json.loads(b.value)


def _compare(records: list[bytes]) -> int:
    """Feed both engines; return how many records the gate passed (eligible)."""
    gated, plain = _engines()
    passed = 0
    for i, raw in enumerate(records):
        eligible = gated._gate.scan(raw) is not None  # noqa: SLF001
        a, b = gated.apply(raw), plain.apply(raw)
        assert _same(a, b, raw), f"record {i} differs with the gate (eligible: {eligible})"
        passed += eligible
    return passed


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_the_gate_changes_no_outcome_on_generated_corpora(seed, density):
    lines = [line.encode() for line in generate_lines(1200, seed=seed, density=density)]
    passed = _compare(lines)
    # Many JSON records pass the gate once their paths and keys were seen (the test is
    # about something: the gate did take part).
    json_lines = sum(line.startswith(b"{") for line in lines)
    assert passed > json_lines // 8


def test_a_record_with_nothing_to_clean_leaves_byte_for_byte():
    gated, _ = _engines()
    raw = b'{ "level" : "INFO",  "service":"orders", "latency_ms": 12, "ok": true }'
    first = gated.apply(raw)  # walked in Python (the gate learns its paths and keys)
    assert first.value == b'{"level":"INFO","service":"orders","latency_ms":12,"ok":true}'
    again = gated.apply(raw)
    assert again.value == raw  # the gate vouches for it: not parsed, not re-serialized
    assert again.entities == {} and again.issue is None


VALUES = [
    "alice.smith@example.com",
    "13800138000",
    "+86 139 1234 5678",
    "１３８００１３８０００",  # full-width digits: folded before scanning
    "13800\u200b138000",  # a zero-width space inside
    "call%2013800138000",  # percent-encoded
    "<EMAIL_ADDRESS:k1:3b9ab5c353911ec1>",  # our own token
    "203.0.113.57",
    "2001:db8:85a3::8a2e:370:7334",
    "490154203237518",
    "4111 1111 1111 1111",
    "4111111111111112",  # fails Luhn
    "1730695830082",  # epoch milliseconds
    "66194cb1-d710-47d1-b83e-90ec17e0aa3c",
    "923a736994e3bf91",
    "00:1A:2B:3C:4D:5E",
    "Wang Lei",
    "2024-11-04 00:08:09,274",
    "Mon, 04 Nov 2024 05:08:07 GMT",
    "ok",
    "",
    "line one\nline two 13800138000",
]
NUMBERS = [
    5, 999_999, 1_000_000, 13800138000, 490154203237518, -13800138000, 1730695830.5, 3.25, 1e20,
    12345678901234567890123,
]
KEYS_POOL = [
    "msg", "value", "id", "request_id", "idfa", "android_id", "phone", "card", "order_id",
    "NAME", "name", "info", "tags", "ts", "offset", "user", "device",
]


def _mixed_records(keys: list[str]) -> list[bytes]:
    rng = random.Random(7)

    def value(depth: int) -> object:
        roll = rng.random()
        if depth < 3 and roll < 0.15:
            return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 3))}
        if depth < 3 and roll < 0.25:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        if roll < 0.45:
            return rng.choice(NUMBERS)
        if roll < 0.5:
            return rng.choice([True, False, None])
        return rng.choice(VALUES)

    records = []
    for _ in range(1500):
        obj = {rng.choice(keys): value(0) for _ in range(rng.randint(1, 6))}
        records.append(json.dumps(obj).encode())  # (orjson stops at 64-bit integers)
    # Repeats, so the gate's taught paths and keys come into play.
    return records + records[:500]


def test_the_gate_changes_no_outcome_on_mixed_records():
    assert _compare(_mixed_records(KEYS_POOL)) > 300


def _whole_when_untaught(engine: Engine) -> Engine:
    """``engine`` as it was before untaught values went to Python alone: a record with
    one goes the usual way whole (the reference for the bytes such a record comes out as)."""
    gate = engine._gate  # noqa: SLF001
    assert gate is not None
    scan = gate.scan

    def whole(raw: bytes) -> tuple[list[tuple[str | int, ...]], bool] | None:
        found = scan(raw)
        return None if found is None or found[1] else found

    gate.scan = whole  # type: ignore[method-assign]
    return engine


@pytest.mark.parametrize(
    "records",
    [
        pytest.param(
            [line.encode() for line in generate_lines(1200, seed=4, density=0.3)], id="corpus"
        ),
        # Keys the gate is never taught: with personal data in them (the usual walk
        # rewrites the key) and of a dropped field (never cleaned).
        pytest.param(
            _mixed_records([*KEYS_POOL, "alice@example.com", "13800138000", "pwd"]), id="mixed"
        ),
    ],
)
def test_untaught_values_leave_the_record_as_a_whole_walk_writes_it(records):
    gated, _ = _engines()
    reference, _ = _engines()
    _whole_when_untaught(reference)
    untaught = 0
    for i, raw in enumerate(records):
        found = gated._gate.scan(raw)  # noqa: SLF001
        untaught += found is not None and found[1]
        a, b = gated.apply(raw), reference.apply(raw)
        got = (a.value, a.kind, a.issue, a.dropped, a.entities, a.operators)
        want = (b.value, b.kind, b.issue, b.dropped, b.entities, b.operators)
        assert got == want, f"record {i} differs"
    assert untaught > 50


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',  # duplicate keys
        b'[{"a": 1}]',  # not an object
        b'{"a": "\\ud800"}',  # a lone surrogate
        b'{"a": 1} trailing',
        b'{"a": "\xff"}',  # not UTF-8
        b'{"a": 1',  # cut
        b'{"a": NaN}',
        b'{"a": 01}',
        b'{"a": "tab\there"}',  # a raw control character inside a string
        b"plain text 13800138000",
    ],
)
def test_the_gate_leaves_what_it_cannot_vouch_for_to_the_engine(raw):
    gated, plain = _engines()
    for _ in range(2):  # the second time its paths and keys would be known
        a, b = gated.apply(raw), plain.apply(raw)
        assert _same(a, b, raw)
    assert gated._gate.scan(raw) is None  # noqa: SLF001


def test_values_at_paths_and_keys_not_taught_yet_go_to_python():
    gated, _ = _engines()
    raw = b'{"level":"INFO","new_field":"x","more":{"a":[1, 2]}}'
    assert gated._gate.scan(raw) == ([("level",), ("new_field",), ("more",)], True)  # noqa: SLF001
    assert gated.apply(raw).value == b'{"level":"INFO","new_field":"x","more":{"a":[1,2]}}'
    assert gated._gate.scan(raw) == ([], False)  # noqa: SLF001
    assert gated.apply(raw).value == raw
    # A taught key at a new path (`level` under `more`): its value alone.
    other = b'{"level":"INFO","more":{"level":"x"}}'
    assert gated._gate.scan(other) == ([("more", "level")], True)  # noqa: SLF001


def test_deep_nesting_over_the_limit_is_ineligible():
    gated, plain = _engines()
    limit = gated.policy.model.limits.max_depth
    raw = b'{"a":' * (limit + 1) + b"1" + b"}" * (limit + 1)
    for _ in range(2):
        assert _same(gated.apply(raw), plain.apply(raw), raw)
    assert gated._gate.scan(raw) is None  # noqa: SLF001


def test_a_record_with_a_long_integer_is_left_to_the_engine():
    """A gated record is read by orjson alone, which turns an integer of 20 or more
    digits into a float: such a record is ineligible, so its digits stay exact."""
    gated, plain = _engines()
    taught = b'{"level":"INFO","count":1}'
    raw = b'{"level":"INFO","count":89860318123456789012,"n":-123456789012345678901}'
    for _ in range(2):
        gated.apply(taught)
        assert _same(gated.apply(raw), plain.apply(raw), raw)
    assert gated._gate.scan(taught) == ([], False)  # noqa: SLF001
    assert gated._gate.scan(raw) is None  # noqa: SLF001
    assert gated._gate.scan(b'{"level":"INFO","count":1234567890123456789}') == ([], False)  # noqa: SLF001


def test_a_deny_list_value_reaches_python():
    from pipeline.core.policy import parse_policy

    text = """version: 1
name: deny
unknown_fields: scan
scan:
  deny_list:
    PERSON: ["Zorblax"]
"""
    gated = Engine(parse_policy(text), keys=KEYS, ner=False)
    assert gated._gate is not None  # noqa: SLF001
    raw = b'{"level":"INFO","msg":"met zorblax today"}'
    gated.apply(b'{"level":"INFO","msg":"nothing"}')  # teaches the paths and keys
    out = gated.apply(raw)
    assert b"zorblax" not in out.value.lower()


def test_the_native_benign_shape_is_the_scanners():
    from detectors.base import text_shape
    from pipeline.detection import _native
    from pipeline.detection.scanner import _BENIGN_SHAPE

    rng = random.Random(3)
    samples = [
        "2024-11-04T05:08:07.123Z", "2024-11-04 05:08:07,274", "2024-11-04T05:08:07+08:00",
        "05:08:07", "12:00", "1234567890", "12345678901", "-42", "3.14", "3.141",
        "66194cb1-d710-47d1-b83e-90ec17e0aa3c", "923a736994e3bf91", "1234567890123456",
        "4ef8aa38922766581e27a1c08a6a63ec", "INFO", "order-service", "a", "ok", "x_y.z",
        "13800138000", "alice@example.com", "", "ab" * 40,
    ]
    alphabet = "0123456789abcdefxyzABCXYZ-:._ +,TZ"
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 70))) for _ in range(3000)
    ]
    for word in samples:
        want = len(word) >= 2 and _BENIGN_SHAPE.fullmatch(text_shape(word)) is not None
        assert _native.benign_shape(word) == want, word


@pytest.mark.parametrize("gate", [True, False])
def test_a_field_decision_does_not_depend_on_which_spelling_came_first(gate):
    """`wanIp` ends in the word `ip` (an IP address by its name: the whole value goes),
    `wanip` is one word with a short ending (no hint: only what a detector finds goes); a
    decision made for one spelling must not answer for the other (it used to be cached
    by the lower-cased path, so the outcome depended on which record came first)."""
    record = b'{"wanip":"gw-17"}'
    fresh = Engine(load_policy(None), keys=KEYS, ner=False)
    seasoned = Engine(load_policy(None), keys=KEYS, ner=False)
    if not gate:
        fresh._gate = seasoned._gate = None  # noqa: SLF001
    for _ in range(2):
        hinted = seasoned.apply(b'{"wanIp":"gw-17"}')
    assert b"gw-17" not in hinted.value  # its own spelling's hint
    first, later = fresh.apply(record), seasoned.apply(record)
    assert (later.value, later.entities) == (first.value, first.entities)
    again = seasoned.apply(record)  # (with the gate: its answer, the paths taught)
    assert (again.value, again.entities) == (first.value, first.entities)


def test_keys_holding_the_path_separators_are_left_to_the_engine():
    gated, plain = _engines()
    for raw in (b'{"a\\u001fb":"x"}', b'{"a\\u001eb":{"c":"13800138000"}}'):
        for _ in range(2):
            assert _same(gated.apply(raw), plain.apply(raw), raw)
        assert gated._gate.scan(raw) is None  # noqa: SLF001


def test_a_remembered_verdict_answers_only_for_the_same_field_meaning():
    """The gate remembers what the pattern sets said about a value, per value *and* what
    its field name says: `1.1.126.4` under `version` (no IP there) is not the answer for
    it under `target`."""
    gated, _plain = _engines()
    teach = b'{"level":"INFO","version":"2.0","target":"ok"}'
    gated.apply(teach)
    gate = gated._gate  # noqa: SLF001
    assert gate is not None
    for _ in range(2):  # the second time from the remembered verdicts
        assert gate.scan(b'{"level":"INFO","version":"1.1.126.4","target":"ok"}') == ([], False)
        assert gate.scan(b'{"level":"INFO","version":"2.0","target":"1.1.126.4"}') == (
            [("target",)],
            False,
        )
    gated.forget_values()
    assert gate.scan(b'{"level":"INFO","version":"2.0","target":"1.1.126.4"}') == (
        [("target",)],
        False,
    )


def test_json_held_in_a_string_reaches_python():
    """A string holding JSON is cleaned as fields (`Engine._embedded_json`): its keys say
    what its values are (`name`: a person), which the pattern sets cannot see, so it goes
    to Python; it used to pass the gate as written."""
    gated, plain = _engines()
    taught = b'{"level":"INFO","payload":"ok"}'
    for _ in range(2):
        gated.apply(taught)
    for inner in ('{"name":"Wang Lei"}', '{"phone":"x-ab"}', '[{"name":"Wang Lei"}]'):
        raw = json.dumps({"level": "INFO", "payload": inner}, separators=(",", ":")).encode()
        assert gated._gate.scan(raw) == ([("payload",)], False)  # noqa: SLF001
        a, b = gated.apply(raw), plain.apply(raw)
        assert _same(a, b, raw) and a.value != raw
