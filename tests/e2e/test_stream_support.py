"""Helpers for the stream e2e tests (test_stream_*.py): workers as subprocesses, accounting.

No tests here. Each test builds its own route on fresh topics (``topic_factory``), runs
``logscrub worker`` as a subprocess with its own consumer group and the public test key,
and checks the outputs by sequence number: every input is accounted for as a cleaned
record or a quarantine entry (the default policy drops no whole record), duplicates are
counted, and no raw value appears on any topic or in the worker's log.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.keys import KeyRing
from pipeline.tools.local_kafka import WORKER_CODE, WorkerProcess

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = ROOT / "configs" / "policies" / "default.yaml"
TEST_SECRET = "e2e-stream-secret-0123456789-abcdefghijklmnop"  # public test key
TEST_KEY_ID = "e2e"
KEYS = KeyRing.from_secret(TEST_SECRET, TEST_KEY_ID)


def worker_code(args: list[str]) -> str:
    """WORKER_CODE with command-line arguments (settings still come from the environment)."""
    return f"from pipeline.cli.stream import worker; worker({args!r}, prog_name='logscrub worker')"


# --- records -----------------------------------------------------------------------------


def email(seq: int) -> str:
    return f"u{seq:06d}.test@example.com"


def phone(seq: int) -> str:
    return f"139{seq:08d}"


def is_debug(seq: int) -> bool:
    """Inputs at DEBUG level: the drop policy (:func:`drop_policy`) drops them whole."""
    return seq % 10 == 4


def record(seq: int) -> tuple[bytes, bytes]:
    """(key, value) of input ``seq``: JSON on even, text on odd numbers; PII in both."""
    key = email(seq).encode()
    if seq % 2 == 0:
        value = orjson.dumps(
            {
                "seq": seq,
                "level": "DEBUG" if is_debug(seq) else "INFO",
                "user": {"email": email(seq), "phone": phone(seq)},
                "msg": f"login from 203.0.113.{seq % 250 + 1} by {email(seq)}",
            }
        )
    else:
        value = (
            f"seq={seq} user={email(seq)} phone={phone(seq)} ip=198.51.100.{seq % 250 + 1}".encode()
        )
    return key, value


def poison(seq: int) -> tuple[bytes, bytes]:
    """An invalid UTF-8 line that also holds PII (it must be quarantined, scrubbed)."""
    return email(seq).encode(), b"\xff\xfe seq=%d user=%s" % (seq, email(seq).encode())


def secrets_of(seq: int) -> list[bytes]:
    """The raw values of input ``seq`` that must never appear anywhere."""
    return [email(seq).encode(), phone(seq).encode()]


_SEQ_JSON = re.compile(rb'"seq":(\d+)')
_SEQ_TEXT = re.compile(rb"seq=(\d+)")


def seq_of_clean(value: bytes) -> int | None:
    m = _SEQ_JSON.search(value) or _SEQ_TEXT.search(value)
    return int(m.group(1)) if m else None


# --- topics and routes ---------------------------------------------------------------------


def drop_policy(tmp_path: Path) -> Path:
    """The shipped default policy plus a whole-record drop of DEBUG lines."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace("name: default", "name: e2e_drops", 1)
    path = tmp_path / "e2e_drops.yaml"
    path.write_text(
        text + "\ndrop_records:\n  - {path: level, equals: [DEBUG]}\n", encoding="utf-8"
    )
    return path


@dataclass
class RouteTopics:
    raw: str
    clean: str
    quarantine: str
    partitions: int
    routes_file: Path


def make_route(
    tmp_path: Path,
    topic_factory: Callable[..., str],
    partitions: int = 3,
    raw_configs: dict[str, str] | None = None,
    clean_configs: dict[str, str] | None = None,
    quarantine_configs: dict[str, str] | None = None,
    policy: Path = DEFAULT_POLICY,
) -> RouteTopics:
    raw = topic_factory(partitions=partitions, configs=raw_configs, prefix="e2e.raw")
    clean = topic_factory(partitions=partitions, configs=clean_configs, prefix="e2e.clean")
    quarantine = topic_factory(
        partitions=partitions, configs=quarantine_configs, prefix="e2e.quarantine"
    )
    routes_file = tmp_path / f"routes-{uuid.uuid4().hex[:6]}.yaml"
    routes_file.write_text(
        "routes:\n"
        "  - name: e2e\n"
        f"    source: {raw}\n"
        f"    policy: {policy}\n"
        f"    sink: {clean}\n"
        f"    quarantine: {quarantine}\n"
        f"    partitions: {partitions}\n"
        "    replication: 1\n",
        encoding="utf-8",
    )
    return RouteTopics(raw, clean, quarantine, partitions, routes_file)


