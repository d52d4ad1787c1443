"""The fuzz tier: generated hostile records with planted personal values.

Hypothesis builds JSON records (nested objects and arrays, personal values as values, as
numbers and as object keys), text lines, Kafka headers (null values, personal names and
values, JSON values), broken JSON (a record cut anywhere) and Unicode variants of every
planted value (full-width, other scripts' digits, zero-width and NUL splits). Each test
asserts that no planted value survives in any form, that nothing raises, and (for files)
that the line count reconciles.

Runs with a fixed seed (``derandomize``) and a bounded number of examples
(``LOGSCRUB_FUZZ_EXAMPLES``, default 200 per test), so CI is repeatable; the figures
(examples run, values planted, survivors) are printed at the end of the run. Examples it
found that once failed are kept as plain tests in tests/unit/test_hostile_input.py.
"""

from __future__ import annotations

import io
import json
import os

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.lines import Oversize, read_lines
from pipeline.detection.fold import fold_with_offsets
from tests.fuzz.conftest import FIGURES

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("LOGSCRUB_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # a fixed seed: the same examples on every run
    deadline=None,  # timing belongs to benchmarks/, not to tests
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Personal values whose shape alone identifies them (no field name needed), canonical form.
PLANTED = [
    "alice.smith@example.com",
    "li.wei88@example.cn",
    "13800138000",
    "+86 139 1234 5678",
    "203.0.113.57",
    "198.51.100.23",
    "490154203237518",  # IMEI (Luhn)
    "4111 1111 1111 1111",  # card
    "00:1A:2B:3C:4D:5E",
    "2001:db8:85a3::8a2e:370:7334",
]
# Keys and words that carry no personal data.
# (Not `order`, `sku`, `trace`: the detectors read those field names as "an id that looks
# like a card or a phone is not one", on purpose.)
SAFE_WORDS = ["level", "status", "ok", "retry", "cache", "db", "latency", "data", "info", "value"]
# A colon glued to a value (`：00:1A:…`, `…5678::`) is left out: for values written with
# colons (MAC, IPv6, times) it makes the boundary ambiguous, and the detectors decline.
SEPARATORS = [" ", ", ", "; ", " | ", ": ", "： ", "，", "\t", " (", ") ", "\n"]
HAN = ["用户", "电话", "地址", "登录", "失败", "订单"]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _digits(base: int, text: str) -> str:
    return "".join(chr(base + int(c)) if c.isdigit() else c for c in text)


def _split(text: str, mark: str) -> str:
    middle = len(text) // 2
    return text[:middle] + mark + text[middle:]


VARIANTS = {
    "ascii": lambda v: v,
    "fullwidth": _fullwidth,
    "arabic-indic digits": lambda v: _digits(0x0660, v),
    "devanagari digits": lambda v: _digits(0x0966, v),
    "zero-width split": lambda v: _split(v, "\u200b"),
    "NUL split": lambda v: _split(v, "\x00"),
    "BOM split": lambda v: _split(v, "\ufeff"),
}

planted = st.tuples(st.sampled_from(PLANTED), st.sampled_from(sorted(VARIANTS)))
safe_text = st.lists(st.sampled_from(SAFE_WORDS + HAN), min_size=0, max_size=4).map(" ".join)


def _written(value: tuple[str, str]) -> str:
    canonical, variant = value
    return VARIANTS[variant](canonical)


@st.composite
def text_with_planted(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A line of words and separators with one to three planted values."""
    values = draw(st.lists(planted, min_size=1, max_size=3))
    parts: list[str] = [draw(safe_text)]
    for value in values:
        parts.append(draw(st.sampled_from(SEPARATORS)))
        parts.append(_written(value))
        parts.append(draw(st.sampled_from(SEPARATORS)))
        parts.append(draw(safe_text))
    return "".join(parts), [v for v, _ in values]


@st.composite
def record_with_planted(draw: st.DrawFn, depth: int = 0) -> tuple[dict, list[str]]:
    """A JSON object with planted values as strings, numbers, keys and inside arrays."""
    record: dict = {}
    found: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(
            st.sampled_from(["safe", "value", "number", "key", "text", "nested", "array"])
        )
        key = draw(st.sampled_from(SAFE_WORDS)) + draw(st.sampled_from(["", "_2", "Id", ".x"]))
        if choice == "safe":
            record[key] = draw(
                st.one_of(st.integers(-1000, 1000), safe_text, st.booleans(), st.none())
            )
        elif choice == "value":
            value = draw(planted)
            record[key] = _written(value)
            found.append(value[0])
        elif choice == "number":
            digits = draw(
                st.sampled_from(["13800138000", "490154203237518", "89860318123456789013"])
            )
            record[key] = int(digits) if draw(st.booleans()) else float(digits)
            if isinstance(record[key], float) and int(digits) > 2**53:
                record[key] = int(digits)  # a float cannot hold it: the producer sent an int
            found.append(digits)
        elif choice == "key":
            value = draw(planted)
            record[_written(value)] = draw(st.integers(0, 9))
            found.append(value[0])
        elif choice == "text":
            text, values = draw(text_with_planted())
            record[key] = text
            found += values
        elif choice == "nested" and depth < 3:
            child, values = draw(record_with_planted(depth + 1))
            record[key] = child
            found += values
        elif choice == "array" and depth < 3:
            items = []
            for _ in range(draw(st.integers(0, 3))):
                child, values = draw(record_with_planted(depth + 1))
                items.append(child)
                found += values
            record[key] = items
    return record, found


def _strings(node: object) -> list[str]:
    """Every key and string in a decoded JSON document."""
    out: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None:
            out.append(str(item))
    return out


def survivors(planted_values: list[str], *outputs: bytes | str | None) -> list[str]:
    """The planted values found in any output, in any written form (folded back)."""
    hay: list[str] = []
    for output in outputs:
        if output is None:
            continue
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
        hay.append(text)
        try:
            hay.extend(_strings(orjson.loads(text)))
        except orjson.JSONDecodeError:
            pass
    folded = "\n".join(fold_with_offsets(h)[0] for h in hay)
    squeezed = folded.replace(" ", "")
    found = []
    for value in planted_values:
        if value in folded or value.replace(" ", "") in squeezed:
            found.append(value)
    return found


def _count(n_planted: int, left: list[str]) -> None:
    FIGURES["examples"] += 1
    FIGURES["planted"] += n_planted
    FIGURES["survivors"] += len(left)


@FUZZ
@given(record_with_planted())
def test_json_records_keep_no_planted_value(default_engine, case):
    record, values = case
    raw = _dump(record)
    out = default_engine.apply(raw)
    assert out.value is not None and out.issue is None
    left = survivors(values, out.value)
    _count(len(values), left)
    assert not left


@FUZZ
@given(text_with_planted())
def test_text_lines_keep_no_planted_value(default_engine, case):
    text, values = case
    out = default_engine.apply(text.encode("utf-8"))
    assert out.value is not None
    left = survivors(values, out.value)
    _count(len(values), left)
    assert not left


@FUZZ
@given(record_with_planted(), st.data())
def test_broken_json_keeps_no_planted_value(default_engine, case, data):
    record, values = case
    raw = _dump(record)
    cut = data.draw(st.integers(1, len(raw)))
    broken = raw[:cut]
    # Only values that are whole in what is left can be asked for.
    whole = [v for v in values if _present(v, broken)]
    out = default_engine.apply(broken)
    assert out.value is not None
    left = survivors(whole, out.value)
    _count(len(whole), left)
    assert not left


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(SAFE_WORDS), st.none()),
            st.tuples(st.sampled_from(SAFE_WORDS), planted.map(lambda v: (_written(v), v[0]))),
            st.tuples(planted.map(lambda v: (_written(v), v[0])), st.sampled_from([b"1", None])),
            st.tuples(st.sampled_from(["x-user", "ctx"]), record_with_planted()),
        ),
        max_size=4,
    )
)
def test_headers_keep_no_planted_value(default_engine, spec):
    headers: list[tuple[str, bytes | None]] = []
    values: list[str] = []
    for name, value in spec:
        if isinstance(name, tuple):
            headers.append((name[0], value))
            values.append(name[1])
        elif value is None:
            headers.append((name, None))
        elif isinstance(value[0], dict):
            headers.append((name, _dump(value[0])))
            values += value[1]
        else:
            headers.append((name, value[0].encode("utf-8")))
            values.append(value[1])
    out = default_engine.apply(b'{"level": "INFO"}', key=None, headers=headers)
    assert out.headers is not None and len(out.headers) == len(headers)
    for (_name, value), (_, new) in zip(headers, out.headers, strict=True):
        assert (value is None) is (new is None)
    left = survivors(values, *(n for n, _ in out.headers), *(v for _, v in out.headers))
    _count(len(values), left)
    assert not left


@FUZZ
@given(
    st.lists(st.one_of(record_with_planted(), text_with_planted()), min_size=1, max_size=8),
    st.data(),
)
def test_a_file_of_mixed_lines_reconciles_and_keeps_no_planted_value(default_engine, lines, data):
    raw_lines: list[bytes] = []
    values: list[str] = []
    for item, planted_values in lines:
        if isinstance(item, dict):
            raw = _dump(item)
            if data.draw(st.booleans()):
                raw = raw[: data.draw(st.integers(1, len(raw)))]
                planted_values = [v for v in planted_values if _present(v, raw)]
        else:
            raw = item.encode("utf-8")
        raw_lines.append(raw.replace(b"\n", b" "))
        values += planted_values
    stream = io.BytesIO(b"\n".join(raw_lines) + b"\n")
    written = dropped = 0
    outputs = []
    for line in read_lines(stream, default_engine.policy.model.limits.max_bytes):
        assert not isinstance(line, Oversize)
        out = default_engine.apply(line)
        if out.value is None:
            dropped += 1
        else:
            written += 1
            outputs.append(out.value)
    assert written + dropped == len(raw_lines)
    left = survivors(values, *outputs)
    _count(len(values), left)
    assert not left


def _present(value: str, raw: bytes) -> bool:
    text = raw.decode("utf-8", "replace")
    strings = [text]
    folded = fold_with_offsets(orjson.loads(orjson.dumps(text)))[0]
    strings.append(folded)
    # JSON escapes NUL as \u0000: compare with the escapes resolved.
    strings.append(fold_with_offsets(text.replace("\\u0000", "\x00"))[0])
    return any(value in s or value.replace(" ", "") in s.replace(" ", "") for s in strings)


def _dump(record: dict) -> bytes:
    """The record as a producer writes it (every digit of a 20-digit integer included)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
