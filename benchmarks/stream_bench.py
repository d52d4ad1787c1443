"""Stream benchmark on a real Kafka broker (loopback only).

One raw topic is pre-filled with corpus records (200,000 by default, 30% PII density),
then each system drains it, one after the other, into its own output topic with its own
consumer group:

* ``logscrub``: one ``logscrub worker`` subprocess (a route from the raw topic through the
  default policy to a clean topic), NER off unless ``--ner``;
* ``faust-passthrough``: a Faust agent forwarding bytes unchanged (``faust_passthrough.py``);
* ``aiokafka-loop``: a plain aiokafka consume-produce loop (``aiokafka_loop.py``);
* ``logscrub x2``: two workers in one consumer group;
* ``logscrub c8``: one worker with ``LOGSCRUB_CONCURRENCY=8`` (records in flight per route);
* ``logscrub batch``: one worker with ``LOGSCRUB_RUNNER=batch`` (confluent-kafka batches,
  at-least-once, no Faust);
* ``logscrub batch eos`` (also ``logscrub eos``): the batch runner with
  ``LOGSCRUB_GUARANTEE=exactly_once`` (one Kafka transaction per batch); its progress is
  read from the committed offsets (exact), since the output topics' end offsets also count
  the transaction markers;
* ``engine``: no Kafka: ``Engine.apply`` over the same corpus in a subprocess (fresh
  caches, 2,000 records of warm-up), the ceiling the stream runners are judged against.

Throughput is taken between 10% and 90% of the drain (start-up and rebalances excluded),
from the output topics' end offsets (plus committed offsets, which also count records
the policy drops), sampled every 0.25 s. CPU is psutil's user+system time of the
system's processes (and their children) over the same window; the broker's CPU is
reported alongside, since broker, worker(s) and this script share 2 cores.

Latency: a fresh route, the worker warmed up, then records produced at a fixed rate (50%
of the measured single-worker maximum) with the send time in a header (``bench-ts``);
a consumer on the clean topic takes ``receive - send`` per record: p50 / p99 / max.

Every loop is bounded in records and in time. The broker is started with
``docker/kafka-local`` in a private state directory on a free port and stopped at the end
(unless ``LOGSCRUB_BENCH_BOOTSTRAP`` names a running one).

Usage::

    python benchmarks/stream_bench.py                       # full run (~5-10 min)
    python benchmarks/stream_bench.py --records 50000 --only logscrub,faust-passthrough
"""

# ruff: noqa: T201, S603, S607  -- benchmark tooling: printing is its output; subprocesses run fixed argv

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BENCH_SECRET, ROOT, corpus, fmt, log, md_table  # noqa: E402
from pipeline.tools.local_kafka import KAFKA_LOCAL, BrokerStartError, LocalBroker  # noqa: E402

HERE = Path(__file__).resolve().parent
PARTITIONS = 4
SAMPLE_S = 0.25


# ----------------------------------------------------------------------------- availability


def worker_command() -> list[str] | None:
    """How to start a logscrub worker, or None when the stream worker is not there yet."""
    import importlib.util

    try:
        if (
            importlib.util.find_spec("pipeline.cli.stream") is None
            or importlib.util.find_spec("pipeline.stream.agents") is None
        ):
            return None
    except ImportError:
        return None
    try:
        from pipeline.cli.main import main as cli_main

        if "worker" in getattr(cli_main, "commands", {}):
            return [sys.executable, "-m", "pipeline", "worker"]
    except Exception:  # noqa: BLE001, S110 — a CLI being edited: use the command itself
        pass
    return [
        sys.executable,
        "-c",
        "from pipeline.cli.stream import worker; worker(prog_name='logscrub worker')",
    ]


def available(need_worker: bool = True) -> tuple[bool, str]:
    """Whether the stream benchmark can run here, and why not."""
    if need_worker and worker_command() is None:
        return False, "the stream worker (pipeline.stream.agents) is not there yet"
    if not os.environ.get("LOGSCRUB_BENCH_BOOTSTRAP") and KAFKA_LOCAL is None:
        return False, "no broker: docker/kafka-local missing and LOGSCRUB_BENCH_BOOTSTRAP unset"
    if not os.environ.get("LOGSCRUB_BENCH_BOOTSTRAP") and shutil.which("java") is None:
        return False, "no java for docker/kafka-local"
    return True, ""


# ----------------------------------------------------------------------------- broker


@dataclass
class Broker:
    """A broker for the benchmark: ours (started and stopped here) or given."""

    local: LocalBroker

    @property
    def bootstrap(self) -> str:
        return self.local.bootstrap

    @property
    def pid(self) -> int | None:
        return self.local.pid()

    @classmethod
    def start(cls, timeout: float = 120) -> Broker:
        given = os.environ.get("LOGSCRUB_BENCH_BOOTSTRAP")
        if given:
            return cls(LocalBroker(given))
        try:
            local = LocalBroker.start(timeout=timeout)
        except BrokerStartError as exc:
            raise RuntimeError(f"could not start a local Kafka broker: {exc}") from None
        log(f"stream: broker at {local.bootstrap} (pid {local.pid()}, state {local.state})")
        return cls(local)

    def stop(self) -> None:
        self.local.stop()

    def cpu_s(self) -> float | None:
        pid = self.pid
        return _cpu_s([pid]) if pid else None


# ----------------------------------------------------------------------------- kafka helpers


