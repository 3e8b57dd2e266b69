"""`Delivery`: every send a worker makes, and what /readyz learns from them.

One object per worker (built by `Service`, handed to the agents), so nothing here is
module state: a send is retried until the producer buffered it, each batch's sends are
tracked in its `Outbox` until Kafka acknowledged them, and a topic whose sends fail or
whose deliveries make no progress is listed as stalled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

import faust
from aiokafka.errors import IllegalOperation, KafkaError
from faust.exceptions import ProducerSendError

from service import metrics
from service.models import Article, Rejected
from service.pipeline import Routed
from service.runtime.app import Topics

logger = logging.getLogger(__name__)

# A send waits this long for metadata and buffer space, and a topic whose deliveries make
# no progress for this long is stalled (a missing topic, a denied ACL, a broker away).
# faust's own limit is 20 minutes.
PUBLISH_TIMEOUT_SECONDS = 10.0


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

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery
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
                future = await self._delivery.deliver(
                    sent.topic, sent.key, sent.value, sent.timestamp, sent.partition
                )
                if future is not None:
                    self.track(_Sent(sent.topic, sent.key, sent.value, sent.timestamp, future))


class Delivery:
    """Sends, retries and the health of each output topic, for one worker."""

    def __init__(self) -> None:
        # Topics whose last send failed outright, or whose last delivery Kafka refused.
        self.publish_failing: set[str] = set()
        self.delivery_failing: set[str] = set()
        # Per topic: [deliveries pending, monotonic time the topic last made progress].
        self._progress: dict[str, list[float]] = {}
        self._outbox: ContextVar[Outbox | None] = ContextVar("newsflow_outbox", default=None)

    # -- batches ---------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Outbox]:
        """The Outbox of the batch processed in this context (and in tasks it spawns)."""
        outbox = Outbox(self)
        self._outbox.set(outbox)
        try:
            yield outbox
        finally:
            # Not reset(token): a generator closed by the GC runs this elsewhere.
            self._outbox.set(None)

    async def settle(self) -> None:
        """Wait until Kafka acknowledged what the current batch has sent so far.

        For an agent that must record state only after its outputs are out: under
        at_least_once a kill between the two then repeats an output, where the other
        order lost it (the state said done, so the replayed input published nothing)."""
        outbox = self._outbox.get()
        if outbox is not None:
            await outbox.settle()

    def outside_batch(self) -> None:
        """Sends from here on belong to no batch (a task spawned inside one copies its
        context, and would join an Outbox that batch is settling)."""
        self._outbox.set(None)

    # -- health ----------------------------------------------------------------------

    def unwritable(self) -> set[str]:
        """Topics to hold back on: sends not even buffered, or deliveries making no
        progress. (A refused delivery is not one: its batch's Outbox sends it again.)"""
        now = time.monotonic()
        stalled = {
            name
            for name, (pending, since) in self._progress.items()
            if pending and now - since > PUBLISH_TIMEOUT_SECONDS
        }
        return stalled | self.publish_failing

    def stalled_topics(self) -> set[str]:
        """Output topics that cannot be written now: /readyz is 503 while any is listed."""
        return self.unwritable() | self.delivery_failing

    def _delivered(self, name: str, future: asyncio.Future[Any]) -> None:
        state = self._progress[name]
        state[0], state[1] = state[0] - 1, time.monotonic()
        if future.cancelled() or future.exception() is not None:
            metrics.PUBLISH_ERRORS.labels(name).inc()
            self.delivery_failing.add(name)
        else:
            self.delivery_failing.discard(name)

    # -- sends -----------------------------------------------------------------------

    async def publish(self, topics: Topics, routed: Routed, raw_timestamp: float,
                      stage: str) -> None:
        await self.deliver(topics.by_name[routed.topic], routed.key, routed.to_json(),
                           raw_timestamp)
        record_outcome(routed, stage, raw_timestamp)

    async def deliver(
        self,
        topic: faust.TopicT,
        key: bytes | None,
        value: bytes,
        timestamp: float | None,
        partition: int | None = None,
    ) -> asyncio.Future[Any] | None:
        """Send one record, retrying until it is buffered, and hold back while the topic
        is stalled: the input is never dropped, and its offset is committed only after
        the producer flushed it. Every hop uses it, the internal `tagged` topic too."""
        name = topic.get_topic_name()
        future = await self._buffered(topic, name, key, value, timestamp, partition)
        if future is not None:
            state = self._progress.setdefault(name, [0, time.monotonic()])
            if not state[0]:
                state[1] = time.monotonic()
            state[0] += 1
            future.add_done_callback(partial(self._delivered, name))
            outbox = self._outbox.get()
            if outbox is not None:
                outbox.track(_Sent(topic, key, value, timestamp, future, partition))
        await self._hold_while_stalled(name)
        return future

    async def _buffered(self, topic: faust.TopicT, name: str, key: bytes | None, value: bytes,
                        timestamp: float | None,
                        partition: int | None) -> asyncio.Future[Any] | None:
        backoff = 0.5
        while True:
            try:
                sent = await asyncio.wait_for(
                    topic.send(key=key, value=value, partition=partition, timestamp=timestamp),
                    PUBLISH_TIMEOUT_SECONDS,
                )
            except (KafkaError, ProducerSendError, TimeoutError, IllegalOperation) as exc:
                # faust wraps what aiokafka raises at send time (e.g. a topic the ACLs deny).
                # IllegalOperation: under exactly_once, a send between a commit and the next
                # transaction, or while a rebalance has stopped it (dedup's re-probes run
                # outside any batch): it goes into the next one.
                metrics.PUBLISH_ERRORS.labels(name).inc()
                if name not in self.publish_failing:
                    logger.warning("cannot publish to %s, retrying: %r", name, exc)
                self.publish_failing.add(name)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.publish_failing.discard(name)
            return sent if isinstance(sent, asyncio.Future) else None

    async def _hold_while_stalled(self, name: str) -> None:
        if name not in self.unwritable():
            return
        logger.warning("%s: deliveries stalled, holding back", name)
        backoff = 0.5
        while name in self.unwritable():
            metrics.PUBLISH_ERRORS.labels(name).inc()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        logger.warning("%s: deliveries flowing again", name)


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
