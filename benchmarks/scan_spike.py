"""Spike for issue 13: which compiled multi-pattern technology prefilters the detectors.

The question: can one compiled pass over a text say which of the project's recognizers
(``detectors/``, 23 recognizers, 77 Presidio patterns) can possibly match in it, so that
the Python scanner runs only there? Measured per corpus line, one process, on the
project's own patterns and the generated corpus (``pipeline.tools.corpus.generate_lines``,
densities 0 / 0.3 / 1.0):

* ``python-scanner``: today's ``pipeline.detection.scanner.Scanner.scan`` on each text of the line
  (each string value of a JSON record with its field name, or the whole text line): the
  work a prefilter could skip; measured with the scanner's native prefilter switched off
  (every recognizer reported as a possible hit, as before it existed);
* ``scanner+prefilter``: the same scanner with the prefilter on (issue 13, first step:
  recognizers that cannot match are left out of the plan, texts without any possible
  match skip planning);
* ``rust-regexset``: ``pipeline.detection._native.PatternSet.hits`` (the ``regex`` crate's
  ``RegexSet`` in a pyo3 extension built from ``native/``) on the same texts;
* ``hyperscan``: the ``hyperscan`` wheel (Vectorscan), a which-patterns-hit block scan of
  the UTF-8 bytes (single match per pattern), when installed;
* ``re2-set``: ``google-re2``'s ``re2.Set`` (``SearchSet``) ``Match`` on the same texts,
  when installed.

No Python pattern runs as is anywhere but in Python: lookbehinds (some of variable width),
lookaheads and backreferences (``(?P=sep)``) exist in none of the three engines. The
native side therefore gets *superset* translations (``pipeline.detection.prefilter``: assertions
dropped, a backreference replaced by its group, large repeats opened up); the table of
"expressible" counts says how many original patterns each engine accepts as written, and
how many superset translations it accepts. A prefilter is only useful if it skips work:
"texts skipped" is the share of texts in which no recognizer can match (then the scanner
need not run at all), "recognizer runs skipped" the share of (text, recognizer) pairs
without a possible match.

Usage::

    python benchmarks/scan_spike.py                   # 3,000 lines per density
    python benchmarks/scan_spike.py --lines 1000      # quicker

Results: ``benchmarks/results/scan_spike.md`` (written by the full run).

Decision: the Rust ``regex`` crate in a pyo3 extension (``native/``), built from source
by setuptools-rust into the ``logscrub`` distribution. Measured (``scan_spike.md``): as a
which-recognizers-hit pass per text it is the slowest of the three here (18-20k lines/s
against Hyperscan 26-31k and RE2 18-31k): one ``RegexSet`` of all 77 superset patterns
thrashed its lazy DFA (1,200 lines/s; a 6-character text took up to 40 ms), so it runs
one small set per recognizer. All three are 3-6x faster than today's scanner, and none
runs a detector pattern as written (lookbehinds in 67 of 77, lookaheads in 61,
backreferences in 2), so all three need the same superset translation and the exact
Python pattern on the hits. What decides is the next step of issue 13: one native call
per *record* (walk the JSON, find keys, run the sets, return hits; a record without hits
leaves untouched). Hyperscan and RE2 are matchers only, behind binary wheels; the record
walk and key pass would stay in Python, where the time is (the prefilter alone takes
today's scanner from 6.2k to 8.3k lines/s at 0% PII, 5.4k to 7.2k at 30%, 2.7k to 3.5k at
100%, with identical findings). A crate
we build can take the walk, keys and sets in one call, and its per-text overhead is
what that call amortizes. Hyperscan stays the fallback if the Rust sets cannot be made
fast enough (its per-text scan was the fastest measured here).
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import RESULTS, corpus, pin_one_core  # noqa: E402
from detectors import RECOGNIZERS  # noqa: E402
from pipeline.detection import _native  # noqa: E402
from pipeline.detection.prefilter import Prefilter, UntranslatableError, superset_pattern  # noqa: E402
from pipeline.detection.scanner import Scanner  # noqa: E402

DENSITIES = (0.0, 0.3, 1.0)


def texts_of(line: bytes) -> list[tuple[str, str | None]]:
    """The (text, field name) pairs the engine would scan in one line, roughly: every
    string value of a JSON record with its key, else the whole line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict | list):
        return [(line.decode("utf-8", "replace"), None)]
    out: list[tuple[str, str | None]] = []

    def walk(node: Any, name: str | None) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, key)
        elif isinstance(node, list):
            for value in node:
                walk(value, name)
        elif isinstance(node, str):
            out.append((node, name))
        elif isinstance(node, int | float) and not isinstance(node, bool):
            out.append((str(node), name))

    walk(obj, None)
    return out


