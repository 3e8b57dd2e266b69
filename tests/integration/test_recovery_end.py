"""Table recovery ends when our read_committed reader finds nothing committed past what
it applied (service/runtime/faust_compat.py, `_recovery_read_to_the_end`): checked on
the real broker against what a transactional producer leaves in a changelog partition,
commit markers and an aborted transaction's records."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from service.runtime import faust_compat

pytestmark = pytest.mark.integration


async def transactional_partition(bootstrap: str, topic: str) -> int:
    """Offsets 0-2: a committed transaction's records, 3 its marker; 4-5 an aborted
    transaction's, 6 its marker; 7 a committed record, 8 its marker. Returns faust's
    highwater for it (the last stable offset minus one)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap,
                                transactional_id=f"test-{uuid.uuid4().hex}")
    await producer.start()
    try:
        for values, commit in (([b"a", b"b", b"c"], True), ([b"x", b"y"], False),
                               ([b"d"], True)):
            await producer.begin_transaction()
            for value in values:
                await producer.send_and_wait(topic, value, partition=0)
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
    finally:
        await producer.stop()
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await reader.start()
    try:
        ends = await reader.end_offsets([TopicPartition(topic, 0)])
        return int(ends[TopicPartition(topic, 0)]) - 1
    finally:
        await reader.stop()


def test_only_markers_and_aborted_records_past_the_last_applied_offset(
        kafka_bootstrap: str) -> None:
    topic = f"changelog-{uuid.uuid4().hex[:8]}"
    tp = TP(topic, 0)

    def reader() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap,
                                isolation_level="read_committed", enable_auto_commit=False)

    async def run() -> tuple[int, list[bool]]:
        highwater = await transactional_partition(kafka_bootstrap, topic)
        return highwater, [
            await faust_compat._nothing_committed_in(reader(), {tp: (applied, highwater)})
            for applied in (7, 6, 2, -1)]

    highwater, clear = asyncio.run(run())
    assert highwater == 8, "offset 8, the last commit marker, is faust's highwater"
    assert clear == [True, False, False, False], (
        "applied through 7: only a marker is left; through 6 or 2 (aborted records and "
        "markers after it), the committed record at 7 is still to come")
