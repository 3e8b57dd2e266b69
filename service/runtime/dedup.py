"""The dedup engine in the worker: scatter, bands, decide (service/stages/dedup/engine.py).

Three agents move the engine's messages over Kafka (see docs/SCALE_OUT.md):

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

Durable state is small, and written once per batch (`WriteBehind`):

- `probes`: per bands partition and input batch, the probes it took, packed as columns
  (`stages/dedup/packed.py`), keyed to hash to that partition. The buckets themselves
  are in memory, derived from these records after every rebalance (`_rebuild`).
- `payloads`: per article, its JSON and candidate (the probe can be recomputed from it).
- `verdicts`: per decided article, its verdict (rewritten by a correction).
- `journal`: event-time hour chunks of the `probes` records, so the oldest are dropped
  first once a partition holds more than its share of `dedup.max_entries`. Payloads and
  verdicts are dropped with their gather state, by the same bound.

Gather states are in memory too: after a rebalance a decided article gets its recorded
verdict back, and an undecided one is reopened and its probe sent again; band
partitions answer a probe they already hold with the same earlier set and no insert.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import faust
import orjson
from faust.exceptions import AlreadyConfiguredWarning
from faust.types import TableT
from pydantic import ValidationError

from service import metrics
from service.errors import ProcessingFailed, SchemaViolation
from service.models import Article, TaggedArticle, utcnow
from service.pipeline import Pipeline, Routed, corrected
from service.runtime import faust_compat
from service.runtime.agents import _batches, _payload, origin_of, until_stored
from service.runtime.app import Topics
from service.runtime.delivery import Delivery
from service.runtime.faust_compat import partition_items
from service.runtime.murmur import partition_of, partitions_of
from service.runtime.tables import changelogs_delivered
from service.settings import Settings
from service.stages.dedup import (
    BandStore,
    Candidate,
    Correction,
    Evicted,
    Gatherer,
    Journal,
    Probe,
    Verdict,
    make_probe,
    packed,
    per_partition,
    probe_keys,
    signer,
)

logger = logging.getLogger(__name__)

# Standby replicas make every worker also consume every other worker's changelogs: with
# two workers that cost ~15% more CPU per article (bench/results/partitioned.md). The
# engine rebuilds its in-memory state from the changelogs after each rebalance anyway, so
# a standby only shortens failover. Meant to become a setting (see docs/SCALE_OUT.md).
STANDBY_REPLICAS = 0
TABLES = ("probes", "payloads", "verdicts", "journal")
# `probes` records are bytes (`stages/dedup/packed.py`), written and read as they are; a
# JSON record of an older worker reads as its JSON bytes, which `packed.load` takes too.
RAW_VALUES: dict[str, dict[str, Any]] = {
    "probes": {"value_type": bytes},
}
# How often a worker checks whether partitions it gained can be rebuilt (streams flowing).
RESTORE_CHECK_SECONDS = 0.5
# A rebuild hands the event loop back at least this often (heartbeats, other partitions).
SLICE_SECONDS = 0.02
RESTORE_CHUNK = 4096  # decided gathers restored per call: a few ms of the event loop
# At most this many probes or answers per Kafka message and per `probes` record (about
# 1.5 KB each). A bands batch can hold `batch_size` envelopes of `batch_size` probes
# each: written whole, a worker filling a 200,000-article index on a backlog sent an
# 18 MB record and crashed on the 16 MiB request limit.
MAX_ITEMS_PER_RECORD = 512
# The Tables each agent writes, so flushes once its batch is done: the three agents share
# the stores' pending writes, and a batch must make only its own durable. decide records
# a verdict after Kafka acknowledged the output; a scatter or bands batch that flushed
# everything recorded verdicts in between, and a kill then lost their outputs for good
# (at_least_once: the restarted worker found the articles decided and sent nothing; the
# rocksdb:// fault soak of 9b998d1 lost 2 inputs in 1 of 10 kill runs). decide also drops
# the payloads of the articles it evicts; it may flush a scatter's payload early, which
# is harmless (a payload must only be durable before its probes go out).
FLUSHED_BY: dict[str, tuple[str, ...]] = {
    "scatter": ("payloads",),
    "bands": ("probes", "journal"),
    "decide": ("verdicts", "payloads"),
}


class Slicer:
    """Yield to the event loop once `SLICE_SECONDS` have passed since the last time."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = SLICE_SECONDS if seconds is None else seconds
        self.since = time.perf_counter()

    async def turn(self) -> None:
        if self.due():
            await asyncio.sleep(0)
            self.since = time.perf_counter()

    def due(self) -> bool:
        """Whether `turn` would yield: a loop over a million records asks this, not
        `turn`, per record (an await costs more than the test)."""
        return time.perf_counter() - self.since > self.seconds