# --- the worker -----------------------------------------------------------------------------


class WorkerProc(WorkerProcess):
    """``logscrub worker`` in a subprocess for one route, with the e2e settings."""

    def __init__(
        self,
        bootstrap: str,
        route: RouteTopics,
        group_id: str,
        log_dir: Path,
        *,
        name: str = "worker",
        guarantee: str = "at_least_once",
        runner: str | None = None,
        extra_env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSCRUB_")}
        env.update(
            {
                "LOGSCRUB_BROKERS": bootstrap,
                "LOGSCRUB_GROUP_ID": group_id,
                "LOGSCRUB_ROUTES": str(route.routes_file),
                "LOGSCRUB_KEY": TEST_SECRET,
                "LOGSCRUB_KEY_ID": TEST_KEY_ID,
                "LOGSCRUB_NER": "false",  # the pattern detectors are enough here; NER costs seconds
                "LOGSCRUB_GUARANTEE": guarantee,
                # None: the settings' default (faust for at_least_once, batch for exactly_once).
                **({"LOGSCRUB_RUNNER": runner} if runner else {}),
                # The broker's minimum: a killed worker's partitions move on after 6 s.
                "LOGSCRUB_SESSION_TIMEOUT_S": "6",
                "LOGSCRUB_COMMIT_INTERVAL_S": "0.5",
                "LOGSCRUB_REQUEST_TIMEOUT_S": "10",
                # Every e2e worker with the engine child (opt-in setting) when asked: the
                # suite is the child's soak test too.
                **(
                    {"LOGSCRUB_ENGINE_PROCESS": os.environ["LOGSCRUB_TEST_ENGINE_PROCESS"]}
                    if os.environ.get("LOGSCRUB_TEST_ENGINE_PROCESS")
                    else {}
                ),
                **(extra_env or {}),
            }
        )
        super().__init__(
            env,
            log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log",
            code=WORKER_CODE if not args else worker_code(args),
            cwd=log_dir,
            name=name,
        )


class Workers:
    """Starts workers and makes sure none outlives the test."""

    def __init__(self, bootstrap: str, log_dir: Path) -> None:
        self.bootstrap = bootstrap
        self.log_dir = log_dir
        self.started: list[WorkerProc] = []

    def start(self, route: RouteTopics, group_id: str, **kwargs: Any) -> WorkerProc:
        w = WorkerProc(self.bootstrap, route, group_id, self.log_dir, **kwargs)
        self.started.append(w)
        return w

    def close(self) -> None:
        for w in self.started:
            w.close()

    def logs(self) -> list[bytes]:
        return [w.log_text() for w in self.started]


def report(line: str) -> None:
    """Print a test's figures (shown with ``pytest -s``)."""
    sys.stdout.write(line + "\n")


def group_id(label: str) -> str:
    return f"e2e-{re.sub(r'[^A-Za-z0-9._-]+', '-', label)}-{uuid.uuid4().hex[:8]}"


# --- producing -----------------------------------------------------------------------------


def producer(bootstrap: str, max_request_size: int = 1_048_576) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=max_request_size,
        retries=2_147_483_647,
        max_block_ms=60_000,
        request_timeout_ms=30_000,
        client_id="logscrub-e2e-stream-producer",
    )


class Feed:
    """Produces inputs (optionally in a background thread) and remembers where each went."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = producer(bootstrap)
        self.where: dict[tuple[int, int], int] = {}  # (partition, offset) -> seq
        self.sent: list[int] = []
        self.poison: set[int] = set()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def send(self, seqs: Iterable[int], poison_every: int = 0) -> None:
        futures = []
        for seq in seqs:
            bad = bool(poison_every) and seq % poison_every == poison_every - 1
            key, value = poison(seq) if bad else record(seq)
            if bad:
                self.poison.add(seq)
            futures.append((seq, self.producer.send(self.topic, value=value, key=key)))
        self.producer.flush(timeout=120)
        for seq, fut in futures:
            meta = fut.get(timeout=120)
            self.where[(meta.partition, meta.offset)] = seq
            self.sent.append(seq)

    def send_in_background(
        self, seqs: Sequence[int], chunk: int = 100, pause_s: float = 0.05, poison_every: int = 0
    ) -> None:
        def run() -> None:
            try:
                for i in range(0, len(seqs), chunk):
                    self.send(seqs[i : i + chunk], poison_every=poison_every)
                    time.sleep(pause_s)
            except BaseException as exc:  # noqa: BLE001 — reported by join()
                self.error = exc

        self._thread = threading.Thread(target=run, name="e2e-feed", daemon=True)
        self._thread.start()

    def join(self, timeout: float = 120.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            assert not self._thread.is_alive(), "the feed did not finish"
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.producer.close(timeout=10)


# --- reading and accounting -------------------------------------------------------------------


def read_all(
    bootstrap: str,
    topics: Sequence[str],
    done: Callable[[list[Any]], bool],
    timeout: float,
    isolation_level: str = "read_committed",
) -> list[Any]:
    """Read ``topics`` from the beginning until ``done(records)`` or ``timeout``; then a last
    short drain, so duplicates that arrive right after are seen too."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level=isolation_level,
        fetch_max_bytes=64 * 1_048_576,
        max_partition_fetch_bytes=16 * 1_048_576,
        client_id="logscrub-e2e-stream-reader",
    )
    records: list[Any] = []
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        finished_at: float | None = None
        while True:
            for rs in consumer.poll(timeout_ms=200).values():
                records.extend(rs)
            now = time.monotonic()
            if finished_at is None and done(records):
                finished_at = now
            if finished_at is not None and now - finished_at > 1.5:
                return records
            if now > deadline:
                return records
    finally:
        consumer.close()


