"""support/outside.py `trace_held`: where a held-back input got to, read off the real
broker (the fault soak writes it beside a failed run's logs)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from support.kafka import isolated_env, produce
from support.outside import trace_held

pytestmark = pytest.mark.integration


def test_trace_names_every_record_of_an_input_and_the_group_commit(kafka_bootstrap: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    env = isolated_env(kafka_bootstrap)
    raw, tagged = env["NEWSFLOW_TOPICS__RAW"], env["NEWSFLOW_TOPICS__TAGGED"]
    bands, answers = env["NEWSFLOW_TOPICS__BANDS"], env["NEWSFLOW_TOPICS__ANSWERS"]
    mine = orjson.dumps({"id": "a1", "text": "x"})
    asyncio.run(produce(kafka_bootstrap, raw, [mine, orjson.dumps({"id": "b2"})],
                        keys=[b"a1", b"b2"], partitions=1))
    asyncio.run(produce(kafka_bootstrap, tagged, [mine], keys=[b"a1"], partitions=1))
    asyncio.run(produce(kafka_bootstrap, bands, [orjson.dumps({"p": [[[1.0, "a1"], ["k"]]]})],
                        keys=[b"batch"], partitions=1))
    asyncio.run(produce(kafka_bootstrap, answers, [orjson.dumps({"o": [["a", "b2", 0, []]]})],
                        keys=[b"batch"], partitions=1))
    group = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": env["NEWSFLOW_APP_ID"],
                      "enable.auto.commit": False})
    try:
        group.commit(offsets=[TopicPartition(raw, 0, 1)], asynchronous=False)
    finally:
        group.close()

    trace = trace_held(kafka_bootstrap, env, {"a1"})

    assert trace["a1"]["raw"] == ["0@0"]
    assert trace["a1"]["tagged"] == ["0@0"]
    assert trace["a1"]["bands"] == ["0@0"]
    assert "answers" not in trace["a1"]  # that batch names another input
    assert "raw[0]=1" in trace["a1"]["committed"]
    assert "tagged[0]=-1001" in trace["a1"]["committed"]  # never committed
