#!/usr/bin/env python3
"""Minimal Kafka wire-protocol client for docker/kafka-local: readiness and topic admin.

Standard library only, on purpose: kafka-local must be able to start a broker with any
``python3`` (a fresh machine, CI before the project is installed), so it cannot depend on
kafka-python being importable. It speaks just two requests, both in versions that Kafka
3.x and 4.x brokers accept (KIP-896 removed only older ones):

* Metadata v4: which brokers are unfenced, which topics/partitions exist, their leaders
  and in-sync replicas. "Serves metadata listing every broker" is our readiness test: a
  TCP port that accepts connections is not enough, a KRaft broker opens its listener
  before it has caught up with the metadata log and been unfenced.
* CreateTopics v4: create a topic (v4 accepts -1 = "broker default" for partitions and
  replication factor). KRaft brokers forward it to the active controller.

Usage (see ``--help``)::

    kafka_wire.py wait    --bootstrap 127.0.0.1:9092 --brokers 3 --timeout 60 [--pid P ...] [--isr]
    kafka_wire.py create  --bootstrap 127.0.0.1:9092 NAME [--partitions P] [--replication R]
    kafka_wire.py topics  --bootstrap 127.0.0.1:9092
    kafka_wire.py describe --bootstrap 127.0.0.1:9092 [NAME ...]
    kafka_wire.py brokers --bootstrap 127.0.0.1:9092

Exit codes: 0 ok, 1 failed / timed out, 2 usage, 4 a watched broker process died.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

API_METADATA = 3
API_CREATE_TOPICS = 19
CLIENT_ID = b"kafka-local"

# The error codes a user of this script can meet, so messages say a name, not a number.
ERRORS = {
    0: "NONE",
    3: "UNKNOWN_TOPIC_OR_PARTITION",
    5: "LEADER_NOT_AVAILABLE",
    7: "REQUEST_TIMED_OUT",
    17: "INVALID_TOPIC_EXCEPTION",
    36: "TOPIC_ALREADY_EXISTS",
    37: "INVALID_PARTITIONS",
    38: "INVALID_REPLICATION_FACTOR",
    39: "INVALID_REPLICA_ASSIGNMENT",
    40: "INVALID_CONFIG",
    41: "NOT_CONTROLLER",
    42: "INVALID_REQUEST",
    89: "THROTTLING_QUOTA_EXCEEDED",
}
TOPIC_ALREADY_EXISTS = 36

_correlation = itertools.count(1)


def _say(message: str, *, error: bool = False) -> None:
    """Write one line for the user: results to stdout, problems to stderr."""
    (sys.stderr if error else sys.stdout).write(message + "\n")


class WireError(Exception):
    """A broker could not be reached or answered something we cannot use."""


# --- encoding / decoding -------------------------------------------------------------


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int8(self) -> int:
        return self._take(">b")

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        size = self.int16()
        if size < 0:
            return None
        value = self.data[self.pos : self.pos + size].decode()
        self.pos += size
        return value

    def int32_array(self) -> list[int]:
        return [self.int32() for _ in range(max(self.int32(), 0))]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host or not port.isdigit():
        raise WireError(f"bad bootstrap address {address!r} (want HOST:PORT)")
    return host.strip("[]"), int(port)


def _request(address: str, api_key: int, version: int, body: bytes, timeout: float) -> _Reader:
    """Send one request (header v1) and return a reader positioned after the response header."""
    corr = next(_correlation)
    header = struct.pack(">hhi", api_key, version, corr) + _string(CLIENT_ID.decode())
    payload = header + body
    try:
        with socket.create_connection(_host_port(address), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(payload)) + payload)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            data = _recv_exact(sock, size)
    except OSError as exc:
        raise WireError(f"{address}: {exc.strerror or exc}") from None
    reader = _Reader(data)
    if reader.int32() != corr:
        raise WireError(f"{address}: response correlation id mismatch")
    return reader


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


# --- Metadata v4 ---------------------------------------------------------------------


@dataclass
class Partition:
    index: int
    error: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass
class Topic:
    name: str
    error: int
    internal: bool
    partitions: list[Partition] = field(default_factory=list)


@dataclass
class Metadata:
    brokers: dict[int, str]
    cluster_id: str | None
    controller: int
    topics: dict[str, Topic]


def metadata(address: str, topics: list[str] | None = None, timeout: float = 5.0) -> Metadata:
    """Metadata v4 from one broker; ``topics=None`` asks for all topics."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(_string(t) for t in topics)
    body += struct.pack(">b", 0)  # allow_auto_topic_creation: never, whatever the broker says
    r = _request(address, API_METADATA, 4, body, timeout)
    r.int32()  # throttle_time_ms
    brokers: dict[int, str] = {}
    for _ in range(r.int32()):
        node, host, port = r.int32(), r.string(), r.int32()
        r.string()  # rack
        brokers[node] = f"{host}:{port}"
    cluster_id = r.string()
    controller = r.int32()
    result: dict[str, Topic] = {}
    for _ in range(r.int32()):
        err, name, internal = r.int16(), r.string() or "", bool(r.int8())
        topic = Topic(name, err, internal)
        for _ in range(r.int32()):
            p_err, index, leader = r.int16(), r.int32(), r.int32()
            topic.partitions.append(
                Partition(index, p_err, leader, r.int32_array(), r.int32_array())
            )
        result[name] = topic
    return Metadata(brokers, cluster_id, controller, result)


