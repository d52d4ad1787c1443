import pytest

from pipeline.core.policy import DEFAULT_POLICY_PATH, load_policy, parse_policy
from pipeline.exceptions import ConfigError

MINIMAL = """\
version: 1
name: t
unknown_fields: scan
"""

THREE_ERRORS = """\
version: 1
name: broken
unknown_fields: scan
fields:
  user.email: {type: hashh}
  user.phone: {type: mask, keep_last: 99}
scan:
  entities:
    NOT_AN_ENTITY: {type: redact}
"""


def test_shipped_policies_load():
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert policy.name == "default"
    assert policy.model.unknown_fields == "scan"
    assert policy.needs_key


def test_minimal_policy_defaults_to_redact():
    policy = parse_policy(MINIMAL)
    assert policy.default_spec.name == "redact"
    assert not policy.needs_key


def test_three_errors_reported_at_once_with_lines_and_paths():
    with pytest.raises(ConfigError) as exc:
        parse_policy(THREE_ERRORS, "broken.yaml")
    issues = exc.value.issues
    assert len(issues) == 3
    by_path = {i.path: i for i in issues}
    assert by_path["fields.user.email.type"].line == 5
    assert "unknown operator" in by_path["fields.user.email.type"].message
    assert by_path["fields.user.phone.keep_last"].line == 6
    assert by_path["scan.entities.NOT_AN_ENTITY"].line == 9
    assert all(i.file == "broken.yaml" for i in issues)


def test_errors_never_quote_values():
    secret_like = "alice@example.com"
    text = MINIMAL + f"fields:\n  a: {{type: mask, keep_last: '{secret_like}'}}\n"
    with pytest.raises(ConfigError) as exc:
        parse_policy(text)
    assert secret_like not in str(exc.value)


# testcase, yaml, expected message fragment
INVALID = [
    ("missing-unknown-fields", "version: 1\nname: t\n", "unknown_fields"),
    ("bad-default", MINIMAL.replace("scan", "maybe"), "unknown_fields"),
    ("wrong-version", MINIMAL.replace("version: 1", "version: 2"), "version"),
    ("unknown-top-key", MINIMAL + "colour: blue\n", "colour"),
    ("yaml-syntax", "version: 1\nname: [t\n", "YAML syntax"),
    ("not-a-mapping", "- a\n- b\n", "mapping"),
    ("duplicate-key", MINIMAL + "fields:\n  a: {type: keep}\n  a: {type: drop}\n", "duplicate key"),
    ("bad-path", MINIMAL + "fields:\n  a..b: {type: keep}\n", "invalid path"),
    ("missing-type", MINIMAL + "fields:\n  a: {keep_last: 2}\n", "missing operator"),
    (
        "both-field-and-scan",
        MINIMAL + "fields:\n  message: {type: keep}\nscan:\n  fields: [message]\n",
        "one or the other",
    ),
    (
        "bad-drop-regex",
        MINIMAL + "drop_records:\n  - {path: level, matches: '('}\n",
        "regular expression",
    ),
    (
        "drop-two-conditions",
        MINIMAL + "drop_records:\n  - {path: level, equals: [a], exists: true}\n",
        "exactly one",
    ),
    ("bad-entity-name", MINIMAL + "fields:\n  a: {type: redact, entity: lower}\n", "UPPER_SNAKE"),
]


@pytest.mark.parametrize(("case", "text", "fragment"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_policies(case, text, fragment):
    with pytest.raises(ConfigError) as exc:
        parse_policy(text)
    assert fragment in str(exc.value)


def test_more_specific_rule_wins():
    policy = parse_policy(MINIMAL + "fields:\n  '**.id': {type: redact}\n  user.id: {type: keep}\n")
    assert policy.field_rules[0].pattern.text == "user.id"
