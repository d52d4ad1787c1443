"""The free-text passes' native pre-check skips only steps that cannot find anything.

pipeline/detection/names.py and pipeline/detection/addresses.py ask a few Rust `regex`
sets which steps can match in a text and skip the others. Each test here runs a pass
twice over many texts, with the pre-check and with every bit forced on (the path without
shortcuts), and
requires the same findings; the generated texts are built so that every step finds
something in many of them (checked, so a test cannot pass by never reaching a step).
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from pipeline.detection import _native, addresses, names
from pipeline.detection.findings import Finding
from pipeline.tools.corpus import generate_lines

TESTS = Path(__file__).resolve().parent

# Pieces of names, cues, titles and addresses, written in several cases and scripts.
_PIECES = [
    # given names and surnames (gazetteer, pinyin, lower case, upper case, particles)
    "Lucas", "Walker", "Grace", "Fischer", "Mary", "Lopez", "Zhou", "Lei", "Xinyi", "Hu",
    "Sun", "Tao", "Monika", "Berta", "Victor", "Andrew", "Brandon", "April", "Heidi",
    "Stacy", "Novosel", "Robinson", "Holmes", "Schiavone", "Livingston", "janice",
    "beneventi", "tina", "roelink", "hanan", "LUCAS", "WALKER", "van", "der", "Vlist",
    "McDonald", "O'Neil", "Jean-Luc", "Will", "Not", "Long", "Polling", "Green", "Build",
    "Kafka", "Contact", "Customer", "Dear", "Brodie", "André", "José", "Dávila", "Ćaćić",
    # cues, titles, verbs of the vocative rule
    "my name is", "name:", "call me", "called me", "named her", "signed", "regards",
    "founders:", "co-founded by", "said", "wrote", "tell", "given", "to:", "cc:", "attn",
    "forwarded to", "assigned to", "approved by", "thank you", "hi", "hello", "and", "with",
    "i'm", "this is", "Mr", "Mr.", "mrs.", "MS", "ms", "Dr.", "dr.", "prof.", "Sir", "Frau",
    "Herr", "is", "was", "has", "shouted", "asked", "lives", "works",
    # addresses: numbers, street words, glued endings, units, boxes, places, postcodes
    "994", "22", "9", "12", "3rd", "40th", "12a", "4589", "57", "1083", "3672", "41",
    "Pine", "Lane", "Street", "St.", "st", "Ave", "Rd", "Via", "Roma", "Rue", "Joseph",
    "Vernet", "Obere", "Bahnhofstrasse", "Amsinckstrasse", "Degnehøjvej", "Lozerlaan",
    "Straße", "Platz", "Suite 776", "Apt. 4", "apt 5", "#12", "Unit 5", "Room 3",
    "P.O. Box 41", "PO Box 7", "PSC 1083, Box 3672", "Unit 1234, Box 5", "USNV Heilmann",
    "USS Enterprise", "APO AP 10176", "FPO AE 09501", "Arnsdorf", "Malta 38302",
    "Fairview, TX 80773", "Calgary AB", "London SW1A 2AA", "K1A 0B1", "90210-1234",
    "Springfield", "Milano, MI 20121", "address", "lives at", "ship to", "send it to",
    "moved to", "at the", "is at", "deliver to", "office at",
    # log words
    "retries", "rows", "ms", "bytes", "id=42", "status", "version 3", "build 12", "port",
    "user", "error", "in", "of", "34135us", "ORD2024", "->", "PAID", "SHIPPED",
    # Han text, full-width forms, letters whose case folding or lower case is special
    "张伟", "订单已由张伟签收", "张先生", "我叫赵新民", "联系人：王芳", "@杨壮:",
    "Ｍｒ．", "Ｊｏｈｎ", "１２", "Ｓｔｒｅｅｔ", "ſt", "Mſ", "Par\u212a", "\u0130stanbul", "MİSS",
]
_SEPARATORS = [
    " ", " ", " ", " ", "\t", ", ", ",", "\n", "\n ", ": ", ". ", "", "\"", "> ", " - ", "=",
]


_NUMBERS = ["12", "994", "3rd", "40th", "12a", "7", "22 9", "4589"]
_ADDRESS_PARTS = [
    "Arnsdorf", "Malta 38302", "TX 80773", "Calgary AB", "Suite 776", "Apt. 4", "#12", "unit 9",
    "FPO AE 09501", "APO AP 10176", "90210-1234", "K1A 0B1", "SW1A 2AA", "Room 3", "Flat 2b",
    "floor 3", "Fairview, TX 80773", "38302", "12345678", "1604ms", "BZ", "nan", "the city",
    "Springfield IL 62704", "last night", "OR 97035", "APO Heilmann", "DPO AE 091234x",
]
_ADDRESS_SEPARATORS = [", ", "\n", "\n ", "\n> ", " ", ",", "\n\n"]


def _generated(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        parts = [rng.choice(_PIECES) for _ in range(rng.randint(1, 14))]
        if rng.random() < 0.15:
            # An address block without street word or cue (`12 Amber Pine, Arnsdorf 38302`).
            words = rng.sample(_PIECES[:55], rng.randint(1, 3))
            block = rng.choice(_NUMBERS) + " " + " ".join(words)
            for _ in range(rng.randint(1, 4)):
                block += rng.choice(_ADDRESS_SEPARATORS) + rng.choice(_ADDRESS_PARTS)
            if rng.random() < 0.5:
                parts = []  # (alone: nothing else decides for it)
            parts.insert(rng.randint(0, len(parts)), block)
        if rng.random() < 0.1:
            # A comma list of capitalized words (`Victor, Andrew, Brandon and April`).
            items = [rng.choice(_PIECES[:55]) for _ in range(rng.randint(2, 5))]
            joiner = rng.choice([", ", " and ", " & "])
            parts.insert(rng.randint(0, len(parts)), ", ".join(items[:-1]) + joiner + items[-1])
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(_SEPARATORS) + part
        roll = rng.random()
        if roll < 0.15:
            text = text.lower()
        elif roll < 0.2:
            text = text.upper()
        yield text


def _string_literals(path: Path) -> Iterator[str]:
    """The strings written in a test module (its cases: tricky texts by design)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 2:
            yield node.value


