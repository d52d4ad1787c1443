"""``logscrub demo``: the main job end to end on this machine, then everything shut down.

1. a Kafka broker: ``LOGSCRUB_BROKERS`` when set, else the one ``docker/kafka-local``
   already runs, else a fresh one in a temporary state directory (stopped and wiped at
   the end);
2. the route topics (``logscrub topics create``);
3. a secret key: ``LOGSCRUB_KEY``/``LOGSCRUB_KEY_FILE``, else a throwaway one for this run
   (said so, never printed);
4. the worker as a subprocess (``logscrub worker``), its /health polled until it consumes;
5. ``pipeline/data/sample.log`` into the raw topic, each cleaned record printed as it
   arrives, then every sample line before and after, and the worker's counters;
6. SIGTERM to the worker, the broker stopped if the demo started it.

``--file-only`` shows the same before/after through the engine alone, no broker.

Security: the sample data is synthetic (RFC 2606/5737 addresses, test numbers); the demo
prints raw lines only from that bundled file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import click
import orjson

from pipeline.keys import ENV_KEY, ENV_KEY_FILE
from pipeline.tools.local_kafka import (
    KAFKA_LOCAL,
    BrokerStartError,
    LocalBroker,
    WorkerFailedError,
    WorkerProcess,
    free_port,
    port_free,
)

DEMO_GROUP = "logscrub-demo"
LINE_HEADER = "demo-line"
HEALTH_TIMEOUT_S = 180.0  # the first start may load the spaCy model
RESULT_TIMEOUT_S = 60.0



def sample_lines() -> list[bytes]:
    """The bundled sample log lines (JSON and text), without line ends."""
    data = resources.files("pipeline").joinpath("data/sample.log").read_bytes()
    return [line for line in data.splitlines() if line.strip()]


def _say(text: str = "", **style: Any) -> None:
    click.echo(click.style(text, **style) if style else text)


def _step(text: str) -> None:
    _say(f"==> {text}", bold=True)


def _short(data: bytes | None, limit: int = 400) -> str:
    text = "" if data is None else data.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ----------------------------------------------------------------------------- file only


def run_file_only() -> int:
    """Before/after of the sample through the engine (the file mode), no broker."""
    from pipeline.core.engine import Engine
    from pipeline.core.policy import load_policy
    from pipeline.keys import KeyRing

    keys = KeyRing.load()
    if keys is None:
        _say("no LOGSCRUB_KEY set: using a throwaway key for this run (not shown)", fg="yellow")
        keys = KeyRing.from_secret(secrets.token_urlsafe(48), "demo")
    engine = Engine(load_policy(), keys=keys)
    for number, line in enumerate(sample_lines(), 1):
        out = engine.apply(line)
        _say(f"[{number}] before: {_short(line)}", dim=True)
        after = "(dropped by policy)" if out.dropped else _short(out.value)
        tag = f" [quarantine: {out.issue}]" if out.issue else ""
        _say(f"[{number}] after:  {after}{tag}", fg="green")
        if out.entities:
            found = ", ".join(f"{k}={v}" for k, v in sorted(out.entities.items()))
            _say(f"      changed: {found}", dim=True)
    return 0


# ----------------------------------------------------------------------------- broker


def ensure_broker(port: int | None) -> LocalBroker:
    """The broker named by ``LOGSCRUB_BROKERS``, else the running local broker, else a fresh one.

    A fresh one is started with the checkout's ``docker/kafka-local`` in a temporary state
    directory; an installed logscrub (no checkout) needs ``LOGSCRUB_BROKERS``.
    """
    given = os.environ.get("LOGSCRUB_BROKERS")
    if given:
        _step(f"using the broker at {given} (LOGSCRUB_BROKERS)")
        return LocalBroker(bootstrap=given)
    if KAFKA_LOCAL is None:
        msg = (
            "no docker/kafka-local here (logscrub is installed, not run from a checkout): "
            "set LOGSCRUB_BROKERS=HOST:PORT to a running broker, or use --file-only"
        )
        raise click.ClickException(msg)
    running = LocalBroker.running()
    if running is not None:
        _step(f"using the running local broker at {running.bootstrap}")
        return running
    want = port or 9092
    if port is None and not (port_free(want) and port_free(want + 100)):
        want = free_port()  # 9092 is taken by something else: any free port will do
    cport = want + 100 if port_free(want + 100) else free_port()
    _step(
        f"starting a local Kafka broker on 127.0.0.1:{want} (first run fetches the jars with Maven)"
    )
    t0 = time.monotonic()
    try:
        broker = LocalBroker.start(port=want, controller_port=cport, timeout=900)
    except BrokerStartError as exc:
        raise click.ClickException(str(exc)) from None
    _say(f"    broker ready at {broker.bootstrap} in {time.monotonic() - t0:.1f}s", dim=True)
    return broker


# ----------------------------------------------------------------------------- worker


def start_worker(bootstrap: str, env_extra: dict[str, str], workdir: Path) -> WorkerProcess:
    env = {
        **os.environ,
        "LOGSCRUB_BROKERS": bootstrap,
        "LOGSCRUB_GROUP_ID": DEMO_GROUP,
        "LOGSCRUB_SESSION_TIMEOUT_S": "6",
        **env_extra,
    }
    worker = WorkerProcess(env, workdir / "worker.log", name="the worker")
    try:
        worker.wait_healthy(HEALTH_TIMEOUT_S)
    except WorkerFailedError as exc:
        worker.close()
        raise click.ClickException(str(exc)) from None
    return worker


# ----------------------------------------------------------------------------- the run


@dataclass
class Result:
    """What came out for one sample line."""

    kind: str  # clean | quarantine
    value: bytes
    key: bytes | None
    headers: dict[str, bytes]


def _read_outputs(
    bootstrap: str, topics: dict[str, str], starts: dict[Any, int], expected: int
) -> Iterator[tuple[int | None, Result]]:
    """Yield (sample line number, output) as records arrive on the clean/quarantine topics."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        client_id="logscrub-demo-reader",
    )
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        seen = 0
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while seen < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=250).values():
                for r in records:
                    headers = {k: v for k, v in (r.headers or [])}
                    kind = topics[r.topic]
                    number: int | None = None
                    if kind == "clean":
                        raw = headers.get(LINE_HEADER)
                        number = int(raw) if raw and raw.isdigit() else None
                    else:
                        entry = orjson.loads(r.value)
                        number = _line_of_entry(entry)
                    if number is not None:
                        seen += 1
                    yield number, Result(kind, r.value, r.key, headers)
    finally:
        consumer.close()


