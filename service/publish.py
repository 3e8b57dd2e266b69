"""`newsflow produce`: publish an input file's records (service/sources.py) to the raw topic.

JSON lines go out as they are, keyed by the scraper's id (bad lines too: rejecting them
is the worker's job). A WARC's HTML responses go out as RawArticle JSON keyed by their
id. What the source itself could not read (an unreadable WARC record, a line too large
to send) goes straight to the rejected topic, with the file and offset or line as its
origin, so nothing in the file is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from service.runtime.admin import ensure_topics
from service.runtime.security import aiokafka_kwargs
from service.settings import Settings
from service.sources import SourceStats, open_source

# The producer's request limit below; a line over it could not be sent at all.
MAX_SEND_BYTES = 16 * 1024 * 1024 - 64 * 1024
_IN_FLIGHT = 10_000


async def produce_source(
    source: Path,
    settings: Settings,
    topic: str,
    progress: Callable[[int], object] | None = None,
    stats: SourceStats | None = None,
) -> dict[str, int]:
    """Publish every record of `source`; return how many went to each topic."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        **aiokafka_kwargs(settings),
        linger_ms=5,
        max_request_size=16 * 1024 * 1024,
        enable_idempotence=True,
    )
    await producer.start()
    sent: dict[str, int] = {}
    try:
        pending = []
        with source.open("rb") as stream:
            records = open_source(
                stream,
                str(source),
                # The worker applies its own limit; the source only refuses what cannot be sent.
                max_bytes=max(settings.decode.max_bytes, MAX_SEND_BYTES),
                rejected_max_bytes=settings.decode.rejected_payload_max_bytes,
                stats=stats,
                progress=progress,
            )
            for record in records:
                if record.rejected is not None:
                    target = settings.topics.rejected
                    value = orjson.dumps(record.rejected.model_dump())
                    pending.append(await producer.send(target, value))
                else:
                    target = topic
                    pending.append(await producer.send(target, record.payload, key=record.key))
                sent[target] = sent.get(target, 0) + 1
                if len(pending) >= _IN_FLIGHT:  # bounded memory on a multi-GB input
                    for future in pending:
                        await future
                    pending.clear()
        for future in pending:
            await future
    finally:
        await producer.stop()
    return sent
