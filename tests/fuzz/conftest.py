"""Figures of the fuzz tier, printed at the end of the run (examples, planted, survivors)."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 — pytest's signature
    if FIGURES["examples"]:
        terminalreporter.write_line(
            f"fuzz tier: {FIGURES['examples']} examples run, {FIGURES['planted']} personal "
            f"values planted, {FIGURES['survivors']} survived"
        )
