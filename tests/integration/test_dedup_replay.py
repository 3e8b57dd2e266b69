"""Under at_least_once a replay of `prepare` sends a decided article's tagged record again;
the dedup stage does not publish it twice, while a scraper's re-send of the same id (a
new raw record) gets its verdict again (README: "A re-sent id gets its verdict again")."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from support.kafka import (
    WorkerProcess,
    collect,
    http_get,
    isolated_env,
    metric_value,
    produce,
    settings_from,
    synthetic_article,
    synthetic_body,
    wait_outputs,
)

pytestmark = pytest.mark.integration


Record = tuple[int, bytes, bytes, int]


async def tagged_records(bootstrap: str, topic: str, partitions: int) -> list[Record]:
    """Every record of the tagged topic: (partition, key, value, timestamp in ms)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[Record] = []
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                found += [(tp.partition, r.key or b"", r.value or b"", r.timestamp)
                          for r in records]
        return found
    finally:
        await consumer.stop()


async def send_again(bootstrap: str, topic: str, record: Record) -> None:
    partition, key, value, timestamp = record
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, partition=partition,
                                     timestamp_ms=timestamp)
    finally:
        await producer.stop()


def test_a_replayed_tagged_record_is_not_published_twice_but_a_resent_id_is(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = isolated_env(kafka_bootstrap, NEWSFLOW_PROCESSING_GUARANTEE="at_least_once")
    settings = settings_from(env)
    article = orjson.dumps(synthetic_article("replayed-1", synthetic_body(random.Random(7)),
                                             fetched_at="2026-12-01T10:00:00Z"))
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, [article]))
        assert wait_outputs(settings, 1) == 1
        tagged = asyncio.run(tagged_records(kafka_bootstrap, settings.topics.tagged,
                                            settings.topics.tagged_partitions))
        assert len(tagged) == 1
        # What a replay of prepare sends: the same bytes with the raw record's timestamp.
        asyncio.run(send_again(kafka_bootstrap, settings.topics.tagged, tagged[0]))
        url = f"http://127.0.0.1:{worker.web_port}/metrics"
        for _ in range(60):
            if (metric_value(http_get(url)[1], "newsflow_dedup_replays_total") or 0) >= 1:
                break
            asyncio.run(asyncio.sleep(0.5))
        assert metric_value(http_get(url)[1], "newsflow_dedup_replays_total") == 1
        # A scraper sends the id again: a new raw record, published with the same verdict.
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, [article]))
        records = asyncio.run(collect(settings, expected=2, timeout=60))
    finally:
        worker.kill()
    assert [r.value["id"] for r in records] == ["replayed-1", "replayed-1"], worker.log()
    assert {r.value["dedup"]["status"] for r in records} == {"unique"}
