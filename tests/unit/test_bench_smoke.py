"""The benchmark suite runs end to end on a tiny sample (no Kafka, no spaCy, no timing asserts)."""

# ruff: noqa: S603  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("psutil")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), out


def test_smoke_writes_json_table_and_chart(smoke: tuple[dict, Path]) -> None:
    results, out = smoke
    assert results["smoke"] is True
    for key in ("machine", "engine", "memory", "stream", "targets", "command"):
        assert key in results
    assert (out / "latest.md").read_text().startswith("# logscrub benchmark results")
    pytest.importorskip("matplotlib")
    assert (out / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_smoke_machine_is_described(smoke: tuple[dict, Path]) -> None:
    mach = smoke[0]["machine"]
    assert mach["cpu_model"]
    assert mach["cores"] >= 1
    assert mach["python"].count(".") == 2


def test_smoke_engine_figures_are_positive(smoke: tuple[dict, Path]) -> None:
    engine = smoke[0]["engine"]
    systems = {(r["system"], r["density"]) for r in engine["rows"]}
    for density in (0.0, 0.3, 1.0):
        assert ("logscrub", density) in systems
        assert ("orjson-ceiling", density) in systems
    for row in engine["rows"]:
        assert row["n"] > 0
        assert row["rec_per_s"] > 0
        assert row["cpu_us_per_rec"] > 0
    assert engine["ratios"]["0.3"]["logscrub_fraction_of_ceiling"] > 0
    assert engine["params"]["corpus_mix"]["mean_bytes"] > 0
    assert engine["profile"]["top_tottime"]


def test_smoke_memory_figures_are_positive(smoke: tuple[dict, Path]) -> None:
    rows = smoke[0]["memory"]["rows"]
    assert rows
    for row in rows:
        assert row["peak_rss_mb"] > 0
        assert row["peak_rss_mb"] >= row["rss_after_build_mb"] > 0


def test_smoke_skips_kafka_and_judges_targets(smoke: tuple[dict, Path]) -> None:
    results = smoke[0]
    assert "skipped" in results["stream"]
    keys = {t["key"] for t in results["targets"]}
    assert {"engine_rps_d30", "stream_worker_rps", "worker_rss_mb"} <= keys
    engine_target = next(t for t in results["targets"] if t["key"] == "engine_rps_d30")
    assert engine_target["measured"] > 0
    assert engine_target["met"] in (True, False)
