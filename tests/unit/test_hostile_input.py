"""Ordinary-but-odd input at the engine: time budgets, keys, numbers, Unicode, text lines.

Each test plants a personal value the way a careless producer (or an attacker) would and
checks that it does not come out raw, and that nothing valid is damaged on the way.
"""

import time

import orjson

from pipeline.engine import TOO_SLOW


def test_a_spent_time_budget_gives_the_record_up_as_too_slow(default_engine):
    line = ", ".join(f"call 138{i:08d}" for i in range(2_000)).encode()
    out = default_engine.apply(line, deadline=time.monotonic() - 1.0)
    assert out.issue == TOO_SLOW
    assert out.placeholder
    assert b"138" not in out.value
    assert orjson.loads(out.value) == {"logscrub_error": TOO_SLOW, "bytes": len(line)}


def test_a_record_within_its_budget_is_cleaned_as_usual(default_engine):
    line = b'{"phone": "13800138000", "level": "INFO"}'
    out = default_engine.apply(line, deadline=time.monotonic() + 60.0)
    assert out.issue is None
    assert b"13800138000" not in out.value
    assert orjson.loads(out.value)["level"] == "INFO"
