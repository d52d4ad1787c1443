"""Names announced by a cue, a title or a list; lower-case names in lower-case prose."""

from __future__ import annotations

import pytest

from pipeline.detection.names import coordinated_names, find_cued_names, find_lowercase_names
from pipeline.detection.scanner import Finding


def _cued(text: str) -> list[str]:
    return [text[f.start : f.end] for f in find_cued_names(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Monika", "Monika"),
        ("could you correct it to Mr. Alexander Galarneau?", "Mr. Alexander Galarneau"),
        ("ticket escalated to Rasmus", "Rasmus"),
        ("sometimes people call me Frederikke", "Frederikke"),
        ("my name is janice beneventi.", "janice beneventi"),
        ("mr. freeman is a 50 year old man", "mr. freeman"),
        ("a film starring Berta", "Berta"),
        ('"we are moving," says Rintanen.', "Rintanen"),
    ],
)
def test_when_a_cue_announces_a_name_then_it_is_found(text: str, name: str) -> None:
    assert name in _cued(text)


def test_when_most_of_a_list_are_given_names_then_all_are_names() -> None:
    text = "They had 6: Victor, Andrew, Brandon, John, Evan and April."
    assert {"Victor", "Evan", "April"} <= set(_cued(text))


def test_when_a_strong_cue_opens_a_list_then_the_list_is_names() -> None:
    text = "the brainchild of our 3 founders: Novosel, Robinson and Holmes."
    assert {"Novosel", "Robinson", "Holmes"} <= set(_cued(text))


@pytest.mark.parametrize(
    "text",
    [
        "forwarded to Kafka broker 3",
        "Error: connection reset",
        "Hi there, the job failed",
        "ask Redis for the key",
        "ms. 12 elapsed",
        "Thanks, Support Team",
        "They had 3: Redis, Kafka and Postgres.",
        "Order Service started on node 7",
        "System says Hello to the world",
        "user signed In at 10:00",
    ],
)
def test_when_no_name_follows_the_cue_then_nothing_is_found(text: str) -> None:
    assert _cued(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("bot: what's the name on the account? user: tina roelink", "tina roelink"),
        ("you can tell sara was a huge fan", "sara"),
    ],
)
def test_when_prose_is_all_lower_case_then_given_names_are_found(text: str, name: str) -> None:
    assert name in [text[f.start : f.end] for f in find_lowercase_names(text)]


@pytest.mark.parametrize(
    "text",
    [
        "connection reset by peer",
        "user=tina action=login",  # key=value: a log line, not prose
        "Tina Roelink logged in",  # capitals: the other passes decide
        "retry will happen in 5s",
    ],
)
def test_when_text_is_not_lower_case_prose_then_no_lower_case_name(text: str) -> None:
    assert find_lowercase_names(text) == []


def test_when_a_found_name_is_joined_by_and_then_the_other_is_a_name_too() -> None:
    text = "a better song? Schiavone and Livingston were engineers."
    start = text.index("Schiavone")
    found = [Finding(start, start + len("Schiavone"), "PERSON", 0.9, "names")]
    assert [text[f.start : f.end] for f in coordinated_names(text, found)] == ["Livingston"]
