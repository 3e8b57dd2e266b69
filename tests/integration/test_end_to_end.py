"""The whole path on a real broker: raw in, one record out per input, batch mode agrees."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.batch import process_file
from support.kafka import (
    WorkerProcess,
    collect,
    isolated_env,
    produce,
    settings_from,
)

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "articles.jsonl"
VOLATILE = {"processed_at", "received_at", "origin"}


def sample_lines() -> list[bytes]:
    return [line for line in SAMPLES.read_bytes().splitlines() if line.strip()]


def stable(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in VOLATILE}


def run_worker_on(bootstrap: str, tmp_path: Path, lines: list[bytes], **env: str) -> list[Any]:
    worker_env = isolated_env(bootstrap, **env)
    settings = settings_from(worker_env)
    worker = WorkerProcess(worker_env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        asyncio.run(
            produce(bootstrap, settings.topics.raw, lines, partitions=settings.topics.partitions)
        )
        return asyncio.run(collect(settings, expected=len(lines)))
    finally:
        worker.kill()


def test_every_sample_reaches_the_right_topic(kafka_bootstrap: str, tmp_path: Path) -> None:
    # The copy is a re-scrape a minute after the original: event time decides, so a copy
    # stamped only by its arrival (today) would be past the 7-day window of a sample
    # fetched on 2026-11-27, and rightly unique.
    original = orjson.loads(sample_lines()[5])
    copy_of_5 = {"id": "dup-of-5", "text": original["text"],
                 "fetched_at": "2026-11-27T12:31:00Z"}
    assert original["fetched_at"] == "2026-11-27T12:30:00Z"
    lines = sample_lines() + [orjson.dumps(copy_of_5), b"\xff\xfe not utf-8"]
    records = run_worker_on(kafka_bootstrap, tmp_path, lines, NEWSFLOW_TOPICS__PARTITIONS="1")

    assert len(records) == len(lines), "every input comes out exactly once"
    by_topic = Counter(r.topic.rsplit(".", 1)[1] for r in records)
    assert by_topic["rejected"] == 3
    assert by_topic["duplicates"] >= 1
    assert by_topic["clean"] + by_topic["duplicates"] == len(lines) - 3

    articles = {r.value["id"]: r for r in records if "error" not in r.value}
    copy = articles["dup-of-5"]
    assert copy.topic.endswith(".duplicates")
    assert copy.value["dedup"]["status"] == "duplicate"
    assert articles[copy.value["dedup"]["duplicate_of"]].topic.endswith(".clean")
    for record in articles.values():
        value = record.value
        assert value["text"] and value["language"]["code"] != ""
        assert value["schema_version"] == "1"
    codes = sorted(r.value["error"]["code"] for r in records if "error" in r.value)
    assert codes == ["invalid_json", "invalid_utf8", "schema_violation"]
    invalid = next(
        r.value for r in records if r.value.get("error", {}).get("code") == "invalid_utf8"
    )
    assert invalid["payload_encoding"] == "base64"
    assert invalid["origin"]["topic"].endswith(".raw") and invalid["origin"]["offset"] >= 0


def test_worker_and_batch_mode_agree(kafka_bootstrap: str, tmp_path: Path) -> None:
    lines = sample_lines()
    streamed = run_worker_on(kafka_bootstrap, tmp_path, lines, NEWSFLOW_TOPICS__PARTITIONS="1")

    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    target = tmp_path / "out.jsonl"
    process_file(source, target, settings_from(isolated_env(kafka_bootstrap)))
    batch = [orjson.loads(line) for line in target.read_bytes().splitlines()]

    def key(topic: str, value: dict[str, Any]) -> tuple[str, str]:
        return topic.rsplit(".", 1)[1], orjson.dumps(
            stable(value), option=orjson.OPT_SORT_KEYS
        ).decode()

    assert sorted(key(r.topic, r.value) for r in streamed) == sorted(
        key(b["topic"], b["value"]) for b in batch
    )
