"""Exception hierarchy of logscrub.

::

    LogscrubError
    ├── ConfigError          one or more invalid settings/policies (all reported at once)
    ├── KeyMissingError      a policy needs a secret key and none is configured
    ├── WebPortError         the /health and /metrics address cannot be bound (port taken)
    └── RecordError          one record could not be anonymized (reason code only)

Security: no exception raised by logscrub carries a value taken from a record. Messages
name files, lines, field paths and reason codes, never field contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class LogscrubError(Exception):
    """Base class of every error logscrub raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found while validating configuration; never holds a record value."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigError(LogscrubError):
    """Invalid configuration. Carries every issue found, so a user fixes all in one pass."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: Sequence[ConfigIssue] = tuple(issues)
        super().__init__(
            f"{len(self.issues)} configuration error(s):\n"
            + "\n".join(f"  {issue}" for issue in self.issues)
        )


class KeyMissingError(LogscrubError):
    """A policy pseudonymizes or encrypts but no secret key is configured."""

    def __init__(self, reason: str = "no secret key is configured") -> None:
        super().__init__(
            f"{reason}. Pseudonymization and encryption need a secret of at least 32 "
            "characters: set LOGSCRUB_KEY, or pass --key-file PATH (a file holding the "
            "secret), e.g. `export LOGSCRUB_KEY=$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')`."
        )


class WebPortError(LogscrubError):
    """The worker's web address (``/health``, ``/metrics``) cannot be bound; one line."""


class RecordError(LogscrubError):
    """A record could not be anonymized. ``reason`` is a short code, never a value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
