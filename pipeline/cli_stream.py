"""Stream commands of the ``logscrub`` CLI: ``worker``, ``tail``, ``topics``, ``demo``,
``quarantine-decrypt``. ``pipeline/cli.py`` adds them to the main group.

Exit codes as in :mod:`pipeline.cli`: 0 success, 1 failure, 2 invalid configuration or
usage (missing key or topics included), 3 unreadable input.

Security: ``tail`` prints only the clean and quarantine topics the routes file names
(any other topic, raw or unknown, needs ``--raw-ok``);
``quarantine-decrypt`` is the only command that prints raw records, to its own stdout,
for whoever holds the key.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson

from pipeline.exceptions import ConfigError, KeyMissingError, LogscrubError, WebPortError

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_IO = 3

logger = logging.getLogger(__name__)


def _die(message: str, code: int) -> NoReturn:
    click.echo(f"logscrub: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn logscrub's own errors into messages and exit codes (no tracebacks)."""
    try:
        yield
    except (ConfigError, KeyMissingError, WebPortError) as exc:
        _die(str(exc), EXIT_CONFIG)
    except LogscrubError as exc:
        _die(str(exc), EXIT_FAILED)


def _settings(config: str | None, **overrides: Any) -> Any:
    from pipeline.settings import load_settings

    return load_settings(config, **overrides)


config_option = click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML settings file (see configs/settings.example.yaml); env LOGSCRUB_* wins over it.",
)
brokers_option = click.option(
    "--brokers", default=None, help="Bootstrap servers host:port[,...] (default: settings)."
)
routes_option = click.option(
    "--routes",
    type=click.Path(dir_okay=False),
    default=None,
    help="Routes file (default: settings, else the shipped configs/routes.yaml).",
)


def _wait_for_topics(settings: Any, names: list[str], timeout_s: float = 60.0) -> list[str]:
    """Missing topics among ``names``; waits up to ``timeout_s`` for the cluster to answer."""
    from kafka.errors import KafkaError  # type: ignore[import-untyped]

    from pipeline.topics import missing_topics

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return missing_topics(settings.broker_list, names, client_id=settings.client_id)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                _die(
                    f"no Kafka cluster answers at {settings.brokers} ({type(exc).__name__}); "
                    "start one with docker/kafka-local start",
                    EXIT_FAILED,
                )
            time.sleep(1.0)


# ------------------------------------------------------------------------------- worker


@click.command()
@config_option
@brokers_option
@routes_option
@click.option("--group-id", default=None, help="Consumer group (default: settings, logscrub).")
@click.option(
    "--guarantee",
    type=click.Choice(["at_least_once", "exactly_once"]),
    default=None,
    help="Delivery guarantee (default: settings, at_least_once).",
)
@click.option(
    "--runner",
    type=click.Choice(["faust", "batch"]),
    default=None,
    help="faust (Faust agents) or batch (confluent-kafka batches). Default: settings, "
    "else faust for at_least_once and batch for exactly_once.",
)
@click.option("--web-port", type=int, default=None, help="Port of /health and /metrics (0: off).")
@click.option("--concurrency", type=int, default=None, help="Records in flight per route.")
@click.option(
    "--processes",
    default="1",
    envvar="LOGSCRUB_PROCESSES",
    show_default=True,
    help="Worker processes in one consumer group under one supervisor (auto: one per core); "
    "one /health and /metrics for all.",
)
def worker(
    config: str | None,
    brokers: str | None,
    routes: str | None,
    group_id: str | None,
    guarantee: str | None,
    runner: str | None,
    web_port: int | None,
    concurrency: int | None,
    processes: str,
) -> None:
    """Run the stream worker: raw topics -> policy -> clean topics (+ quarantine).

    Settings come from --options, then LOGSCRUB_* environment variables, then --config.
    SIGTERM stops it gracefully: records in flight are finished and committed.
    """
    from pipeline.metrics import Health, StreamMetrics, check_web_port
    from pipeline.routes import load_routes
    from pipeline.worker import build_processors

    with _errors():
        settings = _settings(
            config,
            brokers=brokers,
            routes=routes,
            group_id=group_id,
            guarantee=guarantee,
            runner=runner,
            web_port=web_port,
            concurrency=concurrency,
        )
        if settings.web_port:
            check_web_port(settings.web_host, settings.web_port)
        route_list, _ = load_routes(settings.routes)
        metrics = StreamMetrics()
        health = Health(stall_limit_s=max(60.0, 2 * settings.request_timeout_s))
        processors = build_processors(settings, metrics)
    topics = sorted({t for r in route_list for t in (r.source, r.sink, r.quarantine)})
    missing = _wait_for_topics(settings, topics)
    if missing:
        _die(
            f"topic(s) missing on {settings.brokers}: {', '.join(missing)} "
            "(create them with `logscrub topics create`)",
            EXIT_CONFIG,
        )
    from pipeline.supervisor import parse_processes, run_supervisor

    try:
        count = parse_processes(processes)
    except ValueError:
        _die("--processes must be a number of at least 1, or auto", EXIT_CONFIG)
    if count > 1:
        if not logging.getLogger().handlers:
            logging.basicConfig(
                level=logging.INFO,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                stream=sys.stderr,
            )
        logging.getLogger("pipeline").setLevel(logging.INFO)
        click.echo(
            f"logscrub worker: {count} processes in group {settings.group_id}, "
            f"{settings.guarantee}, runner {settings.effective_runner}",
            err=True,
        )
        try:
            sys.exit(run_supervisor(settings, count))
        except WebPortError as exc:
            _die(str(exc), EXIT_CONFIG)
    from pipeline.gc_tuning import settle_for_streaming
    from pipeline.worker import quiet_client_logs

    quiet_client_logs()
    level = logging.getLogger().getEffectiveLevel()
    # The worker says what it does at INFO even without -v (counts and coordinates only).
    level = min(level, logging.INFO)
    logging.getLogger("pipeline").setLevel(level)
    click.echo(
        f"logscrub worker: group {settings.group_id}, {settings.guarantee}, "
        f"runner {settings.effective_runner}, "
        f"{len(processors)} route(s), brokers {settings.brokers}"
        + (
            f", http://{settings.web_host}:{settings.web_port}/metrics" if settings.web_port else ""
        ),
        err=True,
    )
    if settings.effective_runner == "batch":
        from pipeline.batch_runner import run_batch

        if not logging.getLogger().handlers:
            logging.basicConfig(
                level=level,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                stream=sys.stderr,
            )
        logging.getLogger().setLevel(level)
        settle_for_streaming()
        try:
            run_batch(settings, processors, metrics, health)
        except WebPortError as exc:  # the web port is taken: one line, exit 2
            _die(str(exc), EXIT_CONFIG)
    else:
        from pipeline.app import run_faust_worker

        settle_for_streaming()  # after Faust is imported: its modules are start-up state
        run_faust_worker(settings, processors, metrics, health, loglevel=level)


