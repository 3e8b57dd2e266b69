"""Process-wide memory settings: what the worker calls once at start-up."""

from __future__ import annotations

import gc

from service.memory import freeze_startup_objects


def test_freeze_startup_objects_takes_live_objects_out_of_collection() -> None:
    held = [[i] for i in range(1000)]  # lists are always tracked, as a lexicon's are
    assert gc.is_tracked(held[0])
    try:
        before = gc.get_freeze_count()
        freeze_startup_objects()
        assert gc.get_freeze_count() >= before + len(held)
        # A frozen object is in no generation the collector walks any more.
        assert not any(obj is held[0] for g in range(3) for obj in gc.get_objects(generation=g))
    finally:
        gc.unfreeze()
    assert any(obj is held[0] for obj in gc.get_objects(generation=2))
