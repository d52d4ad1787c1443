"""The stream runtime: Kafka in, the engine, Kafka out.

Owns the route processor both runners share (``processor``: no Kafka import), delivery
with retries (``delivery``), the two runners (Faust agents: ``app``/``agents``; batched
confluent-kafka: ``batch_runner``), the supervisor of ``--processes N``, topics,
quarantine, manifest header, routes, settings, metrics, hot reload. May import:
``pipeline.core`` and below; never the CLI or the tools.
"""
