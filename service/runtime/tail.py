"""`newsflow tail`: read output topics from the beginning and hand back the records."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from service.runtime.security import committed_reader
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    partition: int
    offset: int
    value: Any


async def read_topics(
    settings: Settings,
    topics: Sequence[str],
    *,
    max_records: int | None = None,
    min_records: int = 0,
    idle_seconds: float = 5.0,
    timeout_seconds: float = 120.0,
) -> AsyncIterator[Received]:
    """Yield records until `max_records`, or `idle_seconds` with nothing new once at least
    `min_records` arrived, or the timeout."""
    consumer = committed_reader(settings, *topics)
    await consumer.start()
    count, deadline, last_seen = 0, time.monotonic() + timeout_seconds, time.monotonic()
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for tp, messages in batches.items():
                for message in messages:
                    last_seen = time.monotonic()
                    value = orjson.loads(message.value) if message.value else None
                    yield Received(tp.topic, tp.partition, message.offset, value)
                    count += 1
                    if max_records is not None and count >= max_records:
                        return
            if not batches and count >= min_records and time.monotonic() - last_seen > idle_seconds:
                return
    finally:
        await consumer.stop()


def summarise(record: Received) -> str:
    """One human line per record, for the demo and for `newsflow tail`."""
    value = record.value or {}
    if "error" in value:
        error = value["error"]
        return f"{record.topic:<22} rejected  {error['code']}: {error['message'][:70]}"
    language = (value.get("language") or {}).get("code", "?")
    section = (value.get("section") or {}).get("name", "-")
    dedup = value.get("dedup") or {}
    verdict = dedup.get("status", "?")
    if dedup.get("duplicate_of"):
        verdict += f" of {dedup['duplicate_of']} ({dedup.get('similarity', 0):.2f})"
    title = (value.get("title") or value.get("text") or "")[:48].replace("\n", " ")
    article_id = value.get("id", "?")
    return (
        f"{record.topic:<22} {article_id:<10} {language:<3} {section:<18} {verdict:<28} {title}"
    )
