"""Shared fixtures: a fixed test key, policies, engines (session-scoped where expensive)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.keys import KeyRing

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
TEST_SECRET = "unit-test-secret-0123456789-abcdefghijkl"  # public test key, never for real data


@pytest.fixture(scope="session")
def keys() -> KeyRing:
    return KeyRing.from_secret(TEST_SECRET, "t1")


@pytest.fixture(scope="session")
def other_keys() -> KeyRing:
    return KeyRing.from_secret("another-unit-test-secret-zyxwvutsrqponm", "t2")


@pytest.fixture(scope="session")
def default_engine(keys: KeyRing):
    from pipeline.core.engine import Engine
    from pipeline.core.policy import load_policy

    return Engine(load_policy(), keys=keys, ner=False)
