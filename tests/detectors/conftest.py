"""Fixtures for detector and scanner tests: one compiled scanner per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.detection.scanner import Scanner


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    """The scanner with every recognizer of the pack (compiling it takes ~50 ms)."""
    return Scanner()


Found = Callable[..., list[tuple[str, str]]]


@pytest.fixture(scope="session")
def found(scanner: Scanner) -> Found:
    """Return ``[(entity, value), ...]`` the scanner reports for ``text`` (and ``field``)."""

    def _found(text: str, field: str | None = None) -> list[tuple[str, str]]:
        return [(f.entity, text[f.start : f.end]) for f in scanner.scan(text, field)]

    return _found
