"""Thin loops: take a batch, run the pipeline, publish, record metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.types import EventT

from service import metrics
from service.models import Article, Origin, Rejected, TaggedArticle
from service.pipeline import Pipeline, Routed, dump
from service.runtime.app import Topics
from service.runtime.tables import WriteBehindStore
from service.settings import Settings

logger = logging.getLogger(__name__)


def origin_of(event: EventT) -> Origin:
    message = event.message
    return Origin(topic=message.topic, partition=message.partition, offset=message.offset)


def register_agents(
    app: faust.App,
    topics: Topics,
    pipeline: Pipeline,
    settings: Settings,
    boilerplate: WriteBehindStore,
) -> None:
    # One thread keeps CPU-heavy extraction off the event loop, so heartbeats keep flowing.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-clean")

    def prepare_timed(items: Sequence[tuple[bytes, Origin]]) -> list[TaggedArticle | Rejected]:
        results = []
        observe = metrics.STAGE_LATENCY.labels("prepare").observe
        for payload, origin in items:
            started = time.perf_counter()
            results.append(pipeline.prepare(payload, origin))
            observe(time.perf_counter() - started)
        return results

    @app.agent(topics.raw, name="newsflow.prepare")
    async def prepare(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        async for events in _batches(stream, settings):
            items = [(_payload(event), origin_of(event)) for event in events]
            results = await loop.run_in_executor(executor, prepare_timed, items)
            boilerplate.flush()
            for event, result in zip(events, results, strict=True):
                timestamp = event.message.timestamp
                if isinstance(result, Rejected):
                    await _publish(topics, pipeline.route_rejected(result), timestamp, "prepare")
                    continue
                await topics.tagged.send(
                    key=result.id.encode("utf-8"), value=dump(result), timestamp=timestamp
                )
                metrics.MESSAGES.labels("prepare", "tagged").inc()
                record_cleaning(result)

    @app.agent(topics.tagged, name="newsflow.dedup")
    async def dedup(stream: faust.StreamT[bytes]) -> None:
        observe = metrics.STAGE_LATENCY.labels("dedup").observe
        async for events in _batches(stream, settings):
            for event in events:
                started = time.perf_counter()
                routed = pipeline.finish_payload(_payload(event), origin_of(event))
                observe(time.perf_counter() - started)
                await _publish(topics, routed, event.message.timestamp, "dedup")

    inputs = {topics.raw.get_topic_name(), topics.tagged.get_topic_name()}

    @app.timer(5.0)
    async def report_lag() -> None:
        metrics.record_consumer_lag(app.consumer, inputs)


def _batches(stream: faust.StreamT[bytes], settings: Settings) -> AsyncIterator[Sequence[EventT]]:
    # take_events keeps each event's offset, and acks the batch only once we are done.
    concrete = cast(faust.Stream[bytes], stream)
    return concrete.take_events(settings.batch_size, settings.batch_within_seconds)


def _payload(event: EventT) -> bytes:
    value: Any = event.value
    return value if isinstance(value, bytes) else bytes(value or b"")


async def _publish(topics: Topics, routed: Routed, raw_timestamp: float, stage: str) -> None:
    topic = topics.by_name[routed.topic]
    try:
        await topic.send(key=routed.key, value=routed.to_json(), timestamp=raw_timestamp)
    except KafkaError:
        metrics.PUBLISH_ERRORS.labels(routed.topic).inc()
        raise
    record_outcome(routed, stage, raw_timestamp)


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
