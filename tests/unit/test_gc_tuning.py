"""The worker's garbage-collector settings (pipeline.stream.gc_tuning)."""

from __future__ import annotations

import gc

from pipeline.stream.gc_tuning import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_for_streaming


class _StartupState:
    """Stands for a policy or compiled detector: a container that lives all along."""


def test_startup_objects_leave_the_collectors_sight_and_collections_get_rarer() -> None:
    before = gc.get_threshold()
    state = _StartupState()
    assert gc.is_tracked(state)
    try:
        settle_for_streaming()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
        assert gc.get_freeze_count() > 0
        # Frozen objects are no longer scanned by any collection ...
        assert not any(o is state for o in gc.get_objects())
        # ... objects made afterwards still are.
        later = _StartupState()
        assert any(o is later for o in gc.get_objects(generation=0))
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
