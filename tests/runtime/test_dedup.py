"""The worker's dedup edge: metrics and log lines for what the engine reports."""

from __future__ import annotations

import logging

import pytest

from service import metrics
from service.runtime.dedup import partition_of, record_evictions, salt
from service.stages.dedup import Evicted


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_storage_evictions_are_counted_and_early_ones_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    early = value("newsflow_dedup_evictions_total", reason="early")
    aged = value("newsflow_dedup_evictions_total", reason="aged")
    with caplog.at_level(logging.WARNING, logger="service.runtime.dedup"):
        record_evictions(Evicted(total=2, early=0))
    assert not caplog.records
    assert value("newsflow_dedup_evictions_total", reason="aged") == aged + 2
    with caplog.at_level(logging.WARNING, logger="service.runtime.dedup"):
        record_evictions(Evicted(total=5, early=3))
    assert value("newsflow_dedup_evictions_total", reason="early") == early + 3
    assert value("newsflow_dedup_evictions_total", reason="aged") == aged + 4
    assert "MAX_ENTRIES" in caplog.records[0].getMessage()


def test_salted_keys_hash_to_the_partition_they_name() -> None:
    for partition in range(8):
        assert partition_of(salt("p3:120", partition, 8), 8) == partition


def test_a_worker_that_rejoined_as_a_new_member_keeps_no_partition_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kept partitions keep their state across a rebalance, lost ones drop it; but a
    worker that joined again under a new member id was out of the group (a zombie,
    paused past its session) while another owned its partitions, so it rebuilds all of
    them. A rebalance that restarted (a generation skipped) is not that."""
    import asyncio

    from service.runtime import faust_compat
    from service.runtime.worker import Service
    from service.settings import Settings
    from service.stages.dedup import BandStore, Gatherer

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-members")).dedup
    monkeypatch.setattr(dedup, "_assigned", lambda: ({0, 1}, {0, 1}))
    member = ["m-1"]
    monkeypatch.setattr(faust_compat, "group_member_id", lambda consumer: member[0])

    def rebalance(generation: int, as_member: str) -> tuple[set[int], set[int]]:
        member[0] = as_member
        dedup.app.consumer_generation_id = generation
        asyncio.run(dedup._on_rebalance_complete(None, signal=None))
        return set(dedup._bands), set(dedup._gathers)

    def hold(partitions: set[int]) -> None:
        for p in partitions:
            dedup._bands[p] = BandStore(dedup.cfg)
            dedup._gathers[p] = Gatherer(dedup.cfg)

    hold({0, 1, 2})
    assert rebalance(4, "m-1") == ({0, 1}, {0, 1})  # 2 was lost
    assert rebalance(6, "m-1") == ({0, 1}, {0, 1})  # a restarted rebalance: kept
    assert rebalance(8, "m-2") == (set(), set())  # out of the group meanwhile
    assert dedup._restore_due
