"""How many whole log lines could leave the engine untouched, for issue 13's next step.

Issue 13 asks that "a record with no hit and no personal field name leaves byte for byte as
it came". That pays only if many lines have no hit at all. Measured here per line of the
generated corpus (``pipeline.tools.corpus``, default policy's detectors), on the whole raw line:

* ``superset``: the native prefilter (``pipeline.detection._native``, superset patterns: lookarounds
  dropped) says no recognizer can match anywhere in the line;
* ``exact``: no detector pattern (the Python pattern as written, ``regex`` module) matches
  anywhere in the line, before validators and context.

Per recognizer: in how many lines each one's patterns match (superset / exact). A line
where a pattern matches still needs the validators (Luhn, IMEI/ICCID check digits, IP
validity, context words) to say "nothing here", so a pass-through decided by patterns alone
covers only the "exact" share.

Usage::

    python benchmarks/line_hits.py [--lines 2000] [--densities 0,0.3]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import regex

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine_bench import build_logscrub, corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--densities", default="0,0.3")
    args = parser.parse_args()
    scanner = build_logscrub(ner=False).scanner
    recognizers = [item.recognizer for item in scanner._compiled]  # noqa: SLF001
    exact = [
        (r.name, [regex.compile(p.regex, r.global_regex_flags or 0) for p in r.patterns])
        for r in recognizers
    ]
    print("| PII density | lines | no superset hit | no exact hit |")
    print("|---|---|---|---|")
    per: dict[float, tuple[Counter[str], Counter[str]]] = {}
    for density in (float(d) for d in args.densities.split(",")):
        lines = [
            x.decode() if isinstance(x, bytes) else x
            for x in corpus(args.lines, density, seed=0)
        ]
        no_superset = no_exact = 0
        sup: Counter[str] = Counter()
        ex: Counter[str] = Counter()
        for line in lines:
            mask = scanner._prefilter.hits(line)  # noqa: SLF001
            no_superset += mask == 0
            hit = False
            for i, (name, patterns) in enumerate(exact):
                if mask >> i & 1:
                    sup[name] += 1
                if any(p.search(line) for p in patterns):
                    ex[name] += 1
                    hit = True
            no_exact += not hit
        per[density] = (sup, ex)
        n = len(lines)
        print(f"| {density:.0%} | {n} | {no_superset / n:.1%} | {no_exact / n:.1%} |")
    for density, (sup, ex) in per.items():
        print(
            f"\nlines where a recognizer's patterns match, density {density:.0%} "
            "(superset / exact):\n"
        )
        print("| recognizer | superset | exact |")
        print("|---|---|---|")
        for name, count in sup.most_common():
            print(f"| {name} | {count} | {ex.get(name, 0)} |")


if __name__ == "__main__":
    main()
