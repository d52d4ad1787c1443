"""`logscrub playground` in a subprocess for the tests: its address, and a clean stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served_playground() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start the command on a free port, without a key (ephemeral); yield (process, URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_KEY")}
    proc = subprocess.Popen(  # noqa: S603 — this package's own command
        [sys.executable, "-m", "pipeline", "playground", "--port", "0", "--no-ner"],
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stderr is not None
        url = ""
        deadline = time.monotonic() + 120
        while not url and time.monotonic() < deadline:
            line = proc.stderr.readline().decode()
            if not line and proc.poll() is not None:
                break
            found = re.search(r"open (http://\S+)", line)
            url = found.group(1) if found else ""
        assert url, "logscrub playground did not print its address"
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
