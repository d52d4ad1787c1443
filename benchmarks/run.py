"""Run the benchmarks and write JSON, a markdown table and a chart.

Usage::

    python benchmarks/run.py                     # everything (engine, memory, stream)
    python benchmarks/run.py --only engine       # one part (repeatable); other parts of
                                                 # an existing latest.json are kept
    python benchmarks/run.py --smoke             # tiny, no Kafka, no spaCy: what CI runs

Writes ``benchmarks/results/latest.json`` (machines), ``latest.md`` (people) and
``throughput.png`` (throughput against the baselines). ``--smoke`` writes to
``benchmarks/results/smoke/`` (or ``--out``) so it never overwrites a real run.
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import engine_bench, memory_bench  # noqa: E402
from benchmarks._common import RESULTS, fmt, loadavg, log, machine, md_table  # noqa: E402

PARTS = ("engine", "memory", "stream")

# (key, description, unit, threshold, higher_is_better)
TARGETS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("engine_rps_d30", "engine, default policy, 30% density, 1 core", "rec/s", 25_000, True),
    ("engine_vs_presidio_d30", "engine / stock Presidio per line, 30%", "×", 1_000, True),
    (
        "engine_ner_rps_d30",
        "engine with NER on free-text fields, 30% (batched: apply_many)",
        "rec/s",
        2_000,
        True,
    ),
    ("stream_worker_rps", "stream, one worker draining the raw topic", "rec/s", 10_000, True),
    ("stream_vs_faust", "stream worker / Faust pass-through", "ratio", 0.5, True),
    ("stream_p99_ms", "p99 end-to-end latency at 50% of max rate", "ms", 100, False),
    ("stream_two_workers_scaling", "two workers / one worker", "×", 1.6, True),
    ("stream_batch_rps", "batch runner, at-least-once, one process", "rec/s", 10_000, True),
    ("stream_batch_vs_engine", "batch runner / the engine alone, same run", "ratio", 0.6, True),
    ("stream_batch_eos_vs_alo", "batch exactly-once / at-least-once", "ratio", 0.7, True),
    ("stream_batch_p99_ms", "batch runner p99 at 50% of its max rate", "ms", 100, False),
    ("worker_rss_mb", "worker peak RSS without NER", "MB", 300, False),
    ("worker_ner_rss_mb", "worker peak RSS with NER", "MB", 600, False),
)


# ----------------------------------------------------------------------------- running


def run_engine(smoke: bool, profile: bool) -> dict[str, Any]:
    if smoke:
        res = engine_bench.run(records=300, ner=False, presidio=False, repeat=1, warmup=100)
        if profile:
            res["profile"] = engine_bench.profile(300, 0.3, top=10)
        return res
    res = engine_bench.run()
    if profile:
        log("engine profile: cProfile, 20,000 records at 30% density, NER off")
        res["profile"] = engine_bench.profile(20_000, 0.3, out=RESULTS / "profile_engine.txt")
    return res


def run_memory(smoke: bool, with_worker: bool) -> dict[str, Any]:
    if smoke:
        return memory_bench.run(records=300, ner=False)
    return memory_bench.run(worker=with_worker)


def run_stream(smoke: bool, profile: bool = True) -> dict[str, Any]:
    if smoke:
        return {"skipped": "smoke run: no Kafka"}
    from benchmarks import stream_bench

    res = stream_bench.run()
    if not res.get("skipped") and profile:
        log("stream: cProfile of one worker, 20,000 records")
        res["worker_profile"] = stream_bench.profile_worker(
            records=20_000, out=RESULTS / "profile_worker.txt"
        )
    return res


# ----------------------------------------------------------------------------- targets


def measured(results: dict[str, Any]) -> dict[str, float | None]:
    """The figure each target is judged on (None when that part was not run)."""
    out: dict[str, float | None] = {k: None for k, *_ in TARGETS}
    eng = results.get("engine") or {}
    rows = eng.get("rows") or []
    r = engine_bench.find(rows, "logscrub", 0.3, "NER off")
    out["engine_rps_d30"] = r and r["rec_per_s"]
    # With NER on, file mode and both stream runners clean through the batch entry point
    # (`apply_many` / `prime_ner`: one `nlp.pipe` per chunk); the per-record row is its
    # baseline in the same run.
    r = engine_bench.find(rows, "logscrub", 0.3, "apply_many") or engine_bench.find(
        rows, "logscrub", 0.3, "NER on"
    )
    out["engine_ner_rps_d30"] = r and r["rec_per_s"]
    out["engine_vs_presidio_d30"] = (
        (eng.get("ratios") or {}).get("0.3", {}).get("logscrub_vs_presidio_line")
    )
    st = results.get("stream") or {}
    summ = st.get("summary") or {}
    for key in (
        "stream_worker_rps",
        "stream_vs_faust",
        "stream_p99_ms",
        "stream_two_workers_scaling",
        "stream_batch_rps",
        "stream_batch_vs_engine",
        "stream_batch_eos_vs_alo",
        "stream_batch_p99_ms",
    ):
        out[key] = summ.get(key)
    for row in (results.get("memory") or {}).get("rows", []):
        if row.get("process") != "worker":
            continue
        key = "worker_ner_rss_mb" if row.get("ner_requested") else "worker_rss_mb"
        out[key] = row.get("peak_rss_mb")
    if out["worker_rss_mb"] is None or out["worker_ner_rss_mb"] is None:
        # No worker measured: judge on the engine process doing the same work, and say so.
        for row in (results.get("memory") or {}).get("rows", []):
            key = "worker_ner_rss_mb" if row.get("ner_requested") else "worker_rss_mb"
            if row.get("process") == "engine" and out[key] is None:
                out[key] = row.get("peak_rss_mb")
    return out


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    m = measured(results)
    rows = []
    mem_proc = {row.get("process") for row in (results.get("memory") or {}).get("rows", [])}
    for key, desc, unit, threshold, higher in TARGETS:
        value = m.get(key)
        row: dict[str, Any] = {
            "key": key,
            "target": desc,
            "unit": unit,
            "threshold": threshold,
            "higher_is_better": higher,
            "measured": value,
        }
        if value is None:
            row["met"] = None
        else:
            row["met"] = value >= threshold if higher else value <= threshold
            # How far off (or how much headroom): measured / threshold for "more is better",
            # threshold / measured for "less is better"; < 1 means missed by that factor.
            row["factor"] = round(value / threshold if higher else threshold / max(value, 1e-9), 3)
        if key.startswith("worker_") and "worker" not in mem_proc and value is not None:
            row["note"] = "engine process, not a worker (no worker measured)"
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- output


def write_markdown(results: dict[str, Any], path: Path) -> None:
    mach = results["machine"]
    lines = ["# logscrub benchmark results", ""]
    if results.get("smoke"):
        lines += ["**Smoke run** (tiny sample, no Kafka, no NER): figures are not meaningful.", ""]
    git = mach.get("git", {})
    lines += [
        f"Machine: {mach['cpu_model']}, {mach['cores']} cores, {mach.get('memory_gb')} GB RAM, "
        f"Python {mach['python']} ({mach['platform']}). "
        f"Commit {git.get('commit') or '?'}{' + local changes' if git.get('dirty') else ''}, "
        f"{mach['time_utc']}.",
        "",
    ]
    commands: dict[str, list[str]] = {}
    for part in PARTS:
        sec = results.get(part)
        if isinstance(sec, dict) and "seconds" in sec:
            commands.setdefault(sec.get("command", results["command"]).strip(), []).append(
                f"{part} at {sec.get('measured_at', '?')}"
            )
    if not commands:
        commands[results["command"].strip()] = []
    lines += [
        "Commands: "
        + "; ".join(f"`{c}`" + (f" ({', '.join(p)})" if p else "") for c, p in commands.items()),
        "",
    ]
    runs = [
        f"{part} {results[part].get('seconds', '?')} s, load average "
        f"{(results[part].get('loadavg_before_after') or [None])[0]} → "
        f"{(results[part].get('loadavg_before_after') or [None, None])[-1]}"
        for part in PARTS
        if isinstance(results.get(part), dict) and "seconds" in results[part]
    ]
    if runs:
        lines += [
            "Sections (the machine is shared: a 1-minute load average above ~1 means other work "
            "competed for the 2 cores): " + "; ".join(runs) + ".",
            "",
        ]
    targets = results.get("targets") or []
    if targets:
        lines += ["## Targets", ""]
        rows = []
        for t in targets:
            status = "not run" if t["met"] is None else ("met" if t["met"] else "MISSED")
            val = (
                "-"
                if t["measured"] is None
                else fmt(t["measured"], 2 if t["unit"] in ("×", "ratio") else 1)
            )
            thr = ("≥ " if t["higher_is_better"] else "≤ ") + fmt(
                t["threshold"], 1 if t["threshold"] < 10 else 0
            )
            factor = "-" if t.get("factor") is None else f"{t['factor']:.2f}"
            rows.append(
                [
                    t["target"],
                    thr + " " + t["unit"],
                    val,
                    factor,
                    status + (f" ({t['note']})" if t.get("note") else ""),
                ]
            )
        lines += [
            md_table(["target", "threshold", "measured", "measured/target", "status"], rows),
            "",
        ]
        lines += [
            "(measured/target: above 1 is headroom; below 1 is the factor by which it is missed; "
            "for latency and memory it is target/measured.)",
            "",
        ]
    eng = results.get("engine")
    if eng:
        p = eng["params"]
        lines += [
            "## Engine (no Kafka, one core)",
            "",
            f"Default policy (`{p['policy']}`), synthetic corpus from `pipeline.tools.corpus` "
            f"({p['corpus_mix']['json_share']:.0%} JSON service logs, "
            "rest nginx/sshd/logcat/syslog text; "
            f"mean {p['corpus_mix']['mean_bytes']:.0f} bytes). Process pinned to one CPU; rec/s = "
            "records / CPU seconds (`time.process_time`), "
            f"best of {p['repeat_best_of']} passes for "
            f"logscrub NER off and the ceiling, after a warm-up on a different seed. "
            f"Sample sizes: logscrub {p['records']:,}/density, with NER {p['ner_records']:,}, "
            f"stock Presidio {p['presidio_lines']:,} lines, "
            f"analyze_dict {p['dict_records']:,} JSON records.",
            "",
            engine_bench.table(eng),
            "",
            engine_bench.ratio_table(eng),
            "",
        ]
        prof = eng.get("profile")
        if prof:
            lines += [
                f"### Engine profile (cProfile, {prof['records']:,} records, "
                f"{prof['density']:.0%} density, NER {'on' if prof['ner'] else 'off'}; "
                f"{prof['profiled_us_per_rec']} µs/record under the profiler)",
                "",
                engine_bench.profile_table(prof),
                "",
                engine_bench.profile_cum_table(prof),
                "",
            ]
    mem = results.get("memory")
    if mem:
        lines += ["## Memory (peak RSS, VmHWM)", "", memory_bench.table(mem), ""]
    st = results.get("stream")
    if st:
        lines += ["## Stream (real Kafka broker on 127.0.0.1)", ""]
        if st.get("skipped"):
            lines += [f"Not run: {st['skipped']}", ""]
        else:
            from benchmarks import stream_bench

            lines += [stream_bench.markdown(st), ""]
            wp = st.get("worker_profile")
            if wp and not wp.get("skipped"):
                lines += ["### Worker profile", "", stream_bench.profile_markdown(wp), ""]
    lines += ["Chart: `throughput.png`. Raw figures: `latest.json`.", ""]
    path.write_text("\n".join(lines))


def write_chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed: no chart")
        return False
    panels = []
    eng = results.get("engine")
    if eng:
        bars = []
        for system, variant, label in (
            ("orjson-ceiling", None, "orjson parse+dump\n(ceiling)"),
            ("logscrub", "NER off", "logscrub\ndefault policy"),
            ("logscrub", "NER on", "logscrub\n+ NER"),
            ("presidio-line", None, "Presidio\nper line"),
            ("presidio-dict", None, "Presidio\nanalyze_dict"),
        ):
            r = engine_bench.find(eng["rows"], system, 0.3, variant)
            if r:
                bars.append((label, r["rec_per_s"], system.startswith("logscrub")))
        panels.append(("Engine, 30% PII density, one core (log scale)", bars, True, 25_000))
    st = results.get("stream")
    if st and not st.get("skipped"):
        from benchmarks import stream_bench

        panels.append(
            (
                "Stream, real Kafka broker, one raw topic drained (log scale)",
                stream_bench.chart_bars(st),
                True,
                10_000,
            )
        )
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.8), squeeze=False)
    for ax, (title, bars, logy, target) in zip(axes[0], panels, strict=True):
        labels = [b[0] for b in bars]
        values = [b[1] for b in bars]
        colors = ["#2b7bba" if b[2] else "#9a9a9a" for b in bars]
        rects = ax.bar(range(len(bars)), values, color=colors)
        ax.set_xticks(range(len(bars)), labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("records / s")
        if logy:
            ax.set_yscale("log")
            positive = [v for v in values if v > 0]
            if positive:  # whole decades, so a bar's height reads as its value
                ax.set_ylim(bottom=10 ** math.floor(math.log10(min(positive))))
        ax.axhline(target, color="#d62728", linestyle="--", linewidth=1)
        ax.text(
            len(bars) - 0.5,
            target,
            f"target {target:,}",
            color="#d62728",
            fontsize=8,
            ha="right",
            va="bottom",
        )
        for rect, v in zip(rects, values, strict=True):
            ax.text(
                rect.get_x() + rect.get_width() / 2,
                v,
                f"{v:,.0f}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    mach = results["machine"]
    fig.suptitle(
        f"logscrub throughput vs baselines — {mach['cpu_model']}, {mach['cores']} cores, "
        f"Python {mach['python']}" + (" (SMOKE)" if results.get("smoke") else ""),
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--smoke", action="store_true", help="tiny run, no Kafka, no NER (CI)")
    ap.add_argument(
        "--only", action="append", choices=PARTS, help="run only this part (repeatable)"
    )
    ap.add_argument("--out", type=Path, help="results directory")
    ap.add_argument("--no-profile", action="store_true", help="skip the engine and worker profiles")
    ap.add_argument(
        "--render",
        action="store_true",
        help="only rewrite latest.md, the chart and the README block from latest.json",
    )
    args = ap.parse_args(argv)
    if args.render:
        out = args.out or RESULTS
        results = json.loads((out / "latest.json").read_text())
        results["targets"] = judge(results)
        (out / "latest.json").write_text(json.dumps(results, indent=2, default=str))
        write_markdown(results, out / "latest.md")
        write_chart(results, out / "throughput.png")
        if args.out is None and not results.get("smoke"):
            update_readme(out / "latest.md")
        print((out / "latest.md").read_text())
        return 0
    parts = tuple(args.only or PARTS)
    out = args.out or (RESULTS / "smoke" if args.smoke else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    latest = out / "latest.json"

    results: dict[str, Any] = {}
    if args.only and latest.exists() and not args.smoke:
        try:  # keep the parts not re-run
            results = json.loads(latest.read_text())
        except (OSError, ValueError):
            results = {}
    results["machine"] = machine()
    results["smoke"] = args.smoke
    results["command"] = "python benchmarks/run.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    started = time.perf_counter()
    for part in parts:
        t0 = time.perf_counter()
        load_before = loadavg()
        log(f"== {part}")
        if part == "engine":
            section = run_engine(args.smoke, not args.no_profile)
        elif part == "memory":
            section = run_memory(args.smoke, with_worker=_worker_available())
        else:
            section = run_stream(args.smoke, not args.no_profile)
        section["measured_at"] = results["machine"]["time_utc"]
        section["git"] = results["machine"]["git"]
        section["command"] = results["command"]
        section["seconds"] = round(time.perf_counter() - t0, 1)
        section["loadavg_before_after"] = [load_before, loadavg()]
        results[part] = section
    results["targets"] = judge(results)
    results["seconds"] = round(time.perf_counter() - started, 1)

    tmp = latest.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str))
    tmp.replace(latest)
    write_markdown(results, out / "latest.md")
    chart = write_chart(results, out / "throughput.png")
    if not args.smoke and args.out is None:
        update_readme(out / "latest.md")
    print((out / "latest.md").read_text())
    log(f"wrote {latest}, {out / 'latest.md'}" + (f", {out / 'throughput.png'}" if chart else ""))
    return 0


def update_readme(md: Path, readme: Path = RESULTS.parent / "README.md") -> None:
    """Put the latest table (and the chart) between the result markers of benchmarks/README.md."""
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    try:
        text = readme.read_text()
    except OSError:
        return
    if start not in text or end not in text:
        return
    body = md.read_text().replace("# logscrub benchmark results", "", 1).strip()
    body = body.replace("## ", "### ").replace(
        "Chart: `throughput.png`. Raw figures: `latest.json`.",
        "![throughput](results/throughput.png)\n\nRaw figures: "
        "[`results/latest.json`](results/latest.json).",
    )
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def _worker_available() -> bool:
    try:
        from benchmarks import stream_bench

        return stream_bench.available()[0]
    except ImportError:
        return False


if __name__ == "__main__":
    sys.exit(main())
