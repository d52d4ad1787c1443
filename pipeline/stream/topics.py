"""Topic declarations: the Faust source topics of the routes, and their creation on the broker.

Source topics are declared with the ``raw`` codec for keys and values: Faust then hands
the agent the bytes as they arrived, and no Faust decoder can fail (and, as Faust does
on a decode error, commit the offset of a message nobody processed) before our code
runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.stream.routes import Route

if TYPE_CHECKING:
    import faust

logger = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36


def source_topic(app: faust.App, route: Route) -> faust.TopicT:
    """The raw topic of ``route`` as a Faust topic of raw bytes (keys and values)."""
    return app.topic(
        route.source,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=route.partitions,
        replicas=route.replication,
        internal=False,  # never created or altered by Faust: `logscrub topics create` does it
    )


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create: name, partitions, replication factor, topic configs."""

    name: str
    partitions: int
    replication: int
    configs: tuple[tuple[str, str], ...] = ()


def route_topics(routes: Iterable[Route]) -> list[TopicSpec]:
    """Every topic of the routes (raw, clean, quarantine) with the route's layout."""
    specs: list[TopicSpec] = []
    for r in routes:
        for name in (r.source, r.sink, r.quarantine):
            specs.append(TopicSpec(name, r.partitions, r.replication))
    return specs


def _admin(brokers: list[str], client_id: str) -> Any:
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=brokers,
        client_id=f"{client_id}-admin",
        request_timeout_ms=15_000,
    )


def create_topics(
    brokers: list[str], specs: Iterable[TopicSpec], *, client_id: str = "logscrub"
) -> dict[str, str]:
    """Create the topics that do not exist yet.

    Returns:
        topic -> ``created`` | ``exists`` | an error name (e.g. ``INVALID_REPLICATION_FACTOR``).
    """
    from kafka.errors import for_code

    todo = list(specs)
    admin = _admin(brokers, client_id)
    try:
        response = admin.create_topics(
            {
                s.name: {
                    "num_partitions": s.partitions,
                    "replication_factor": s.replication,
                    "configs": dict(s.configs),
                }
                for s in todo
            },
            timeout_ms=30_000,
            raise_errors=False,
        )
        result: dict[str, str] = {}
        for topic in response["topics"]:
            code = topic["error_code"]
            if code == 0:
                result[topic["name"]] = "created"
            elif code == _TOPIC_ALREADY_EXISTS:
                result[topic["name"]] = "exists"
            else:
                result[topic["name"]] = for_code(code).message
        created = [name for name, state in result.items() if state == "created"]
        if created:
            # Wait until every partition has a leader: a worker or producer started right
            # after this must not meet UNKNOWN_TOPIC_OR_PARTITION.
            admin.wait_for_topics(created, timeout_ms=30_000)
        return result
    finally:
        admin.close()


def missing_topics(
    brokers: list[str], names: Iterable[str], *, client_id: str = "logscrub"
) -> list[str]:
    """The topics among ``names`` that do not exist on the cluster."""
    admin = _admin(brokers, client_id)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return sorted(set(names) - existing)
