import pytest

from pipeline.core.paths import PathPattern, parse_pattern

# testcase, pattern, path, expected
MATCH_CASES = [
    ("exact", "user.email", ("user", "email"), True),
    ("exact-case-insensitive", "User.EMAIL", ("user", "email"), True),
    ("exact-too-short", "user.email", ("user",), False),
    ("exact-too-long", "user.email", ("user", "email", "x"), False),
    ("star-one-level", "*.email", ("user", "email"), True),
    ("star-not-two-levels", "*.email", ("a", "user", "email"), False),
    ("globstar-zero", "**.email", ("email",), True),
    ("globstar-deep", "**.email", ("a", "b", "[]", "email"), True),
    ("globstar-middle", "a.**.c", ("a", "x", "y", "c"), True),
    ("array-elements", "x_forwarded_for[]", ("x_forwarded_for", "[]"), True),
    ("array-star-form", "tags[*]", ("tags", "[]"), True),
    ("array-not-the-list", "tags[]", ("tags",), False),
    ("inside-array-objects", "items[].card", ("items", "[]", "card"), True),
    ("star-matches-index", "items.*.card", ("items", "[]", "card"), True),
]


@pytest.mark.parametrize(
    ("case", "pattern", "path", "expected"), MATCH_CASES, ids=[c[0] for c in MATCH_CASES]
)
def test_match(case, pattern, path, expected):
    assert PathPattern(pattern).matches(path) is expected


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a."])
def test_when_pattern_has_empty_segment_then_value_error(bad):
    with pytest.raises(ValueError):
        parse_pattern(bad)


def test_more_literal_patterns_are_more_specific():
    assert PathPattern("user.email").specificity > PathPattern("**.email").specificity
    assert PathPattern("*.email").specificity > PathPattern("**.email").specificity