def salt(name: str, partition: int, partitions: int) -> str:
    """`name` plus the smallest suffix that hashes to `partition`."""
    n = 0
    while True:
        key = f"{name}~{n}"
        if partition_of(key, partitions) == partition:
            return key
        n += 1


def chunks(items: list[Any], size: int | None = None) -> Iterator[list[Any]]:
    """`items` in order, in lists of at most `size` (MAX_ITEMS_PER_RECORD)."""
    size = size or MAX_ITEMS_PER_RECORD
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Journal keys recur (one per hour and chunk), so they are worth caching.
salted = lru_cache(maxsize=65536)(salt)


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


_GONE = object()


class WriteBehind(MutableMapping[str, Any]):
    """A store whose writes wait for `flush` (once per batch): a key rewritten several
    times in a batch, like a journal chunk, costs one changelog record."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store
        self._pending: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._pending:
            value = self._pending[key]
            return default if value is _GONE else value
        return self._store.get(key, default)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _GONE)
        if value is _GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._pending[key] = value

    def __delitem__(self, key: str) -> None:
        if self.get(key, _GONE) is _GONE:
            raise KeyError(key)
        self._pending[key] = _GONE

    def __iter__(self) -> Iterator[str]:
        raise TypeError("iterating a write-behind store is not supported")

    def __len__(self) -> int:
        raise TypeError("the size of a write-behind store is not known")

    def flush(self) -> int:
        """Write what is pending to the store; returns the number of records written."""
        written = 0
        for key in list(self._pending):
            value = self._pending[key]
            if value is _GONE:
                self._store.pop(key, None)
            else:
                self._store[key] = value
            del self._pending[key]  # only once written: a failed flush resumes here
            written += 1
        return written


def make_partitioned_tables(app: faust.App, settings: Settings) -> dict[str, TableT]:
    return {
        name: app.Table(
            f"newsflow-pdedup-{name}",
            partitions=settings.topics.tagged_partitions,
            key_type=bytes,
            use_partitioner=True,
            help=f"Dedup store {name!r} (see service/runtime/dedup.py).",
            **RAW_VALUES.get(name, {}),
        )
        for name in TABLES
    }


class DedupAgents:
    """The scatter, band and decide agents with their topics and tables."""

    def __init__(self, app: faust.App, topics: Topics, pipeline: Pipeline, settings: Settings,
                 delivery: Delivery):
        self.app = app
        self.delivery = delivery
        self.topics = topics
        self.pipeline = pipeline
        self.settings = settings
        self.cfg = settings.dedup
        self.signer = signer(self.cfg)
        self.n = settings.topics.tagged_partitions
        self.capacity = per_partition(self.cfg.max_entries, self.n)
        names = settings.topics
        self.bands_topic = self._topic(names.bands)
        self.answers_topic = self._topic(names.answers)
        if app.conf.table_standby_replicas != STANDBY_REPLICAS:
            # Read by the assignor, which is built when the worker starts (after this);
            # faust warns because the app's settings were read once at creation.
            logger.info("dedup: table standby replicas set to %d", STANDBY_REPLICAS)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AlreadyConfiguredWarning)
                app.conf.table_standby_replicas = STANDBY_REPLICAS
        self.tables = make_partitioned_tables(app, settings)
        self.stores = {name: WriteBehind(BytesKeyed(table)) for name, table in self.tables.items()}
        self.probes = self.stores["probes"]
        self.payloads = self.stores["payloads"]
        self.verdicts = self.stores["verdicts"]
        self.journal = self.stores["journal"]
        self._bands: dict[int, BandStore] = {}
        self._gathers: dict[int, Gatherer] = {}
        self._resending: set[asyncio.Future[None]] = set()
        self._restore_due = False
        self._epoch = 0  # rebalances seen: a rebuild begun before the last one is void
        self._builds: dict[tuple[str, int], asyncio.Future[None]] = {}
        self._member: str | None = None
        metrics.DEDUP_INDEX_SIZE.set_function(self.size)
        self._register()
        app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def size(self) -> float:
        return float(sum(len(store) for store in list(self._bands.values())))

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

    def _journal(self, name: str, partition: int) -> Journal:
        n = self.n
        return Journal(self.journal, f"{name}{partition}", lambda key: salted(key, partition, n))

    async def _flush(self, agent: str) -> None:
        """Write the Table changes of `agent`'s batch, retried while the store refuses
        them (a full data dir disk under rocksdb://): the batch waits, uncommitted."""
        await until_stored("dedup", lambda: self._write_stores(FLUSHED_BY[agent]))

    def _write_stores(self, names: tuple[str, ...]) -> None:
        for name in names:
            self.stores[name].flush()

    # -- restore -----------------------------------------------------------------------

    async def _on_rebalance_complete(
        self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any
    ) -> None:
        """Drop the state of the partitions this worker lost, and mark the ones it gained
        for a rebuild. Partitions it kept keep their state: a batch of theirs may still
        be in flight (faust does not pause the agents of partitions not revoked).

        The rebuild waits until the streams flow again (`restore_pending`, or the first
        event of a partition): faust sends this signal before its Tables have applied
        what recovery read (`Recovery.on_recovery_completed` runs the tables' callbacks
        after it), and a fresh worker rebuilt from empty tables here, dropping the
        answers of every article its predecessor had left undecided. A rebuild still
        running is abandoned (`_epoch`): the Tables it reads may have moved on.

        A worker that joined the group again under a new member id was out of it (paused
        past its session: a zombie): another worker owned its partitions meanwhile, so
        none of its state is kept, even for partitions it holds again; its batches of
        then cannot commit (the group no longer knows it). Not so a worker that only saw
        a rebalance restart: its batch in flight commits, and must find its state."""
        previous, member = self._member, faust_compat.group_member_id(self.app.consumer)
        self._member = member
        self._epoch += 1
        self._builds.clear()
        if previous is not None and member is not None and member != previous:
            logger.warning("dedup: rejoined the group as a new member; rebuilding every "
                           "partition from its changelog")
            self._bands.clear()
            self._gathers.clear()
        bands, gathers = self._assigned()
        for q in set(self._bands) - bands:
            del self._bands[q]
        for p in set(self._gathers) - gathers:
            del self._gathers[p]
        self._restore_due = True

    def _assigned(self) -> tuple[set[int], set[int]]:
        assigned = self.app.assignor.assigned_actives()
        bands_name = self.bands_topic.get_topic_name()
        tagged_name = self.topics.tagged.get_topic_name()
        return ({tp.partition for tp in assigned if tp.topic == bands_name},
                {tp.partition for tp in assigned if tp.topic == tagged_name})

    def restoring(self) -> bool:
        """Whether a partition this worker is assigned still waits for its in-memory
        state (what /readyz waits for: no verdict can be given before it)."""
        bands, gathers = self._assigned()
        return self._restore_due or not (bands <= self._bands.keys()
                                         and gathers <= self._gathers.keys())

    def restore_pending(self) -> bool:
        """Start rebuilding the partitions gained at the last rebalance once the streams
        flow (Tables applied); their undecided articles are probed again when done.
        Returns whether it started."""
        app = self.app
        recovery = getattr(app.tables, "recovery", None)
        if not self._restore_due or app.rebalancing or app.in_recovery or recovery is None:
            return False
        if not recovery.completed.is_set() or not app.flow_control.is_active():
            return False
        self._restore_due = False
        bands, gathers = self._assigned()
        self._build(bands - set(self._bands), gathers - set(self._gathers))
        return True

    def _build(self, bands: set[int], gathers: set[int]) -> asyncio.Future[None] | None:
        """Rebuild these partitions in the background, unless a rebuild of theirs runs
        already; agents that need one of them wait for it (`band_store`, `gatherer`)."""
        bands = {q for q in bands if ("b", q) not in self._builds}
        gathers = {p for p in gathers if ("g", p) not in self._builds}
        if not bands and not gathers:
            return None
        task = asyncio.ensure_future(self._rebuild(bands, gathers, self._epoch))
        for key in [("b", q) for q in bands] + [("g", p) for p in gathers]:
            self._builds[key] = task

        def done(task: asyncio.Future[None]) -> None:
            for key in [key for key, t in self._builds.items() if t is task]:
                del self._builds[key]
            if not task.cancelled() and task.exception() is not None:
                logger.error("dedup restore failed", exc_info=task.exception())

        task.add_done_callback(done)
        return task

    async def _rebuild(self, bands: set[int], gathers: set[int], epoch: int) -> None:
        """Read the partitions' records from the Tables and build their band stores and
        gathers aside, handing the event loop back every `SLICE_SECONDS` (the sort of a
        band partition's index runs in a thread); install them only if no rebalance came
        in between. Nothing reads a partition's state before it is installed."""
        started = time.perf_counter()
        slicer = Slicer()
        built: dict[int, BandStore] = {}
        # An article's probe is held by every band partition it has keys on (about all
        # of them): decoded once. One partition's probes at a time: their keys are most
        # of what a rebuild holds.
        loaded: dict[tuple[Any, ...], Candidate] = {}
        for q in sorted(bands):
            taken, packed_records = await self._read_probes(q, loaded, slicer)
            if epoch != self._epoch:
                return
            built[q] = BandStore(self.cfg, self.capacity)
            evicted = await asyncio.to_thread(built[q].restore_many, taken, packed_records)
            if evicted.total:
                record_evictions(evicted)
        del loaded
        gathered, resend = await self._read_gathers(gathers, slicer)
        if epoch != self._epoch:
            return
        self._bands.update(built)
        self._gathers.update(gathered)
        logger.info(
            "dedup restored after rebalance %d", self.app.rebalancing_count,
            extra={"band_partitions": sorted(bands), "gather_partitions": sorted(gathers),
                   "articles": sum(len(g) for g in gathered.values()),
                   "reprobed": sum(len(v) for v in resend.values()),
                   "seconds": round(time.perf_counter() - started, 3)},
        )
        self._resend(resend)

    async def _read_probes(
        self, partition: int, loaded: dict[tuple[Any, ...], Candidate], slicer: Slicer
    ) -> tuple[list[tuple[Candidate, list[str]]], list[packed.PackedProbes]]:
        """A band partition's probe records: packed ones as columns, JSON ones (older
        workers, odd probes) as candidates, each decoded once across partitions."""
        taken: list[tuple[Candidate, list[str]]] = []
        columns: list[packed.PackedProbes] = []
        for _p, _key, record in self._entries("probes", {partition}):
            read = packed.load(record)
            if isinstance(read, packed.PackedProbes):
                columns.append(read)
            else:
                for me, keys in read:
                    taken.append((loaded.setdefault(tuple(me), me), keys))
            if slicer.due():
                await slicer.turn()
        return taken, columns

    async def _read_gathers(
        self, partitions: set[int], slicer: Slicer
    ) -> tuple[dict[int, Gatherer], dict[int, list[Any]]]:
        """The gathers of `partitions`, and the probes to send again."""
        gathered = {p: self._new_gatherer(p) for p in partitions}
        resend: dict[int, list[Any]] = defaultdict(list)
        recorded = await self._recorded_verdicts(partitions, slicer)
        # Decided ones (nearly all) wait for nothing and need no keys: restored in whole
        # columns, a chunk at a time (a million parsed records held at once would keep
        # the garbage collector busy).
        decided: dict[int, tuple[list[Any], list[Any]]] = {p: ([], []) for p in partitions}
        for p, key, held in self._entries("payloads", partitions):
            verdict = (self.verdicts.get(key.decode("utf-8")) if recorded is None
                       else recorded.get(key))
            if verdict is not None:
                dumps, verdicts = decided[p]
                dumps.append(held[3])
                verdicts.append(verdict)
                if len(dumps) >= RESTORE_CHUNK:
                    gathered[p].restore_decided(dumps, verdicts)
                    decided[p] = ([], [])
            else:
                me = Candidate.load(held[3])
                probe = Probe(me, probe_keys(me, self.signer))
                by_partition = self._split(probe.keys)
                gathered[p].restore(probe, by_partition, None)
                for q, keys in by_partition.items():
                    resend[q].append([held[3], keys])
            if slicer.due():
                await slicer.turn()
        for p, (dumps, verdicts) in decided.items():
            if dumps:
                gathered[p].restore_decided(dumps, verdicts)
        return gathered, resend

    async def _recorded_verdicts(
        self, partitions: set[int], slicer: Slicer
    ) -> dict[bytes, Any] | None:
        """The `verdicts` of `partitions` read in one pass of their databases (a lookup
        per article costs a murmur2 hash and a read); None under memory://, where a
        lookup is a dict's. Nothing else writes these partitions' verdicts meanwhile:
        their decide agent waits for the rebuild."""
        if not partitions or partition_items(self.tables["verdicts"], min(partitions)) is None:
            return None
        recorded: dict[bytes, Any] = {}
        for _p, key, verdict in self._entries("verdicts", partitions):
            recorded[key] = verdict
            if slicer.due():
                await slicer.turn()
        return recorded

    def _entries(self, name: str, partitions: set[int]) -> Iterator[tuple[int, bytes, Any]]:
        """(partition, key, value) of table `name` in `partitions`: from each partition's
        own database under rocksdb://, else by hashing every key of a snapshot."""
        table = self.tables[name]
        if not partitions:
            return
        if partition_items(table, min(partitions)) is None:  # memory://
            for key, value in list(table.items()):
                p = partition_of(key.decode("utf-8"), self.n)
                if p in partitions:
                    yield p, key, value
            return
        for p in sorted(partitions):
            for key, value in partition_items(table, p) or ():
                yield p, key, value

    def _resend(self, envelopes: dict[int, list[Any]]) -> None:
        """Send the re-probes in the background: recovery must not wait on the producer.
        If they are lost, the next restore sends them again."""
        if envelopes:
            task = asyncio.ensure_future(self._resend_outside_batch(envelopes))
            self._resending.add(task)
            task.add_done_callback(self._resending.discard)

    async def _resend_outside_batch(self, envelopes: dict[int, list[Any]]) -> None:
        # A task copies its creator's context: spawned inside a batch (a partition
        # restored on its first event), its sends would join that batch's Outbox while
        # the batch settles it. These belong to no batch.
        self.delivery.outside_batch()
        await self._send_all(self.bands_topic, "p", envelopes)

    def _new_gatherer(self, partition: int) -> Gatherer:
        return Gatherer(self.cfg, self.payloads, self.verdicts, self.capacity,
                        atomic=self.settings.processing_guarantee == "exactly_once")

    async def band_store(self, partition: int) -> BandStore:
        """The band store of `partition`; on the first event of a partition gained
        (Tables are applied by then), once its rebuild is done."""
        while (store := self._bands.get(partition)) is None:
            await self._built(("b", partition))
        return store

    async def gatherer(self, partition: int) -> Gatherer:
        """As `band_store`, for the gathers of an id partition."""
        while (gather := self._gathers.get(partition)) is None:
            await self._built(("g", partition))
        return gather

    async def _built(self, key: tuple[str, int]) -> None:
        task = self._builds.get(key)
        if task is None:
            kind, partition = key
            task = self._build({partition} if kind == "b" else set(),
                               {partition} if kind == "g" else set())
        if task is not None:
            # Shielded: an agent cancelled while it waits must not cancel the rebuild.
            await asyncio.shield(task)

    def _split(self, keys: tuple[str, ...]) -> dict[int, list[str]]:
        by_partition: dict[int, list[str]] = defaultdict(list)
        for key, partition in zip(keys, partitions_of(keys, self.n), strict=True):
            by_partition[partition].append(key)
        return by_partition

    # -- agents ----------------------------------------------------------------------

    def _register(self) -> None:
        self._register_scatter()
        self._register_bands()
        self._register_decide()

        @self.app.timer(RESTORE_CHECK_SECONDS)
        async def restore_gained_partitions() -> None:
            self.restore_pending()

    def _register_scatter(self) -> None:
        app, settings = self.app, self.settings

        @app.agent(self.topics.tagged, name="newsflow.dedup.scatter")
        async def scatter(stream: faust.StreamT[bytes]) -> None:
            observe = metrics.STAGE_LATENCY.labels("dedup_scatter").observe
            async for events in _batches(stream, settings, self.delivery):
                envelopes: dict[int, list[Any]] = defaultdict(list)
                for event in events:
                    started = time.perf_counter()
                    await self._scatter_one(event, envelopes)
                    observe(time.perf_counter() - started)
                await self._flush("scatter")
                await self._send_all(self.bands_topic, "p", envelopes)
                await changelogs_delivered(app)

    def _register_bands(self) -> None:
        app, settings = self.app, self.settings

        @app.agent(self.bands_topic, name="newsflow.dedup.bands")
        async def bands(stream: faust.StreamT[bytes]) -> None:
            observe = metrics.STAGE_LATENCY.labels("dedup_bands").observe
            async for events in _batches(stream, settings, self.delivery):
                envelopes: dict[int, list[Any]] = defaultdict(list)
                taken: dict[int, list[Any]] = defaultdict(list)
                first: dict[int, tuple[int, int]] = {}
                for event in events:
                    started = time.perf_counter()
                    q = event.message.partition
                    # Records the offset guard read carry the generation they were read in.
                    generation = getattr(event.message, "generation_id", None) or 0
                    first.setdefault(q, (event.message.offset, generation))
                    store = await self.band_store(q)
                    self._answer(store, q, _payload(event), envelopes, taken[q])
                    observe(time.perf_counter() - started)
                self._record_probes(taken, first)
                await self._flush("bands")
                await self._send_all(self.answers_topic, "o", envelopes)
                await changelogs_delivered(app)

    def _register_decide(self) -> None:
        app, settings = self.app, self.settings

        @app.agent(self.answers_topic, name="newsflow.dedup.decide")
        async def decide(stream: faust.StreamT[bytes]) -> None:
            async for events in _batches(stream, settings, self.delivery):
                for event in events:
                    await self._decide(event.message.partition, _payload(event))
                # Verdicts out first, then recorded: a recorded verdict is never published
                # again (its replayed answers find the gather decided), while an
                # unrecorded one is re-decided after a restart and sent again.
                await self.delivery.settle()
                await self._flush("decide")
                await changelogs_delivered(app)

    async def _send_all(
        self, topic: faust.TopicT, field: str, envelopes: dict[int, list[Any]]
    ) -> None:
        for partition, items in sorted(envelopes.items()):
            for part in chunks(items):
                value = orjson.dumps({field: part})
                await self.delivery.deliver(topic, b"batch", value, None, partition)

    async def _scatter_one(self, event: Any, envelopes: dict[int, list[Any]]) -> None:
        payload, origin = _payload(event), origin_of(event)
        timestamp = event.message.timestamp
        try:
            article = TaggedArticle.model_validate_json(payload)
        except ValidationError as exc:
            rejected = self.pipeline.reject(payload, origin, SchemaViolation(str(exc)))
            await self._publish(self.pipeline.route_rejected(rejected), timestamp)
            return
        home = partition_of(article.id, self.n)
        gather = await self.gatherer(home)
        prior = gather.decided(article.id)
        if prior is not None:  # seen before: the verdict never changes
            if self._replayed(article.id, payload, timestamp):
                metrics.DEDUP_REPLAYS.inc()
                return
            await self._publish(self._routed(article, prior), timestamp)
            return
        try:
            # The raw record's timestamp stands in for a missing fetched_at (and caps a
            # future one): a replay of the record gets the same event time.
            probe = make_probe(article, self.cfg, datetime.fromtimestamp(timestamp, UTC))
        except Exception as exc:  # noqa: BLE001 - one input must never stop the stream
            logger.exception("unexpected dedup error at %s", origin.model_dump(exclude_none=True))
            failure = ProcessingFailed(f"{type(exc).__name__}: {exc}")
            rejected = self.pipeline.reject(payload, origin, failure)
            await self._publish(self.pipeline.route_rejected(rejected), timestamp)
            return
        by_partition = self._split(probe.keys)
        gather.expect(probe, by_partition)
        me = probe.me.dump()
        self.payloads[article.id] = [payload.decode("utf-8"), timestamp, time.time(), me]
        for partition, keys in by_partition.items():
            envelopes[partition].append([me, keys])

    def _answer(
        self, store: BandStore, partition: int, payload: bytes,
        envelopes: dict[int, list[Any]], taken: list[Any],
    ) -> None:
        for me_dump, keys in orjson.loads(payload)["p"]:
            me = Candidate.load(me_dump)
            offer = store.offer(me, keys)
            if offer.inserted:
                taken.append((me, keys))
            if offer.overflow:
                metrics.DEDUP_BUCKET_OVERFLOW.inc(offer.overflow)
            if offer.evicted.total:
                record_evictions(offer.evicted)
            metrics.DEDUP_CANDIDATES.observe(len(offer.earlier))
            envelopes[partition_of(me.id, self.n)].append(
                ["a", me.id, partition, [c.dump() for c in offer.earlier]]
            )
            for later_id in offer.later.ids():
                envelopes[partition_of(later_id, self.n)].append(["l", later_id, me_dump])

    def _record_probes(
        self, taken: dict[int, list[Any]], first: dict[int, tuple[int, int]]
    ) -> None:
        """One durable record per bands partition per batch: the probes it newly took,
        keyed by the batch's first offset there and the group generation it was read in,
        salted to hash to that partition; filed under the oldest event time it holds and
        dropped, oldest first, past the partition's share of `max_entries` (as the band
        store drops its probes).

        A batch replayed in the same generation rewrites its key. The generation keeps a
        worker that lost the partition (paused past its session: a zombie) from
        overwriting what the new owner recorded for the same offsets when its delayed
        writes land; a restore takes the union, and probes held twice count once."""
        for q, taken_here in taken.items():
            offset, generation = first.get(q, (0, 0))
            for part, probes in enumerate(chunks(taken_here)):
                key = salt(f"p{q}:{offset}:{generation}:{part}", q, self.n)
                self.probes[key] = packed.pack(probes)
                oldest = min(me.t for me, _ in probes)
                journal = self._journal("b", q)
                journal.file(oldest, key, len(probes))
                journal.shrink(self.capacity, self._expire_probes)

    def _expire_probes(self, key: str) -> None:
        self.probes.pop(key, None)

    async def _decide(self, partition: int, payload: bytes) -> None:
        gather = await self.gatherer(partition)
        for op in orjson.loads(payload)["o"]:
            if op[0] == "a":
                verdict = gather.answer(op[1], op[2], [Candidate.load(c) for c in op[3]])
                if verdict is None:
                    continue
                redecided = gather.redecision(op[1], verdict)
                if redecided is not None:
                    await self._publish_correction(redecided)
                else:
                    await self._publish_verdict(op[1], verdict)
            else:
                correction = gather.late(op[1], Candidate.load(op[2]))
                if correction is not None:
                    await self._publish_correction(correction)

    def _replayed(self, article_id: str, payload: bytes, timestamp: float) -> bool:
        """Whether a decided article's record is the very one already published, sent
        again by a replay of `prepare` (at_least_once, after a crash or a rebalance):
        the same cleaned JSON with the same raw record timestamp. Its verdict was
        recorded only once Kafka acknowledged it (`Delivery.settle`), so the output is
        there; publishing it again made every crash repeat all that `prepare` had not
        committed, once per stage (1,967 repeats in 5 kills, fault soak seed 32; 19
        without). A scraper's re-send of the id is a new record (another timestamp) and
        gets its verdict again. Under exactly_once a decision of this process may sit in
        an aborted transaction, and read_committed sees no repeats anyway: published."""
        if self.settings.processing_guarantee != "at_least_once":
            return False
        held = self.payloads.get(article_id)
        return held is not None and held[1] == timestamp and held[0] == payload.decode("utf-8")

    async def _publish(self, routed: Routed, timestamp: float) -> None:
        await self.delivery.publish(self.topics, routed, timestamp, "dedup")

    def _routed(self, article: TaggedArticle, verdict: Verdict) -> Routed:
        result = Article(**dict(article), dedup=verdict.dedup(), processed_at=utcnow())
        topic = self.topics.clean if verdict.status == "unique" else self.topics.duplicates
        return Routed(topic=topic.get_topic_name(), value=result, key=result.id.encode("utf-8"))

    async def _publish_verdict(self, article_id: str, verdict: Verdict) -> None:
        held = self.payloads.get(article_id)
        if held is None:  # pragma: no cover - payload written before the probes are sent
            logger.error("no payload for decided article %s", article_id)
            return
        text, timestamp, scattered = held[:3]
        metrics.STAGE_LATENCY.labels("dedup_gather").observe(max(time.time() - scattered, 0))
        article = TaggedArticle.model_validate_json(text)
        await self._publish(self._routed(article, verdict), timestamp)

    async def _publish_correction(self, correction: Correction) -> None:
        held = self.payloads.get(correction.article_id)
        if held is None:  # expired with its state: nothing left to correct
            return
        text, timestamp = held[:2]
        routed = corrected(
            self._routed(TaggedArticle.model_validate_json(text), correction.verdict),
            correction,
            self.topics.duplicates.get_topic_name(),
        )
        topic = self.topics.duplicates
        await self.delivery.deliver(topic, routed.key, routed.to_json(), timestamp)
        metrics.DEDUP_CORRECTIONS.inc()


def record_evictions(evicted: Evicted) -> None:
    """Count storage evictions; say so when they come before the window would."""
    if evicted.early:
        metrics.DEDUP_EVICTIONS.labels("early").inc(evicted.early)
        logger.warning(
            "dedup storage full: dropped articles still inside the window; raise "
            "NEWSFLOW_DEDUP__MAX_ENTRIES or shorten NEWSFLOW_DEDUP__WINDOW_SECONDS",
            extra={"early": evicted.early},
        )
    if evicted.total > evicted.early:
        metrics.DEDUP_EVICTIONS.labels("aged").inc(evicted.total - evicted.early)


__all__ = ["DedupAgents", "WriteBehind", "partition_of", "record_evictions", "salt", "salted"]
