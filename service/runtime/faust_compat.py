"""Every use of faust-streaming's and aiokafka's private state, in one place.

Written against faust-streaming 0.15.3 and aiokafka 0.14 (pinned in pyproject.toml);
each entry names what it works around and where upstream. The patches are applied once,
on import (service/runtime/app.py imports this module); the accessors are read by the
agents, the commit gate and the worker's readiness.

Patches:
- `_highwaters_from_the_broker`: table recovery under exactly_once took its highwaters
  from a fetch that had not happened yet, and recovered empty Tables.
- `_recovery_asyncio`: table recovery under exactly_once waited 10 s for a transaction
  marker that is never delivered; it now ends when a reader of ours shows nothing
  committed is left (`prove_recovery_ends`).
- `_table_manager_on_start`: a 1 s sleep before Table recovery starts.
- `_rocksdb_set`: under `rocksdb://`, a write to a `use_partitioner` Table went to the
  database of the *current event's* partition, not to the one of the changelog partition
  the key is sent to; a rewritten key then lived in two databases and a restarted worker
  could read the stale one. `_rocksdb_dbs_for_key` and `_rocksdb_bucket_for_key` then
  read a key from that one database, not from every one in turn.
- `_on_changelog_sent`: under `rocksdb://` (at_least_once), the offset a database says it
  holds everything up to moved to each Table write's own changelog offset, even past
  records another worker wrote in between (a paused worker's writes when it resumes):
  the next restore then skipped those records.

Accessors of private state (no public reader exists):
- `committed_offsets`: faust's view of what was committed (`Consumer._committed_offset`).
- `acknowledge`: records faust never handed out, entered into its ack bookkeeping
  (`Consumer._acked`, `_acked_index`, `_n_acked`).
- `kafka_producer`: the aiokafka producer under faust's (`Producer._producer`).
- `group_member_id`: the consumer's member id in its group (aiokafka's coordinator).
- `partition_items`: one changelog partition's entries of a rocksdb:// Table, read from
  that partition's own database (`Store._dbs`, `_visible_items`, `_decode_value`).

The offset guard (service/runtime/commits.py) works around faust losing fetched records
between its fetcher and a stream at start-ups and rebalances (docs/RELIABILITY.md, "No
input offset is skipped"), and touches no private state beyond `acknowledge` here. Where
they go (faust-streaming 0.15.3): `Stream._py_aiter` (streams.py) turns every event into
a skipped value, neither acked nor fetched again, when its message's generation is not the
app's current one or while flow control is suspended (added for faust-streaming/faust#221,
PR #223); faust counts on its seek to the committed offsets at the end of recovery to
fetch them again, and `Recovery.on_recovery_completed` resumes the partitions before that
seek and suspends nothing while it awaits it (the same ordering was fixed in
`_resume_streams` for faust-streaming/faust#216, PR #217). Which of these loses the
records we saw skipped is not proven; faust's commit over such a gap is
faust-streaming/faust#312 and #606.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.stores import rocksdb as faust_rocksdb
from faust.tables import base as faust_tables
from faust.tables import manager as faust_manager
from faust.tables import recovery as faust_recovery
from faust.transport.drivers import aiokafka as faust_aiokafka

from service.runtime.murmur import murmur2

T = TypeVar("T")
logger = logging.getLogger(__name__)

# How long table recovery waits with no changelog record before it looks for an
# aborted or committed transaction's marker at the end (faust: 5 s, twice). Too short
# and recovery ends while fetched records are still on their way to it: at 0.5 s, on a
# loaded box, a restarted worker lost Table entries and 19 of 1,500 copies came out
# unique (fault soak, 2026-12-02). 1 s passed every run seen; 2 s leaves more margin.
RECOVERY_IDLE_SECONDS = 2.0
# How long recovery's wait for a changelog record goes quiet before our own reader checks
# whether anything is left to apply (`_recovery_read_to_the_end`).
RECOVERY_QUIET_SECONDS = 0.1
# The literal timeout of faust's changelog read in `Recovery._slurp_changelogs`.
_FAUST_RECOVERY_IDLE_SECONDS = 5.0

_APPLIED = False
# Each app, and how to make a reader for `_recovery_read_to_the_end`.
_RECOVERY_READERS: WeakKeyDictionary[Any, Callable[[], AIOKafkaConsumer]] = WeakKeyDictionary()


async def _highwaters_from_the_broker(self: Any, partitions: Iterable[Any]) -> Mapping[Any, int]:
    """Table recovery's highwaters, asked of the broker.

    Under exactly_once faust takes them from `AIOKafkaConsumer.last_stable_offset(tp)`,
    which is the LSO seen in the last *fetch* of that partition: None for a changelog
    partition a fresh worker has not fetched yet, which faust turns into -1 ("nothing to
    recover"). A restarted worker then started with empty Tables, its dedup state gone
    (issue 22: "restored 0 after each of its 5 restarts"; with the dedup engine, every
    article its predecessor left undecided was lost). `end_offsets` sends ListOffsets
    with the consumer's isolation level, so under read_committed it is the LSO too.
    Upstream: faust-streaming 0.15.3 transport/drivers/aiokafka.py `_highwaters`; the
    empty-partition side of the same highwater logic is faust-streaming/faust#597."""
    consumer = self._ensure_consumer()
    offsets: Mapping[Any, int] = await consumer.end_offsets(list(partitions))
    return offsets


async def _wait_for_changelog(awaitable: Awaitable[T], timeout: float | None) -> T:
    if timeout != _FAUST_RECOVERY_IDLE_SECONDS:
        return await asyncio.wait_for(awaitable, timeout)
    record = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({record}, timeout=RECOVERY_QUIET_SECONDS)
    if not done and not await _recovery_read_to_the_end():
        done, _ = await asyncio.wait(
            {record}, timeout=RECOVERY_IDLE_SECONDS - RECOVERY_QUIET_SECONDS)
    if not done:
        record.cancel()
        try:
            return await record  # it may have come while being cancelled
        except asyncio.CancelledError:
            raise TimeoutError from None
    return record.result()


async def _recovery_read_to_the_end() -> bool:
    """True when every active changelog partition still counted as behind holds no
    committed record past what recovery applied, as a reader of our own says: faust then
    sees recovery complete on this very wait.

    Under exactly_once a changelog partition ends with a transaction marker (and may hold
    aborted records), which recovery never receives, so it cannot tell the end from a
    record still on its way and waits out two idle timeouts instead (2 x 2 s of a
    restart's ready time). A position alone proves nothing: faust's `Consumer.getmany`
    can drop records it fetched (its `flow_active` and generation checks). An
    independent read_committed read of the few offsets left does: no record there means
    only markers or aborted records remain, and those offsets are marked applied."""
    for app, reader in list(_RECOVERY_READERS.items()):
        recovery = app.tables.recovery
        if not recovery.in_recovery or not recovery.app.in_transaction:
            continue
        behind = {tp: (recovery.active_offsets[tp], highwater)
                  for tp, highwater in recovery.active_highwaters.items()
                  if highwater is not None and recovery.active_offsets[tp] is not None
                  and recovery.active_offsets[tp] < highwater}
        if not behind or not await _fetched_past(recovery.app.consumer, behind):
            continue
        try:
            clear = await asyncio.wait_for(_nothing_committed_in(reader(), behind),
                                           RECOVERY_IDLE_SECONDS)
        except Exception:  # noqa: BLE001 - unproven: faust's own timeouts decide
            logger.warning("could not read the changelog ends; recovery waits them out",
                           exc_info=True)
            return False
        if not clear:
            return False
        for tp, (_, highwater) in behind.items():
            recovery.active_offsets[tp] = highwater
        logger.info("changelogs read to the end: %d partitions held only transaction "
                    "markers or aborted records past what recovery applied", len(behind))
        return True
    return False


async def _fetched_past(consumer: Any, spans: Mapping[Any, tuple[int, int]]) -> bool:
    """Recovery's own consumer has fetched past every highwater: only then can the rest
    be markers (before that, the records are simply not fetched yet)."""
    for tp, (_, highwater) in spans.items():
        position = await consumer.position(tp)
        if position is None or position <= highwater:
            return False
    return True


async def _nothing_committed_in(reader: AIOKafkaConsumer,
                                spans: Mapping[Any, tuple[int, int]]) -> bool:
    """No committed record with an offset in (applied, highwater] in any partition."""
    parts = {TopicPartition(tp.topic, tp.partition): span for tp, span in spans.items()}
    try:
        await reader.start()
        reader.assign(list(parts))
        for tp, (applied, _) in parts.items():
            reader.seek(tp, applied + 1)
        left = {tp for tp, (_, highwater) in parts.items()
                if await reader.position(tp) <= highwater}
        while left:
            batches = await reader.getmany(*left, timeout_ms=200)
            for tp, records in batches.items():
                if any(record.offset <= parts[tp][1] for record in records):
                    return False
            left = {tp for tp in left if await reader.position(tp) <= parts[tp][1]}
        return True
    finally:
        await reader.stop()


def prove_recovery_ends(app: Any, reader: Callable[[], AIOKafkaConsumer]) -> None:
    """Let the app's table recovery end as soon as `reader` (a read_committed consumer of
    no topic, made per check) shows nothing left to apply (`_recovery_read_to_the_end`)."""
    _RECOVERY_READERS[app] = reader


async def _table_manager_on_start(self: Any) -> None:
    """faust's `TableManager.on_start` without its first `self.sleep(1.0)`.

    The sleep gives agents that define Tables as they start a moment to do so before the
    set is finalized; ours are all defined before the worker starts (a late one raises
    "Too late to add tables"), and the second went straight into a restart's ready time.
    Upstream: faust-streaming 0.15.3 tables/manager.py `TableManager.on_start`."""
    if not self.should_stop:
        await self._update_channels()
        await self.recovery.start()


def _recovery_asyncio() -> types.ModuleType:
    """faust's `tables.recovery` module sees this instead of `asyncio`: the same module,
    but a shorter wait for the next changelog record.

    Under exactly_once every changelog partition ends with a transaction marker, which a
    consumer never receives, so the last offset recovery waits for never comes. faust
    notices only after two consecutive 5 s waits with no record (`detect_aborted_tx`:
    the consumer's position has passed the highwater), and a worker restarted after a
    kill sat in recovery for 10 s with nothing left to read (issue 22: ready 16 s after
    the kill). Two empty waits of `RECOVERY_IDLE_SECONDS` keep faust's guard against a
    record still on its way from the fetcher. Upstream: faust-streaming 0.15.3
    tables/recovery.py `_slurp_changelogs`, `asyncio.wait_for(..., timeout=5.0)`; the
    aborted-transaction check came with the fix of faust-streaming/faust#47 (recovery
    hung under exactly_once)."""
    proxy = types.ModuleType("asyncio")
    proxy.__dict__.update(asyncio.__dict__)
    proxy.__dict__["wait_for"] = _wait_for_changelog
    return proxy


def _changelog_partition(store: Any, key: bytes) -> int:
    """The partition aiokafka's default partitioner gives `key` in the store's changelog
    (what a `use_partitioner` Table's changelog send picks: faust passes no partition)."""
    partitions = store.table.partitions or store.app.conf.topic_partitions
    return int((murmur2(key) & 0x7FFFFFFF) % partitions)


def _rocksdb_set(self: Any, key: bytes, value: bytes | None) -> None:
    """faust's RocksDB `Store._set`, with the database picked by the key's changelog
    partition for `use_partitioner` Tables.

    faust 0.15.3 (stores/rocksdb.py `Store._set`) writes to the database of
    `current_event().message.partition`: for our dedup Tables, written once per batch
    after the batch's last event, that is any partition of the batch. Recovery writes a
    changelog record to the database of its changelog partition, and reads search every
    database (faust-streaming/faust#130, #144), so a key rewritten from another event
    (a journal chunk, a corrected verdict) was held twice, and after a restart, with
    faust's key index empty, a read could return the older value. Keys placed where
    recovery puts them are held once, and a database holds exactly its changelog
    partition (what revoking and reassigning it assumes). Other tables: faust's own."""
    if not self.table.use_partitioner or self.table.is_global:
        _FAUST_ROCKSDB_SET(self, key, value)
        return
    partition = _changelog_partition(self, key)
    self._key_index[key] = partition
    self._db_for_partition(partition).put(key, value)


def _rocksdb_dbs_for_key(self: Any, key: bytes) -> Iterable[Any]:
    """The one database that can hold `key` (see `_rocksdb_set`), where faust looked in
    its key index, and on a miss (every key after a restart) in every database; reads,
    deletes and membership tests go through here or `_rocksdb_bucket_for_key`."""
    if not self.table.use_partitioner or self.table.is_global:
        return _FAUST_ROCKSDB_DBS_FOR_KEY(self, key)
    db = self._dbs.get(_changelog_partition(self, key))
    return () if db is None else (db,)


def _rocksdb_bucket_for_key(self: Any, key: bytes) -> Any:
    if not self.table.use_partitioner or self.table.is_global:
        return _FAUST_ROCKSDB_BUCKET_FOR_KEY(self, key)
    for db in _rocksdb_dbs_for_key(self, key):
        value = db.get(key)
        if value is not None:
            return faust_rocksdb._DBValueTuple(db, value)
    return None


_FAUST_ROCKSDB_SET = faust_rocksdb.Store._set
_FAUST_ROCKSDB_DBS_FOR_KEY = faust_rocksdb.Store._dbs_for_key
_FAUST_ROCKSDB_BUCKET_FOR_KEY = faust_rocksdb.Store._get_bucket_for_key


def _on_changelog_sent(self: Any, fut: Any) -> None:
    """faust's `Collection._on_changelog_sent`, which under at_least_once records the
    changelog offset of every acknowledged Table write as the offset the partition's
    RocksDB database holds everything up to, and recovery reads only what follows it
    (`Recovery._add`). That holds while this worker is the partition's only writer. A
    worker paused past its session (a zombie) resumes and writes on while the partition's
    new owner writes too: its acknowledgement lands after records it never applied, and
    when it owns the partition again its restore starts behind them. The dedup Tables
    then lacked the other worker's probes, and copies came out unique (fault soak,
    rocksdb://, SIGSTOP with two workers, 2026-12-02). The offset now moves only when the
    write is the next record after it; otherwise it stays, and the next restore reads
    from there, the other writer's records and ours in log order. Writes are acknowledged
    in order per partition (aiokafka sends one request at a time per broker), so a gap
    means another writer. exactly_once (faust persists on commit, and a zombie is fenced)
    and memory:// (no persisted offset: recovery reads from the start) are faust's own.
    faust-streaming 0.15.3 tables/base.py; no upstream issue found for it."""
    store = self.data
    if self.app.in_transaction or not isinstance(store, faust_rocksdb.Store):
        _FAUST_ON_CHANGELOG_SENT(self, fut)
        return
    sent = fut.result()
    tp, offset = sent.topic_partition, sent.offset
    held = store.persisted_offset(tp)
    if offset == (-1 if held is None else held) + 1:
        store.set_persisted_offset(tp, offset)
    elif held is None or offset > held:
        logger.warning(
            "another worker wrote to a changelog partition this worker holds; its next "
            "restore reads it again from where this worker's database is complete",
            extra={"topic": tp.topic, "partition": tp.partition, "complete_to": held,
                   "written_at": offset},
        )


_FAUST_ON_CHANGELOG_SENT = faust_tables.Collection._on_changelog_sent


def committed_offsets(consumer: Any) -> MutableMapping[Any, int]:
    """faust's own view of the committed offset per partition, read by its gap logic
    (`Consumer._new_offset`) and by our stall check; updated in place by our commits.
    Empty for a consumer without one (faust's test context)."""
    view = getattr(consumer, "_committed_offset", None)
    return view if view is not None else {}


def acknowledge(consumer: Any, done: Iterable[tuple[Any, int]]) -> None:
    """Enter (partition, offset) pairs faust never handed out into its ack bookkeeping,
    so that its commit moves past them (faust-streaming 0.15.3 transport/consumer.py
    `Consumer.ack`, which takes a faust Message). Offsets already acked or below the
    commit are left alone; without a Kafka consumer (test context) nothing happens."""
    acked = getattr(consumer, "_acked", None)
    index = getattr(consumer, "_acked_index", None)
    if acked is None or index is None:
        return
    committed = committed_offsets(consumer)
    for tp, offset in done:
        below = committed.get(tp)
        if offset in index[tp] or (below is not None and offset < below):
            continue
        index[tp].add(offset)
        acked[tp].append(offset)
        consumer._n_acked += 1


def group_member_id(consumer: Any) -> str | None:
    """The consumer's member id in its group; a new one means it was out of the group
    (its session expired) and joined again. None without a Kafka consumer. (faust-streaming
    0.15.3 `Consumer._thread`, aiokafka 0.14 `AIOKafkaConsumer._coordinator.member_id`.)"""
    try:
        member = consumer._thread._ensure_consumer()._coordinator.member_id
    except Exception:  # noqa: BLE001 - not started, or faust's test context
        return None
    return member if isinstance(member, str) and member else None


def partition_items(table: Any, partition: int) -> Iterator[tuple[bytes, Any]] | None:
    """A `use_partitioner` Table's (key, value) pairs in one changelog partition, from
    that partition's own RocksDB database, which holds exactly its keys (`_rocksdb_set`);
    values decoded as the Table decodes them. None for a store without per-partition
    databases (memory://).

    The public way, `Table.items()`, reads every active partition's database in turn, and
    telling which partition a key is in then takes a pure-Python murmur2 per key (the
    dedup rebuild reads a million). faust 0.15.3 stores/rocksdb.py keeps the databases in
    `Store._dbs` and opens one on demand in `_db_for_partition`."""
    store = table.data
    if not isinstance(getattr(store, "_dbs", None), dict) or not hasattr(store, "_visible_items"):
        return None
    items = store._visible_items(store._db_for_partition(partition))
    if store.value_serializer == "json" and store.value_type is None:
        # What faust's json codec does (faust.utils.json.loads is orjson.loads), without
        # its serializer registry's few Python calls per value.
        return ((key, orjson.loads(value)) for key, value in items)
    return ((key, store._decode_value(value)) for key, value in items)


def kafka_producer(app: Any) -> AIOKafkaProducer | None:
    """The aiokafka producer inside faust's, once started; None before, and in faust's
    test context (faust-streaming 0.15.3 transport/drivers/aiokafka.py `Producer._producer`)."""
    producer = getattr(app.producer, "_producer", None)
    return producer if isinstance(producer, AIOKafkaProducer) else None


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    faust_aiokafka.AIOKafkaConsumerThread._highwaters = _highwaters_from_the_broker  # type: ignore[method-assign]
    faust_recovery.asyncio = _recovery_asyncio()
    faust_manager.TableManager.on_start = _table_manager_on_start  # type: ignore[method-assign]
    faust_rocksdb.Store._set = _rocksdb_set  # type: ignore[method-assign]
    faust_rocksdb.Store._dbs_for_key = _rocksdb_dbs_for_key  # type: ignore[method-assign]
    faust_rocksdb.Store._get_bucket_for_key = _rocksdb_bucket_for_key  # type: ignore[method-assign]
    faust_tables.Collection._on_changelog_sent = _on_changelog_sent  # type: ignore[method-assign]
    _APPLIED = True


apply()
