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

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import click
import orjson

from pipeline.keys import ENV_KEY, ENV_KEY_FILE

REPO = Path(__file__).resolve().parents[2]
KAFKA_LOCAL = REPO / "docker" / "kafka-local"
DEMO_GROUP = "logscrub-demo"
LINE_HEADER = "demo-line"
HEALTH_TIMEOUT_S = 180.0  # the first start may load the spaCy model
RESULT_TIMEOUT_S = 60.0

_WORKER_CODE = "from pipeline.cli.stream import worker; worker(prog_name='logscrub worker')"


def sample_lines() -> list[bytes]:
    """The bundled sample log lines (JSON and text), without line ends."""
    data = resources.files("pipeline").joinpath("data/sample.log").read_bytes()
    return [line for line in data.splitlines() if line.strip()]


def _say(text: str = "", **style: Any) -> None:
    click.echo(click.style(text, **style) if style else text)


def _step(text: str) -> None:
    _say(f"==> {text}", bold=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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


@dataclass
class Broker:
    """The broker the demo uses; ``started`` when the demo must stop it."""

    bootstrap: str
    started: bool
    env: dict[str, str] = field(default_factory=dict)
    state_dir: Path | None = None

    def stop(self) -> None:
        if not self.started:
            return
        _step("stopping the broker the demo started")
        subprocess.run(  # noqa: S603 — a fixed script of this repository
            [str(KAFKA_LOCAL), "stop"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def _kafka_local(
    args: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — a fixed script of this repository
        [str(KAFKA_LOCAL), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ensure_broker(port: int | None) -> Broker:
    """The broker named by ``LOGSCRUB_BROKERS``, else the running local broker, else a fresh one.

    A fresh one is started with the checkout's ``docker/kafka-local`` in a temporary state
    directory; an installed logscrub (no checkout) needs ``LOGSCRUB_BROKERS``.
    """
    given = os.environ.get("LOGSCRUB_BROKERS")
    if given:
        _step(f"using the broker at {given} (LOGSCRUB_BROKERS)")
        return Broker(bootstrap=given, started=False)
    if not KAFKA_LOCAL.exists():
        msg = (
            "no docker/kafka-local here (logscrub is installed, not run from a checkout): "
            "set LOGSCRUB_BROKERS=HOST:PORT to a running broker, or use --file-only"
        )
        raise click.ClickException(msg)
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
    status = _kafka_local(["status"], env, timeout=60)
    if status.returncode == 0:
        boot = _kafka_local(["bootstrap"], env, timeout=30).stdout.strip().splitlines()
        if boot:
            _step(f"using the running local broker at {boot[-1]}")
            return Broker(bootstrap=boot[-1], started=False)
    state = Path(tempfile.mkdtemp(prefix="logscrub-demo-kafka-"))
    env["LOGSCRUB_KAFKA_STATE"] = str(state)
    want = port or 9092
    if port is None and not (_port_free(want) and _port_free(want + 100)):
        want = _free_port()  # 9092 is taken by something else: any free port will do
    cport = want + 100 if _port_free(want + 100) else _free_port()
    _step(
        f"starting a local Kafka broker on 127.0.0.1:{want} (first run fetches the jars with Maven)"
    )
    t0 = time.monotonic()
    started = _kafka_local(
        ["start", "--port", str(want), "--controller-port", str(cport)], env, timeout=900
    )
    if started.returncode != 0:
        _kafka_local(["stop"], env, timeout=120)
        shutil.rmtree(state, ignore_errors=True)
        tail = "\n".join(started.stderr.strip().splitlines()[-15:])
        msg = f"docker/kafka-local start failed:\n{tail}"
        raise click.ClickException(msg)
    bootstrap = started.stdout.strip().splitlines()[-1]
    _say(f"    broker ready at {bootstrap} in {time.monotonic() - t0:.1f}s", dim=True)
    return Broker(bootstrap=bootstrap, started=True, env=env, state_dir=state)


# ----------------------------------------------------------------------------- worker


@dataclass
class Worker:
    """The worker subprocess and where its log goes."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    web_port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def _http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 — loopback only
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def start_worker(bootstrap: str, env_extra: dict[str, str], workdir: Path) -> Worker:
    web_port = _free_port()
    env = {
        **os.environ,
        "LOGSCRUB_BROKERS": bootstrap,
        "LOGSCRUB_GROUP_ID": DEMO_GROUP,
        "LOGSCRUB_WEB_PORT": str(web_port),
        "LOGSCRUB_SESSION_TIMEOUT_S": "6",
        **env_extra,
    }
    log_path = workdir / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 — this interpreter, fixed code
            [sys.executable, "-c", _WORKER_CODE], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = Worker(proc=proc, log_path=log_path, web_port=web_port)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"the worker exited with code {proc.returncode}:\n{worker.log_tail()}"
            raise click.ClickException(msg)
        with contextlib.suppress(OSError):
            status, _ = _http_get(worker.url("/health"))
            if status == 200:
                return worker
        time.sleep(0.5)
    worker.stop()
    msg = f"the worker did not become healthy within {HEALTH_TIMEOUT_S:.0f}s:\n{worker.log_tail()}"
    raise click.ClickException(msg)


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
    broker: Broker | None = None
    worker: Worker | None = None
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
            rc = worker.stop()
            _say(f"    worker exited with code {rc}", dim=True)
        if broker is not None:
            if keep_broker and broker.started:
                _say(
                    f"broker left running at {broker.bootstrap}; stop it with "
                    f"LOGSCRUB_KAFKA_STATE={broker.state_dir} docker/kafka-local stop",
                    fg="yellow",
                )
            else:
                broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _step("done" if code == 0 else "done, with problems (see above)")
    return code


def _print_metrics(worker: Worker) -> None:
    status, body = _http_get(worker.url("/metrics"))
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
