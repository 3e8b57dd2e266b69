"""Pipeline state backed by faust Tables, so it survives restarts and rebalances."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import faust
from faust.types import AppT, TableT

from service.errors import InfrastructureError
from service.runtime import faust_compat
from service.settings import Settings

_KNOWING: weakref.WeakKeyDictionary[AppT, asyncio.Lock] = weakref.WeakKeyDictionary()
_KNOWN: weakref.WeakSet[AppT] = weakref.WeakSet()


# RocksDB per table partition (faust opens one database for each): the rocksdict driver,
# and memory bounds well below faust's defaults (a 2 GiB block cache and 3 x 64 MiB
# memtables per database; a worker holds 5 tables x `partitions` databases).
ROCKSDB_OPTIONS: dict[str, Any] = {
    "driver": "rocksdict",
    "write_buffer_size": 16 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 64 * 1024 * 1024,
}


class RocksDBTable(faust.Table):
    """`app.Table` under `NEWSFLOW_STORE=rocksdb://`: every Table, the dedup ones
    included, opens its partitions with `ROCKSDB_OPTIONS` (a Table's own options win).
    faust's RocksDB Store pops `driver` from the dict it is given, so each Table gets
    its own copy."""

    def __init__(self, app: AppT, *, options: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(app, options={**ROCKSDB_OPTIONS, **(options or {})}, **kwargs)


def table_class(settings: Settings) -> dict[str, Any]:
    """faust.App keyword arguments for the configured store."""
    return {"Table": RocksDBTable} if settings.store.startswith("rocksdb:") else {}


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
        producer = faust_compat.kafka_producer(app)
        if app in _KNOWN or producer is None:
            return  # done already, or faust's test context, which has no Kafka
        for table in list(app.tables.values()):
            # Tracked, not just fetched: the producer's metadata refreshes ask only for
            # the topics it tracks and drop the rest, and it tracks a topic only when a
            # send found it missing.
            await producer.client.add_topic(table.changelog_topic.get_topic_name())
            await producer.partitions_for(table.changelog_topic.get_topic_name())
        _KNOWN.add(app)


async def changelogs_delivered(app: AppT) -> None:
    """Wait until Kafka acknowledged every Table write made so far.

    A batch's changelog writes go out through the producer, not through the batch's
    Outbox, so under at_least_once its offsets could commit while they were still in
    the producer's buffer: a SIGKILL then lost dedup state whose inputs would never be
    read again (a `probes` record: a late original no longer corrected its copies).
    Agents that write Tables call this before their batch counts as done."""
    await app.producer.flush()


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


class StorageFailure(InfrastructureError):
    """A Table read or write failed (RocksDB: disk full, I/O error): the input is
    retried, never dead-lettered."""


class Guarded(MutableMapping[str, Any]):
    """A Table whose failures are `StorageFailure`, not an error of the record at hand.

    The pipeline dead-letters a record whose processing raises; a data dir's full disk
    made the boilerplate Table's RocksDB writes raise, and good articles went to the
    rejected topic as processing_failed (fault soak, disk scenario)."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table

    @contextmanager
    def _storing(self) -> Iterator[None]:
        """A missing key stays a KeyError; any other failure is the store's."""
        try:
            yield
        except KeyError:
            raise
        except Exception as exc:  # noqa: BLE001 - the store, not the record
            raise StorageFailure(f"table {getattr(self.table, 'name', '?')}: "
                                 f"{type(exc).__name__}: {exc}") from exc

    def __getitem__(self, key: str) -> Any:
        with self._storing():
            return self.table[key]

    def __setitem__(self, key: str, value: Any) -> None:
        with self._storing():
            self.table[key] = value

    def __delitem__(self, key: str) -> None:
        with self._storing():
            del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)
