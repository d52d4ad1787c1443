"""Type stubs of the compiled prefilter (native/src/lib.rs)."""

class PatternSet:
    """Compiled patterns; ``patterns[i]`` belongs to recognizer ``groups[i]``."""

    def __init__(self, patterns: list[str], groups: list[int]) -> None: ...
    def hits(self, text: str) -> int:
        """Bit mask of recognizers with a pattern matching somewhere in ``text``."""
    def is_match(self, text: str) -> bool: ...
    def hits_many(self, texts: list[str]) -> list[int]: ...
    def __len__(self) -> int: ...

def compile_error(pattern: str) -> str | None:
    """``None`` if ``pattern`` compiles with the Rust ``regex`` crate, else why not."""
