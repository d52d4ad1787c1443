"""The ``logscrub`` command: file, stream and tool commands on one click group.

May import every other layer; nothing imports it but ``pipeline.__main__`` and the
``logscrub`` console script.
"""

from pipeline.cli.main import main

__all__ = ["main"]
