"""The ``logscrub`` command line: scrub files and pipes, check configs, reveal tokens, and more.

Exit codes: 0 success, 1 a check or test failed, 2 invalid configuration or usage
(missing key included), 3 unreadable input or unwritable output.

Security: no command prints a record value to a log or an error message. ``scrub`` writes
only anonymized records; ``explain`` shows before/after to the terminal it runs in only.
"""

from __future__ import annotations

import logging
import sys

import click

from pipeline.cli import files, tools
from pipeline.cli.common import errors

log = logging.getLogger("logscrub")


class _Logscrub(click.Group):
    """The command group; logscrub's own errors that reach it end as one line, not a traceback.

    Commands turn their errors into exit codes with :func:`pipeline.cli.common.errors`; this
    catches what a long-running command raises after its start-up (the exactly-once worker
    binding its web port).
    """

    def invoke(self, ctx: click.Context) -> object:
        with errors():
            return super().invoke(ctx)

    # The stream commands (pipeline/cli/stream.py) are attached on first need: a command
    # name this module does not define, or the command list (`--help`). `logscrub scrub`
    # then does not import that module (~8 ms of its start-up).
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and _add_stream_commands():
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        _add_stream_commands()
        return super().list_commands(ctx)


@click.group(cls=_Logscrub, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging on stderr (never values).")
@click.version_option(package_name="logscrub")
def main(verbose: int) -> None:
    """logscrub: keep personal data out of log pipelines."""
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


_stream_commands_added = False


def _add_stream_commands() -> bool:
    """Attach the stream commands to ``main`` (once); True if they were not there yet.

    They live in their own module so that the file mode never imports Kafka clients (nor
    that module); they are attached here so there is one `logscrub` command.
    """
    global _stream_commands_added  # noqa: PLW0603 — once per process
    if _stream_commands_added:
        return False
    _stream_commands_added = True
    from pipeline.cli.stream import COMMANDS

    for command in COMMANDS:
        main.add_command(command)
    return True


for _command in (*files.COMMANDS, *tools.COMMANDS):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
