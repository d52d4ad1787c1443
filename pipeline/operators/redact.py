"""``redact``: replace the value by its entity label, e.g. ``<EMAIL_ADDRESS>``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.operators.base import Operator


class RedactParams(BaseModel):
    """Parameters of ``redact``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(
        default="<{entity_type}>",
        description="Replacement; `{entity_type}` is filled with the entity type.",
    )


class Redact(Operator[RedactParams]):
    """Replace the whole value by a label naming what was there."""

    name: ClassVar[str] = "redact"
    params_model: ClassVar[type[BaseModel]] = RedactParams

    def apply(self, value: str, entity: str) -> str:
        return self.params.label.replace("{entity_type}", entity)


class ReplaceParams(BaseModel):
    """Parameters of ``replace`` (Presidio's name and parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_value: str = Field(description="Replacement; `{entity_type}` is filled in.")


class Replace(Operator[ReplaceParams]):
    """Replace the value by a fixed string."""

    name: ClassVar[str] = "replace"
    params_model: ClassVar[type[BaseModel]] = ReplaceParams

    def apply(self, value: str, entity: str) -> str:
        return self.params.new_value.replace("{entity_type}", entity)
