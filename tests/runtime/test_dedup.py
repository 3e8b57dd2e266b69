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
