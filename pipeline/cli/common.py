"""What every ``logscrub`` command shares: exit codes, error handling, options, the engine.

Exit codes: 0 success, 1 a check or test failed, 2 invalid configuration or usage
(missing key included), 3 unreadable input or unwritable output.

Security: error messages name files, paths and exception messages of logscrub's own
errors, which never hold a record value.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, NoReturn

import click

from pipeline.exceptions import ConfigError, KeyMissingError, LogscrubError, WebPortError

if TYPE_CHECKING:
    from pipeline.core.engine import Engine

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_IO = 3


def die(message: str, code: int) -> NoReturn:
    click.echo(f"logscrub: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Turn logscrub's own errors into clear messages and exit codes (no tracebacks)."""
    try:
        yield
    except ConfigError as exc:
        die(str(exc), EXIT_CONFIG)
    except (KeyMissingError, WebPortError) as exc:
        die(str(exc), EXIT_CONFIG)
    except LogscrubError as exc:
        die(str(exc), EXIT_FAILED)


def open_in(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 — closed by the caller's ExitStack
    except OSError as exc:
        die(f"cannot read input {path}: {exc.strerror}", EXIT_IO)


def open_out(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")  # noqa: SIM115
    except OSError as exc:
        die(f"cannot write output {path}: {exc.strerror}", EXIT_IO)


key_file_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File holding the secret key (default: $LOGSCRUB_KEY_FILE, then $LOGSCRUB_KEY).",
)
key_id_option = click.option(
    "--key-id", default=None, help="Key id put in tokens (default: $LOGSCRUB_KEY_ID or k1)."
)
policy_option = click.option(
    "--policy",
    "-p",
    type=click.Path(dir_okay=False),
    default=None,
    help="Policy YAML (default: the shipped configs/policies/default.yaml).",
)
ner_option = click.option(
    "--ner/--no-ner",
    default=None,
    help="Force name detection (NER) on or off; default: as the policy says.",
)


reason_option = click.option(
    "--reason",
    required=True,
    help="Why (the case or ticket): written to the audit log before anything is revealed.",
)
audit_log_option = click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Audit log (default: $LOGSCRUB_AUDIT_LOG, else ~/.local/state/logscrub/audit.log).",
)
config_option = click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML settings file (see configs/settings.example.yaml); env LOGSCRUB_* wins over it.",
)
brokers_option = click.option(
    "--brokers", default=None, help="Bootstrap servers host:port[,...] (default: settings)."
)
routes_option = click.option(
    "--routes",
    type=click.Path(dir_okay=False),
    default=None,
    help="Routes file (default: settings, else the shipped configs/routes.yaml).",
)


def build_engine(
    policy: str | None, key_file: str | None, key_id: str | None, ner: bool | None
) -> Engine:
    """Load policy and key and build the engine (shared by scrub, explain, eval, worker)."""
    from pipeline.core.engine import Engine
    from pipeline.core.policy import load_policy
    from pipeline.keys import KeyRing

    pol = load_policy(policy)
    keys = KeyRing.load(key_file, key_id)
    return Engine(pol, keys=keys, ner=ner)
