"""How a recognizer's patterns are compiled for the scanner: per pattern the faster of
:mod:`re` and :mod:`regex` (timed once on a typical log line, remembered between runs in
:mod:`pipeline.detection.calibration`), and several patterns joined into one alternation
where that searches faster than each alone.

Security: the calibration line is synthetic; no text a scan sees is kept or logged.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any

import regex

from detectors.base import VALUE_GROUP
from pipeline.detection.calibration import Calibrations


@dataclass(slots=True)
class JoinedPattern:
    """Compiled patterns of a recognizer, one alternative per Presidio pattern.

    A recognizer's plain patterns are joined into one alternation (each wrapped in a
    group ``_p<i>``, its own named groups renamed ``_<i>_<name>``), because in small
    windows the cost is per call, not per character; ``match.lastgroup`` says which
    pattern matched.
    """

    compiled: Any  # for windows and anchored matches
    full: Any  # for whole-text runs
    # group -> (score, value group, counts only with context)
    alternatives: dict[str, tuple[float, str | None, bool]]
    keyed: bool  # KeyedPatterns: tried only at their keys


# A ~600-character line with digits, hex, keys and separators, for choosing per pattern
# between `re` and `regex`: each is several times faster than the other on some patterns.
_CALIBRATION_TEXT = (
    '{"ts":"2024-05-01T12:00:00.123Z","level":"INFO","service":"order-service",'
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",'
    '"msg":"order created for tenant acme in region cn-east-1 after 3 retries (took 12ms)",'
    '"order_id":"ORD20240501123456","duration_ms":123,"bytes":5321,"status":200,'
    '"path":"/api/v1/orders/12345/items?page=2&size=20","host":"api-gw-7f9c8d6b5-x2x9z",'
    '"pid":4312,"epoch":1700000000000,"build":"TP1A.220624.014","version":"6.1.1.0",'
    '"thread":"http-nio-8080-exec-12","logger":"com.example.order.OrderController"}'
)


def compile_pattern(pattern: str, flags: int) -> tuple[Any, Any]:
    """Compile ``pattern`` for window runs and for whole-text runs.

    :mod:`regex` is several times faster than :mod:`re` for patterns with a required
    literal (``@``, ``.``, ``:``) and slower for plain character-class scans and in
    per-call overhead, so the engine is chosen per pattern and per use by timing both on a
    typical log line. ``re`` is kept unless ``regex`` is clearly (1.5x) faster, so the
    choice does not flip on timing noise. Presidio itself uses ``regex``; patterns that
    need its extensions (variable-width lookbehind) always get it. The choice is
    remembered between runs (:mod:`pipeline.detection.calibration`): then only the chosen engine
    compiles the pattern.

    Returns:
        ``(window_pattern, full_text_pattern)``.
    """
    # ASCII classes: `\w`, `\d`, `\b` in the detectors' boundaries mean ASCII, so an
    # identifier written right after Han text (`电话13800138000`) still has a boundary.
    # The engine folds other scripts' digits to ASCII before scanning (pipeline.detection.fold).
    pattern = "(?a)" + pattern
    known = _remembered_choice(pattern, flags)
    if known is None:
        try:
            re.compile(pattern, flags)
        except re.error:
            only = regex.compile(pattern, flags)
            return only, only
        known = _engine_choice(pattern, flags)
    use_regex_in_windows, use_regex_in_full = known
    fast = None if use_regex_in_windows and use_regex_in_full else re.compile(pattern, flags)
    other = regex.compile(pattern, flags) if use_regex_in_windows or use_regex_in_full else None
    return (other if use_regex_in_windows else fast), (other if use_regex_in_full else fast)


_CALIBRATIONS: Calibrations | None = None


def calibrations() -> Calibrations:
    """The timing answers of this process (loaded once; ``save()`` keeps new ones)."""
    global _CALIBRATIONS  # noqa: PLW0603 — one per process, read once
    if _CALIBRATIONS is None:
        _CALIBRATIONS = Calibrations()
    return _CALIBRATIONS


def _choice_keys(pattern: str, flags: int) -> tuple[str, str]:
    key = Calibrations.key("engine", pattern, flags, _CALIBRATION_TEXT)
    return key + ":w", key + ":f"


def _remembered_choice(pattern: str, flags: int) -> tuple[bool, bool] | None:
    """The engine choice of an earlier run (only patterns :mod:`re` compiles have one)."""
    cal = calibrations()
    w_key, f_key = _choice_keys(pattern, flags)
    windows, full = cal.get(w_key), cal.get(f_key)
    return None if windows is None or full is None else (windows, full)


@functools.lru_cache(maxsize=1024)
def _engine_choice(pattern: str, flags: int) -> tuple[bool, bool]:
    """Return whether :mod:`regex` beats :mod:`re` (for windows, for whole lines).

    Measured once per pattern (then remembered between runs), interleaving the two engines
    and keeping each one's best round, so load from other processes does not flip the
    choice.
    """
    fast = re.compile(pattern, flags)
    other = regex.compile(pattern, flags)
    choice = []
    for window in (96, 0):
        best_re = best_regex = float("inf")
        for _ in range(5):
            best_re = min(best_re, search_cost(fast, window))
            best_regex = min(best_regex, search_cost(other, window))
        choice.append(best_regex * 1.5 < best_re)
    w_key, f_key = _choice_keys(pattern, flags)
    calibrations().put(w_key, choice[0])
    calibrations().put(f_key, choice[1])
    return choice[0], choice[1]


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")
_NAMED_BACKREF = re.compile(r"\(\?P=(\w+)\)")
NUMBERED_BACKREF = re.compile(r"(?<!\\)\\[1-9]")


def join_patterns(
    patterns: list[Any],
    flags: int,
    *,
    keyed: bool,
    context_only: frozenset[str] = frozenset(),
) -> JoinedPattern:
    """Compile Presidio patterns as one alternation (see :class:`JoinedPattern`)."""
    parts = []
    alternatives: dict[str, tuple[float, str | None, bool]] = {}
    for i, pattern in enumerate(patterns):
        body = _NAMED_GROUP.sub(rf"(?P<_{i}_\1>", pattern.regex)
        body = _NAMED_BACKREF.sub(rf"(?P=_{i}_\1)", body)
        value = f"_{i}_{VALUE_GROUP}" if f"(?P<{VALUE_GROUP}>" in pattern.regex else None
        parts.append(f"(?P<_p{i}>{body})")
        alternatives[f"_p{i}"] = (float(pattern.score), value, pattern.name in context_only)
    compiled, full = compile_pattern("|".join(parts), flags)
    return JoinedPattern(compiled, full, alternatives, keyed)


@functools.lru_cache(maxsize=256)
def join_pays(regexes: tuple[str, ...], flags: int) -> bool:
    """Return whether one alternation of ``regexes`` searches windows faster than each alone.

    Measured once, best of 5 interleaved rounds (see :func:`_engine_choice`), then
    remembered between runs.
    """
    key = Calibrations.key("join", regexes, flags, _CALIBRATION_TEXT)
    known = calibrations().get(key)
    if known is not None:
        return known
    answer = _measure_join(regexes, flags)
    calibrations().put(key, answer)
    return answer


def _measure_join(regexes: tuple[str, ...], flags: int) -> bool:
    separate = [join_patterns([_RawPattern(r)], flags, keyed=False).compiled for r in regexes]
    joined = join_patterns([_RawPattern(r) for r in regexes], flags, keyed=False).compiled
    best_separate = best_joined = float("inf")
    for _ in range(5):
        best_separate = min(best_separate, sum(search_cost(c, 96) for c in separate))
        best_joined = min(best_joined, search_cost(joined, 96))
    return best_joined < best_separate


@dataclass(frozen=True)
class _RawPattern:
    """The part of a Presidio ``Pattern`` that :func:`join_patterns` reads, for calibration."""

    regex: str
    score: float = 0.0
    name: str = ""


def search_cost(compiled: Any, window: int) -> float:
    """Return the time of searching the calibration line four times.

    Args:
        compiled: The compiled pattern.
        window: 0 for whole-line searches, else the size of the windows searched.
    """
    text = _CALIBRATION_TEXT
    spans = (
        [(0, len(text))]
        if not window
        else [(i, i + window) for i in range(0, len(text) - window, window)]
    )
    start = time.perf_counter()
    for _ in range(4):
        for ws, we in spans:
            compiled.search(text, ws, we)
    return time.perf_counter() - start
