"""Benchmarks: engine, stream and memory against the baselines (see README.md)."""
