"""Scrubbing twice changes nothing: a second pipeline stage (or `logscrub verify`) sees the
tokens and generalized values of the first, not new pseudonyms of pseudonyms."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.core.engine import Engine
from pipeline.core.policy import load_policy
from pipeline.keys import KeyRing
from pipeline.operators.generalization import date_to, user_agent

SAMPLE = Path(__file__).resolve().parents[2] / "pipeline" / "data" / "sample.log"


@pytest.fixture(scope="module")
def engine() -> Engine:
    keys = KeyRing.from_secret("idempotence-test-secret-0123456789-abcdefgh", "k1")
    return Engine(load_policy(None), keys=keys, ner=False)


def test_the_sample_logs_scrubbed_twice_are_scrubbed_once(engine):
    once = [engine.apply(line).value for line in SAMPLE.read_bytes().splitlines()]
    twice = [engine.apply(v).value if v is not None else None for v in once]
    assert once == twice
    assert any(b"<EMAIL_ADDRESS:k1:" in (v or b"") for v in once)


def test_field_rules_leave_our_own_tokens_but_not_look_alikes(engine):
    out = orjson.loads(engine.apply(b'{"imei":"<IMEI:k1:0123456789abcdef>"}').value)
    assert out["imei"] == "<IMEI:k1:0123456789abcdef>"
    # Not an entity logscrub has: a value, not a token.
    out = orjson.loads(engine.apply(b'{"nickname":"<ALICE>"}').value)
    assert out["nickname"] != "<ALICE>"


def test_a_token_is_a_word_so_the_next_word_is_not_taken_for_a_user_name(engine):
    line = b"auth: user <USERNAME:k1:adbd14aaf575e436> failed login 3 times"
    assert engine.apply(line).value == line


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "curl/8.4.0",
    ],
)
def test_user_agent_generalization_is_idempotent(ua):
    once = user_agent(ua)
    assert user_agent(once) == once


def test_a_name_shaped_like_our_output_without_versions_is_not_kept():
    assert user_agent("John Smith / London") == "Other / Other"


def test_a_year_stays_a_year():
    assert date_to("1990-05-17", "year") == "1990"
    assert date_to("1990", "year") == "1990"
