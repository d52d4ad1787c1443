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


def _first_one_by_one(patterns, path):
    for i, pattern in enumerate(patterns):
        if pattern.matches(path):
            return i
    return None


def test_pattern_list_gives_the_first_match_as_testing_one_by_one():
    # The shipped policies' field rules in their priority order, and paths built from
    # their own segments (so many match several rules), plus keys holding the separator.
    import itertools
    import random

    from pipeline.core.paths import PathPatternList, join_path
    from pipeline.core.policy import load_policy
    from pipeline.shipped import shipped

    rng = random.Random(7)
    for policy_file in sorted(shipped("policies").iterdir(), key=lambda f: f.name):
        if not policy_file.name.endswith(".yaml"):
            continue
        policy = load_policy(policy_file)
        patterns = [rule.pattern for rule in policy.field_rules] + list(policy.free_text)
        words = sorted(
            {s for p in patterns for s in p.segments if s not in ("*", "**")}
            | {"x", "user", "[]", "a\x1fb"}
        )
        listed = PathPatternList(patterns)
        checked = matched = 0
        for size in (1, 2, 3, 4):
            for _ in range(400):
                path = tuple(rng.choice(words) for _ in range(size))
                expected = _first_one_by_one(patterns, path)
                assert listed.first(path, join_path(path)) == expected, path
                checked += 1
                matched += expected is not None
        for path in itertools.islice(itertools.product(words[:12], repeat=2), 200):
            assert listed.first(path, join_path(path)) == _first_one_by_one(patterns, path)
        assert checked and matched > 50  # many paths reach the rules


def test_an_empty_pattern_list_matches_nothing():
    from pipeline.core.paths import PathPatternList

    assert PathPatternList([]).first(("a",), "\x1fa") is None
