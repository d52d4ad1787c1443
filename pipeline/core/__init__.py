"""The pure engine: one record in, one outcome out (no Kafka, no Faust, no I/O).

Owns the engine, policies and their path patterns, decoding a line (JSON, broken JSON,
lines of a file) and the field-path log. May import: ``pipeline.detection``,
``pipeline.operators``, ``detectors`` and the foundation modules at ``pipeline``'s top
(``exceptions``, ``keys``, ``shipped``); never the stream, the CLI or the tools.
"""