def _corpus_values() -> Iterator[str]:
    """Whole lines and every string value of generated log records."""
    for line in generate_lines(1500, seed=7, density=0.6):
        yield line
        try:
            record = json.loads(line)
        except ValueError:
            continue
        stack = [record]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                yield item


@pytest.fixture(scope="module")
def texts() -> list[str]:
    out = list(_generated(12_000, seed=13))
    for module in ("names", "names_cued", "addresses", "names_zh", "ner"):
        out.extend(_string_literals(TESTS / f"test_{module}.py"))
    out.extend(_corpus_values())
    return list(dict.fromkeys(out))


def _spans(found: list[Finding]) -> list[tuple[int, int, str, float, str]]:
    return [(f.start, f.end, f.entity, f.score, f.recognizer) for f in found]


Spans = list[tuple[int, int, str, float, str]]


def _side_by_side(
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    fn: Callable[[str], list[Finding]],
    texts: list[str],
) -> tuple[list[Spans], int]:
    """``fn`` over ``texts`` with the pre-check, then without; return the findings of the
    first run and the number of texts the second run found something in."""
    with_gate = [_spans(fn(t)) for t in texts]
    with monkeypatch.context() as m:
        all_bits = module._ALL_BITS  # type: ignore[attr-defined]
        m.setattr(module, "_gate_bits", lambda _text: all_bits)
        without = [_spans(fn(t)) for t in texts]
    differing = [t for t, a, b in zip(texts, with_gate, without, strict=True) if a != b]
    assert differing == []
    return with_gate, sum(1 for f in without if f)