@dataclass
class Accounting:
    """How the inputs came out."""

    sent: int
    cleaned: int = 0  # distinct inputs with a cleaned record
    quarantined: int = 0  # distinct inputs with a quarantine entry
    outputs: int = 0  # records on clean + quarantine topics for these inputs
    duplicates: int = 0  # outputs beyond one per input
    lost: list[int] = field(default_factory=list)
    both: int = 0  # inputs with a cleaned record and an entry (must be 0)
    unknown: int = 0  # outputs not traceable to an input (must be 0)
    reasons: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # inputs the policy drops (no output expected)
    leaked_drops: int = 0  # dropped inputs that still produced an output (must be 0)

    def figures(self, label: str) -> str:
        return (
            f"[{label}] sent={self.sent} cleaned={self.cleaned} quarantined={self.quarantined} "
            f"dropped={self.dropped} outputs={self.outputs} duplicates={self.duplicates} "
            f"lost={len(self.lost)} reasons={dict(self.reasons)}"
        )

    def complete(self) -> bool:
        return not self.lost


def account(
    feed: Feed,
    route: RouteTopics,
    records: Sequence[Any],
    drops: set[int] | frozenset[int] = frozenset(),
) -> Accounting:
    """Trace every output back to its input; ``drops`` are the inputs the policy drops."""
    per_seq: Counter[int] = Counter()
    clean_seqs: set[int] = set()
    quarantine_seqs: set[int] = set()
    acc = Accounting(sent=len(set(feed.sent)))
    for r in records:
        if r.topic == route.clean:
            seq = seq_of_clean(r.value)
            if seq is None:
                acc.unknown += 1
                continue
            clean_seqs.add(seq)
        else:
            entry = orjson.loads(r.value)
            src = entry["source"]
            seq = feed.where.get((src["partition"], src["offset"]))
            if seq is None or src["topic"] != route.raw:
                acc.unknown += 1
                continue
            quarantine_seqs.add(seq)
            acc.reasons[entry["reason"]] += 1
        per_seq[seq] += 1
    acc.cleaned = len(clean_seqs)
    acc.quarantined = len(quarantine_seqs)
    acc.both = len(clean_seqs & quarantine_seqs)
    acc.outputs = sum(per_seq.values())
    acc.duplicates = sum(n - 1 for n in per_seq.values() if n > 1)
    sent = set(feed.sent)
    acc.dropped = len(sent & drops)
    acc.leaked_drops = len((clean_seqs | quarantine_seqs) & drops)
    acc.lost = sorted(sent - clean_seqs - quarantine_seqs - drops)
    return acc


def accounted(
    feed: Feed, route: RouteTopics, expected: int, drops: set[int] | frozenset[int] = frozenset()
) -> Callable[[list[Any]], bool]:
    """A ``done`` predicate for :func:`read_all`: every one of ``expected`` inputs came out."""

    def done(records: list[Any]) -> bool:
        if len(records) < expected - len(drops) or len(feed.sent) < expected:
            return False
        return account(feed, route, records, drops).complete()

    return done


def assert_nothing_raw(blobs: Iterable[bytes], seqs: Iterable[int], where: str) -> None:
    """No raw email or phone number of any input in any of ``blobs``."""
    needles = [s for seq in seqs for s in secrets_of(seq)]
    # One big haystack per blob, searched for each needle: fast enough for 10^4 x 10^3.
    for i, blob in enumerate(blobs):
        for needle in needles:
            assert needle not in blob, f"raw value found in {where} #{i}"
