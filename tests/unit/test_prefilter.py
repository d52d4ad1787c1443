"""The native prefilter never hides a match: its patterns are supersets of the detectors'."""

import re

import pytest
import regex

from detectors import RECOGNIZERS
from pipeline.detection.prefilter import BITS, Prefilter, UntranslatableError, bit, superset_pattern
from pipeline.detection.scanner import Scanner
from pipeline.tools.corpus import generate_lines

RECOGNIZER_OBJECTS = [cls() for cls in RECOGNIZERS]


@pytest.fixture(scope="module")
def prefilter() -> Prefilter:
    return Prefilter.build(RECOGNIZER_OBJECTS)


def test_every_shipped_pattern_is_translated(prefilter: Prefilter) -> None:
    assert prefilter.untranslated == []
    assert prefilter.always == 0


def test_translation_keeps_edges_and_anchors_and_inlines_backreferences() -> None:
    # A one-character lookbehind first and lookahead last are exact (a consumed character
    # or the text's end); anchors and ASCII word boundaries are the crate's own.
    assert superset_pattern(r"(?<![\w.])(?P<sep>[:\-])a(?P=sep)\b$") == (
        r"(?:(?m:^)|[^0-9A-Za-z_\x{2e}])(?:[\x{3a}\x{2d}])a(?:[\x{3a}\x{2d}])(?-u:\b)(?m:$)"
    )
    assert superset_pattern(r"(?<=[a-z])x(?!a|bc)") == r"(?:[a-z])x(?:[^a]|(?m:$))"
    # What a positive lookaround at an edge requires is matched, whatever its width.
    assert superset_pattern(r"(?<=://)x(?=@\w)") == r"(?:\x{3a}\x{2f}\x{2f})x(?:\x{40}[0-9A-Za-z_])"
    # Lookarounds elsewhere, and negative ones wider than one character, are dropped.
    assert superset_pattern(r"(?<!ab)x(?=y)z") == "xz"
    # ASCII classes, as the scanner compiles them with (?a); no nested classes.
    assert superset_pattern(r"\d\w[\s\S]", re.IGNORECASE) == (
        r"(?i)[0-9][0-9A-Za-z_](?:[\t\n\x0B\x0C\r ]|[^\t\n\x0B\x0C\r ])"
    )
    # Large repeats open up (a smaller DFA); small ones stay.
    assert superset_pattern(r"x{2,5}y{20,40}z{1,}") == "(?:x){2,5}(?:y){16,}(?:z){1,}"
    # Exact counts stay exact: a 32-hex trace id is not a 40-hex device id.
    assert superset_pattern(r"[a-f]{40}") == "(?:[a-f]){40}"


def test_a_construct_it_cannot_translate_makes_its_recognizer_always_hit() -> None:
    with pytest.raises(UntranslatableError):
        superset_pattern(r"[^a\S]")

    class Odd:
        global_regex_flags = 0
        patterns = [type("P", (), {"regex": r"x[^a\S]", "name": "odd"})()]

    built = Prefilter.build([Odd()])
    assert built.hits("nothing here") == bit(0)
    assert built.untranslated == [(0, "odd", "negated class with a negated category")]


def test_bits_wrap_beyond_the_mask_width() -> None:
    assert bit(BITS + 3) == bit(3)


def test_text_the_extension_cannot_read_hits_everything(prefilter: Prefilter) -> None:
    everything = 0
    for index in range(len(RECOGNIZER_OBJECTS)):
        everything |= bit(index)
    assert prefilter.hits("lone surrogate \udcff here") == everything


def test_every_python_match_on_the_corpus_is_a_prefilter_hit(prefilter: Prefilter) -> None:
    """Each detector pattern, compiled as the scanner compiles it, is searched at every
    position of generated lines: wherever it matches, its recognizer's bit is set."""
    compiled = []
    for index, recognizer in enumerate(RECOGNIZER_OBJECTS):
        flags = int(recognizer.global_regex_flags or 0)
        for pattern in recognizer.patterns:
            compiled.append((index, regex.compile("(?a)" + pattern.regex, flags)))
    lines = list(generate_lines(400, seed=3, density=1.0))
    lines += ["imei=355302046283920 mac 00:1A:2b:3c:4D:5e", "Dear Wei Zhang, 电话13800138000"]
    matched = 0
    for line in lines:
        mask = prefilter.hits(line)
        for index, pattern in compiled:
            if pattern.search(line) is not None:
                matched += 1
                assert mask & bit(index), (RECOGNIZER_OBJECTS[index].name, index)
    assert matched > 500


def test_scanner_findings_are_the_same_with_and_without_the_prefilter() -> None:
    class AllHit:
        def hits(self, _text: str) -> int:
            return (1 << BITS) - 1

    with_prefilter = Scanner()
    without = Scanner()
    without._prefilter = AllHit()  # type: ignore[assignment]
    without._native_sets = None  # noqa: SLF001 — every recognizer planned
    for line in generate_lines(300, seed=11, density=0.5):
        assert with_prefilter.scan(line) == without.scan(line)


