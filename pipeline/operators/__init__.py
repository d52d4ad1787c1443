"""Anonymization operators: what happens to a value (keep, drop, redact, mask, ...)."""

from pipeline.operators.base import DROP, Drop, Operator, OperatorContext
from pipeline.operators.registry import get_operator, operator_names, register_operator

__all__ = [
    "DROP",
    "Drop",
    "Operator",
    "OperatorContext",
    "get_operator",
    "operator_names",
    "register_operator",
]
