"""The gazetteer pass next to NER: pinyin names and frequent given names, nothing else."""

from __future__ import annotations

import pytest

from pipeline.detection.names import find_names


def _found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in find_names(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("KYC check passed for Lin Lei id=3502", "Lin Lei"),
        ("forwarded to agent Zhang Xinyi", "Zhang Xinyi"),
        ("signed by Xinyi Hu yesterday", "Xinyi Hu"),
        ("Payment declined for Sarah Lopez: card", "Sarah Lopez"),
        ("Contact Lucas Walker at 555", "Lucas Walker"),
        # Two given names: the second is a frequent surname too.
        ("KYC check passed for Sophia Scott id=6101", "Sophia Scott"),
        # A given name that is also a word, before a surname that is not.
        ("Contact Grace Fischer at 185 9731 8788", "Grace Fischer"),
        ("refund approved for Mohammed Nguyen", "Mohammed Nguyen"),
        # After a word that opens a phrase, the surname alone.
        ("please Contact Fischer tomorrow", "Fischer"),
    ],
)
def test_finds_names(text: str, name: str) -> None:
    assert _found(text) == [name]


@pytest.mark.parametrize(
    "text",
    [
        "He Said the job failed",
        "Order Service started",
        "James Is here",  # a given name, then an ordinary word
        "GET /Wang/Lei/profile",
        "wang lei in lower case",
        "Thread Pool Executor",
        "parked at Hyde Park Corner",  # `Park` is a surname and a word
        "Kafka Consumer Group rebalanced",
    ],
)
def test_leaves_other_capitalized_pairs(text: str) -> None:
    assert _found(text) == []