_offsets_to_line: dict[tuple[int, int], int] = {}


def _line_of_entry(entry: dict[str, Any]) -> int | None:
    src = entry.get("source") or {}
    return _offsets_to_line.get((int(src.get("partition", -1)), int(src.get("offset", -1))))


def run(port: int | None = None, keep_broker: bool = False) -> int:
    """The whole demo. Returns the exit code (0: every sample line came out cleaned)."""
    from kafka import KafkaProducer, TopicPartition

    from pipeline.stream.routes import load_routes
    from pipeline.stream.topics import create_topics, route_topics

    routes, _ = load_routes()
    route = routes[0]
    _offsets_to_line.clear()
    lines = sample_lines()
    workdir = Path(tempfile.mkdtemp(prefix="logscrub-demo-"))
    broker: LocalBroker | None = None
    worker: WorkerProcess | None = None
    code = 1
    try:
        broker = ensure_broker(port)
        _step("creating the route topics")
        for name, state in create_topics([broker.bootstrap], route_topics(routes)).items():
            _say(f"    {name}: {state}", dim=True)
        env_extra: dict[str, str] = {}
        if not os.environ.get(ENV_KEY) and not os.environ.get(ENV_KEY_FILE):
            env_extra[ENV_KEY] = secrets.token_urlsafe(48)
            env_extra["LOGSCRUB_KEY_ID"] = "demo"
            _say(
                "no LOGSCRUB_KEY set: generated a throwaway demo key for this run (not shown; "
                "its pseudonyms match no other run)",
                fg="yellow",
            )
        _step("starting the worker (logscrub worker)")
        worker = start_worker(broker.bootstrap, env_extra, workdir)
        _say(f"    healthy: {worker.url('/health')}  metrics: {worker.url('/metrics')}", dim=True)

        topics = {route.sink: "clean", route.quarantine: "quarantine"}
        from kafka import KafkaConsumer

        # No group, so no auto-commit either (kafka-python warns when asked for both).
        probe = KafkaConsumer(
            bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False
        )
        try:
            tps = [
                TopicPartition(t, p)
                for t in topics
                for p in sorted(probe.partitions_for_topic(t) or [])
            ]
            starts = probe.end_offsets(tps)
        finally:
            probe.close()

        _step(f"sending {len(lines)} sample log lines to {route.source}")
        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap, acks="all", client_id="logscrub-demo"
        )
        try:
            futures = []
            for number, line in enumerate(lines, 1):
                # One record with a personal key, to show that keys are cleaned too.
                key = b"li.wei@example.com" if number == 1 else None
                futures.append(
                    producer.send(
                        route.source, line, key=key, headers=[(LINE_HEADER, str(number).encode())]
                    )
                )
            producer.flush(timeout=30)
            for number, fut in enumerate(futures, 1):
                meta = fut.get(timeout=30)
                _offsets_to_line[(meta.partition, meta.offset)] = number
        finally:
            producer.close(timeout=10)

        _step(f"cleaned records as they arrive on {route.sink}")
        results: dict[int, Result] = {}
        for seen, output in _read_outputs(broker.bootstrap, topics, starts, len(lines)):
            label = f"line {seen}" if seen is not None else "(earlier record)"
            colour = "green" if output.kind == "clean" else "yellow"
            if output.kind == "quarantine":
                entry = orjson.loads(output.value)
                _say(f"  [{label}] quarantined: {entry['reason']}", fg=colour)
            else:
                _say(f"  [{label}] {_short(output.value, 300)}", fg=colour)
            if seen is not None:
                results[seen] = output

        _step("before -> after")
        for number, line in enumerate(lines, 1):
            _say(f"[{number}] before: {_short(line)}", dim=True)
            result = results.get(number)
            if result is None:
                _say(
                    f"[{number}] after:  (nothing yet: dropped by policy, or still in flight)",
                    fg="red",
                )
                continue
            if result.kind == "quarantine":
                entry = orjson.loads(result.value)
                scrubbed = entry.get("scrubbed")
                _say(
                    f"[{number}] after:  quarantined ({entry['reason']}); scrubbed: {scrubbed}",
                    fg="yellow",
                )
            else:
                _say(f"[{number}] after:  {_short(result.value)}", fg="green")
            if number == 1:
                _say(f"      key: li.wei@example.com -> {_short(result.key)}", fg="green")
            manifest = result.headers.get("logscrub")
            if manifest:
                _say(f"      manifest header: {manifest.decode()}", dim=True)

        _step("worker metrics (GET /metrics)")
        _print_metrics(worker)
        code = 0 if len(results) == len(lines) else 1
        if code:
            _say(
                f"only {len(results)} of {len(lines)} lines came out "
                f"within {RESULT_TIMEOUT_S:.0f}s",
                fg="red",
            )
    finally:
        if worker is not None:
            _step("stopping the worker (SIGTERM: finish in-flight records, commit)")
            rc: int | None
            try:
                rc, _ = worker.terminate(timeout=60.0)
            except WorkerFailedError:
                rc = None  # killed after ignoring SIGTERM
            worker.close()
            _say(f"    worker exited with code {rc}", dim=True)
        if broker is not None:
            if keep_broker and broker.started:
                _say(
                    f"broker left running at {broker.bootstrap}; stop it with "
                    f"LOGSCRUB_KAFKA_STATE={broker.state} docker/kafka-local stop",
                    fg="yellow",
                )
            else:
                broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _step("done" if code == 0 else "done, with problems (see above)")
    return code


def _print_metrics(worker: WorkerProcess) -> None:
    status, body = worker.get("/metrics", timeout=5.0)
    if status != 200:
        _say(f"    /metrics answered {status}", fg="red")
        return
    totals: dict[str, float] = {}
    entities: list[str] = []
    for line in body.decode().splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        totals[name] = totals.get(name, 0.0) + float(value)
        if name == "logscrub_stream_entities_total":
            entity = series.split('entity="', 1)[1].split('"', 1)[0]
            entities.append(f"{entity}={float(value):.0f}")
    for label, name in (
        ("records in", "logscrub_stream_records_in_total"),
        ("cleaned", "logscrub_stream_records_out_total"),
        ("dropped by policy", "logscrub_stream_records_dropped_total"),
        ("quarantined", "logscrub_stream_records_quarantined_total"),
        ("consumer lag", "logscrub_stream_consumer_lag"),
    ):
        _say(f"    {label:<18} {totals.get(name, 0.0):.0f}    ({name})")
    _say(f"    values changed     {', '.join(sorted(entities))}")