class Kafka:
    """Admin and offset look-ups (kafka-python, synchronous)."""

    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaConsumer
        from kafka.admin import KafkaAdminClient

        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
        self.offsets = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-offsets")

    def create(self, topics: Iterable[str], partitions: int = PARTITIONS) -> None:
        self.admin.create_topics(
            {t: {"num_partitions": partitions, "replication_factor": 1} for t in topics}
        )

    def end_total(self, topic: str, partitions: int = PARTITIONS) -> int:
        from kafka import TopicPartition

        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return int(sum(self.offsets.end_offsets(tps).values()))

    def committed_total(self, group: str, topic: str) -> int | None:
        try:
            res = self.admin.list_group_offsets({group: None})
        except Exception:  # noqa: BLE001 — no coordinator / group yet: "unknown", not fatal
            return None
        offsets = res.get(group, res) if isinstance(res, dict) else res
        total = 0
        found = False
        for tp, meta in (offsets or {}).items():
            if getattr(tp, "topic", None) == topic:
                off = getattr(meta, "offset", meta)
                if isinstance(off, int) and off >= 0:
                    total += off
                    found = True
        return total if found else None

    def close(self) -> None:
        self.offsets.close()
        self.admin.close()


async def _produce(
    bootstrap: str, topic: str, values: Sequence[bytes], partitions: int = PARTITIONS
) -> float:
    """Send ``values`` round-robin over the partitions as fast as possible; return seconds."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=1_048_576,
        acks=1,
        max_request_size=2_097_152,
        client_id="bench-prefill",
    )
    await producer.start()
    t0 = time.perf_counter()
    try:
        pending = []
        for i, v in enumerate(values):
            pending.append(await producer.send(topic, v, partition=i % partitions))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - t0


def prefill(bootstrap: str, topic: str, values: Sequence[bytes]) -> dict[str, Any]:
    seconds = asyncio.run(_produce(bootstrap, topic, values))
    return {
        "records": len(values),
        "seconds": round(seconds, 2),
        "rec_per_s": round(len(values) / seconds, 1),
        "mb": round(sum(map(len, values)) / 2**20, 1),
    }


# ----------------------------------------------------------------------------- processes


def _cpu_s(pids: Iterable[int | None]) -> float | None:
    """User+system CPU seconds of the processes and their live children."""
    import psutil

    total = 0.0
    seen = False
    for pid in pids:
        if pid is None:
            continue
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
        for q in procs:
            try:
                t = q.cpu_times()
                total += t.user + t.system
                seen = True
            except psutil.Error:
                pass
    return total if seen else None


def _children(pids: Iterable[int]) -> list[int]:
    import psutil

    out: list[int] = []
    for pid in pids:
        try:
            out += [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            pass
    return out


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class System:
    """Something that moves records from a raw topic to an output topic."""

    name: str
    workers: int = 1
    ner: bool = False
    concurrency: int | None = None
    exactly_once: bool = False  # LOGSCRUB_GUARANTEE=exactly_once (the batch runner)
    runner: str | None = None  # LOGSCRUB_RUNNER (None: the settings' default)
    processes: int = 1  # LOGSCRUB_PROCESSES: children under one supervisor
    engine_process: bool | None = None  # LOGSCRUB_ENGINE_PROCESS (None: the default)
    profile_to: Path | None = None  # run the (single) worker under cProfile, stats here
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    tmp: Path | None = None

    def outputs(self, sink: str, quarantine: str) -> list[str]:
        return [sink, quarantine] if self.name.startswith("logscrub") else [sink]

    def start(
        self,
        bootstrap: str,
        source: str,
        sink: str,
        quarantine: str,
        group: str,
        max_seconds: float,
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        for i in range(self.workers):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGSCRUB_", "BENCH_"))}
            env.update(
                {
                    "PYTHONUNBUFFERED": "1",
                    "BENCH_BROKERS": bootstrap,
                    "BENCH_SOURCE": source,
                    "BENCH_SINK": sink,
                    "BENCH_GROUP": group,
                    "BENCH_MAX_SECONDS": str(int(max_seconds)),
                }
            )
            datadir = self.tmp / f"data{i}"
            if self.name.startswith("logscrub"):
                worker_cmd = worker_command()
                if worker_cmd is None:
                    raise RuntimeError("no logscrub worker command")
                cmd = worker_cmd
                env.update(
                    logscrub_env(
                        bootstrap,
                        source,
                        sink,
                        quarantine,
                        group,
                        self.tmp,
                        ner=self.ner,
                        datadir=datadir,
                    )
                )
                if self.concurrency:
                    env["LOGSCRUB_CONCURRENCY"] = str(self.concurrency)
                if self.exactly_once:
                    env["LOGSCRUB_GUARANTEE"] = "exactly_once"
                if self.runner:
                    env["LOGSCRUB_RUNNER"] = self.runner
                if self.engine_process is not None:
                    env["LOGSCRUB_ENGINE_PROCESS"] = str(self.engine_process).lower()
                if self.processes > 1:
                    env["LOGSCRUB_PROCESSES"] = str(self.processes)
                if self.profile_to is not None:
                    runner = self.tmp / "run_worker.py"
                    runner.write_text(
                        "from pipeline.cli.stream import worker\n"
                        "worker(prog_name='logscrub worker')\n"
                    )
                    cmd = [
                        sys.executable,
                        "-m",
                        "cProfile",
                        "-o",
                        str(self.profile_to),
                        str(runner),
                    ]
            elif self.name == "faust-passthrough":
                cmd = [sys.executable, str(HERE / "faust_passthrough.py"), "worker", "-l", "info"]
                env["BENCH_DATADIR"] = str(datadir)
            elif self.name == "aiokafka-loop":
                cmd = [sys.executable, str(HERE / "aiokafka_loop.py")]
            else:
                raise ValueError(self.name)
            logf = self.tmp / f"worker{i}.log"
            self.logs.append(logf)
            with logf.open("wb") as fh:
                self.procs.append(
                    subprocess.Popen(
                        cmd,
                        cwd=ROOT,
                        env=env,
                        stdout=fh,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def dead(self) -> list[int]:
        return [p.returncode for p in self.procs if p.poll() is not None]

    def log_tail(self, n: int = 1500) -> str:
        out = []
        for f in self.logs:
            try:
                out.append(f.read_text(errors="replace")[-n:])
            except OSError:
                pass
        return "\n---\n".join(out)

    def stop(self, timeout: float = 20) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def system_from_name(name: str) -> System:
    """``logscrub``, ``logscrub x2`` (two workers), ``logscrub c8`` (LOGSCRUB_CONCURRENCY=8),
    ``logscrub batch`` (the batch runner), ``logscrub batch eos`` / ``logscrub eos`` (the
    batch runner, exactly-once), ``logscrub thread`` / ``logscrub child`` (the Faust
    runner's engine in a thread / a child process), ``faust-passthrough``, ``aiokafka-loop``."""
    parts = name.split()
    system = System(parts[0])
    for p in parts[1:]:
        if p.startswith("x") and p[1:].isdigit():
            system.workers = int(p[1:])
        elif p.startswith("c") and p[1:].isdigit():
            system.concurrency = int(p[1:])
        elif p == "ner":
            system.ner = True
        elif p == "eos":
            system.exactly_once = True
            system.runner = "batch"
        elif p == "batch":
            system.runner = "batch"
        elif p in ("thread", "child"):  # the Faust runner's engine: in a thread / a child
            system.engine_process = p == "child"
        elif p.startswith("p") and p[1:].isdigit():
            system.processes = int(p[1:])  # --processes N: one supervisor
        else:
            raise ValueError(f"unknown system modifier {p!r} in {name!r}")
    return system


def logscrub_env(
    bootstrap: str,
    source: str,
    sink: str,
    quarantine: str,
    group: str,
    tmp: Path,
    *,
    ner: bool,
    datadir: Path,
) -> dict[str, str]:
    """Environment for a worker running one route of our own topics."""
    routes = tmp / "routes.yaml"
    if not routes.exists():
        routes.write_text(
            "routes:\n"
            "  - name: bench\n"
            f"    source: {source}\n"
            f"    policy: {ROOT / 'configs' / 'policies' / 'default.yaml'}\n"
            f"    sink: {sink}\n"
            f"    quarantine: {quarantine}\n"
            f"    partitions: {PARTITIONS}\n"
            "    replication: 1\n"
        )
    return {
        "LOGSCRUB_BROKERS": bootstrap,
        "LOGSCRUB_GROUP_ID": group,
        "LOGSCRUB_CLIENT_ID": group,
        "LOGSCRUB_ROUTES": str(routes),
        "LOGSCRUB_KEY": BENCH_SECRET,
        "LOGSCRUB_WEB_PORT": "0",
        "LOGSCRUB_NER": "true" if ner else "false",
        "LOGSCRUB_DATA_DIR": str(datadir),
    }


# ----------------------------------------------------------------------------- drain


def drain(
    kafka: Kafka,
    system: System,
    broker: Broker,
    *,
    source: str,
    n: int,
    sink: str,
    quarantine: str,
    group: str,
    timeout: float,
    stall_s: float = 60.0,
    stop_at: int | None = None,
) -> dict[str, Any]:
    """Run ``system`` over the pre-filled ``source`` until ``n`` (or ``stop_at``) are done."""
    target = stop_at or n
    outputs = system.outputs(sink, quarantine)
    system.start(kafka.bootstrap, source, sink, quarantine, group, max_seconds=timeout + 60)
    t0 = time.monotonic()
    samples: list[tuple[float, int, float | None, float | None]] = []
    last_progress, last_done = t0, 0
    committed: int | None = None
    last_commit_check = 0.0
    status = "ok"
    hwm: list[float | None] = []
    child_hwm: list[float | None] = []
    try:
        while True:
            now = time.monotonic()
            if system.exactly_once:
                # Exact: the offsets committed with each transaction (the output topics'
                # end offsets would count the transaction markers too).
                out = 0
                committed = kafka.committed_total(group, source)
            else:
                out = sum(kafka.end_total(t) for t in outputs)
                if now - last_commit_check > 1.0:
                    committed = kafka.committed_total(group, source)
                    last_commit_check = now
            done = max(out, committed or 0)
            samples.append((now - t0, done, _cpu_s(system.pids()), broker.cpu_s()))
            if done > last_done:
                last_done, last_progress = done, now
            if done >= target:
                break
            if system.dead():
                status = f"exited {system.dead()}"
                break
            if now - last_progress > stall_s and done > 0:
                status = f"stalled at {done}"
                break
            if now - t0 > timeout:
                status = f"timeout at {done}"
                break
            time.sleep(SAMPLE_S)
        hwm = [_hwm_mb(pid) for pid in system.pids()]
        # The processes the system started (an engine child, supervised workers), each.
        child_hwm = [_hwm_mb(c) for c in _children(system.pids())]
    finally:
        tail = system.log_tail() if status != "ok" else ""
        system.stop()
    res = summarize(samples, target)
    res.update(
        {
            "system": system.name,
            "workers": system.workers,
            "ner": system.ner,
            "status": status,
            "records_in": n,
            "peak_rss_mb": hwm,
            "child_peak_rss_mb": child_hwm,
        }
    )
    if tail:
        res["log_tail"] = tail
    if status != "ok":
        log(f"stream: {system.name} {status}\n{tail[-1500:]}")
    return res


def _at(samples: list[tuple[float, int, float | None, float | None]], count: float) -> int:
    for i, s in enumerate(samples):
        if s[1] >= count:
            return i
    return len(samples) - 1


def summarize(
    samples: list[tuple[float, int, float | None, float | None]], n: int
) -> dict[str, Any]:
    """Rates and CPU between 10% and 90% of the drain, and from the first to the last record."""
    if not samples or samples[-1][1] <= 0:
        return {"rec_per_s": 0.0, "done": 0}
    done = samples[-1][1]
    first = next(i for i, s in enumerate(samples) if s[1] > 0)
    i10, i90 = _at(samples, 0.1 * min(done, n)), _at(samples, 0.9 * min(done, n))
    if i90 <= i10:
        i10, i90 = first, len(samples) - 1
    a, b = samples[i10], samples[i90]
    dt = max(b[0] - a[0], 1e-6)
    dn = b[1] - a[1]
    res: dict[str, Any] = {
        "done": done,
        "startup_s": round(samples[first][0], 2),
        "drain_s": round(samples[-1][0] - samples[first][0], 2),
        "rec_per_s": round(dn / dt, 1),
        "rec_per_s_full": round(
            (done - samples[first][1]) / max(samples[-1][0] - samples[first][0], 1e-6), 1
        ),
        "window": [round(a[0], 2), round(b[0], 2), a[1], b[1]],
    }
    if a[2] is not None and b[2] is not None and dn > 0:
        res["cpu_us_per_rec"] = round((b[2] - a[2]) / dn * 1e6, 1)
        res["worker_cores"] = round((b[2] - a[2]) / dt, 2)
    if a[3] is not None and b[3] is not None:
        res["broker_cores"] = round((b[3] - a[3]) / dt, 2)
        if dn > 0:
            res["broker_cpu_us_per_rec"] = round((b[3] - a[3]) / dn * 1e6, 1)
    return res


# ----------------------------------------------------------------------------- latency


async def _latency(
    bootstrap: str,
    source: str,
    sink: str,
    rate: float,
    seconds: float,
    max_records: int,
    values: Sequence[bytes],
    tail_s: float = 15.0,
    warm_s: float = 5.0,
) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        fetch_max_wait_ms=5,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        client_id="bench-latency",
    )
    await consumer.start()
    tps = [TopicPartition(sink, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve positions now, so nothing sent later is skipped
        await consumer.position(tp)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=1, acks=1, client_id="bench-latency-p"
    )
    await producer.start()
    lat_ms: list[float] = []
    series: list[tuple[int, float]] = []  # (send time ns, latency ms), for the per-window view
    sent = 0
    stop_consuming = asyncio.Event()

    async def consume() -> None:
        while not stop_consuming.is_set():
            batches = await consumer.getmany(timeout_ms=50, max_records=5000)
            now = time.time_ns()
            for msgs in batches.values():
                for m in msgs:
                    for k, v in m.headers or ():
                        if k == "bench-ts":
                            try:
                                sent_ns = int(v)
                            except ValueError:
                                continue
                            if sent_ns >= measure_from_ns:
                                lat_ms.append((now - sent_ns) / 1e6)
                            series.append((sent_ns, (now - sent_ns) / 1e6))

    # The first `warm_s` seconds at the target rate are not counted (connections, caches,
    # the first fetch sessions); they still show in the per-window view.
    measure_from_ns = time.time_ns() + int(warm_s * 1e9)
    task = asyncio.create_task(consume())
    t0 = time.monotonic()
    tick = 0.01
    next_t = t0
    try:
        while sent < max_records and time.monotonic() - t0 < seconds + warm_s:
            due = int((time.monotonic() - t0) * rate) + 1
            while sent < min(due, max_records):
                v = values[sent % len(values)]
                await producer.send(
                    source,
                    v,
                    partition=sent % PARTITIONS,
                    headers=[("bench-ts", str(time.time_ns()).encode())],
                )
                sent += 1
            next_t += tick
            await asyncio.sleep(max(0.0, next_t - time.monotonic()))
        await producer.flush()
        produce_s = time.monotonic() - t0
        deadline = time.monotonic() + tail_s
        while len(series) < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop_consuming.set()
        await asyncio.wait_for(task, 5)
        await producer.stop()
        await consumer.stop()
    lat_ms.sort()

    def q(p: float) -> float | None:
        return round(lat_ms[min(len(lat_ms) - 1, int(p * len(lat_ms)))], 2) if lat_ms else None

    # Latency by 5-second window of send time: flat = the worker keeps up; rising = a queue
    # builds (the rate is above what it sustains now).
    windows = []
    if series:
        t_first = min(t for t, _ in series)
        buckets: dict[int, list[float]] = {}
        for t, ms in series:
            buckets.setdefault(int((t - t_first) / 5e9), []).append(ms)
        for b in sorted(buckets):
            xs = sorted(buckets[b])
            windows.append(
                [
                    b * 5,
                    len(xs),
                    round(xs[len(xs) // 2], 1),
                    round(xs[min(len(xs) - 1, int(0.99 * len(xs)))], 1),
                ]
            )
    return {
        "windows_5s": windows,
        "rate_target": round(rate, 1),
        "rate_sent": round(sent / produce_s, 1),
        "sent": sent,
        "received": len(series),
        "measured": len(lat_ms),
        "warm_s": warm_s,
        "seconds": round(produce_s, 1),
        "p50_ms": q(0.50),
        "p90_ms": q(0.90),
        "p99_ms": q(0.99),
        "max_ms": lat_ms[-1] if lat_ms else None,
    }


def latency(
    kafka: Kafka,
    broker: Broker,
    system: System,
    rate: float,
    values: Sequence[bytes],
    *,
    seconds: float = 30.0,
    max_records: int = 60_000,
    warm: int = 500,
    timeout: float = 300,
) -> dict[str, Any]:
    """Fixed-rate end-to-end latency through ``system`` on fresh topics."""
    run = uuid.uuid4().hex[:8]
    source, sink, quarantine = (
        f"bench.{run}.lat.raw",
        f"bench.{run}.lat.clean",
        f"bench.{run}.lat.quarantine",
    )
    group = f"bench-{run}-lat-{system.name}"
    kafka.create([source, sink, quarantine])
    outputs = system.outputs(sink, quarantine)
    system.start(kafka.bootstrap, source, sink, quarantine, group, max_seconds=timeout + 120)
    try:
        # Warm up: the worker is assigned and has processed records before timing starts.
        asyncio.run(_produce(kafka.bootstrap, source, values[:warm]))
        t0 = time.monotonic()
        while sum(kafka.end_total(t) for t in outputs) < warm * 0.95:
            if system.dead():
                raise RuntimeError(f"{system.name} exited: {system.log_tail()}")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(
                    f"{system.name} did not process the warm-up records in {timeout}s"
                )
            time.sleep(0.2)
        time.sleep(2.0)
        cpu0, bcpu0, w0 = _cpu_s(system.pids()), broker.cpu_s(), time.monotonic()
        res = asyncio.run(
            _latency(kafka.bootstrap, source, sink, rate, seconds, max_records, values[warm:])
        )
        dt = time.monotonic() - w0
        cpu1, bcpu1 = _cpu_s(system.pids()), broker.cpu_s()
        if cpu0 is not None and cpu1 is not None:
            res["worker_cores"] = round((cpu1 - cpu0) / dt, 2)
        if bcpu0 is not None and bcpu1 is not None:
            res["broker_cores"] = round((bcpu1 - bcpu0) / dt, 2)
    finally:
        system.stop()
    res["system"] = system.name
    return res


# ----------------------------------------------------------------------------- the run


ENGINE_CODE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from benchmarks.engine_bench import build_logscrub
lines = Path(sys.argv[1]).read_bytes().split(b"\\n")[: int(sys.argv[2])]
engine = build_logscrub(False)
for line in lines[:2000]:
    engine.apply(line)
engine.forget_values()
t0, c0 = time.perf_counter(), time.process_time()
for line in lines:
    engine.apply(line)
dt, dc = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"n": len(lines), "rec_per_s": round(len(lines) / dt, 1),
                  "cpu_us_per_rec": round(dc * 1e6 / len(lines), 1)}))
