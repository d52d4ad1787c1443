"""The operator contract: what happens to one value found at a field or inside a text span."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from pipeline.exceptions import KeyMissingError
from pipeline.keys import KeyRing


class Drop:
    """Sentinel type: the operator removes the field (or the span, inside text)."""

    _instance: ClassVar[Drop | None] = None

    def __new__(cls) -> Drop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = Drop()


def _identity(entity: str, value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class OperatorContext:
    """What operators may use besides their params: keys and value normalization.

    Security: secrets come from here (the environment or a key file), never from params,
    so a policy file never holds one.
    """

    keys: KeyRing | None = None
    normalize: Callable[[str, str], str] = _identity

    def require_keys(self) -> KeyRing:
        """Return the key ring or raise :class:`KeyMissingError` (with how to set a key)."""
        if self.keys is None:
            raise KeyMissingError()
        return self.keys


class NoParams(BaseModel):
    """Parameters of operators that take none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=BaseModel)


class Operator(ABC, Generic[P]):
    """Transform one string value; built once per engine, applied per value.

    Params are validated once, at policy load (``params_model``); ``apply`` does no
    validation. ``apply`` must never raise with the value in the message.
    """

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]] = NoParams
    needs_key: ClassVar[bool] = False

    def __init__(self, params: P, ctx: OperatorContext) -> None:
        self.params = params
        self.ctx = ctx

    @abstractmethod
    def apply(self, value: str, entity: str) -> str | Drop:
        """Return the replacement for ``value`` of type ``entity``, or ``DROP``."""