def test_when_the_pair_rule_is_gated_then_find_names_finds_the_same(
    monkeypatch: pytest.MonkeyPatch, texts: list[str]
) -> None:
    for extended in (False, True):
        find = partial(names.find_names, extended=extended)
        _, hits = _side_by_side(monkeypatch, names, find, texts)
        assert hits > 500


def test_when_cue_title_list_and_vocative_steps_are_gated_then_find_cued_names_finds_the_same(
    monkeypatch: pytest.MonkeyPatch, texts: list[str]
) -> None:
    _, hits = _side_by_side(monkeypatch, names, names.find_cued_names, texts)
    assert hits > 500


def test_when_candidate_starts_are_gated_then_find_addresses_finds_the_same(
    monkeypatch: pytest.MonkeyPatch, texts: list[str]
) -> None:
    _, hits = _side_by_side(monkeypatch, addresses, addresses.find_addresses, texts)
    assert hits > 300


def test_every_step_finds_something_in_the_texts_and_its_bit_is_set_there(texts: list[str]) -> None:
    """Each step, run on its own, finds something in many ASCII texts, and in every such
    text its bit is set (the bit is a necessary condition of the step itself, not only of
    the pass's output)."""
    steps: dict[str, Callable[[str], bool]] = {
        "pair": lambda t: names._PAIR.search(t) is not None,
        "title": lambda t: names._TITLED.search(t) is not None,
        "cued": lambda t: bool(names._cued(t)),
        "list": lambda t: names._LIST.search(t) is not None,
        "vocative": lambda t: names._VOCATIVE.search(t) is not None,
    }
    found = dict.fromkeys(steps, 0)
    for text in texts:
        if not text.isascii():
            assert names._gate_bits(text) == names._ALL_BITS
            continue
        bits = names._gate_bits(text)
        for step, finds in steps.items():
            if finds(text):
                found[step] += 1
                assert bits & names._BIT[step], (step, text)
    assert min(found.values()) > 20, found


def test_without_the_rich_bit_only_number_first_lines_with_a_strong_part_are_addresses(
    texts: list[str],
) -> None:
    """Where "rich" is off, no PO box, street word or cue is in any candidate line, and
    every number-first line that _extend finds a strong part after has "strong" set."""
    checked = strong = 0
    for text in texts:
        if not text.isascii():
            assert addresses._gate_bits(text) == addresses._ALL_BITS
            continue
        bits = addresses._gate_bits(text)
        if bits & addresses._RICH:
            continue
        for start in addresses._candidate_starts(text):
            m = addresses._STREET_LINE.match(text, start)
            if m is None:
                continue
            checked += 1
            line = m.group()
            assert addresses._PO_BOX.match(line) is None, text
            assert addresses._HAS_STREET_WORD.search(line) is None, text
            assert addresses._CUE.search(text, max(0, start - 60), start) is None, text
            if line[:1].isdigit() and addresses._extend(text, m.end(), lowercase=False)[1]:
                strong += 1
                assert bits & addresses._STRONG, text
    assert checked > 500
    assert strong > 100


def test_every_gate_pattern_compiles_natively() -> None:
    """A pattern the Rust crate refuses would leave every bit on: correct, but no faster."""
    for module in (names, addresses):
        for name, pattern in module._GATE_PATTERNS:  # type: ignore[attr-defined]
            assert _native.compile_error(pattern) is None, name
        module._gate_bits("Lucas Walker lives at 12 Main St, Apt 4")  # type: ignore[attr-defined]
        assert module._gate is not None  # type: ignore[attr-defined]
        assert not module._gate_failed  # type: ignore[attr-defined]


def test_when_the_text_is_not_ascii_then_nothing_is_skipped() -> None:
    for text in ("Ｍｒ． Ｊｏｈｎ", "联系人：王芳", "Mſ Lopez", "Par\u212a 12", "Dávila 57"):
        assert names._gate_bits(text) == names._ALL_BITS
        assert addresses._gate_bits(text) == addresses._ALL_BITS