def metadata_views(
    addresses: list[str], topics: list[str] | None = None, timeout: float = 5.0
) -> list[Metadata]:
    """Metadata from every address that answers; raises only when none does.

    Admin commands must keep working while a fault test has one broker down.
    """
    views, errors = [], []
    for address in addresses:
        try:
            views.append(metadata(address, topics, timeout))
        except (WireError, struct.error) as exc:
            errors.append(str(exc))
    if not views:
        raise WireError("no broker answered: " + "; ".join(errors))
    return views


# --- CreateTopics v4 -----------------------------------------------------------------


def create_topic(
    address: str,
    name: str,
    partitions: int,
    replication: int,
    configs: dict[str, str],
    timeout: float,
) -> tuple[int, str | None]:
    """Create one topic; returns (error code, error message)."""
    body = struct.pack(">i", 1) + _string(name) + struct.pack(">ih", partitions, replication)
    body += struct.pack(">i", 0)  # no manual replica assignment
    body += struct.pack(">i", len(configs))
    body += b"".join(_string(k) + _string(v) for k, v in configs.items())
    body += struct.pack(">ib", int(timeout * 1000), 0)  # timeout_ms, validate_only=false
    r = _request(address, API_CREATE_TOPICS, 4, body, timeout + 5)
    r.int32()  # throttle_time_ms
    for _ in range(r.int32()):
        t_name, err, msg = r.string(), r.int16(), r.string()
        if t_name == name:
            return err, msg
    raise WireError(f"{address}: CreateTopics response did not mention {name!r}")


# --- commands ------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A dead child of the calling shell stays a zombie until the shell reaps it.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): kill(0) has to do


def _under_replicated(md: Metadata) -> list[str]:
    return [
        f"{t.name}-{p.index}"
        for t in md.topics.values()
        for p in t.partitions
        if p.leader < 0 or set(p.isr) != set(p.replicas)
    ]


def zip_views(addresses: list[str], views: list[Metadata]) -> list[tuple[str, Metadata]]:
    return [(addresses[i], view) for i, view in enumerate(views)]


def cmd_wait(args: argparse.Namespace) -> int:
    """Wait until every bootstrap address serves metadata listing ``--brokers`` brokers."""
    addresses = args.bootstrap.split(",")
    deadline = time.monotonic() + args.timeout
    last = "no answer yet"
    while True:
        dead = [pid for pid in args.pid if not _alive(pid)]
        if dead:
            _say(f"broker process {dead} exited while waiting for it", error=True)
            return 4
        try:
            views = [metadata(a, None, timeout=3.0) for a in addresses]
            counts = [len(v.brokers) for v in views]
            if min(counts) >= args.brokers:
                lagging = _under_replicated(views[0]) if args.isr else []
                if not lagging:
                    return 0
                last = f"{len(lagging)} partition(s) not fully in sync, e.g. {lagging[:3]}"
            else:
                seen = ", ".join(
                    f"{a} sees {len(v.brokers)}" for a, v in zip_views(addresses, views)
                )
                last = f"not all brokers registered yet: {seen}"
        except (WireError, struct.error) as exc:
            last = str(exc)
        if time.monotonic() >= deadline:
            _say(f"timed out after {args.timeout:g}s: {last}", error=True)
            return 1
        time.sleep(0.25)


