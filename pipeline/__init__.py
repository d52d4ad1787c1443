"""logscrub: a stream-processing log anonymizer.

The public, broker-free API: load a policy, build an engine, apply it to records.

    >>> import secrets
    >>> from pipeline import Engine, KeyRing, load_policy
    >>> engine = Engine(load_policy(), keys=KeyRing.from_secret(secrets.token_urlsafe(48)))
    >>> engine.apply(b'{"msg": "mail bob@example.com"}').value  # doctest: +SKIP

Names are imported lazily: the engine pulls in Presidio, which `logscrub check` or
`logscrub reveal` do not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.core.engine import Engine, Outcome
    from pipeline.core.policy import Policy, load_policy, parse_policy
    from pipeline.exceptions import ConfigError, KeyMissingError, LogscrubError, RecordError
    from pipeline.keys import KeyRing

_EXPORTS = {
    "Engine": "pipeline.core.engine",
    "Outcome": "pipeline.core.engine",
    "ConfigError": "pipeline.exceptions",
    "KeyMissingError": "pipeline.exceptions",
    "LogscrubError": "pipeline.exceptions",
    "RecordError": "pipeline.exceptions",
    "KeyRing": "pipeline.keys",
    "Policy": "pipeline.core.policy",
    "load_policy": "pipeline.core.policy",
    "parse_policy": "pipeline.core.policy",
}
__all__ = [
    "ConfigError",
    "Engine",
    "KeyMissingError",
    "KeyRing",
    "LogscrubError",
    "Outcome",
    "Policy",
    "RecordError",
    "load_policy",
    "parse_policy",
]
assert sorted(_EXPORTS) == __all__  # noqa: S101 — one list of names, checked at import


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
