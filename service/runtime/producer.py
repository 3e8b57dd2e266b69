"""`newsflow produce`: publish JSONL raw articles, the stand-in scraper and backfill tool."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from service.runtime.admin import ensure_topics
from service.runtime.security import aiokafka_kwargs
from service.settings import Settings


def _key(line: bytes) -> bytes | None:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"]).encode("utf-8")
    return None


async def produce_file(
    source: Path,
    settings: Settings,
    topic: str,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Send every line as-is (bad lines too: rejecting them is the service's job)."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        **aiokafka_kwargs(settings),
        linger_ms=5,
        max_request_size=16 * 1024 * 1024,
        enable_idempotence=True,
    )
    await producer.start()
    sent = 0
    try:
        pending = []
        with source.open("rb") as stream:
            for line in stream:
                payload = line.rstrip(b"\r\n")
                pending.append(await producer.send(topic, payload, key=_key(payload)))
                sent += 1
                if progress is not None:
                    progress(len(line))
        for future in pending:
            await future
    finally:
        await producer.stop()
    return sent
