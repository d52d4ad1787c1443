"""Ordinary-but-odd input at the engine: time budgets, keys, numbers, Unicode, text lines.

Each test plants a personal value the way a careless producer (or an attacker) would and
checks that it does not come out raw, and that nothing valid is damaged on the way.
"""

import re
import time

import orjson
import pytest

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


# ----------------------------------------------------------------- look-alike characters

FOLDED_VARIANTS = [
    ("full-width phone", "call me at １３８００１３８０００ now", "PHONE_NUMBER"),
    ("Arabic-Indic phone", "phone ١٣٨٠٠١٣٨٠٠٠ ok", "PHONE_NUMBER"),
    ("Devanagari phone", "phone १३८००१३८००० ok", "PHONE_NUMBER"),
    ("full-width email", "mail ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ please", "EMAIL_ADDRESS"),
    ("small commercial at", "mail alice﹫example.com please", "EMAIL_ADDRESS"),
    ("zero-width split email", "mail alice\u200b@exam\u200dple.com please", "EMAIL_ADDRESS"),
    ("NUL split email", "mail alice@exam\x00ple.com please", "EMAIL_ADDRESS"),
    ("zero-width split phone", "call 138\u200b0013\u200b8000 now", "PHONE_NUMBER"),
    ("BOM inside phone", "call 1380013\ufeff8000 now", "PHONE_NUMBER"),
    ("phone right after Han text", "张伟，电话13800138000，地址北京", "PHONE_NUMBER"),
    ("email between Han words", "用户alice@example.com登录", "EMAIL_ADDRESS"),
]


@pytest.mark.parametrize(("case", "text", "entity"), FOLDED_VARIANTS, ids=[c[0] for c in FOLDED_VARIANTS])
def test_look_alike_forms_are_found_and_their_original_span_replaced(default_engine, case, text, entity):
    out = default_engine.apply(orjson.dumps({"msg": text}))
    cleaned = orjson.loads(out.value)["msg"]
    assert out.entities.get(entity) == 1, case
    # The whole written form is gone: no digit run, no local part, no domain left.
    folded_digits = "".join(ch for ch in cleaned if ch.isdigit() and not ch.isascii())
    assert not folded_digits
    for fragment in ("alice", "ａｌｉｃｅ", "8000", "exam", "１３８"):
        assert fragment not in cleaned.replace(f"<{entity}:", "")


def test_the_same_value_in_any_form_gets_the_same_pseudonym(default_engine):
    ascii_form = orjson.loads(default_engine.apply(b'{"msg":"tel 13800138000"}').value)["msg"]
    wide_form = orjson.loads(
        default_engine.apply(orjson.dumps({"msg": "tel １３８００１３８０００"})).value
    )["msg"]
    assert ascii_form == wide_form


def test_folding_leaves_text_without_personal_data_as_written(default_engine):
    for text in ("订单已发货，请注意查收", "Ｔｏｔａｌ：３ items", "naïve café ①"):
        out = default_engine.apply(orjson.dumps({"msg": text}))
        assert orjson.loads(out.value)["msg"] == text


# ----------------------------------------------------------------- many findings


def test_a_record_with_80000_phone_numbers_is_cleaned_in_linear_time(default_engine):
    # 80,000 findings took about 165 s with a pairwise overlap test; the acceptance
    # figure is under 5 s in file mode (timed in benchmarks/hostile_bench.py). Here only
    # the outcome is checked: every number found, none left.
    line = orjson.dumps({"msg": " ".join(f"138{i:08d}" for i in range(80_000))})
    out = default_engine.apply(line)
    assert out.issue is None
    assert out.entities == {"PHONE_NUMBER": 80_000}
    assert not re.search(rb"(?<![0-9a-f])138[0-9]{8}(?![0-9a-f])", out.value)
