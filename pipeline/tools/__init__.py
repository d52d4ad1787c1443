"""Tools around the pipeline: the labelled corpus, evaluation, golden cases, the findings
snapshot, the demo, the policy playground, the residual-PII verifier and the config checker.

May import: ``pipeline.stream``, ``pipeline.core`` and below; never the CLI.
"""
