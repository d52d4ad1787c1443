"""The native prefilter: which recognizers can possibly match in a text, in one pass.

The detectors' patterns are Python ``re``/``regex`` patterns with lookbehinds (some of
variable width), lookaheads and backreferences (``(?P=sep)``), which the Rust ``regex``
crate does not support. So they are not translated *exactly*: each is translated to a
*superset* pattern that matches wherever the original matches (and maybe elsewhere):

* a one-character negative lookaround before or after the whole pattern becomes a consumed
  character or a line edge (``(?<![\\w-])X`` -> ``(?:^|[^\\w-])X``), a positive one at an
  edge becomes what it requires; these, the anchors (all multi-line: the record gate
  once scanned several values at once, one per line; for one text a superset) and ASCII
  ``\\b``/``\\B`` are kept, as they are exact for "does it match somewhere"; other
  lookarounds are dropped (an assertion only removes matches);
* a backreference becomes the group it repeats (``(?P=sep)`` -> ``[:\\-]``);
* atomic groups and possessive repeats become ordinary ones, lazy repeats greedy;
* repeats above ``_CAP`` (16) become unbounded from ``min(lo, _CAP)``: bounded repeats of
  large classes multiply the states of the set's lazy DFA (with 64 the set ran 45x slower
  on 100% PII lines, its DFA cache thrashing);
* ``\\d \\w \\s`` are the ASCII classes, as in the scanner (which compiles with ``(?a)``);
  ``.`` is any character (``(?s)``).

All patterns go into one ``regex::RegexSet`` (``pipeline/_native``, built from
``native/``). :meth:`Prefilter.hits` returns a bit mask of recognizers with at least one
pattern matching somewhere in the text; a recognizer whose bit is clear cannot produce a
finding there, because every finding of the scanner is a match of one of its recognizer's
patterns. A pattern that cannot be translated (an unknown construct) makes its recognizer
always hit, so a translation gap costs speed, never a finding.

Nothing here reads or logs record values; the scanner calls :meth:`Prefilter.hits` on the
text it is about to scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The stdlib parser of `re` (what sre_parse was): typeshed has no stubs for it.
from re import _constants as C  # type: ignore[attr-defined]  # noqa: N812
from re import _parser  # type: ignore[attr-defined]
from typing import Any

from pipeline.detection import _native

__all__ = ["BITS", "Prefilter", "UntranslatableError", "bit", "superset_pattern"]

#: Bits of a hit mask; recognizer ``i`` is bit ``i % BITS`` (see native/src/lib.rs).
BITS = 128

# Repeats with an upper bound above this become `{min(lo, _CAP),}`; exact counts
# (`[0-9a-f]{40}`) up to _EXACT_CAP stay exact (a 32-hex trace id is no 40-hex OpenUDID).
_CAP = 16
_EXACT_CAP = 64

# Anchors and ASCII word boundaries, as the Rust crate writes them. Every anchor is a
# multi-line one: `(?m:$)` also matches before a last newline, as Python's `$` does, and
# the record gate once scanned several values at once, one per line, where a value's start
# and end are line starts and ends (a superset for one text: also after/before a newline;
# kept so that the hit masks stay what they were).
_AT = {
    C.AT_BOUNDARY: r"(?-u:\b)",
    C.AT_NON_BOUNDARY: r"(?-u:\B)",
    C.AT_BEGINNING: "(?m:^)",
    C.AT_BEGINNING_STRING: "(?m:^)",
    C.AT_END: "(?m:$)",
    C.AT_END_STRING: "(?m:$)",
}

_ALLOWED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII | re.UNICODE

# ASCII classes, as Python's `(?a)` reads them.
_CLASS = {
    C.CATEGORY_DIGIT: ("0-9", False),
    C.CATEGORY_NOT_DIGIT: ("0-9", True),
    C.CATEGORY_WORD: ("0-9A-Za-z_", False),
    C.CATEGORY_NOT_WORD: ("0-9A-Za-z_", True),
    C.CATEGORY_SPACE: (r"\t\n\x0B\x0C\r ", False),
    C.CATEGORY_NOT_SPACE: (r"\t\n\x0B\x0C\r ", True),
}


class UntranslatableError(ValueError):
    """A pattern construct with no superset translation here (the recognizer then
    always runs)."""


def bit(index: int) -> int:
    """The hit-mask bit of recognizer ``index``."""
    return 1 << (index % BITS)


def superset_pattern(pattern: str, flags: int = 0) -> str:
    """Translate a Python pattern into a Rust ``regex`` pattern matching a superset.

    Raises:
        UntranslatableError: The pattern uses a construct not handled here, or flags other
            than ``I M S X A U``.
    """
    if flags & ~_ALLOWED_FLAGS:
        raise UntranslatableError("flags")
    try:
        parsed = _parser.parse("(?a)" + pattern, flags)
    except re.error as error:
        raise UntranslatableError("parse") from error
    groups: dict[int, str] = {}
    items = list(parsed)
    # A one-character lookbehind before the whole pattern and a one-character lookahead
    # after it (`(?<![\w\-])[0-9a-f]{12}(?![\w\-])`, the detectors' usual boundaries) are
    # translated exactly, as a consumed character or the end of the text: the set only
    # asks *whether* a pattern matches, not where. Dropping them made every hex or digit
    # run inside a longer id a hit (a trace id "was" a MAC address).
    head = _edge(items[0], -1) if items else None
    tail = _edge(items[-1], 1) if len(items) > 1 else None
    body = _emit(items[1 if head is not None else 0 : -1 if tail is not None else None], groups)
    prefix = "(?i)" if parsed.state.flags & re.IGNORECASE else ""
    return prefix + (head or "") + body + (tail or "")


def _edge(item: tuple[Any, Any], direction: int) -> str | None:
    r"""The exact translation of a lookaround at the start (``direction``
    -1: a lookbehind) or the end (1: a lookahead) of a pattern, or None (emit as usual).

    ``(?<!X)`` -> ``(?:^|[^X])``, ``(?!X)`` -> ``(?:[^X]|$)`` (X one character; multi-line
    anchors), ``(?<=XY)`` -> ``XY`` and ``(?=XY)`` -> ``XY`` (any content). For
    ``(?!X|YZ)`` only the one-character alternatives are kept (a weaker condition).
    """
    op, av = item
    if op not in (C.ASSERT, C.ASSERT_NOT) or av[0] != direction:
        return None
    try:
        if op is C.ASSERT:
            # What must be there is simply matched (`(?<=://)` -> `://`).
            return f"(?:{_emit(av[1], {})})"
        chars = _one_char_items(av[1])
        if not chars:
            return None
        complement = _emit_class([(C.NEGATE, None), *chars])
    except UntranslatableError:
        return None
    # `(?m:^)`/`(?m:$)` rather than `\A`/`\z` (see _AT: a superset for a single text,
    # also after/before a newline).
    return f"(?:(?m:^)|{complement})" if direction < 0 else f"(?:{complement}|(?m:$))"


def _one_char_items(sub: Any) -> list[tuple[Any, Any]]:
    """Class items matching the one-character alternatives of ``sub`` ([] if none);
    longer alternatives are left out (``(?!X|YZ)`` -> ``(?!X)``: a weaker condition)."""
    items = list(sub)
    alternatives = items[0][1][1] if len(items) == 1 and items[0][0] is C.BRANCH else [items]
    out: list[tuple[Any, Any]] = []
    for alternative in alternatives:
        alternative = list(alternative)
        if len(alternative) != 1:
            continue
        op, av = alternative[0]
        if op in (C.LITERAL, C.CATEGORY):
            out.append((op, av))
        elif op is C.IN and not any(o is C.NEGATE for o, _ in av):
            out.extend(av)
    return out


def _literal(code: int) -> str:
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    return f"\\x{{{code:x}}}"


def _category(category: Any) -> str:
    try:
        chars, negated = _CLASS[category]
    except KeyError:
        raise UntranslatableError("category") from None
    return f"[^{chars}]" if negated else f"[{chars}]"


def _emit(items: Iterable[tuple[Any, Any]], groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, av in items:
        if op is C.LITERAL:
            out.append(_literal(av))
        elif op is C.NOT_LITERAL:
            out.append(f"[^{_literal(av)}]")
        elif op is C.ANY:
            out.append("(?s:.)")
        elif op is C.IN:
            out.append(_emit_class(av))
        elif op is C.CATEGORY:
            out.append(_category(av))
        elif op is C.BRANCH:
            out.append("(?:" + "|".join(_emit(b, groups) for b in av[1]) + ")")
        elif op is C.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            inner = _emit(sub, groups)
            if group is not None:
                groups[group] = inner
            if add_flags & re.IGNORECASE:
                out.append(f"(?i:{inner})")
            elif del_flags & re.IGNORECASE:
                out.append(f"(?-i:{inner})")
            else:
                out.append(f"(?:{inner})")
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            inner = _emit(sub, groups)
            if lo == hi and hi <= _EXACT_CAP:
                out.append(f"(?:{inner}){{{lo}}}")
            elif hi is C.MAXREPEAT or hi > _CAP:
                out.append(f"(?:{inner}){{{min(lo, _CAP)},}}")
            else:
                out.append(f"(?:{inner}){{{lo},{hi}}}")
        elif op is C.ATOMIC_GROUP:
            out.append(f"(?:{_emit(av, groups)})")
        elif op is C.AT and av in _AT:
            out.append(_AT[av])
        elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue  # zero-width: dropping it only adds matches
        elif op is C.GROUPREF:
            if av not in groups:
                raise UntranslatableError("forward reference")
            out.append(f"(?:{groups[av]})")
        elif op is C.GROUPREF_EXISTS:
            _group, yes, no = av
            out.append(f"(?:{_emit(yes, groups)}|{_emit(no, groups) if no else ''})")
        else:
            raise UntranslatableError(str(op))
    return "".join(out)


def _emit_class(items: Sequence[tuple[Any, Any]]) -> str:
    # No nested classes (RE2 and Hyperscan have none): `[a\S]` becomes `(?:[a]|[^\s])`.
    negate = False
    parts: list[str] = []
    negated_parts: list[str] = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            parts.append(_literal(av))
        elif op is C.RANGE:
            parts.append(f"{_literal(av[0])}-{_literal(av[1])}")
        elif op is C.CATEGORY:
            chars, negated = _CLASS.get(av, (None, False))
            if chars is None:
                raise UntranslatableError("category")
            (negated_parts if negated else parts).append(chars)
        else:
            raise UntranslatableError(str(op))
    if negated_parts:
        if negate:
            raise UntranslatableError("negated class with a negated category")
        alternatives = ([f"[{''.join(parts)}]"] if parts else []) + [
            f"[^{chars}]" for chars in negated_parts
        ]
        return "(?:" + "|".join(alternatives) + ")"
    if not parts:
        raise UntranslatableError("empty class")
    return ("[^" if negate else "[") + "".join(parts) + "]"


@dataclass
class Prefilter:
    """One compiled pass over a text: which recognizers may match in it.

    Attributes:
        always: Bits of recognizers with a pattern that could not be translated; they
            are in every mask.
        untranslated: ``(recognizer index, pattern name, reason)`` of those patterns.
    """

    _set: Any
    always: int
    untranslated: list[tuple[int, str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, recognizers: Sequence[Any]) -> Prefilter:
        """Compile the patterns of ``recognizers`` (Presidio ``PatternRecognizer``s);
        recognizer ``i`` of the sequence is :func:`bit` ``(i)`` of the masks."""
        # Translated first; each one compiled alone (to leave out only what the Rust
        # crate rejects) only if the set of all of them does not compile: when the set
        # compiles, so does each of its patterns, and the 84 single compiles of the
        # shipped detectors were ~18 ms of every start-up.
        translated: list[tuple[int, str, str]] = []
        always = 0
        untranslated: list[tuple[int, str, str]] = []
        for index, recognizer in enumerate(recognizers):
            flags = int(recognizer.global_regex_flags or 0)
            for pattern in recognizer.patterns:
                try:
                    text = superset_pattern(pattern.regex, flags)
                except UntranslatableError as why:
                    always |= bit(index)
                    untranslated.append((index, pattern.name, str(why)))
                    continue
                translated.append((index, pattern.name, text))
        try:
            pattern_set = _native.PatternSet(
                [text for _, _, text in translated], [index for index, _, _ in translated]
            )
        except ValueError:
            pattern_set = None
        if pattern_set is not None:
            return cls(pattern_set, always, untranslated)
        patterns: list[str] = []
        groups: list[int] = []
        for index, name, text in translated:
            error = _native.compile_error(text)
            if error is not None:
                always |= bit(index)
                untranslated.append((index, name, "rust regex: " + error.splitlines()[-1][:120]))
                continue
            patterns.append(text)
            groups.append(index)
        return cls(_native.PatternSet(patterns, groups), always, untranslated)

    @property
    def native_set(self) -> Any:
        """The compiled ``PatternSet`` (the record gate scans with the same sets)."""
        return self._set

    def hits(self, text: str) -> int:
        """The mask of recognizers that may match somewhere in ``text``."""
        return self._set.hits(text) | self.always  # type: ignore[no-any-return]
