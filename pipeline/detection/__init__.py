"""Finding personal data: the scan core's Python side and the free-text passes.

Owns the scanner (the recognizers of ``detectors/`` compiled into native sets and exact
patterns, context scoring, findings), the native record gate and prefilter (``_native``,
built from ``native/``), the detection views (look-alike folding, percent-decoding), names,
addresses and NER. May import: ``detectors`` and the foundation modules; never the engine,
the operators, the stream, the CLI or the tools.
"""
