"""Pipeline state backed by faust Tables, so it survives restarts and rebalances."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.types import AppT, TableT

from service import metrics
from service.settings import Settings
from service.stages.index import DURABLE_STORES, DedupIndex

_KNOWING: weakref.WeakKeyDictionary[AppT, asyncio.Lock] = weakref.WeakKeyDictionary()
_KNOWN: weakref.WeakSet[AppT] = weakref.WeakSet()


async def know_changelog_partitions(app: AppT) -> None:
    """Keep every table's changelog in the producer's metadata, before the first write.

    With `use_partitioner`, faust hashes a key to its changelog partition synchronously
    from the producer's metadata (aiokafka `_partition`). aiokafka refreshes metadata for
    the topics its client tracks only, and a first send to `newsflow.tagged` made it track
    that topic alone: the changelogs dropped out and the next Table write raised
    TypeError. A worker that started on a backlog hit it within its first records."""
    if app in _KNOWN:
        return
    async with _KNOWING.setdefault(app, asyncio.Lock()):
        producer = getattr(app.producer, "_producer", None)  # faust has no public accessor
        if app in _KNOWN or not isinstance(producer, AIOKafkaProducer):
            return  # done already, or faust's test context, which has no Kafka
        for table in list(app.tables.values()):
            # Tracked, not just fetched: the producer's metadata refreshes ask only for
            # the topics it tracks and drop the rest, and it tracks a topic only when a
            # send found it missing.
            await producer.client.add_topic(table.changelog_topic.get_topic_name())
            await producer.partitions_for(table.changelog_topic.get_topic_name())
        _KNOWN.add(app)


def make_dedup_tables(app: faust.App, settings: Settings) -> dict[str, TableT]:
    # Dedup reads one ordered stream (tagged_partitions, 1 by default) so the tables are
    # co-partitioned with it; use_partitioner lets batch code write without an event.
    # Only the durable stores are Tables; bands and URLs are rebuilt from `docs`.
    return {
        name: app.Table(
            f"newsflow-dedup-{name}",
            partitions=settings.topics.tagged_partitions,
            key_type=str,
            use_partitioner=True,
            help=f"Dedup index store {name!r} (see service/stages/index.py).",
        )
        for name in DURABLE_STORES
    }


def make_boilerplate_table(app: faust.App, settings: Settings) -> TableT:
    # Learned chrome per source. Keys spread over the raw topic's partition count; after a
    # rebalance a worker relearns the sources whose partitions it did not restore.
    return app.Table(
        "newsflow-boilerplate",
        partitions=settings.topics.partitions,
        key_type=str,
        use_partitioner=True,
        help="Per-source line-hash windows for boilerplate learning.",
    )


class MeteredDedupIndex(DedupIndex):
    """The dedup index, recording its size, evictions and candidate counts.

    The stage stays free of Prometheus: the worker builds this instead of `DedupIndex`
    and every lookup, eviction and the index size are observed here. The size is
    `len()` of the `docs` store, which a RocksDB-backed Table computes by iterating, so it
    is cached for `size_every` seconds and only evaluated when /metrics is scraped.
    """

    def __init__(
        self, stores: Mapping[str, MutableMapping[str, Any]], size_every: float = 30.0
    ) -> None:
        super().__init__(stores)
        self._size_every = size_every
        self._size = 0
        self._size_at = float("-inf")
        metrics.DEDUP_INDEX_SIZE.set_function(self.size)

    def size(self) -> float:
        now = time.monotonic()
        if now - self._size_at >= self._size_every:
            try:
                self._size = len(self.docs)
            except Exception:  # noqa: BLE001 - a table not yet started has no size
                return float(self._size)
            self._size_at = now
        return float(self._size)

    def candidates(self, keys: Iterable[str], limit: int) -> list[str]:
        found = super().candidates(keys, limit)
        metrics.DEDUP_CANDIDATES.observe(len(found))
        return found

    def evict(self, cutoff: int, bands: int, rows: int, limit: int | None = None) -> int:
        evicted = super().evict(cutoff, bands, rows, limit)
        if evicted:
            metrics.DEDUP_EVICTIONS.inc(evicted)
        return evicted
