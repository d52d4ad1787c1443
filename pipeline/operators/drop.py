"""``drop``: remove the field (or, inside free text, the detected span)."""

from __future__ import annotations

from typing import ClassVar

from pipeline.operators.base import DROP, Drop, NoParams, Operator


class DropOperator(Operator[NoParams]):
    """Remove the value. The only operator that returns ``DROP``."""

    name: ClassVar[str] = "drop"

    def apply(self, value: str, entity: str) -> Drop:
        return DROP
