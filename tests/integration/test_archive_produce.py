"""`newsflow produce` on a WARC: HTML responses to the raw topic, unreadable records to
the rejected topic with their WARC offset, keyed by the article id."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from service.runtime.tail import read_topics
from service.sources import warc_article_id
from support.kafka import isolated_env, settings_from
from tests.conftest import NewsflowCli
from tests.test_sources import synthetic_pages, write_warc

pytestmark = pytest.mark.integration


def test_produce_a_warc(kafka_bootstrap: str, tmp_path: Path, newsflow_cli: NewsflowCli) -> None:
    pages = synthetic_pages(4)
    data = write_warc(tmp_path / "p.warc", pages, extras=False).read_bytes()
    last = data.rindex(b"WARC-Type: response")
    last = data.rindex(b"WARC/1.", 0, last)  # the last response record: cut inside it
    source = tmp_path / "cut.warc"
    source.write_bytes(data[: last + 500])
    env = isolated_env(kafka_bootstrap)
    settings = settings_from(env)
    result = newsflow_cli("produce", str(source), env=env, check=True, timeout=120)
    assert b"published 3 messages to " + settings.topics.raw.encode() in result.stderr
    assert b"published 1 messages to " + settings.topics.rejected.encode() in result.stderr

    async def read() -> list[tuple[str, object]]:
        names = [settings.topics.raw, settings.topics.rejected]
        return [(r.topic, r.value) async for r in read_topics(
            settings, names, min_records=4, idle_seconds=2, timeout_seconds=60)]

    records = asyncio.run(read())
    raw = [v for t, v in records if t == settings.topics.raw]
    dead = [v for t, v in records if t == settings.topics.rejected]
    assert sorted(r["id"] for r in raw) == sorted(  # type: ignore[index]
        warc_article_id(p.uri, p.record_id) for p in pages[:3])
    [letter] = dead
    assert isinstance(letter, dict)
    assert letter["error"]["code"] == "unreadable_record"
    assert letter["origin"]["topic"] == str(source) and letter["origin"]["offset"] == last
    assert orjson.loads(orjson.dumps(letter))["payload_truncated"] is False
