"""Stream commands of the ``logscrub`` CLI: ``worker``, ``tail``, ``topics``, ``demo``,
``quarantine-decrypt``. ``pipeline/cli/main.py`` adds them to the main group.

Exit codes as in :mod:`pipeline.cli.common`: 0 success, 1 failure, 2 invalid configuration or
usage (missing key or topics included), 3 unreadable input.

Security: ``tail`` prints only the clean and quarantine topics the routes file names
(any other topic, raw or unknown, needs ``--raw-ok``);
``quarantine-decrypt`` is the only command that prints raw records, to its own stdout,
for whoever holds the key.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_IO,
    brokers_option,
    config_option,
    die,
    errors,
    routes_option,
)
from pipeline.exceptions import KeyMissingError, LogscrubError, WebPortError

logger = logging.getLogger(__name__)


def _settings(config: str | None, **overrides: Any) -> Any:
    from pipeline.stream.settings import load_settings

    return load_settings(config, **overrides)


def _wait_for_topics(settings: Any, names: list[str], timeout_s: float = 60.0) -> list[str]:
    """Missing topics among ``names``; waits up to ``timeout_s`` for the cluster to answer."""
    from kafka.errors import KafkaError

    from pipeline.stream.topics import missing_topics

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return missing_topics(settings.broker_list, names, client_id=settings.client_id)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                die(
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
    from pipeline.stream.metrics import Health, StreamMetrics, check_web_port
    from pipeline.stream.processor import build_processors
    from pipeline.stream.routes import load_routes

    with errors():
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
    with errors():
        metrics = StreamMetrics()
        health = Health(stall_limit_s=max(60.0, 2 * settings.request_timeout_s))
        processors = build_processors(settings, metrics)
    topics = sorted({t for r in route_list for t in (r.source, r.sink, r.quarantine)})
    missing = _wait_for_topics(settings, topics)
    if missing:
        die(
            f"topic(s) missing on {settings.brokers}: {', '.join(missing)} "
            "(create them with `logscrub topics create`)",
            EXIT_CONFIG,
        )
    from pipeline.stream.supervisor import parse_processes, run_supervisor

    try:
        count = parse_processes(processes)
    except ValueError:
        die("--processes must be a number of at least 1, or auto", EXIT_CONFIG)
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
            die(str(exc), EXIT_CONFIG)
    if settings.reload:
        from pipeline.stream.reload import ConfigWatcher

        # Routes and policies reload on SIGHUP and when their files change (between
        # batches; an invalid change is refused and logged, the running config stays).
        ConfigWatcher(settings, processors, metrics).start()
    from pipeline.stream.client_logs import quiet_client_logs
    from pipeline.stream.gc_tuning import settle_for_streaming

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
        from pipeline.stream.batch_runner import run_batch

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
            die(str(exc), EXIT_CONFIG)
    else:
        from pipeline.stream.app import run_faust_worker

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

    from pipeline.stream.routes import load_routes
    from pipeline.stream.topics import create_topics, route_topics

    with errors():
        settings = _settings(config, brokers=brokers, routes=routes)
        route_list, _ = load_routes(settings.routes)
    try:
        result = create_topics(
            settings.broker_list, route_topics(route_list), client_id=settings.client_id
        )
    except KafkaError as exc:
        die(f"cannot create topics on {settings.brokers}: {type(exc).__name__}", EXIT_FAILED)
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
    from pipeline.stream.routes import load_routes

    with errors():
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
        die(
            f"{topic} is {why}: it may hold personal data; pass --raw-ok to print it anyway",
            EXIT_CONFIG,
        )
    consumer, tps = _topic_reader(settings, topic, "tail")
    printed = 0
    try:
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


def _topic_reader(settings: Any, topic: str, purpose: str) -> tuple[Any, list[Any]]:
    """A read_committed consumer without a group, assigned every partition of ``topic``.

    Exits 1 when no cluster answers, 2 when the topic does not exist.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.broker_list,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            client_id=f"{settings.client_id}-{purpose}",
        )
    except KafkaError as exc:
        die(f"cannot connect to {settings.brokers}: {type(exc).__name__}", EXIT_FAILED)
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        consumer.close()
        die(f"topic {topic} does not exist on {settings.brokers}", EXIT_CONFIG)
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    return consumer, tps


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
    from pipeline.tools import demo as demo_mod

    with errors():
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
@click.option(
    "--reason",
    required=True,
    help="Why (the case or ticket): written to the audit log before anything is decrypted.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Audit log (default: $LOGSCRUB_AUDIT_LOG, else ~/.local/state/logscrub/audit.log).",
)
def quarantine_decrypt(
    source: str, key_file: str | None, key_id: str | None, reason: str, audit_log: str | None
) -> None:
    """Decrypt quarantine entries (JSON lines, e.g. from `logscrub tail --format value`).

    Prints one JSON line per entry: its source coordinates, reason and the raw record
    (``value``/``key`` as text, or ``*_b64`` when not UTF-8). The output holds the raw
    personal data: run it only where that is allowed, and only for a replay. One record
    goes to the audit log first (who, when, why, keyed digests of the entries' source
    coordinates; never a value); without it nothing is decrypted.
    """
    from pipeline.keys import KeyRing
    from pipeline.stream.quarantine import QuarantineDecryptError, decrypt_entry

    with errors():
        keys = KeyRing.load(key_file, key_id)
        if keys is None:
            raise KeyMissingError("quarantine-decrypt needs the key the entries were sealed with")
    try:
        stream = sys.stdin.buffer if source == "-" else Path(source).open("rb")  # noqa: SIM115
    except OSError as exc:
        die(f"cannot read {source}: {exc.strerror}", EXIT_IO)
    with stream:
        lines = list(enumerate(stream, 1))
    # The audit record names every entry asked for (by its coordinates), before any output.
    from pipeline import audit

    coordinates: list[str] = []
    key_ids: set[str] = set()
    for _number, line in lines:
        try:
            doc = orjson.loads(line)
            src = doc["source"]
            coordinates.append(f"{src['topic']}/{src['partition']}/{src['offset']}")
            key_ids.add(str(doc["payload"]["key_id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
    with errors():
        audit.append(
            Path(audit_log) if audit_log else audit.default_path(),
            command="quarantine-decrypt",
            key_ids=key_ids,
            items=[audit.digest(keys, c) for c in coordinates],
            reason=reason,
        )
    failed = 0
    click.echo("logscrub: the output holds raw records (personal data)", err=True)
    for number, line in lines:
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            raw = decrypt_entry(entry, keys)
        except (orjson.JSONDecodeError, QuarantineDecryptError, KeyError, TypeError) as exc:
            why = str(exc) if isinstance(exc, QuarantineDecryptError) else "not a quarantine entry"
            click.echo(f"logscrub: line {number}: {why}", err=True)
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


# ------------------------------------------------------------------------------- drift


@click.command()
@config_option
@click.option(
    "--url",
    default=None,
    help="The worker's web address (default: http://web_host:web_port from settings).",
)
@click.option("--all", "show_all", is_flag=True, help="Every path seen, not only the new ones.")
@click.option("--json", "as_json", is_flag=True, help="The worker's answer as JSON.")
def drift(config: str | None, url: str | None, show_all: bool, as_json: bool) -> None:
    """List field paths a running worker saw first after its warm-up (schema drift).

    Paths only, never values: keys that may hold personal data show as <key>. Asks the
    worker's /drift endpoint; each worker of a group answers for its own partitions.
    """
    import datetime
    import urllib.error
    import urllib.request

    if url is None:
        with errors():
            settings = _settings(config)
        if not settings.web_port:
            die("the worker's web port is off (web_port 0): give --url", EXIT_CONFIG)
        url = f"http://{settings.web_host}:{settings.web_port}"
    address = url.rstrip("/") + "/drift" + ("" if show_all else "?new=1")
    try:
        with urllib.request.urlopen(address, timeout=10) as resp:  # noqa: S310 — the operator's worker
            body = resp.read()
    except (urllib.error.URLError, OSError) as exc:
        die(f"no worker answers at {url} ({type(exc).__name__})", EXIT_FAILED)
    if as_json:
        click.echo(body.decode())
        return
    for route in orjson.loads(body)["routes"]:
        click.echo(
            f"route {route['route']}: {route['paths']} path(s) seen over {route['records']} "
            f"record(s) (baseline: the first {route['warmup_records']})"
            + (f"; {route['overflow']} not kept (limit)" if route["overflow"] else "")
        )
        for item in route["items"]:
            first = datetime.datetime.fromtimestamp(item["first_seen"], datetime.UTC)
            flag = "new " if item["new"] else "    "
            click.echo(
                f"  {flag}{item['path']:<48} first {first:%Y-%m-%d %H:%M:%S}Z  x{item['count']}"
            )


# ------------------------------------------------------------------------------- verify


def _parse_since(text: str | None) -> float | None:
    """``90s``, ``30m``, ``6h``, ``2d`` -> seconds; None stays None."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.replace(".", "", 1).isdigit():
        die(f"--since {text!r}: give a number and a unit s, m, h or d (e.g. 6h)", EXIT_CONFIG)
    return float(number) * units[unit]


def _topic_records(
    settings: Any, topic: str, since_s: float | None, follow: bool, stop_after: int | None
) -> Iterator[bytes]:
    """Values of ``topic`` (read_committed): from ``since_s`` ago (default: the oldest) to
    its end at the start, or on and on with ``follow``."""
    consumer, tps = _topic_reader(settings, topic, "verify")
    try:
        consumer.seek_to_beginning(*tps)
        if since_s is not None:
            start_ms = int((time.time() - since_s) * 1000)
            for tp, found in consumer.offsets_for_times({tp: start_ms for tp in tps}).items():
                if found is not None:
                    consumer.seek(tp, found.offset)
                else:
                    consumer.seek_to_end(tp)
        end = consumer.end_offsets(tps)
        done = 0
        while True:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.value is not None:
                        yield r.value
                        done += 1
                        if stop_after is not None and done >= stop_after:
                            return
            if not follow and all(consumer.position(tp) >= end[tp] for tp in tps):
                return
    finally:
        consumer.close()


@click.command()
@click.option(
    "--input", "-i", "input_", default=None, help="Clean records from a file (- for stdin)."
)
@click.option("--topic", default=None, help="Clean records from this topic (read_committed).")
@config_option
@brokers_option
@click.option(
    "--policy",
    "-p",
    type=click.Path(dir_okay=False),
    default=None,
    help="The policy the records were cleaned with (default: the shipped default).",
)
@click.option(
    "--sample",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=1.0,
    show_default=True,
    help="Fraction of records checked (chosen by a hash of the record, so reruns agree).",
)
@click.option(
    "--since",
    default=None,
    help="Topic: only records from this long ago on (e.g. 30m, 6h, 2d); default: all.",
)
@click.option(
    "-n",
    "--max-records",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after reading N records.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Score threshold of the strict profile (default: 0.35).",
)
@click.option(
    "--ner/--no-ner",
    default=True,
    show_default=True,
    help="Names by NER in prose strings (needs the spaCy model).",
)
@click.option(
    "--max-leak-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.001,
    show_default=True,
    help="Exit 1 when more than this fraction of checked records holds personal data.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Topic: keep reading; export figures on --web-port (Prometheus) until Ctrl-C.",
)
@click.option(
    "--web-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="With --follow: serve /metrics on 127.0.0.1:PORT.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Key for fingerprints (default: $LOGSCRUB_KEY_FILE, $LOGSCRUB_KEY; "
    "none: no fingerprints).",
)
def verify(
    input_: str | None,
    topic: str | None,
    config: str | None,
    brokers: str | None,
    policy: str | None,
    sample: float,
    since: str | None,
    max_records: int | None,
    threshold: float | None,
    ner: bool,
    max_leak_rate: float,
    follow: bool,
    web_port: int | None,
    key_file: str | None,
) -> None:
    """Look for personal data that survived in clean records (a file or a clean topic).

    A stricter profile than cleaning: every detector, a lower score threshold, names in
    every string. Reports by entity and field path, never a value (with a key: a short
    keyed fingerprint). Exit 1 when the share of records with residual personal data is
    above --max-leak-rate, so it can run in CI or cron.
    """
    import hashlib

    from pipeline.core.policy import load_policy
    from pipeline.keys import KeyRing
    from pipeline.tools.verify import DEFAULT_THRESHOLD, Report, Verifier

    if (input_ is None) == (topic is None):
        die("give one of --input FILE or --topic TOPIC", EXIT_CONFIG)
    if follow and topic is None:
        die("--follow reads a topic", EXIT_CONFIG)
    since_s = _parse_since(since)
    with errors():
        verifier = Verifier(
            load_policy(policy),
            KeyRing.load(key_file),
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
            ner=ner,
        )
    if ner and not verifier.ner_available:
        click.echo("logscrub: NER model not installed: names only by the gazetteer", err=True)

    def picked(values: Iterator[bytes | None]) -> Iterator[bytes | None]:
        for value in values:
            if sample >= 1.0 or value is None:
                yield value
            elif hashlib.blake2b(value, digest_size=8).digest()[0] < sample * 256:
                yield value

    if input_ is not None:
        from pipeline.core.lines import Oversize, read_lines

        source = sys.stdin.buffer if input_ == "-" else None
        try:
            stream = source or open(input_, "rb")  # noqa: SIM115 — closed below
        except OSError as exc:
            die(f"cannot read input {input_}: {exc.strerror}", EXIT_IO)
        report = Report()
        try:
            lines = read_lines(stream, verifier.max_bytes)
            raws = (None if isinstance(r, Oversize) else r for r in lines)
            if max_records is not None:
                raws = (r for _, r in zip(range(max_records), raws, strict=False))
            verifier.run(picked(raws), report)
        finally:
            if source is None:
                stream.close()
    else:
        with errors():
            settings = _settings(config, brokers=brokers)
        report = Report()
        gauges = None
        if follow and web_port is not None:
            gauges = _verify_metrics(web_port)
        values = _topic_records(settings, topic or "", since_s, follow, max_records)
        try:
            for value in picked(values):
                verifier.run([value], report)
                if gauges is not None:
                    gauges(report)
        except KeyboardInterrupt:
            pass
    for line in report.lines():
        click.echo(line)
    if report.leak_rate > max_leak_rate:
        click.echo(
            f"logscrub verify: {report.leak_rate:.2%} of records hold personal data "
            f"(allowed {max_leak_rate:.2%})",
            err=True,
        )
        sys.exit(EXIT_FAILED)


def _verify_metrics(port: int) -> Any:
    """Prometheus figures of a following verifier on 127.0.0.1:``port``; returns an updater."""
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    from pipeline.stream.metrics import check_web_port

    with errors():
        check_web_port("127.0.0.1", port)
    registry = CollectorRegistry()
    checked = Gauge("logscrub_verify_records", "Clean records checked", registry=registry)
    leaking = Gauge(
        "logscrub_verify_records_with_residual",
        "Checked records with residual personal data",
        registry=registry,
    )
    found = Gauge("logscrub_verify_residual", "Residual findings", ["entity"], registry=registry)
    start_http_server(port, addr="127.0.0.1", registry=registry)

    def update(report: Any) -> None:
        checked.set(report.records)
        leaking.set(report.with_residual)
        for entity, n in report.by_entity.items():
            found.labels(entity=entity).set(n)

    return update


COMMANDS = (worker, topics, tail, demo, quarantine_decrypt, verify, drift)
