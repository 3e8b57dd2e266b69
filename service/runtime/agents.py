"""Thin loops: take a batch, run the pipeline, publish, record metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.types import EventT

from service import metrics
from service.models import Article, Origin, Rejected, TaggedArticle
from service.pipeline import Pipeline, Routed, dump
from service.runtime import faust_compat
from service.runtime.app import Topics
from service.runtime.commits import CommitGate, OffsetGuard
from service.runtime.tables import know_changelog_partitions
from service.settings import Settings

logger = logging.getLogger(__name__)


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
) -> None:
    @app.agent(topics.raw, name="newsflow.prepare")
    async def prepare(stream: faust.StreamT[bytes]) -> None:
        observe = metrics.STAGE_LATENCY.labels("prepare").observe
        tagged = metrics.MESSAGES.labels("prepare", "tagged")
        async for events in _batches(stream, settings):
            turn = time.perf_counter()
            for event in events:
                started = time.perf_counter()
                result = pipeline.prepare(_payload(event), origin_of(event))
                observe(time.perf_counter() - started)
                timestamp = event.message.timestamp
                if isinstance(result, Rejected):
                    await _publish(topics, pipeline.route_rejected(result), timestamp, "prepare")
                else:
                    await _deliver(topics.tagged, result.id.encode("utf-8"), dump(result),
                                   timestamp)
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


async def _batches(
    stream: faust.StreamT[bytes], settings: Settings
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
                    outbox = Outbox()
                    _OUTBOX.set(outbox)
                    try:
                        yield events
                    finally:
                        # Not reset(token): a generator closed by the GC runs this elsewhere.
                        _OUTBOX.set(None)
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


# Output topics whose last send failed outright or whose last delivery Kafka refused;
# /readyz is 503 while any is listed.
PUBLISH_FAILING: set[str] = set()
DELIVERY_FAILING: set[str] = set()
# Per output topic: [deliveries pending, monotonic time the topic last made progress].
_DELIVERY: dict[str, list[float]] = {}
# A send waits this long for metadata and buffer space, and a topic whose deliveries make
# no progress for this long is stalled (a missing topic, a denied ACL, a broker away).
# faust's own limit is 20 minutes.
PUBLISH_TIMEOUT_SECONDS = 10.0


def _unwritable() -> set[str]:
    """Topics to hold back on: sends not even buffered, or deliveries making no progress.
    (A refused delivery is not one: its batch's Outbox sends it again.)"""
    now = time.monotonic()
    stalled = {
        name
        for name, (pending, since) in _DELIVERY.items()
        if pending and now - since > PUBLISH_TIMEOUT_SECONDS
    }
    return stalled | PUBLISH_FAILING


def stalled_topics() -> set[str]:
    """Output topics that cannot be written now: /readyz is 503 while any is listed."""
    return _unwritable() | DELIVERY_FAILING


def _delivered(name: str, future: asyncio.Future[Any]) -> None:
    state = _DELIVERY[name]
    state[0], state[1] = state[0] - 1, time.monotonic()
    if future.cancelled() or future.exception() is not None:
        metrics.PUBLISH_ERRORS.labels(name).inc()
        DELIVERY_FAILING.add(name)
    else:
        DELIVERY_FAILING.discard(name)


@dataclass
class _Sent:
    topic: faust.TopicT
    key: bytes | None
    value: bytes
    timestamp: float | None
    future: asyncio.Future[Any]
    partition: int | None = None

    def failed(self) -> bool:
        return self.future.cancelled() or self.future.exception() is not None


class Outbox:
    """The records one batch sent. The batch counts as done (its offsets may commit) only
    once Kafka acknowledged all of them. A delivery Kafka refuses for good (a denied
    ACL, a topic deleted under the producer) would otherwise be dropped while its input's
    offset commits; here it is sent again until it lands, and the partition waits."""

    def __init__(self) -> None:
        self._sent: list[_Sent] = []

    def track(self, sent: _Sent) -> None:
        self._sent.append(sent)

    async def settle(self) -> None:
        backoff = 0.5
        while self._sent:
            await asyncio.wait([sent.future for sent in self._sent])
            if not all(sent.future.done() for sent in self._sent):
                continue  # tracked while we waited: wait for those too
            failed = [sent for sent in self._sent if sent.failed()]
            self._sent = []
            if not failed:
                return
            name = failed[0].topic.get_topic_name()
            logger.warning("%d deliveries to %s refused (%r), sending again", len(failed), name,
                           None if failed[0].future.cancelled() else failed[0].future.exception())
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            for sent in failed:
                # Outside the batch's context now: track the new attempt here.
                future = await _deliver(
                    sent.topic, sent.key, sent.value, sent.timestamp, sent.partition
                )
                if future is not None:
                    self.track(_Sent(sent.topic, sent.key, sent.value, sent.timestamp, future))


_OUTBOX: ContextVar[Outbox | None] = ContextVar("newsflow_outbox", default=None)


async def _publish(topics: Topics, routed: Routed, raw_timestamp: float, stage: str) -> None:
    await _deliver(topics.by_name[routed.topic], routed.key, routed.to_json(), raw_timestamp)
    record_outcome(routed, stage, raw_timestamp)


async def _deliver(
    topic: faust.TopicT,
    key: bytes | None,
    value: bytes,
    timestamp: float | None,
    partition: int | None = None,
) -> asyncio.Future[Any] | None:
    """Send one record, retrying until it is buffered, and hold back while the topic is
    stalled: the input is never dropped, and its offset is committed only after the
    producer flushed it. Every hop uses it, the internal `tagged` topic too."""
    name = topic.get_topic_name()
    backoff = 0.5
    while True:
        try:
            sent = await asyncio.wait_for(
                topic.send(key=key, value=value, partition=partition, timestamp=timestamp),
                PUBLISH_TIMEOUT_SECONDS,
            )
        except (KafkaError, ProducerSendError, TimeoutError) as exc:
            # faust wraps what aiokafka raises at send time (e.g. a topic the ACLs deny).
            metrics.PUBLISH_ERRORS.labels(name).inc()
            if name not in PUBLISH_FAILING:
                logger.warning("cannot publish to %s, retrying: %r", name, exc)
            PUBLISH_FAILING.add(name)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        PUBLISH_FAILING.discard(name)
        break
    future = sent if isinstance(sent, asyncio.Future) else None
    if future is not None:
        state = _DELIVERY.setdefault(name, [0, time.monotonic()])
        if not state[0]:
            state[1] = time.monotonic()
        state[0] += 1
        future.add_done_callback(partial(_delivered, name))
        outbox = _OUTBOX.get()
        if outbox is not None:
            outbox.track(_Sent(topic, key, value, timestamp, future, partition))
    if name in _unwritable():
        logger.warning("%s: deliveries stalled, holding back", name)
        while name in _unwritable():
            metrics.PUBLISH_ERRORS.labels(name).inc()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        logger.warning("%s: deliveries flowing again", name)
    return future


def record_cleaning(article: TaggedArticle) -> None:
    """Lines removed and body length per source: a template change shows up here first."""
    source = metrics.SOURCE_LABEL(article.source)
    metrics.CLEAN_TEXT_CHARS.labels(source).observe(len(article.text))
    if article.cleaning is not None:
        for reason, count in article.cleaning.removed.items():
            metrics.BOILERPLATE_LINES_REMOVED.labels(source, reason).inc(count)


def record_outcome(routed: Routed, stage: str, raw_timestamp: float | None) -> None:
    value = routed.value
    if isinstance(value, Rejected):
        outcome = "rejected"
        metrics.REJECTIONS.labels(stage, value.error.code).inc()
    elif isinstance(value, Article):
        outcome = "clean" if value.dedup.status == "unique" else value.dedup.status
        if outcome == "clean":
            metrics.ARTICLES_BY_LANGUAGE.labels(metrics.LANGUAGE_LABEL(value.language.code)).inc()
            section = value.section.name if value.section else None
            metrics.ARTICLES_BY_SECTION.labels(metrics.SECTION_LABEL(section)).inc()
    else:  # pragma: no cover - Routed only carries the two
        return
    metrics.MESSAGES.labels(stage, outcome).inc()
    if raw_timestamp:
        metrics.END_TO_END_LATENCY.labels(outcome).observe(max(time.time() - raw_timestamp, 0))
