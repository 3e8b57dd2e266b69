"""The faust patches: applied on import, and each does what its docstring says."""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

from service.runtime import compat


class _Consumer:
    def __init__(self) -> None:
        self.asked: list[Any] = []

    def last_stable_offset(self, tp: Any) -> None:
        return None  # never fetched: what a fresh worker's consumer knows

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        self.asked.extend(partitions)
        return {tp: 42 for tp in partitions}


class _Thread:
    consumer_in_transaction = True

    def __init__(self) -> None:
        self.inner = _Consumer()

    def _ensure_consumer(self) -> _Consumer:
        return self.inner


async def test_recovery_highwaters_come_from_the_broker_even_under_exactly_once() -> None:
    assert faust_aiokafka.AIOKafkaConsumerThread._highwaters is (
        compat._highwaters_from_the_broker
    )
    thread = _Thread()
    got = await faust_aiokafka.AIOKafkaConsumerThread._highwaters(thread, ["changelog-0"])
    assert got == {"changelog-0": 42}, "not None from an unfetched partition's LSO"
    assert thread.inner.asked == ["changelog-0"]