"""


def engine_rate(n: int, density: float, timeout: float = 600) -> dict[str, Any]:
    """The engine alone (no Kafka) over the first ``n`` corpus records, in a subprocess:
    wall-clock records/s of one process, like a stream worker's figure."""
    corpus_cached(n, density)  # writes the file the subprocess reads
    path = Path(tempfile.gettempdir()) / f"logscrub-bench-corpus-{n}-{density}-0.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_CODE, str(path), str(n), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        status = f"exited {done.returncode}"
        return {"name": "engine", "status": status, "log_tail": done.stderr[-1500:]}
    res = json.loads(done.stdout.strip().splitlines()[-1])
    res.update({"name": "engine", "system": "engine", "workers": 1, "status": "ok"})
    return res


def corpus_cached(n: int, density: float) -> list[bytes]:
    """Corpus lines, cached under the temp dir (generation takes ~10 s per 100,000)."""
    path = Path(tempfile.gettempdir()) / f"logscrub-bench-corpus-{n}-{density}-0.jsonl"
    if path.exists():
        return path.read_bytes().split(b"\n")[:n]
    lines = corpus(n, density, seed=0)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(b"\n".join(lines))
    tmp.replace(path)
    return lines


def run(
    *,
    records: int = 200_000,
    density: float = 0.3,
    systems: Sequence[str] | None = None,
    latency_s: float = 30.0,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Drain the pre-filled topic with every system; latency at 50% of the worker's max."""
    systems = tuple(
        systems
        or (
            "faust-passthrough",
            "aiokafka-loop",
            "logscrub",
            "logscrub x2",
            "engine",
            "logscrub batch",
            "logscrub batch eos",
            "latency",
            "latency batch",
        )
    )
    ok, why = available(
        need_worker=any(s.startswith(("logscrub", "latency")) for s in systems)
    )
    if not ok:
        return {"skipped": why}
    log(f"stream: corpus of {records:,} records at density {density}")
    values = corpus_cached(records, density)
    broker = Broker.start()
    kafka = Kafka(broker.bootstrap)
    run_id = uuid.uuid4().hex[:8]
    raw = f"bench.{run_id}.raw"
    result: dict[str, Any] = {
        "params": {
            "records": records,
            "density": density,
            "partitions": PARTITIONS,
            "compression": "none",
            "sample_s": SAMPLE_S,
            "cores": os.cpu_count(),
            "broker": "kafka-local (KRaft, 1 broker)",
        },
        "drains": [],
        "latency": None,
    }
    try:
        kafka.create([raw])
        log(f"stream: pre-filling {raw} with {records:,} records")
        result["prefill"] = prefill(broker.bootstrap, raw, values)
        log(f"stream: pre-filled at {result['prefill']['rec_per_s']:,.0f} rec/s")
        for name in systems:
            if name in ("latency", "latency batch"):
                continue
            if name == "engine":
                log("stream: the engine alone (no Kafka) over the same corpus")
                res = engine_rate(records, density)
                result["drains"].append(res)
                log(f"stream: engine: {res.get('rec_per_s', 0):,.0f} rec/s, {res['status']}")
                continue
            system = system_from_name(name)
            tag = name.replace(" ", "-")
            sink, quarantine = f"bench.{run_id}.out.{tag}", f"bench.{run_id}.quarantine.{tag}"
            kafka.create([sink, quarantine])
            group = f"bench-{run_id}-{tag}"
            log(f"stream: draining with {name}")
            res = drain(
                kafka,
                system,
                broker,
                source=raw,
                n=records,
                sink=sink,
                quarantine=quarantine,
                group=group,
                timeout=timeout,
            )
            res["name"] = name
            result["drains"].append(res)
            log(
                f"stream: {name}: {res.get('rec_per_s', 0):,.0f} rec/s, "
                f"{res.get('cpu_us_per_rec', '-')} CPU-µs/rec, "
                f"broker {res.get('broker_cores', '-')} cores, {res['status']}"
            )
        one = _drain(result, "logscrub")
        if "latency" in systems and one and one.get("rec_per_s"):
            rate = 0.5 * one["rec_per_s"]
            log(f"stream: latency at {rate:,.0f} rec/s (50% of the one-worker maximum)")
            result["latency"] = latency(
                kafka, broker, System("logscrub"), rate, values, seconds=latency_s
            )
            log(
                f"stream: p50 {result['latency']['p50_ms']} ms, "
                f"p99 {result['latency']['p99_ms']} ms"
            )
        batch = _drain(result, "logscrub batch")
        if "latency batch" in systems and batch and batch.get("rec_per_s"):
            rate = 0.5 * batch["rec_per_s"]
            log(f"stream: batch runner latency at {rate:,.0f} rec/s (50% of its maximum)")
            result["latency_batch"] = latency(
                kafka, broker, System("logscrub", runner="batch"), rate, values, seconds=latency_s
            )
            log(
                f"stream: batch p50 {result['latency_batch']['p50_ms']} ms, "
                f"p99 {result['latency_batch']['p99_ms']} ms"
            )
    finally:
        kafka.close()
        broker.stop()
    result["summary"] = summary(result)
    return result


def _drain(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    for d in result.get("drains", []):
        if d.get("name") == name:
            return d
    return None


def summary(result: dict[str, Any]) -> dict[str, Any]:
    one, two = _drain(result, "logscrub"), _drain(result, "logscrub x2")
    faust = _drain(result, "faust-passthrough")
    out: dict[str, Any] = {}
    if one and one.get("status") == "ok":
        out["stream_worker_rps"] = one["rec_per_s"]
        if one.get("cpu_us_per_rec"):
            out["stream_worker_cpu_us_per_rec"] = one["cpu_us_per_rec"]
            out["stream_worker_rps_per_core"] = round(1e6 / one["cpu_us_per_rec"], 1)
            if faust and faust.get("cpu_us_per_rec"):
                out["stream_vs_faust_per_core"] = round(
                    faust["cpu_us_per_rec"] / one["cpu_us_per_rec"], 3
                )
        if faust and faust.get("rec_per_s"):
            out["stream_vs_faust"] = round(one["rec_per_s"] / faust["rec_per_s"], 3)
        if two and two.get("status") == "ok" and one["rec_per_s"]:
            out["stream_two_workers_scaling"] = round(two["rec_per_s"] / one["rec_per_s"], 3)
    engine = _drain(result, "engine")
    batch = _drain(result, "logscrub batch")
    eos = _drain(result, "logscrub batch eos") or _drain(result, "logscrub eos")
    if batch and batch.get("status") == "ok":
        out["stream_batch_rps"] = batch["rec_per_s"]
        if engine and engine.get("rec_per_s"):
            out["stream_batch_vs_engine"] = round(batch["rec_per_s"] / engine["rec_per_s"], 3)
        if eos and eos.get("status") == "ok" and batch["rec_per_s"]:
            out["stream_batch_eos_rps"] = eos["rec_per_s"]
            out["stream_batch_eos_vs_alo"] = round(eos["rec_per_s"] / batch["rec_per_s"], 3)
    if engine and engine.get("rec_per_s"):
        out["engine_rps_same_run"] = engine["rec_per_s"]
    latb = result.get("latency_batch")
    if latb and latb.get("p99_ms") is not None:
        out["stream_batch_p99_ms"] = latb["p99_ms"]
        out["stream_batch_p50_ms"] = latb["p50_ms"]
    lat = result.get("latency")
    if lat and lat.get("p99_ms") is not None:
        out["stream_p99_ms"] = lat["p99_ms"]
        out["stream_p50_ms"] = lat["p50_ms"]
    return out


def worker_memory(
    *, records: int = 20_000, ner_modes: Sequence[bool] = (False, True), timeout: float = 600
) -> list[dict[str, Any]]:
    """Peak RSS (VmHWM) of a real worker draining ``records`` records, per NER mode."""
    ok, why = available()
    if not ok:
        log(f"memory: no worker measurement ({why})")
        return []
    values = corpus_cached(records, 0.3)
    broker = Broker.start()
    kafka = Kafka(broker.bootstrap)
    rows = []
    try:
        run_id = uuid.uuid4().hex[:8]
        raw = f"bench.{run_id}.mem.raw"
        kafka.create([raw])
        prefill(broker.bootstrap, raw, values)
        for ner in ner_modes:
            sink, quarantine = (
                f"bench.{run_id}.mem.clean.{int(ner)}",
                f"bench.{run_id}.mem.q.{int(ner)}",
            )
            kafka.create([sink, quarantine])
            log(f"memory: worker, NER {'on' if ner else 'off'}, {records:,} records")
            res = drain(
                kafka,
                System("logscrub", ner=ner),
                broker,
                source=raw,
                n=records,
                sink=sink,
                quarantine=quarantine,
                group=f"bench-{run_id}-mem-{int(ner)}",
                timeout=timeout,
            )
            rows.append(
                {
                    "process": "worker",
                    "ner_requested": ner,
                    "ner_active": ner,
                    "records": records,
                    "peak_rss_mb": (res.get("peak_rss_mb") or [None])[0],
                    "rec_per_s": res.get("rec_per_s"),
                    "status": res["status"],
                }
            )
    finally:
        kafka.close()
        broker.stop()
    return rows


def _group(file: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    f = file.replace("\\", "/")
    for key, label in (
        ("/pipeline/engine", "engine"),
        ("/pipeline/scanner", "engine"),
        ("/detectors/", "engine"),
        ("/pipeline/operators/", "engine"),
        ("/pipeline/_", "engine"),
        ("/pipeline/generalize", "engine"),
        ("/pipeline/cryptopan", "engine"),
        ("/pipeline/keys", "engine"),
        ("/pipeline/ner", "NER (spaCy)"),
        ("/spacy/", "NER (spaCy)"),
        ("/thinc/", "NER (spaCy)"),
        ("/pipeline/", "worker (pipeline)"),
        ("/faust/", "faust + mode"),
        ("/mode/", "faust + mode"),
        ("/aiokafka/", "aiokafka"),
        ("/kafka/", "kafka-python"),
        ("/asyncio/", "asyncio"),
        ("selectors.py", "asyncio"),
        ("/prometheus_client/", "metrics"),
        ("/logging/", "logging"),
        ("/stdnum/", "engine"),
        ("/phonenumbers/", "engine"),
        ("/ua_parser", "engine"),
        ("/orjson", "engine"),
        ("/regex/", "engine"),
        ("/re/", "engine"),
    ):
        if key in f:
            return label
    return "other"


def profile_worker(
    *,
    records: int = 20_000,
    density: float = 0.3,
    top: int = 25,
    out: Path | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """cProfile one worker draining ``records`` records: where its wall time goes.

    cProfile's clock is the wall clock, so time in ``epoll.poll`` (and the rest of the
    "asyncio" group) is mostly the worker waiting: for the broker's acknowledgement of
    each record, for fetches, or for the CPU when the machine is busy.
    """
    import pstats

    ok, why = available()
    if not ok:
        return {"skipped": why}
    values = corpus_cached(records, density)
    broker = Broker.start()
    kafka = Kafka(broker.bootstrap)
    prof_path = Path(tempfile.mkdtemp(prefix="bench-prof-")) / "worker.prof"
    try:
        run_id = uuid.uuid4().hex[:8]
        raw, sink, q = (
            f"bench.{run_id}.prof.raw",
            f"bench.{run_id}.prof.clean",
            f"bench.{run_id}.prof.q",
        )
        kafka.create([raw, sink, q])
        prefill(broker.bootstrap, raw, values)
        res = drain(
            kafka,
            System("logscrub", profile_to=prof_path),
            broker,
            source=raw,
            n=records,
            sink=sink,
            quarantine=q,
            group=f"bench-{run_id}-prof",
            timeout=timeout,
        )
    finally:
        kafka.close()
        broker.stop()
    if not prof_path.exists():
        return {"skipped": "the profiled worker wrote no stats", "drain": res}
    st = pstats.Stats(str(prof_path))
    total = st.total_tt  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    rows = []
    key_cum: dict[str, float] = {}
    for (file, line, func), (_cc, nc, tt, ct, callers) in st.stats.items():  # type: ignore[attr-defined]
        if "poll' of 'select.epoll" in func:
            g = "event-loop wait (epoll)"
        elif "of '_socket.socket'" in func:
            g = "socket syscalls"
        elif file == "~" and callers:
            # A builtin (regex search, dict.get...): charge it to its busiest caller's group.
            top_caller = max(callers.items(), key=lambda kv: kv[1][2])[0]
            g = _group(top_caller[0])
        else:
            g = _group(file)
        groups[g] = groups.get(g, 0.0) + tt
        rows.append((tt, ct, nc, func, f"{Path(file).name}:{line}", g))
        short = f"{Path(file).parent.name}/{Path(file).name}:{func}"
        for name in (
            "pipeline/core/engine.py:apply",
            "pipeline/stream/processor.py:process",
            "pipeline/stream/delivery.py:deliver",
        ):
            if short == name:
                key_cum[name] = key_cum.get(name, 0.0) + ct
    rows.sort(reverse=True)
    result = {
        "records": records,
        "density": density,
        "drain": {k: res.get(k) for k in ("rec_per_s", "cpu_us_per_rec", "worker_cores", "status")},
        "profiled_wall_s": round(total, 2),
        "key_incl_share": {k: round(v / total, 4) for k, v in key_cum.items()},
        "by_group": [
            {"group": g, "share": round(t / total, 4)}
            for g, t in sorted(groups.items(), key=lambda kv: -kv[1])
        ],
        "top_self": [
            {
                "function": f,
                "where": w,
                "group": g,
                "calls": nc,
                "self_share": round(tt / total, 4),
                "incl_share": round(ct / total, 4),
            }
            for tt, ct, nc, f, w, g in rows[:top]
        ],
    }
    if out is not None:
        import io

        buf = io.StringIO()
        pstats.Stats(str(prof_path), stream=buf).sort_stats("tottime").print_stats(50)
        pstats.Stats(str(prof_path), stream=buf).sort_stats("cumulative").print_stats(50)
        out.write_text(buf.getvalue())
    shutil.rmtree(prof_path.parent, ignore_errors=True)
    return result


def profile_markdown(prof: dict[str, Any]) -> str:
    lines = [
        f"Worker under cProfile (wall clock), {prof['records']:,} records "
        f"at {prof['density']:.0%}: "
        f"{prof['drain'].get('rec_per_s')} rec/s under the profiler.",
        "",
        md_table(
            ["part of the stack", "share of wall time (self)"],
            [[g["group"], f"{g['share']:.1%}"] for g in prof["by_group"]],
        ),
        "",
        "Including callees: "
        + ", ".join(f"`{k}` {v:.1%}" for k, v in prof.get("key_incl_share", {}).items())
        + " (coroutines count every resumption, so `deliver` includes its waits).",
        "",
        md_table(
            ["function", "where", "group", "calls", "self", "incl. callees"],
            [
                [
                    e["function"],
                    e["where"],
                    e["group"],
                    fmt(e["calls"]),
                    f"{e['self_share']:.1%}",
                    f"{e['incl_share']:.1%}",
                ]
                for e in prof["top_self"][:15]
            ],
        ),
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- output


def markdown(result: dict[str, Any]) -> str:
    p = result["params"]
    pre = result.get("prefill", {})
    lines = [
        f"Raw topic pre-filled with {p['records']:,} corpus records "
        f"({p['density']:.0%} PII density, "
        f"{pre.get('mb', '?')} MB, {p['partitions']} partitions, no compression) at "
        f"{fmt(pre.get('rec_per_s'))} rec/s; each system drains it with its own consumer group "
        f"into its own topic. Rates between 10% and 90% of the drain. {p['cores']} cores shared by "
        "the broker, the system under test and this script.",
        "",
    ]
    rows = []
    for d in result["drains"]:
        per_core = (1e6 / d["cpu_us_per_rec"]) if d.get("cpu_us_per_rec") else None
        rows.append(
            [
                d["name"],
                d["workers"],
                fmt(d.get("done")),
                fmt(d.get("rec_per_s"), 1),
                fmt(d.get("rec_per_s_full"), 1),
                fmt(d.get("cpu_us_per_rec"), 1),
                fmt(per_core),
                d.get("worker_cores", "-"),
                d.get("broker_cores", "-"),
                (", ".join(str(x) for x in d.get("peak_rss_mb") or []) or "-")
                + (
                    f" (children {', '.join(str(x) for x in d['child_peak_rss_mb'])})"
                    if d.get("child_peak_rss_mb")
                    else ""
                ),
                d["status"],
            ]
        )
    lines.append(
        md_table(
            [
                "system",
                "processes",
                "records",
                "rec/s (10-90%)",
                "rec/s (first-last)",
                "CPU µs/rec",
                "rec/s per full core",
                "worker cores",
                "broker cores",
                "peak RSS MB",
                "status",
            ],
            rows,
        )
    )
    lat = result.get("latency")
    if lat:
        lines += [
            "",
            f"End-to-end latency, one worker, at a fixed {fmt(lat['rate_target'])} rec/s "
            f"(50% of its maximum; sent {fmt(lat['sent'])} in {lat['seconds']} s, received "
            f"{fmt(lat['received'])} on the clean topic, the rest went to quarantine "
            f"(malformed corpus lines); the first {lat.get('warm_s', 0):.0f} s not counted): "
            f"p50 **{lat['p50_ms']} ms**, p90 {lat['p90_ms']} ms, "
            f"p99 **{lat['p99_ms']} ms**, max {lat['max_ms']:.1f} ms; "
            f"worker {lat.get('worker_cores', '-')} "
            f"cores, broker {lat.get('broker_cores', '-')} cores.",
        ]
        if lat.get("windows_5s"):
            lines += [
                "",
                "Latency by 5-second window of send time (flat: keeps up; rising: a queue builds): "
                + "; ".join(f"{w[0]}s p50 {w[2]} / p99 {w[3]} ms" for w in lat["windows_5s"]),
            ]
    latb = result.get("latency_batch")
    if latb:
        lines += [
            "",
            f"End-to-end latency, one batch-runner worker (at-least-once), at a fixed "
            f"{fmt(latb['rate_target'])} rec/s (50% of its maximum; sent {fmt(latb['sent'])}, "
            f"received {fmt(latb['received'])} on the clean topic): p50 **{latb['p50_ms']} ms**, "
            f"p90 {latb['p90_ms']} ms, p99 **{latb['p99_ms']} ms**, max {latb['max_ms']:.1f} ms; "
            f"worker {latb.get('worker_cores', '-')} cores, broker "
            f"{latb.get('broker_cores', '-')} cores.",
        ]
    s = result.get("summary") or {}
    if s:
        lines += ["", "Summary: " + ", ".join(f"{k} = {v}" for k, v in s.items())]
    return "\n".join(lines)


def chart_bars(result: dict[str, Any]) -> list[tuple[str, float, bool]]:
    labels = {
        "faust-passthrough": "Faust\npass-through",
        "aiokafka-loop": "aiokafka\nloop",
        "logscrub": "logscrub\n1 worker",
        "logscrub x2": "logscrub\n2 workers",
        "logscrub c8": "logscrub 1 worker\nconcurrency 8",
        "logscrub eos": "logscrub batch\nexactly-once",
        "logscrub batch": "logscrub batch\nat-least-once",
        "logscrub batch eos": "logscrub batch\nexactly-once",
        "engine": "engine alone\n(no Kafka)",
    }
    return [
        (
            labels.get(d["name"], d["name"]),
            d.get("rec_per_s") or 0.0,
            d["name"].startswith("logscrub"),
        )
        for d in result["drains"]
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument(
        "--only",
        help="comma-separated: faust-passthrough,aiokafka-loop,logscrub,"
        "logscrub x2,engine,logscrub batch,logscrub batch eos,latency,latency batch; "
        "also 'logscrub c8' (concurrency 8), 'logscrub ner', 'logscrub batch x2'",
    )
    ap.add_argument("--latency-seconds", type=float, default=30.0)
    ap.add_argument("--timeout", type=float, default=900.0, help="per drain, seconds")
    ap.add_argument("--profile-worker", action="store_true", help="only cProfile one worker")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.profile_worker:
        from benchmarks._common import RESULTS

        prof = profile_worker(
            records=min(args.records, 50_000),
            density=args.density,
            out=RESULTS / "profile_worker.txt",
        )
        if prof.get("skipped"):
            print(f"skipped: {prof['skipped']}")
            return 1
        print(profile_markdown(prof))
        if args.json:
            args.json.write_text(json.dumps(prof, indent=2, default=str))
        return 0
    systems = [s.strip() for s in args.only.split(",")] if args.only else None
    res = run(
        records=args.records,
        density=args.density,
        systems=systems,
        latency_s=args.latency_seconds,
        timeout=args.timeout,
    )
    if res.get("skipped"):
        print(f"skipped: {res['skipped']}")
        return 1
    print(markdown(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
