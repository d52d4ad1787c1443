"""The operator registry: explicit built-ins plus the ``logscrub.operators`` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from pipeline.operators.base import Operator
from pipeline.operators.drop import DropOperator
from pipeline.operators.encrypt import Encrypt
from pipeline.operators.generalize import Generalize
from pipeline.operators.ip_pseudonym import CryptoPAnOperator
from pipeline.operators.keep import Keep
from pipeline.operators.mask import Mask
from pipeline.operators.pseudonymize import Pseudonymize
from pipeline.operators.redact import Redact, Replace

OperatorClass = type[Operator[Any]]

BUILTIN_OPERATORS: dict[str, OperatorClass] = {
    cls.name: cls
    for cls in (
        Keep,
        DropOperator,
        Redact,
        Replace,
        Mask,
        Pseudonymize,
        Encrypt,
        Generalize,
        CryptoPAnOperator,
    )
}

_registry: dict[str, OperatorClass] = dict(BUILTIN_OPERATORS)
_plugins_loaded = False


def register_operator(cls: OperatorClass) -> OperatorClass:
    """Register an operator class under ``cls.name``; refuses duplicates.

    Raises:
        ValueError: the name is taken or not lowercase.
    """
    if cls.name != cls.name.lower():
        raise ValueError(f"operator name {cls.name!r} must be lowercase")
    if cls.name in _registry and _registry[cls.name] is not cls:
        raise ValueError(f"operator name {cls.name!r} is already registered")
    _registry[cls.name] = cls
    return cls


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="logscrub.operators"):
        register_operator(ep.load())


def get_operator(name: str) -> OperatorClass | None:
    """Look up an operator class by its policy ``type:`` name."""
    _load_plugins()
    return _registry.get(name)


def operator_names() -> list[str]:
    """All registered operator names, sorted."""
    _load_plugins()
    return sorted(_registry)
