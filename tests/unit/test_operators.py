import hashlib
import subprocess
import sys

import pytest
from pydantic import ValidationError

from pipeline.exceptions import KeyMissingError
from pipeline.operators import DROP, OperatorContext, get_operator, operator_names
from pipeline.operators.encrypt import RevealError, reveal
from pipeline.operators.registry import BUILTIN_OPERATORS, register_operator


def make(name, keys=None, **params):
    cls = get_operator(name)
    return cls(cls.params_model.model_validate(params), OperatorContext(keys=keys))


# ----------------------------------------------------------------- contract for every operator


@pytest.mark.parametrize("name", sorted(BUILTIN_OPERATORS))
def test_operator_contract(name, keys):
    cls = BUILTIN_OPERATORS[name]
    assert cls.name == name == name.lower()
    with pytest.raises(ValidationError):
        cls.params_model.model_validate({"no_such_param": 1})
    kwargs = {"new_value": "x"} if name == "replace" else {}
    out = make(name, keys, **kwargs).apply("alice@example.com", "EMAIL_ADDRESS")
    assert (out is DROP) is (name == "drop")
    if name != "keep":
        assert out != "alice@example.com"


def test_operator_names_are_unique_and_registration_refuses_duplicates():
    assert len(operator_names()) == len(set(operator_names()))

    class Fake(BUILTIN_OPERATORS["keep"]):
        name = "keep"

    with pytest.raises(ValueError, match="already registered"):
        register_operator(Fake)


# ----------------------------------------------------------------- pseudonymize


def test_pseudonym_is_deterministic_and_shows_entity_and_key_id(keys):
    op = make("pseudonymize", keys)
    a = op.apply("alice@example.com", "EMAIL_ADDRESS")
    assert a == make("pseudonymize", keys).apply("alice@example.com", "EMAIL_ADDRESS")
    assert a.startswith("<EMAIL_ADDRESS:t1:") and a.endswith(">")
    assert len(a.split(":")[-1].rstrip(">")) == 16


def test_another_key_gives_another_pseudonym(keys, other_keys):
    a = make("pseudonymize", keys).apply("13800138000", "PHONE_NUMBER")
    b = make("pseudonymize", other_keys).apply("13800138000", "PHONE_NUMBER")
    assert a.split(":")[-1] != b.split(":")[-1]


def test_pseudonym_is_not_a_bare_hash(keys):
    token = make("pseudonymize", keys, length=64).apply("13800138000", "PHONE_NUMBER")
    digest = token.split(":")[-1].rstrip(">")
    for algo in ("sha256", "md5", "sha1"):
        bare = hashlib.new(algo, b"13800138000").hexdigest()
        assert bare[:16] not in digest


def test_pseudonym_is_stable_across_processes(keys):
    code = (
        "from pipeline.keys import KeyRing; "
        "from pipeline.operators import get_operator, OperatorContext;"
        "c=get_operator('pseudonymize'); k=KeyRing.from_secret(%r, 't1');"
        "print(c(c.params_model(), OperatorContext(keys=k))"
        ".apply('alice@example.com','EMAIL_ADDRESS'))"
    )
    from tests.conftest import TEST_SECRET

    outs = {
        subprocess.run(
            [sys.executable, "-c", code % TEST_SECRET],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    }
    assert outs == {make("pseudonymize", keys).apply("alice@example.com", "EMAIL_ADDRESS")}


def test_when_no_key_then_pseudonymize_refuses_with_how_to():
    with pytest.raises(KeyMissingError, match="LOGSCRUB_KEY"):
        make("pseudonymize", None)


# ----------------------------------------------------------------- encrypt / reveal


def test_encrypt_is_deterministic_and_reveal_round_trips(keys):
    op = make("encrypt", keys)
    token = op.apply("u-1234567", "USER_ID")
    assert token == op.apply("u-1234567", "USER_ID")
    assert "u-1234567" not in token
    assert reveal(token, keys) == ("USER_ID", "u-1234567")


def test_reveal_refuses_without_key_or_with_another_key(keys, other_keys):
    token = make("encrypt", keys).apply("u-1234567", "USER_ID")
    with pytest.raises(KeyMissingError):
        reveal(token, None)
    with pytest.raises(RevealError, match="key id"):
        reveal(token, other_keys)
    same_id_other_secret = type(other_keys).from_secret(
        "yet-another-secret-9876543210-zyxwvuts", keys.key_id
    )
    with pytest.raises(RevealError, match="does not decrypt"):
        reveal(token, same_id_other_secret)
    with pytest.raises(RevealError, match="not an encrypted"):
        reveal("<USER_ID:t1:0123456789abcdef>", keys)


# ----------------------------------------------------------------- mask, redact, replace


# testcase, params, value, expected
MASK_CASES = [
    ("keep-last-4", {}, "6222021234567894", "************7894"),
    ("separators-masked", {"keep_last": 4}, "138-0013-8000", "*********8000"),
    ("short-value-fully-masked", {"keep_last": 4}, "12345", "*****"),
    ("other-char", {"keep_last": 2, "masking_char": "#"}, "abcdefgh", "######gh"),
]


@pytest.mark.parametrize(
    ("case", "params", "value", "expected"), MASK_CASES, ids=[c[0] for c in MASK_CASES]
)
def test_mask(case, params, value, expected):
    assert make("mask", **params).apply(value, "CREDIT_CARD") == expected


def test_redact_and_replace_fill_entity_type():
    assert make("redact").apply("x@example.com", "EMAIL_ADDRESS") == "<EMAIL_ADDRESS>"
    assert make("replace", new_value="[{entity_type}]").apply("x", "PERSON") == "[PERSON]"


# ----------------------------------------------------------------- generalize, cryptopan


# testcase, entity, params, value, expected
GENERALIZE_CASES = [
    ("ipv4-24", "IP_ADDRESS", {}, "203.0.113.57", "203.0.113.0"),
    ("imei-tac", "IMEI", {}, "490154203237518", "49015420"),
    ("imsi-operator", "IMSI", {}, "460001234567890", "460-00"),
    ("date-month", "DATE_TIME", {}, "2024-05-17", "2024-05"),
    ("birthday-year", "BIRTHDAY", {"method": "year"}, "1990-05-17", "1990"),
    ("gps-single-number", "GPS_COORDINATES", {}, "31.230416", "31.23"),
    ("not-an-ip-fails-closed", "IP_ADDRESS", {}, "not-an-ip", "<IP_ADDRESS>"),
    ("no-method-for-entity-fails-closed", "EMAIL_ADDRESS", {}, "a@example.com", "<EMAIL_ADDRESS>"),
]


@pytest.mark.parametrize(
    ("case", "entity", "params", "value", "expected"),
    GENERALIZE_CASES,
    ids=[c[0] for c in GENERALIZE_CASES],
)
def test_generalize(case, entity, params, value, expected):
    assert make("generalize", **params).apply(value, entity) == expected


def test_generalize_user_agent_keeps_family_and_major():
    ua = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.109 Safari/537.36"
    )
    out = make("generalize").apply(ua, "USER_AGENT")
    assert "Chrome 120" in out
    assert "6099" not in out


def test_cryptopan_operator_preserves_prefixes(keys):
    op = make("cryptopan", keys)
    a, b = op.apply("198.51.100.7", "IP_ADDRESS"), op.apply("198.51.100.200", "IP_ADDRESS")
    assert a != "198.51.100.7"
    assert a.split(".")[:3] == b.split(".")[:3]
    assert op.apply("not an ip", "IP_ADDRESS") == "<IP_ADDRESS>"
