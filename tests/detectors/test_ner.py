"""Name detection with the installed spaCy model (integration tier: ``-m nlp``)."""

from __future__ import annotations

import pytest

from pipeline.detection.ner import NerDetector
from pipeline.detection.scanner import Scanner

pytestmark = pytest.mark.nlp


@pytest.fixture(scope="module")
def ner() -> NerDetector:
    detector = NerDetector()
    if not detector.available():
        pytest.skip(f"spaCy model {detector.model} is not installed")
    assert detector.load()
    return detector


def test_finds_person_names(ner: NerDetector) -> None:
    text = "Refund approved by John Smith for customer Maria Garcia after review."
    names = {text[f.start : f.end] for f in ner.find(text)}
    assert {"John Smith", "Maria Garcia"} <= names
    assert all(f.entity == "PERSON" and f.recognizer in ("ner", "names") for f in ner.find(text))


def test_ignores_log_noise(ner: NerDetector) -> None:
    text = "GET /api/v1/orders/12345 returned 200 in 35 ms on order-service"
    assert ner.find(text) == []


def test_location_off_by_default(ner: NerDetector) -> None:
    assert all(f.entity == "PERSON" for f in ner.find("Shipped from Shanghai to Paris"))


def test_scanner_runs_ner_only_when_asked(ner: NerDetector) -> None:
    scanner = Scanner(ner=ner)
    text = "Ticket escalated by Emily Johnson (203.0.113.9)"
    assert "PERSON" not in {f.entity for f in scanner.scan(text)}
    assert {f.entity for f in scanner.scan(text, ner=True)} >= {"PERSON", "IP_ADDRESS"}


@pytest.mark.parametrize(
    ("text", "worth"),
    [
        ("Order ORD2024 state PAID -> SHIPPED in 34135us", False),
        ("Deployed commit 4e1d0ab as 5.0.79.6", False),
        ("Contact Olivia Robinson at the desk", True),
        ("Heidi van der Vlist, the surgeon, said", True),
        ("A tribute to Dan Ćaćić", True),
        ("My name is Þórólfur", True),  # one word after a cue
        ("signed by Anna today", True),  # one given name
        ("forwarded to agent 张敏", True),
    ],
)
def test_ner_runs_only_where_a_name_could_pass_the_filters(text: str, worth: bool) -> None:
    from pipeline.detection.ner import _may_hold_a_name

    assert _may_hold_a_name(text) is worth


@pytest.mark.parametrize(
    ("text", "word", "prose"),
    [
        ("it is not like the Maslow novel at all", "Maslow", True),
        ('"we are moving in that direction," says Rintanen.', "Rintanen", True),
        ("Loaded config from Jetty", "Jetty", False),  # fewer than two lower-case words before
        ("Starting Container", "Container", False),
        ("the value of key=Jetty was set", "Jetty", False),  # code punctuation on the line
        ("Jetty started on port 8080", "Jetty", False),  # first word of the line
    ],
)
def test_a_single_capitalized_word_counts_only_inside_prose(
    text: str, word: str, prose: bool
) -> None:
    from pipeline.detection.ner import _in_prose

    start = text.index(word)
    assert _in_prose(text, start, start + len(word)) is prose