def _values(obj, name=None):
    """(field name, value) of every string and number of a JSON record."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (key, key)  # keys are scanned too (as text)
            yield from _values(value, key)
    elif isinstance(obj, list):
        for item in obj:
            yield from _values(item, name)
    elif isinstance(obj, str | int | float) and not isinstance(obj, bool):
        yield (name, str(obj))


def test_native_sets_leave_out_only_recognizers_that_cannot_count() -> None:
    """The native sets drop a recognizer from a text's hits when its field name rules it
    out, when its matches need context that neither the field nor the text can give, or
    when no run of digits passes the card check: findings stay the same, value by value
    under their own field names, and for whole lines."""
    import orjson

    with_sets = Scanner()
    without = Scanner()
    without._native_sets = None  # noqa: SLF001 — the prefilter alone
    assert with_sets.native_sets is not None
    checked = 0
    extra = [
        ("request_id", "66194cb1-d710-47d1-b83e-90ec17e0aa3c"),
        ("idfa", "66194cb1-d710-47d1-b83e-90ec17e0aa3c"),
        ("msg", "idfa 66194cb1-d710-47d1-b83e-90ec17e0aa3c"),
        ("msg", "设备 idfa：66194cb1-d710-47d1-b83e-90ec17e0aa3c"),
        ("created_at", "1730695830082"),
        ("note", "card 4111111111111112"),
        ("note", "pay with 4111 1111 1111 1111"),
        ("offset", "4828092986"),
        ("msg", "call me at 4828092986"),
        ("msg", "4828092986 (mobile)"),
        ("span_id", "923a736994e3bf91"),
        ("android_id", "923a736994e3bf91"),
        ("ts", "Mon, 04 Nov 2024 05:08:07 GMT"),
        ("msg", "client 2001:db8::1 connected at 12:00:00"),
        ("addr", "fe80:0:0:0:0:0:0:1"),
        ("msg", "peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334:443 closed"),
        ("msg", "mac 00:1a:2b:3c:4d:5e:6f:70 seen"),
        ("msg", "from [::ffff:203.0.113.7]:443"),
        ("meid", "268435456012345678"),
        ("msg", "cdma meid 268435456012345678"),
        ("order_id", "202411041308072450"),
        ("ref", "202411041308072450"),
        ("msg", "meid: 29360 87365 0070 3710"),
    ]
    for line in generate_lines(400, seed=12, density=0.6):
        pairs = list(extra) if not checked else []
        pairs.append((None, line))
        if line.startswith("{"):
            try:
                pairs.extend(_values(orjson.loads(line)))
            except orjson.JSONDecodeError:
                pass
        for field, text in pairs:
            assert with_sets.scan(text, field) == without.scan(text, field), (field, text)
            checked += 1
    assert checked > 5000


def test_a_pattern_the_rust_crate_rejects_makes_its_recognizer_always_hit(monkeypatch) -> None:
    # The set of all patterns is compiled first; only when it fails is each pattern
    # compiled alone, to leave out just the rejected ones. Here the crate is a stand-in
    # that rejects any pattern with `REJECTED` in it.
    from pipeline.detection import _native
    from pipeline.detection import prefilter as _prefilter

    class Crate:
        @staticmethod
        def compile_error(pattern: str) -> str | None:
            return "error:\nunsupported" if "REJECTED" in pattern else None

        @staticmethod
        def PatternSet(patterns: list[str], groups: list[int]):  # noqa: N802
            if any("REJECTED" in p for p in patterns):
                raise ValueError("pattern set does not compile")
            return _native.PatternSet(patterns, groups)

    monkeypatch.setattr(_prefilter, "_native", Crate)

    class Two:
        global_regex_flags = 0
        patterns = [type("P", (), {"regex": r"REJECTED\d", "name": "bad"})()]

    class Fine:
        global_regex_flags = 0
        patterns = [type("P", (), {"regex": r"abc\d", "name": "good"})()]

    built = Prefilter.build([Fine(), Two()])
    assert built.untranslated == [(1, "bad", "rust regex: unsupported")]
    assert built.hits("nothing") == bit(1)
    assert built.hits("abc1") == bit(0) | bit(1)
    assert Prefilter.build([Fine()]).untranslated == []


def test_what_a_pattern_needs_never_leaves_out_a_set_that_matches() -> None:
    """The native sets skip a set when a text lacks what every match of its patterns
    contains (native/src/need.rs: digits, letters, punctuation, ``=``/``:``). Without
    context and validators, the sets' hits must equal a plain PatternSet's (which runs
    every pattern), on the corpus and on texts built from the characters where case
    folding and full-width forms could go wrong (the Kelvin sign is a ``k``, ``ſ`` an
    ``s``, ``：`` a key separator)."""
    import random

    from pipeline.detection import _native

    specs = Scanner().gate_sets()
    assert specs
    plain = _native.GateSets([(g.patterns, g.bit, False, [], None, []) for g in specs])
    reference = _native.PatternSet(
        [p for g in specs for p in g.patterns],
        [g.bit.bit_length() - 1 for g in specs for _ in g.patterns],
    )
    texts = [
        line if isinstance(line, str) else line.decode("utf-8", "replace")
        for seed in (1, 2)
        for line in generate_lines(400, seed=seed, density=1.0)
    ]
    rnd = random.Random(13)
    alphabet = "0123456789abcdefABCDEFkKsS\u212a\u017f:：=.-@_/ +,;\"'()[]#%\n\t\u00e9中０１"
    words = ["imei", "IMEI", "\u212aey", "nic\u212aname", "device_id", "mac", "user_id", "dob"]
    for _ in range(6000):
        parts = [rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))]
        if rnd.random() < 0.5:
            parts.insert(rnd.randrange(len(parts) + 1), rnd.choice(words) + rnd.choice("=:："))
        texts.append("".join(parts))
    for text in texts:
        assert plain.hits(text, 0, 0) == reference.hits(text), text