# ------------------------------------------------------------------------------- topics


@click.group()
def topics() -> None:
    """Manage the Kafka topics of the routes."""


@topics.command("create")
@config_option
@brokers_option
@routes_option
def topics_create(config: str | None, brokers: str | None, routes: str | None) -> None:
    """Create every route's raw, clean and quarantine topic (existing ones are kept)."""
    from kafka.errors import KafkaError

    from pipeline.routes import load_routes
    from pipeline.topics import create_topics, route_topics

    with _errors():
        settings = _settings(config, brokers=brokers, routes=routes)
        route_list, _ = load_routes(settings.routes)
    try:
        result = create_topics(
            settings.broker_list, route_topics(route_list), client_id=settings.client_id
        )
    except KafkaError as exc:
        _die(f"cannot create topics on {settings.brokers}: {type(exc).__name__}", EXIT_FAILED)
    failed = False
    for name, state in result.items():
        click.echo(f"{name}: {state}")
        failed |= state not in ("created", "exists")
    if failed:
        sys.exit(EXIT_FAILED)


# ------------------------------------------------------------------------------- tail


@click.command()
@click.argument("topic")
@config_option
@brokers_option
@click.option(
    "--from-beginning", is_flag=True, help="Start at the oldest record (default: new ones)."
)
@click.option("-n", "--max-records", "count", type=int, default=None, help="Stop after N records.")
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Stop after this many seconds without a record (default: follow until Ctrl-C).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["value", "json"]),
    default="value",
    show_default=True,
    help="value: one record value per line; json: partition, offset, key, headers, value.",
)
@click.option(
    "--raw-ok",
    is_flag=True,
    help="Allow printing a topic that is not a clean or quarantine topic of the routes file.",
)
def tail(
    topic: str,
    config: str | None,
    brokers: str | None,
    from_beginning: bool,
    count: int | None,
    timeout: float | None,
    fmt: str,
    raw_ok: bool,
) -> None:
    """Print the records of a (clean) TOPIC as they arrive (read_committed)."""
    from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
    from kafka.errors import KafkaError

    from pipeline.routes import load_routes

    with _errors():
        settings = _settings(config, brokers=brokers)
    # Fail closed: only a topic the routes file names as clean (or quarantine: entries
    # hold no readable personal data) is printed without --raw-ok. A raw topic of another
    # routes file, or any topic when the routes cannot be read, may hold personal data.
    try:
        route_list = load_routes(settings.routes)[0]
    except LogscrubError:
        route_list = []
    safe_topics = {t for r in route_list for t in (r.sink, r.quarantine)}
    if topic not in safe_topics and not raw_ok:
        why = (
            "a route's raw topic"
            if topic in {r.source for r in route_list}
            else "not a clean topic of the routes file"
            if route_list
            else "not known to be clean (the routes file cannot be read)"
        )
        _die(
            f"{topic} is {why}: it may hold personal data; pass --raw-ok to print it anyway",
            EXIT_CONFIG,
        )
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.broker_list,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            client_id=f"{settings.client_id}-tail",
        )
    except KafkaError as exc:
        _die(f"cannot connect to {settings.brokers}: {type(exc).__name__}", EXIT_FAILED)
    printed = 0
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            _die(f"topic {topic} does not exist on {settings.brokers}", EXIT_CONFIG)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        idle_since = time.monotonic()
        while count is None or printed < count:
            batch = consumer.poll(timeout_ms=200)
            records = sorted(
                (r for rs in batch.values() for r in rs),
                key=lambda r: (r.timestamp, r.partition, r.offset),
            )
            if records:
                idle_since = time.monotonic()
            for r in records:
                if count is not None and printed >= count:
                    break
                click.echo(_format_record(r, fmt))
                printed += 1
            if timeout is not None and time.monotonic() - idle_since > timeout:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _format_record(r: Any, fmt: str) -> str:
    if fmt == "value":
        return _text(r.value) or ""
    doc = {
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp_ms": r.timestamp,
        "key": _text(r.key),
        "headers": {k: _text(v) for k, v in (r.headers or [])},
        "value": _text(r.value),
    }
    return orjson.dumps(doc).decode()


