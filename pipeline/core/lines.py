"""Reading newline-delimited input with bounded memory, whatever the line length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Oversize:
    """Stands for a line longer than the limit; only its size is kept, never its bytes."""

    size: int


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | Oversize]:
    """Yield each line without its line ending, or :class:`Oversize` for a too-long one.

    A line over ``max_bytes`` is consumed in chunks and never held in memory whole, so a
    multi-gigabyte line cannot exhaust memory.
    """
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:
                rest = stream.readline(_CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield Oversize(size - (1 if rest.endswith(b"\n") else 0))
            continue
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        yield line
