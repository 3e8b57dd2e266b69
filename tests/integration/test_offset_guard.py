"""The offset guard's own read of a skipped range, on a real broker."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from service.runtime.commits import OffsetGuard
from service.settings import Settings
from support.kafka import produce


def test_a_skipped_range_is_read_back_from_kafka_in_order(kafka_bootstrap: str) -> None:
    topic = f"guard-{uuid.uuid4().hex[:8]}"
    payloads = [f"record-{i}".encode() for i in range(20)]
    asyncio.run(produce(kafka_bootstrap, topic, payloads, partitions=1))
    tp = TP(topic, 0)

    async def run() -> tuple[list[int], list[bytes]]:
        settings = Settings(kafka_bootstrap=kafka_bootstrap)
        guard = OffsetGuard(SimpleNamespace(consumer_generation_id=1), settings)
        try:
            # Only .message.tp/.offset/.value of a faust Event are read.
            first: list[Any] = [
                SimpleNamespace(message=SimpleNamespace(tp=tp, offset=o), value=b"")
                for o in (0, 1, 2)
            ]
            await guard.admit(first)
            jump: list[Any] = [
                SimpleNamespace(message=SimpleNamespace(tp=tp, offset=15), value=b"")
            ]
            admitted = await guard.admit(jump)
        finally:
            await guard.stop()
        return [e.message.offset for e in admitted], [e.value for e in admitted[:-1]]

    offsets, values = asyncio.run(run())
    assert offsets == list(range(3, 16))
    assert values == payloads[3:15]


def test_a_transaction_marker_is_a_hole_not_a_loss(kafka_bootstrap: str) -> None:
    """Offsets 0-2 in a transaction, its commit marker at 3, then 4 in another: reading
    0-4 gives back the four records and accepts the hole."""
    from aiokafka import AIOKafkaProducer

    topic = f"guard-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(kafka_bootstrap, topic, [], partitions=1))
    tp = TP(topic, 0)

    async def run() -> list[int]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap,
                                    transactional_id=f"{topic}-tx")
        await producer.start()
        try:
            async with producer.transaction():
                for i in range(3):
                    await producer.send_and_wait(topic, f"t{i}".encode(), partition=0)
            async with producer.transaction():
                await producer.send_and_wait(topic, b"after", partition=0)
        finally:
            await producer.stop()
        guard = OffsetGuard(SimpleNamespace(consumer_generation_id=1), Settings(
            kafka_bootstrap=kafka_bootstrap))
        try:
            return [e.message.offset for e in await guard._read(tp, 0, 5)]
        finally:
            await guard.stop()

    assert asyncio.run(run()) == [0, 1, 2, 4]


def test_a_partition_missing_from_faust_s_view_starts_where_kafka_says(
        kafka_bootstrap: str) -> None:
    """faust's view of the commits lacks a partition: the guard asks Kafka where faust
    started it, the group's commit if there is one, else the log start (retention may
    have moved it past 0)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    topic = f"guard-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(kafka_bootstrap, topic, [b"x"] * 10, partitions=2))
    group = f"newsflow-test-{uuid.uuid4().hex[:8]}"

    async def run() -> list[int]:
        committer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group,
                                     enable_auto_commit=False)
        await committer.start()
        try:
            committer.assign([TopicPartition(topic, 0)])
            await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(7, "")})
        finally:
            await committer.stop()
        guard = OffsetGuard(SimpleNamespace(consumer_generation_id=1),
                            Settings(kafka_bootstrap=kafka_bootstrap, app_id=group))
        try:
            return [await guard._first_offset(TP(topic, p)) for p in (0, 1)]
        finally:
            await guard.stop()

    assert asyncio.run(run()) == [7, 0]
