"""Partitioned dedup in the worker (NEWSFLOW_DEDUP__MODE=partitioned): scatter, bands, gather.

Three agents replace the single `newsflow.dedup` agent (see docs/SCALE_OUT.md):

    tagged (by id) --scatter--> bands (by band key) --bands--> answers (by id) --decide-->
        articles.clean | articles.duplicates (+ corrections on articles.duplicates)

Every topic and table here has `topics.tagged_partitions` partitions, so faust's
assignor co-partitions them: tagged partition p, answers partition p and the
changelog partition p of the id-keyed tables land on the same worker. Probes and
answers are batched: one Kafka message per destination partition per input batch,
sent to the partition Kafka's default partitioner gives the band key (or the id),
which is what keying each probe record by its band key would do, at 1/30 the messages.

Tables are keyed by bytes (raw serializer): a `str` key would be JSON-encoded, and its
changelog partition would no longer match the topic partition of the same key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from functools import lru_cache
from typing import Any

import faust
import orjson
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from faust.types import TableT
from pydantic import ValidationError

from service import metrics
from service.errors import ProcessingFailed, SchemaViolation
from service.models import Article, TaggedArticle, utcnow
from service.pipeline import Pipeline, Routed, corrected
from service.runtime.agents import (
    PUBLISH_TIMEOUT_SECONDS,
    _batches,
    _payload,
    _publish,
    origin_of,
)
from service.runtime.app import Topics
from service.settings import Settings
from service.stages.dedup import Deduplicator
from service.stages.partitioned import (
    BandStore,
    Candidate,
    Correction,
    Gatherer,
    Journal,
    Verdict,
    make_probe,
)

logger = logging.getLogger(__name__)

SINGLE_DEDUP_AGENT = "newsflow.dedup"
TABLES = ("buckets", "states", "payloads", "journal")


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives a UTF-8 key."""
    return int((murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions)


@lru_cache(maxsize=65536)
def salted(name: str, partition: int, partitions: int) -> str:
    """`name` plus the smallest suffix that hashes to `partition` (journal keys)."""
    salt = 0
    while True:
        key = f"{name}~{salt}"
        if partition_of(key, partitions) == partition:
            return key
        salt += 1


class BytesKeyed(MutableMapping[str, Any]):
    """A bytes-keyed Table seen as a str-keyed store, as the pure core expects."""

    def __init__(self, table: MutableMapping[bytes, Any]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> Any:
        return self._table[key.encode("utf-8")]

    def get(self, key: str, default: Any = None) -> Any:
        return self._table.get(key.encode("utf-8"), default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._table[key.encode("utf-8")] = value

    def __delitem__(self, key: str) -> None:
        del self._table[key.encode("utf-8")]

    def __iter__(self) -> Iterator[str]:
        raise TypeError("iterating a Table-backed store is not supported")

    def __len__(self) -> int:
        return len(self._table)


def make_partitioned_tables(app: faust.App, settings: Settings) -> dict[str, TableT]:
    return {
        name: app.Table(
            f"newsflow-pdedup-{name}",
            partitions=settings.topics.tagged_partitions,
            key_type=bytes,
            use_partitioner=True,
            help=f"Partitioned dedup store {name!r} (see service/stages/partitioned.py).",
        )
        for name in TABLES
    }


class PartitionedDedup:
    """The scatter, band and decide agents with their topics and tables."""

    def __init__(self, app: faust.App, topics: Topics, pipeline: Pipeline, settings: Settings):
        self.app = app
        self.topics = topics
        self.pipeline = pipeline
        self.settings = settings
        self.cfg = settings.dedup
        self.dedup = Deduplicator(self.cfg)
        self.n = settings.topics.tagged_partitions
        if self.n == 1:
            logger.warning("partitioned dedup with tagged_partitions=1 runs on one core")
        names = settings.topics
        self.bands_topic = self._topic(names.bands)
        self.answers_topic = self._topic(names.answers)
        self.tables = make_partitioned_tables(app, settings)
        self.buckets = BytesKeyed(self.tables["buckets"])
        self.states = BytesKeyed(self.tables["states"])
        self.payloads = BytesKeyed(self.tables["payloads"])
        self.journal = BytesKeyed(self.tables["journal"])
        self._bands: dict[int, BandStore] = {}
        self._gathers: dict[int, Gatherer] = {}
        self._replace_single_agent()
        self._register()

    def _topic(self, name: str) -> faust.TopicT:
        return self.app.topic(
            name,
            partitions=self.n,
            replicas=self.settings.topics.replication_factor,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    def _replace_single_agent(self) -> None:
        """`register_agents` adds the single-stream dedup agent; this mode replaces it."""
        if self.app.agents.pop(SINGLE_DEDUP_AGENT, None) is None:
            raise RuntimeError(f"agent {SINGLE_DEDUP_AGENT!r} not found; cannot replace it")

    def _journal_key(self, partition: int) -> Any:
        n = self.n
        return lambda name: salted(name, partition, n)

    def band_store(self, partition: int) -> BandStore:
        store = self._bands.get(partition)
        if store is None:
            journal = Journal(self.journal, f"b{partition}", self._journal_key(partition))
            store = self._bands[partition] = BandStore(self.buckets, journal, self.cfg)
        return store

    def gatherer(self, partition: int) -> Gatherer:
        gather = self._gathers.get(partition)
        if gather is None:
            journal = Journal(self.journal, f"d{partition}", self._journal_key(partition))
            gather = self._gathers[partition] = Gatherer(
                self.states, journal, self.cfg, self.payloads
            )
        return gather

    # -- agents ----------------------------------------------------------------------

    def _register(self) -> None:
        app, settings = self.app, self.settings

        @app.agent(self.topics.tagged, name="newsflow.dedup.scatter")
        async def scatter(stream: faust.StreamT[bytes]) -> None:
            observe = metrics.STAGE_LATENCY.labels("dedup_scatter").observe
            async for events in _batches(stream, settings):
                envelopes: dict[int, list[Any]] = defaultdict(list)
                for event in events:
                    started = time.perf_counter()
                    await self._scatter_one(event, envelopes)
                    observe(time.perf_counter() - started)
                await self._send_all(self.bands_topic, "p", envelopes)

        @app.agent(self.bands_topic, name="newsflow.dedup.bands")
        async def bands(stream: faust.StreamT[bytes]) -> None:
            observe = metrics.STAGE_LATENCY.labels("dedup_bands").observe
            async for events in _batches(stream, settings):
                envelopes: dict[int, list[Any]] = defaultdict(list)
                for event in events:
                    started = time.perf_counter()
                    self._answer(event.message.partition, _payload(event), envelopes)
                    observe(time.perf_counter() - started)
                await self._send_all(self.answers_topic, "o", envelopes)

        @app.agent(self.answers_topic, name="newsflow.dedup.decide")
        async def decide(stream: faust.StreamT[bytes]) -> None:
            async for events in _batches(stream, settings):
                for event in events:
                    await self._decide(event.message.partition, _payload(event))

    async def _send_all(
        self, topic: faust.TopicT, field: str, envelopes: dict[int, list[Any]]
    ) -> None:
        for partition, items in sorted(envelopes.items()):
            value = orjson.dumps({field: items})
            await _send_retrying(topic, b"batch", value, partition)

    async def _scatter_one(self, event: Any, envelopes: dict[int, list[Any]]) -> None:
        payload, origin = _payload(event), origin_of(event)
        timestamp = event.message.timestamp
        try:
            article = TaggedArticle.model_validate_json(payload)
        except ValidationError as exc:
            rejected = self.pipeline.reject(payload, origin, SchemaViolation(str(exc)))
            await _publish(self.topics, self.pipeline.route_rejected(rejected), timestamp, "dedup")
            return
        home = partition_of(article.id, self.n)
        gather = self.gatherer(home)
        prior = gather.decided(article.id)
        if prior is not None:  # a replay: the verdict never changes
            await _publish(self.topics, self._routed(article, prior), timestamp, "dedup")
            return
        try:
            probe = make_probe(article, self.dedup)
        except Exception as exc:  # noqa: BLE001 - one input must never stop the stream
            logger.exception("unexpected dedup error at %s", origin.model_dump(exclude_none=True))
            failure = ProcessingFailed(f"{type(exc).__name__}: {exc}")
            rejected = self.pipeline.reject(payload, origin, failure)
            await _publish(self.topics, self.pipeline.route_rejected(rejected), timestamp, "dedup")
            return
        by_partition: dict[int, list[str]] = defaultdict(list)
        for key in probe.keys:
            by_partition[partition_of(key, self.n)].append(key)
        gather.expect(probe, by_partition)
        self.payloads[article.id] = [payload.decode("utf-8"), timestamp, time.time()]
        me = probe.me.dump()
        for partition, keys in by_partition.items():
            envelopes[partition].append([me, keys])

    def _answer(self, partition: int, payload: bytes, envelopes: dict[int, list[Any]]) -> None:
        store = self.band_store(partition)
        for me_dump, keys in orjson.loads(payload)["p"]:
            me = Candidate.load(me_dump)
            offer = store.offer(me, keys)
            if offer.overflow:
                metrics.DEDUP_BUCKET_OVERFLOW.inc(offer.overflow)
            metrics.DEDUP_CANDIDATES.observe(len(offer.earlier))
            envelopes[partition_of(me.id, self.n)].append(
                ["a", me.id, partition, [c.dump() for c in offer.earlier]]
            )
            for later in offer.later:
                envelopes[partition_of(later.id, self.n)].append(["l", later.id, me_dump])

    async def _decide(self, partition: int, payload: bytes) -> None:
        gather = self.gatherer(partition)
        for op in orjson.loads(payload)["o"]:
            if op[0] == "a":
                verdict = gather.answer(op[1], op[2], [Candidate.load(c) for c in op[3]])
                if verdict is not None:
                    await self._publish_verdict(op[1], verdict)
            else:
                correction = gather.late(op[1], Candidate.load(op[2]))
                if correction is not None:
                    await self._publish_correction(correction)

    def _routed(self, article: TaggedArticle, verdict: Verdict) -> Routed:
        result = Article(**dict(article), dedup=verdict.dedup(), processed_at=utcnow())
        topic = self.topics.clean if verdict.status == "unique" else self.topics.duplicates
        return Routed(topic=topic.get_topic_name(), value=result, key=result.id.encode("utf-8"))

    async def _publish_verdict(self, article_id: str, verdict: Verdict) -> None:
        held = self.payloads.get(article_id)
        if held is None:  # pragma: no cover - payload written before the probes are sent
            logger.error("no payload for decided article %s", article_id)
            return
        text, timestamp, scattered = held
        metrics.STAGE_LATENCY.labels("dedup_gather").observe(max(time.time() - scattered, 0))
        article = TaggedArticle.model_validate_json(text)
        await _publish(self.topics, self._routed(article, verdict), timestamp, "dedup")

    async def _publish_correction(self, correction: Correction) -> None:
        held = self.payloads.get(correction.article_id)
        if held is None:  # expired with its state: nothing left to correct
            return
        text, timestamp, _ = held
        routed = corrected(
            self._routed(TaggedArticle.model_validate_json(text), correction.verdict),
            correction,
            self.topics.duplicates.get_topic_name(),
        )
        topic = self.topics.duplicates
        await _send_retrying(topic, routed.key, routed.to_json(), None, timestamp)
        metrics.DEDUP_CORRECTIONS.inc()



async def _send_retrying(
    topic: faust.TopicT,
    key: bytes | None,
    value: bytes,
    partition: int | None,
    timestamp: float | None = None,
) -> None:
    """Send until buffered, as agents._publish does: an internal hop must not drop."""
    backoff = 0.5
    name = topic.get_topic_name()
    while True:
        try:
            await asyncio.wait_for(
                topic.send(key=key, value=value, partition=partition, timestamp=timestamp),
                PUBLISH_TIMEOUT_SECONDS,
            )
            return
        except (KafkaError, TimeoutError) as exc:
            metrics.PUBLISH_ERRORS.labels(name).inc()
            logger.warning("cannot publish to %s, retrying: %r", name, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


__all__ = ["PartitionedDedup", "partition_of", "salted"]
