"""Run totals for the file mode summary: counts only, never values."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipeline.core.engine import Outcome


@dataclass
class RunStats:
    """Totals over a run. ``records == written + dropped`` always holds."""

    records: int = 0
    written: int = 0
    dropped: int = 0
    placeholders: int = 0
    bad_lines: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    operators: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        """Count one record's outcome."""
        self.records += 1
        if outcome.value is None:
            self.dropped += 1
        else:
            self.written += 1
        if outcome.placeholder:
            self.placeholders += 1
        if outcome.issue:
            self.bad_lines[outcome.issue] += 1
        self.entities.update(outcome.entities)
        self.operators.update(outcome.operators)

    def summary(self) -> str:
        """A human summary (for stderr)."""
        lines = [
            f"records: {self.records}  written: {self.written}  "
            f"dropped by policy: {self.dropped}  bad lines: {sum(self.bad_lines.values())}"
            + (f" ({self.placeholders} as placeholders)" if self.placeholders else ""),
        ]
        if self.bad_lines:
            lines.append("bad lines by reason: " + _fmt(self.bad_lines))
        if self.operators:
            lines.append("changed values by operator: " + _fmt(self.operators))
        if self.entities:
            lines.append("entities by type: " + _fmt(self.entities))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """Machine-readable totals."""
        return {
            "records": self.records,
            "written": self.written,
            "dropped": self.dropped,
            "placeholders": self.placeholders,
            "bad_lines": dict(self.bad_lines),
            "entities": dict(self.entities),
            "operators": dict(self.operators),
        }


def _fmt(c: Counter[str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in c.most_common())
