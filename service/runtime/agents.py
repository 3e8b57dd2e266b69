"""Thin loops: take a batch, run the pipeline, publish, record metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any, TypeVar, cast

import faust
from faust.types import EventT

from service import metrics
from service.models import Origin, Rejected, TaggedArticle
from service.pipeline import Pipeline, dump
from service.runtime import faust_compat
from service.runtime.app import Topics
from service.runtime.commits import CommitGate, OffsetGuard
from service.runtime.delivery import Delivery
from service.runtime.tables import know_changelog_partitions
from service.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


def origin_of(event: EventT) -> Origin:
    message = event.message
    return Origin(topic=message.topic, partition=message.partition, offset=message.offset)


# How long an agent waits for input before the offset guard checks partition tails.
TAIL_CHECK_SECONDS = 5.0

# Cleaning runs on the event loop (a thread only contended for the GIL and halved the
# rate); the loop gets a turn at least this often, so heartbeats and sends keep flowing.
SLICE_SECONDS = 0.02


def register_agents(
    app: faust.App,
    topics: Topics,
    pipeline: Pipeline,
    settings: Settings,
    delivery: Delivery,
) -> None:
    @app.agent(topics.raw, name="newsflow.prepare")
    async def prepare(stream: faust.StreamT[bytes]) -> None:
        observe = metrics.STAGE_LATENCY.labels("prepare").observe
        tagged = metrics.MESSAGES.labels("prepare", "tagged")
        async for events in _batches(stream, settings, delivery):
            turn = time.perf_counter()
            for event in events:
                started = time.perf_counter()
                result = await until_stored(
                    "prepare", partial(pipeline.prepare, _payload(event), origin_of(event)))
                observe(time.perf_counter() - started)
                timestamp = event.message.timestamp
                if isinstance(result, Rejected):
                    await delivery.publish(topics, pipeline.route_rejected(result), timestamp,
                                           "prepare")
                else:
                    await delivery.deliver(topics.tagged, result.id.encode("utf-8"),
                                           dump(result), timestamp)
                    tagged.inc()
                    record_cleaning(result)
                if time.perf_counter() - turn > SLICE_SECONDS:
                    await asyncio.sleep(0)
                    turn = time.perf_counter()

    inputs = {topics.raw.get_topic_name(), topics.tagged.get_topic_name()}

    @app.timer(5.0)
    async def report_lag() -> None:
        consumer = app.consumer
        metrics.record_consumer_lag(consumer, faust_compat.committed_offsets(consumer), inputs)


# A prepare that failed on the worker's own state is tried again after this long,
# doubling up to STORAGE_RETRY_MAX_SECONDS: the partition waits, nothing is dropped.
STORAGE_RETRY_SECONDS = 0.5
STORAGE_RETRY_MAX_SECONDS = 10.0


async def until_stored(stage: str, attempt: Callable[[], T]) -> T:
    """`attempt()`, retried while the worker's own state cannot be written (a full disk
    under rocksdb://): that is the worker's trouble, not the record's, so nothing is
    dead-lettered or skipped. The commit waits meanwhile, so a worker stuck here turns
    not ready once its oldest uncommitted batch passes the stall bound. Any exception
    from `attempt` counts: the pipeline raises only infrastructure errors out of it
    (`StorageFailure`), and a Table write raises whatever its store raises."""
    wait = STORAGE_RETRY_SECONDS
    while True:
        try:
            return attempt()
        except Exception as exc:  # noqa: BLE001 - the store, not a record
            metrics.STORAGE_ERRORS.labels(stage).inc()
            logger.error("%s could not keep its state; retrying in %.1f s: %s: %s",
                         stage, wait, type(exc).__name__, exc)
            await asyncio.sleep(wait)
            wait = min(wait * 2, STORAGE_RETRY_MAX_SECONDS)


async def _batches(
    stream: faust.StreamT[bytes], settings: Settings, delivery: Delivery
) -> AsyncIterator[Sequence[EventT]]:
    """Batches of events. Each is held in the commit gate until the agent asks for the
    next and Kafka acknowledged every record it sent (its `Outbox`).

    take_events acks a batch when it is asked for the next one, so it is pumped by a
    task of its own that waits for each batch to be done; meanwhile, every
    TAIL_CHECK_SECONDS without input, the offset guard looks for records faust left
    behind at the end of a partition."""
    concrete = cast(faust.Stream[bytes], stream)
    gate = CommitGate.of(concrete.app)
    guard = OffsetGuard(concrete.app, settings)
    topics = tuple(getattr(concrete.channel, "topics", ()))
    taken: asyncio.Queue[tuple[Sequence[EventT], asyncio.Event]] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        async for batch in concrete.take_events(
            settings.batch_size, settings.batch_within_seconds
        ):
            done = asyncio.Event()
            await taken.put((batch, done))
            await done.wait()

    pumping = asyncio.ensure_future(pump())
    try:
        while True:
            getting = asyncio.ensure_future(taken.get())
            await asyncio.wait({getting, pumping}, timeout=TAIL_CHECK_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
            done: asyncio.Event | None = None
            if getting.done():
                batch, done = getting.result()
                await know_changelog_partitions(concrete.app)  # faust created them by now
                events = await guard.admit(batch)
            else:
                getting.cancel()
                if pumping.done():
                    pumping.result()  # the stream ended: raise what stopped it
                    return
                events = await guard.tail(topics)
            try:
                if not events:
                    continue
                async with gate.batch(events):
                    with delivery.batch() as outbox:
                        yield events
                    await outbox.settle()
                guard.acknowledge(events)
            finally:
                if done is not None:
                    done.set()
    finally:
        pumping.cancel()
        await guard.stop()


def _payload(event: EventT) -> bytes:
    value: Any = event.value
    return value if isinstance(value, bytes) else bytes(value or b"")


def record_cleaning(article: TaggedArticle) -> None:
    """Lines removed and body length per source: a template change shows up here first."""
    source = metrics.SOURCE_LABEL(article.source)
    metrics.CLEAN_TEXT_CHARS.labels(source).observe(len(article.text))
    if article.cleaning is not None:
        for reason, count in article.cleaning.removed.items():
            metrics.BOILERPLATE_LINES_REMOVED.labels(source, reason).inc(count)