def cmd_create(args: argparse.Namespace) -> int:
    """Create a topic, then wait until every broker knows a leader for each partition.

    The wait removes the classic race where a producer right after creation gets
    UNKNOWN_TOPIC_OR_PARTITION / LEADER_NOT_AVAILABLE from a broker that has not yet
    applied the new metadata.
    """
    addresses = args.bootstrap.split(",")
    configs = dict(c.split("=", 1) for c in args.config)
    # Ask a broker that is up: a fault test may have stopped the first one, and a broker
    # that just stopped can still be listed for a moment, so fall through on failure.
    registered = {b for view in metadata_views(addresses) for b in view.brokers.values()}
    candidates = [a for a in addresses if a in registered] + [
        a for a in addresses if a not in registered
    ]
    for i, address in enumerate(candidates):
        try:
            err, msg = create_topic(
                address, args.name, args.partitions, args.replication, configs, args.timeout
            )
            break
        except WireError:
            if i == len(candidates) - 1:
                raise
    if err == TOPIC_ALREADY_EXISTS and args.if_not_exists:
        _say(f"topic {args.name} already exists")
        return 0
    if err:
        _say(
            f"cannot create topic {args.name}: {ERRORS.get(err, err)}: {msg or ''}".rstrip(": "),
            error=True,
        )
        return 1
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            views = [v.topics.get(args.name) for v in metadata_views(addresses, [args.name], 3.0)]
            if all(
                t and not t.error and t.partitions and all(p.leader >= 0 for p in t.partitions)
                for t in views
            ):
                parts = views[0].partitions if views[0] else []
                rf = len(parts[0].replicas)
                _say(f"created topic {args.name} (partitions={len(parts)}, replication={rf})")
                return 0
        except (WireError, struct.error):
            pass
        if time.monotonic() >= deadline:
            _say(
                f"topic {args.name} created but its leaders are not known everywhere after "
                f"{args.timeout:g}s",
                error=True,
            )
            return 1
        time.sleep(0.1)


def cmd_topics(args: argparse.Namespace) -> int:
    md = metadata_views(args.bootstrap.split(","))[0]
    for name in sorted(n for n, t in md.topics.items() if args.all or not t.internal):
        _say(name)
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    md = metadata_views(args.bootstrap.split(","), args.names or None)[0]
    _say(f"cluster {md.cluster_id}  brokers {sorted(md.brokers.items())}")
    for name in sorted(md.topics):
        t = md.topics[name]
        if t.internal and not args.names:
            continue
        if t.error:
            _say(f"{name}: {ERRORS.get(t.error, t.error)}")
            continue
        for p in sorted(t.partitions, key=lambda p: p.index):
            _say(f"{name}-{p.index}  leader={p.leader}  replicas={p.replicas}  isr={p.isr}")
    return 0


def cmd_brokers(args: argparse.Namespace) -> int:
    """Print the broker ids one address sees as live (unfenced), e.g. ``1,3``."""
    md = metadata(args.bootstrap, None, timeout=args.timeout)
    _say(",".join(str(b) for b in sorted(md.brokers)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--bootstrap", required=True, help="HOST:PORT[,HOST:PORT...]")
        return p

    p = add("wait", "wait until the cluster serves metadata")
    p.add_argument("--brokers", type=int, default=1, help="unfenced brokers each address must list")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument(
        "--pid",
        type=int,
        action="append",
        default=[],
        help="fail at once if this process exits (repeatable)",
    )
    p.add_argument(
        "--isr", action="store_true", help="also wait until no partition is under-replicated"
    )
    p.set_defaults(func=cmd_wait)

    p = add("create", "create a topic")
    p.add_argument("name")
    p.add_argument(
        "--partitions", type=int, default=-1, help="default: the broker's num.partitions"
    )
    p.add_argument(
        "--replication",
        type=int,
        default=-1,
        help="default: the broker's default.replication.factor",
    )
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--if-not-exists", action="store_true")
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(func=cmd_create)

    p = add("topics", "list topic names")
    p.add_argument("--all", action="store_true", help="include internal topics")
    p.set_defaults(func=cmd_topics)

    p = add("brokers", "print the live broker ids one address reports")
    p.add_argument("--timeout", type=float, default=3.0)
    p.set_defaults(func=cmd_brokers)

    p = add("describe", "show partitions, leaders and ISRs")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_describe)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except WireError as exc:
        _say(f"error: {exc}", error=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