def rate(
    lines: list[list[tuple[str, str | None]]], call: Callable[[str, str | None], Any]
) -> float:
    """Lines per CPU second of ``call`` over every text of every line (best of 3)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for texts in lines:
            for text, name in texts:
                call(text, name)
        best = min(best, time.process_time() - start)
    return len(lines) / best if best else float("inf")


def expressible(patterns: list[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """Per engine: (original patterns accepted as written, superset translations accepted)."""
    translated = []
    for regex, flags in patterns:
        try:
            translated.append(superset_pattern(regex, flags))
        except UntranslatableError:
            translated.append(None)
    out: dict[str, tuple[int, int]] = {}
    rust = lambda p: _native.compile_error(p) is None  # noqa: E731
    out["rust-regexset"] = (
        sum(rust("(?i)" + r) for r, _ in patterns),
        sum(t is not None and rust(t) for t in translated),
    )
    hs = _hyperscan()
    if hs is not None:
        def hs_ok(p: str) -> bool:
            try:
                hs.Database().compile(expressions=[p.encode()], flags=[_HS_FLAGS(hs)])
            except hs.error:
                return False
            return True
        # A repeat bounded above 1,000 (`[\s\S]{1,8192}?` of the private key block) keeps
        # Hyperscan's compiler busy for minutes: counted as not expressible, not tried.
        huge = re.compile(r"\{\d*,?\d{4,}\}")
        out["hyperscan"] = (
            sum(not huge.search(r) and hs_ok("(?i)" + r) for r, _ in patterns),
            sum(t is not None and hs_ok(t) for t in translated),
        )
    re2 = _re2()
    if re2 is not None:
        def re2_ok(p: str) -> bool:
            try:
                re2.compile(p)
            except Exception:  # noqa: BLE001 -- re2 raises its own error types
                return False
            return True
        out["re2-set"] = (
            sum(re2_ok("(?i)" + r) for r, _ in patterns),
            sum(t is not None and re2_ok(t) for t in translated),
        )
    return out


class _AllHit:
    """A stand-in prefilter that lets every recognizer run (the scanner before issue 13)."""

    def hits(self, _text: str) -> int:
        return (1 << 128) - 1


def constructs(patterns: list[tuple[str, int]]) -> dict[str, int]:
    """How many patterns use each construct that none of the native engines has."""
    from re import _constants as C  # noqa: N812
    from re import _parser

    counts = {"lookbehind": 0, "variable-width lookbehind": 0, "lookahead": 0,
              "backreference": 0, "word boundary / anchors": 0}

    def walk(items: Any, found: set[str]) -> None:
        for op, av in items:
            if op in (C.ASSERT, C.ASSERT_NOT):
                direction, sub = av
                if direction < 0:
                    found.add("lookbehind")
                    lo, hi = sub.getwidth()
                    if lo != hi:
                        found.add("variable-width lookbehind")
                else:
                    found.add("lookahead")
                walk(sub, found)
            elif op is C.GROUPREF:
                found.add("backreference")
            elif op is C.AT:
                found.add("word boundary / anchors")
            elif op is C.BRANCH:
                for branch in av[1]:
                    walk(branch, found)
            elif op is C.SUBPATTERN:
                walk(av[3], found)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
                walk(av[2], found)

    for regex, flags in patterns:
        found: set[str] = set()
        walk(_parser.parse("(?a)" + regex, flags), found)
        for name in found:
            counts[name] += 1
    return counts


def _hyperscan() -> Any:
    try:
        import hyperscan  # type: ignore[import-not-found]
    except ImportError:
        return None
    return hyperscan


def _re2() -> Any:
    try:
        import re2  # type: ignore[import-not-found]
    except ImportError:
        return None
    return re2


def _HS_FLAGS(hs: Any) -> int:  # noqa: N802
    return int(hs.HS_FLAG_UTF8 | hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_ALLOWEMPTY)


def build_hyperscan(translated: list[tuple[str, int]]) -> tuple[Any, list[int], int] | None:
    """A block-mode database of the translations it accepts; rejected ones always hit."""
    hs = _hyperscan()
    if hs is None:
        return None
    ok, ids, always = [], [], 0
    for pattern, group in translated:
        try:
            hs.Database().compile(expressions=[pattern.encode()], flags=[_HS_FLAGS(hs)])
        except hs.error:
            always |= 1 << group
            continue
        ok.append(pattern.encode())
        ids.append(group)
    db = hs.Database()
    db.compile(expressions=ok, ids=list(range(len(ok))), flags=[_HS_FLAGS(hs)] * len(ok))
    return db, ids, always


def build_re2(translated: list[tuple[str, int]]) -> tuple[Any, list[int], int] | None:
    re2 = _re2()
    if re2 is None:
        return None
    options = re2.Options()
    options.max_mem = 256 << 20
    s = re2.Set.SearchSet(options)
    ids, always = [], 0
    for pattern, group in translated:
        try:
            s.Add(pattern)
        except Exception:  # noqa: BLE001
            always |= 1 << group
            continue
        ids.append(group)
    s.Compile()
    return s, ids, always


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=3000, help="lines per density")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    core = pin_one_core()

    recognizers = [cls() for cls in RECOGNIZERS]
    originals = [
        (p.regex, int(r.global_regex_flags or 0)) for r in recognizers for p in r.patterns
    ]
    prefilter = Prefilter.build(recognizers)
    translated = []
    for index, r in enumerate(recognizers):
        for p in r.patterns:
            try:
                translated.append(
                    (superset_pattern(p.regex, int(r.global_regex_flags or 0)), index)
                )
            except UntranslatableError:
                pass
    scanner = Scanner(recognizers)
    today = Scanner(recognizers)
    today._prefilter = _AllHit()  # noqa: SLF001 -- the scanner as it was before the prefilter
    hs_built = build_hyperscan(translated)
    re2_built = build_re2(translated)
    n_rec = len(recognizers)

    rows = []
    for density in DENSITIES:
        raw = corpus(args.lines, density, seed=0)
        lines = [texts_of(line) for line in raw]
        n_texts = sum(len(t) for t in lines)
        # What the prefilter could skip.
        masks = [[prefilter.hits(text) for text, _ in texts] for texts in lines]
        texts_skipped = sum(m == 0 for ms in masks for m in ms) / n_texts
        lines_skipped = sum(all(m == 0 for m in ms) for ms in masks) / len(lines)
        pairs_skipped = 1 - sum(bin(m).count("1") for ms in masks for m in ms) / (n_texts * n_rec)
        found = [scanner.scan(t, name) for texts in lines for t, name in texts]
        expected = [today.scan(t, name) for texts in lines for t, name in texts]
        if found != expected:
            print("findings differ with the prefilter on", file=sys.stderr)
            return 1
        findings = sum(map(len, found))
        row: dict[str, Any] = {
            "density": density,
            "lines": len(lines),
            "texts": n_texts,
            "findings": findings,
            "texts_skipped": texts_skipped,
            "lines_skipped": lines_skipped,
            "pairs_skipped": pairs_skipped,
            "python-scanner": rate(lines, lambda t, name: today.scan(t, name)),
            "scanner+prefilter": rate(lines, lambda t, name: scanner.scan(t, name)),
            "rust-regexset": rate(lines, lambda t, _name: prefilter.hits(t)),
        }
        if hs_built is not None:
            db, _ids, _always = hs_built

            def hs_scan(text: str, _name: str | None, db: Any = db) -> int:
                found = [0]

                def on_match(i: int, _f: int, _t: int, _fl: int, _c: Any) -> None:
                    found[0] |= 1 << i

                db.scan(text.encode("utf-8", "surrogatepass"), match_event_handler=on_match)
                return found[0]

            row["hyperscan"] = rate(lines, hs_scan)
        if re2_built is not None:
            s = re2_built[0]
            row["re2-set"] = rate(lines, lambda t, _name, s=s: s.Match(t))
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)

    exprs = expressible(originals)
    used = constructs(originals)
    engines = ["python-scanner", "scanner+prefilter", "rust-regexset"] + [
        e for e in ("hyperscan", "re2-set") if e in rows[0]
    ]
    md = [
        "# Scan spike (issue 13): prefiltering the detectors natively",
        "",
        f"`python benchmarks/scan_spike.py --lines {args.lines}` at "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, pinned to core {core}; one process, CPU time, "
        "best of 3 rounds. Corpus: `pipeline.tools.corpus.generate_lines(n, seed=0, density)`; "
        "a line's texts are its JSON string/number values (with field names) or the whole "
        "text line.",
        "",
        f"Patterns: {len(originals)} Presidio patterns of {n_rec} recognizers "
        f"(`detectors.RECOGNIZERS`); superset translations that compile for the Rust set: "
        f"{len(prefilter._set)}; untranslatable: {len(prefilter.untranslated)}.",
        "",
        "## Lines per second (one core), per engine",
        "",
        "| density | lines | texts | " + " | ".join(engines) + " |",
        "|---|---|---|" + "---|" * len(engines),
    ]
    for row in rows:
        md.append(
            f"| {row['density']} | {row['lines']} | {row['texts']} | "
            + " | ".join(f"{row[e]:,.0f}" for e in engines)
            + " |"
        )
    md += [
        "",
        "## What a prefilter could skip (superset translations, Rust set)",
        "",
        "| density | texts with no possible match | lines with no possible match | "
        "(text, recognizer) pairs with no possible match | findings (identical with and "
        "without the prefilter) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        md.append(
            f"| {row['density']} | {row['texts_skipped']:.1%} | {row['lines_skipped']:.1%} | "
            f"{row['pairs_skipped']:.1%} | {row['findings']} |"
        )
    md += [
        "",
        "## Expressible patterns",
        "",
        f"Of {len(originals)} patterns: accepted as written (with `(?i)`) / superset "
        "translation accepted.",
        "",
        "| engine | as written | superset translation |",
        "|---|---|---|",
    ]
    for engine, (written, superset) in exprs.items():
        md.append(f"| {engine} | {written} | {superset} |")
    md += [
        "",
        "Why the originals do not compile natively (patterns using each construct; none of "
        "the three engines has lookarounds or backreferences):",
        "",
        "| construct | patterns |",
        "|---|---|",
    ]
    md += [f"| {name} | {count} |" for name, count in used.items()]
    decision = " ".join(__doc__.split("Decision: ", 1)[1].split())
    md += ["", "## Decision", "", decision[0].upper() + decision[1:]]
    text = "\n".join(md) + "\n"
    print(text)
    if not args.no_write:
        (RESULTS / "scan_spike.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
