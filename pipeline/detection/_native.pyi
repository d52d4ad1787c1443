"""Type stubs of the compiled extension (native/src/lib.rs, native/src/record.rs)."""

class PatternSet:
    """Compiled patterns; ``patterns[i]`` belongs to recognizer ``groups[i]``."""

    def __init__(self, patterns: list[str], groups: list[int]) -> None: ...
    def hits(self, text: str) -> int:
        """Bit mask of recognizers with a pattern matching somewhere in ``text``."""
    def is_match(self, text: str) -> bool: ...
    def hits_many(self, texts: list[str]) -> list[int]: ...
    def __len__(self) -> int: ...

GATE_VERSION: int
"""What a gated record guarantees (2: no integer literal of 20 or more digits; 3: values
at paths or under keys not taught go to Python, the record stays eligible)."""

def compile_error(pattern: str) -> str | None:
    """``None`` if ``pattern`` compiles with the Rust ``regex`` crate, else why not."""

def benign_shape(text: str) -> bool:
    """``Scanner.scan``'s shortcut: a value the scanner answers by shape (``_BENIGN_SHAPE``)."""

class GateSets:
    """The recognizers' pattern sets, each with what a match of it needs to count.

    One tuple per set (``Scanner.gate_sets``): patterns, recognizer bit, needs context,
    context words, validator (``card``, ``ipv6`` or None), words that waive it.
    """

    def __init__(
        self, specs: list[tuple[list[str], int, bool, list[str], str | None, list[str]]]
    ) -> None: ...
    def hits(self, text: str, ruled_out: int, context: int) -> int:
        """Bits of the recognizers that may find something in ``text`` under a field name
        that rules out ``ruled_out`` and is context for ``context``."""

class RecordGate:
    """One native pass per JSON record: which values the engine must look at."""

    def __init__(
        self, sets: GateSets, extra: list[str], max_depth: int, max_bytes: int
    ) -> None: ...
    def set_path(self, path: str, leaf: int, container: int) -> None: ...
    def clear_paths(self) -> None: ...
    def clear_verdicts(self) -> None:
        """Forget the remembered answers of the pattern sets on values."""
    def add_plain_key(self, key: str, ruled_out: int, context: int, any_context: bool) -> None: ...
    def take_path_counts(self) -> list[tuple[str, int]]: ...
    def scan(self, record: bytes) -> tuple[list[tuple[str | int, ...]], bool] | None:
        """The values to look at, each as its keys and indices from the root (document
        order), and whether some are at paths or under keys not taught; None when the
        record is ineligible."""
    def __len__(self) -> int: ...
