"""Malformed input: never a crash, never a raw value out, counts reconcile."""

import io

import orjson
import pytest

from pipeline.cli.stats import RunStats
from pipeline.core.lines import Oversize, read_lines

PII = "alice@example.com"
PHONE = "13800138000"

# testcase, raw line, expected issue
BAD = [
    (
        "broken-json",
        b'{"email": "' + PII.encode() + b'", "phone": ' + PHONE.encode(),
        "invalid_json",
    ),
    ("invalid-utf8", b'{"email": "' + PII.encode() + b'\xff\xfe"}', "invalid_utf8"),
    ("invalid-utf8-text", b"login \xc3\x28 " + PII.encode(), "invalid_utf8"),
    ("nested-10000", b'{"a":' * 10_000 + b'"' + PII.encode() + b'"' + b"}" * 10_000, "too_deep"),
    ("array-10000", b"[" * 10_000 + b'"' + PII.encode() + b'"' + b"]" * 10_000, "too_deep"),
    ("nested-200", b'{"a":' * 200 + b'"' + PII.encode() + b'"' + b"}" * 200, "too_deep"),
    (
        "huge-10mb",
        b'{"email": "' + PII.encode() + b'", "pad": "' + b"x" * 10_000_000 + b'"}',
        "record_too_large",
    ),
]


@pytest.mark.parametrize(("case", "raw", "issue"), BAD, ids=[c[0] for c in BAD])
def test_bad_line_is_scrubbed_or_placeholder_and_counted(default_engine, case, raw, issue):
    out = default_engine.apply(raw)
    assert out.issue == issue
    assert out.value is not None
    assert PII.encode() not in out.value
    assert PHONE.encode() not in out.value
    if issue == "record_too_large":
        assert out.placeholder
        assert orjson.loads(out.value) == {"logscrub_error": "record_too_large", "bytes": len(raw)}


def test_file_mode_counts_reconcile(default_engine):
    good = [
        b'{"level": "INFO", "msg": "ok"}',
        b"plain text line",
        b'{"level": "DEBUG", "email": "a@example.com"}',
    ]
    lines = good + [raw for _, raw, _ in BAD]
    stats = RunStats()
    written = []
    for item in read_lines(
        io.BytesIO(b"\n".join(lines) + b"\n"), default_engine.policy.model.limits.max_bytes
    ):
        if isinstance(item, Oversize):
            from pipeline.core.engine import Outcome, placeholder

            out = Outcome(
                placeholder("record_too_large", item.size),
                "placeholder",
                issue="record_too_large",
            )
        else:
            out = default_engine.apply(item)
        stats.add(out)
        if out.value is not None:
            written.append(out.value)
    assert stats.records == len(lines) == stats.written + stats.dropped
    assert len(written) == stats.written
    assert sum(stats.bad_lines.values()) == len(BAD)
    assert all(PII.encode() not in w for w in written)


def test_reader_never_holds_an_oversize_line():
    data = b"short\n" + b"y" * 5_000_000 + b"\nafter\n"
    items = list(read_lines(io.BytesIO(data), 1024))
    assert items[0] == b"short"
    assert items[1] == Oversize(5_000_000)
    assert items[2] == b"after"


def test_reader_strips_crlf_and_handles_missing_final_newline():
    assert list(read_lines(io.BytesIO(b"a\r\nb"), 1024)) == [b"a", b"b"]
