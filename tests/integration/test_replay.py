"""`newsflow replay` on the real broker: dead letters go back once their cause is fixed.

A worker with a low size limit rejects the large articles; a worker with the limit
raised takes over; replay re-publishes the dead letters, and every one of them comes out
once, the truncated one never. Replaying again does nothing, and a dead letter whose
cause is not fixed is replayed at most `--max-replays` times.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from service.settings import Settings
from support.kafka import (
    WorkerProcess,
    collect,
    isolated_env,
    jsonl,
    produce,
    settings_from,
    synthetic_article,
    synthetic_body,
)
from tests.conftest import NewsflowCli

pytestmark = pytest.mark.integration


def articles() -> tuple[list[bytes], set[str], str]:
    """6 small articles, 8 over 2,048 bytes, 1 over the 8,192 a dead letter keeps, 1 bad."""
    rng = random.Random(20)
    small = [synthetic_article(f"small-{n}", synthetic_body(rng)) for n in range(6)]
    large = [synthetic_article(f"large-{n}", synthetic_body(rng, paragraphs=8, sentences=4))
             for n in range(8)]
    huge = synthetic_article("huge", synthetic_body(rng, paragraphs=30, sentences=4))
    lines = jsonl([*small, *large, huge]) + [b'{"id": "broken", "text": ']
    assert all(len(line) < 2048 for line in lines[:6])
    assert all(2048 < len(line) < 8192 for line in lines[6:14])
    assert len(lines[14]) > 8192
    return lines, {a["id"] for a in large}, "huge"


def replay(cli: NewsflowCli, env: dict[str, str], *args: str) -> str:
    result = cli("replay", *args, env=env, check=True, timeout=300)
    return result.stdout.decode()


def row(report: str, reason: str) -> dict[str, int]:
    lines = report.splitlines()
    columns = lines[1].split("\t")[1:]
    [values] = [line.split("\t")[1:] for line in lines if line.startswith(reason + "\t")]
    return dict(zip(columns, map(int, values), strict=True))


async def replay_headers(settings: Settings) -> Counter[str]:
    """The `newsflow-replays` header of every message on the raw topic ('-': none)."""
    consumer = AIOKafkaConsumer(
        settings.topics.raw, bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        while batches := await consumer.getmany(timeout_ms=3000):
            for messages in batches.values():
                for message in messages:
                    headers = dict(message.headers or ())
                    counts[headers.get("newsflow-replays", b"-").decode()] += 1
    finally:
        await consumer.stop()
    return counts


def outputs(settings: Settings, expected: int) -> list[Any]:
    records = asyncio.run(collect(settings, expected=expected))
    assert len(records) == expected, Counter(r.topic for r in records)
    return records


def test_replay_after_the_limit_is_raised(
    kafka_bootstrap: str, tmp_path: Path, newsflow_cli: NewsflowCli
) -> None:
    lines, large, huge = articles()
    high = isolated_env(kafka_bootstrap, NEWSFLOW_TOPICS__PARTITIONS="2",
                        NEWSFLOW_DECODE__REJECTED_PAYLOAD_MAX_BYTES="8192")
    low = {**high, "NEWSFLOW_DECODE__MAX_BYTES": "2048"}
    settings = settings_from(high)

    worker = WorkerProcess(low, tmp_path / "low.log").start()
    try:
        worker.wait_ready()
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, lines, partitions=2))
        first = outputs(settings, len(lines))
    finally:
        worker.kill(signal.SIGTERM)
    dead = [r.value for r in first if r.topic == settings.topics.rejected]
    assert Counter(d["error"]["code"] for d in dead) == {"payload_too_large": 9,
                                                        "invalid_json": 1}
    assert [d["payload_truncated"] for d in dead].count(True) == 1

    worker = WorkerProcess(high, tmp_path / "high.log").start()
    try:
        worker.wait_ready()
        dry = replay(newsflow_cli, high, "--reason", "payload_too_large", "--dry-run")
        assert dry.startswith("read 10 dead letters; would replay 8\n"), dry
        assert row(dry, "payload_too_large") == {
            "replay": 8, "already_replayed": 0, "truncated": 1, "corrupt": 0,
            "max_replays": 0, "filtered": 0}
        assert row(dry, "invalid_json")["filtered"] == 1
        assert "refused " in dry and "payload_too_large truncated" in dry

        done = replay(newsflow_cli, high, "--reason", "payload_too_large")
        assert done.startswith("read 10 dead letters; replayed 8\n"), done
        second = outputs(settings, len(lines) + 8)
        articles_out = Counter(
            r.value["id"] for r in second if r.topic != settings.topics.rejected
        )
        assert {i: articles_out[i] for i in large} == dict.fromkeys(large, 1)  # once each
        assert huge not in articles_out  # the truncated one is never replayed
        assert sum(r.topic == settings.topics.rejected for r in second) == 10

        again = replay(newsflow_cli, high, "--reason", "payload_too_large")
        assert again.startswith("read 10 dead letters; replayed 0\n"), again
        assert row(again, "payload_too_large")["already_replayed"] == 8

        # A cause that is not fixed: the broken line comes back as a new dead letter each
        # time, and is replayed at most --max-replays times in all.
        for n in (1, 2):
            out = replay(newsflow_cli, high, "--reason", "invalid_json", "--max-replays", "2")
            assert row(out, "invalid_json")["replay"] == 1, out
            outputs(settings, len(lines) + 8 + n)
        last = replay(newsflow_cli, high, "--reason", "invalid_json", "--max-replays", "2")
        assert row(last, "invalid_json") == {
            "replay": 0, "already_replayed": 2, "truncated": 0, "corrupt": 0,
            "max_replays": 1, "filtered": 0}, last
        assert "invalid_json max_replays" in last
    finally:
        worker.kill()
    assert asyncio.run(replay_headers(settings)) == {"-": len(lines), "1": 9, "2": 1}
    final = outputs(settings, len(lines) + 10)
    broken = [r.value for r in final if r.value.get("error", {}).get("code") == "invalid_json"]
    assert len(broken) == 3
    assert all(orjson.loads(orjson.dumps(b))["payload"] == '{"id": "broken", "text": '
               for b in broken)