# ------------------------------------------------------------------------------- demo


@click.command()
@click.option(
    "--file-only", is_flag=True, help="No broker: show before/after through the file mode."
)
@click.option("--port", type=int, default=None, help="Broker port for the demo (default 9092).")
@click.option("--keep-broker", is_flag=True, help="Leave a broker the demo started running.")
def demo(file_only: bool, port: int | None, keep_broker: bool) -> None:
    """The main job end to end: broker, topics, worker, sample logs in, clean logs out."""
    from pipeline import demo as demo_mod

    with _errors():
        code = (
            demo_mod.run_file_only()
            if file_only
            else demo_mod.run(port=port, keep_broker=keep_broker)
        )
    sys.exit(code)


# ------------------------------------------------------------------------------- quarantine


@click.command("quarantine-decrypt")
@click.argument("source", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help="Secret key file.")
@click.option("--key-id", default=None, help="Key id (default: $LOGSCRUB_KEY_ID or k1).")
def quarantine_decrypt(source: str, key_file: str | None, key_id: str | None) -> None:
    """Decrypt quarantine entries (JSON lines, e.g. from `logscrub tail --format value`).

    Prints one JSON line per entry: its source coordinates, reason and the raw record
    (``value``/``key`` as text, or ``*_b64`` when not UTF-8). The output holds the raw
    personal data: run it only where that is allowed, and only for a replay.
    """
    from pipeline.keys import KeyRing
    from pipeline.quarantine import QuarantineDecryptError, decrypt_entry

    with _errors():
        keys = KeyRing.load(key_file, key_id)
        if keys is None:
            raise KeyMissingError("quarantine-decrypt needs the key the entries were sealed with")
    try:
        stream = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115
    except OSError as exc:
        _die(f"cannot read {source}: {exc.strerror}", EXIT_IO)
    failed = 0
    click.echo("logscrub: the output holds raw records (personal data)", err=True)
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
                raw = decrypt_entry(entry, keys)
            except (orjson.JSONDecodeError, QuarantineDecryptError, KeyError, TypeError) as exc:
                reason = (
                    str(exc)
                    if isinstance(exc, QuarantineDecryptError)
                    else "not a quarantine entry"
                )
                click.echo(f"logscrub: line {number}: {reason}", err=True)
                failed += 1
                continue
            out: dict[str, Any] = {"source": entry["source"], "reason": entry.get("reason")}
            for name, data in (("value", raw.value), ("key", raw.key)):
                try:
                    out[name] = None if data is None else data.decode("utf-8")
                except UnicodeDecodeError:
                    out[f"{name}_b64"] = base64.b64encode(data or b"").decode()
            out["headers"] = [
                [k, None if v is None else base64.b64encode(v).decode()] for k, v in raw.headers
            ]
            sys.stdout.buffer.write(orjson.dumps(out) + b"\n")
    if failed:
        sys.exit(EXIT_FAILED)


COMMANDS = (worker, topics, tail, demo, quarantine_decrypt)
