"""The commit gate: under exactly_once a transaction commits only between batches.

A Kafka transaction is exactly-once only if the outputs it holds are those of the input
offsets it commits. faust commits on its own timer, also while an agent is halfway
through a batch: that batch's outputs (and table changelog writes) are already in the
transaction, but its offsets are acked only once the batch is done, so the transaction
commits them without their inputs and a crash re-emits them. Agents hold the gate for
each batch; the commit closes it, waits until no batch is open, and commits the offsets
the finished batches reached: the outputs and the offsets of the same batches.

A batch whose agent died or was cancelled halfway left part of its outputs in the
transaction: the gate then refuses to commit, and the next worker's fencing aborts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast
from weakref import WeakKeyDictionary

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.exceptions import ConsumerNotStarted
from faust.types import TP, EventT
from faust.types.tuples import ack_lock

from service import metrics
from service.runtime import faust_compat
from service.runtime.admin import group_committed
from service.runtime.security import committed_reader
from service.settings import Settings

logger = logging.getLogger(__name__)

# How often a waiting commit checks whether an open batch's agent is still alive.
ABANDONED_CHECK_SECONDS = 0.5
# A partition behind its highwater that handed nothing out for this long is read
# directly (faust may have skipped its last records); at most this many at a time.
TAIL_IDLE_SECONDS = 5.0
MAX_TAIL_RECORDS = 500
# How long re-reading a skipped range may make no progress before the agent gives up
# (and crashes, so nothing is committed past the range).
REREAD_TIMEOUT_SECONDS = 30.0

_GATES: WeakKeyDictionary[Any, CommitGate] = WeakKeyDictionary()


class CommitGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # Per input partition: (offset after a finished batch, when it finished), oldest
        # first, until a commit covers it: what `stalled_for` measures.
        self._pending: dict[TopicPartition, deque[tuple[int, float]]] = {}
        self._holders: list[asyncio.Task[Any] | None] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._admitting = asyncio.Event()
        self._admitting.set()
        # Per input partition: the offset after the last event of a finished batch.
        self._finished: dict[TopicPartition, int] = {}
        self._committed: dict[TP, int] = {}

    @classmethod
    def of(cls, app: Any) -> CommitGate:
        """The app's gate: agents and the transaction manager find it from the app."""
        gate = _GATES.get(app)
        if gate is None:
            gate = _GATES[app] = cls()
        return gate

    @property
    def open_batches(self) -> int:
        return len(self._holders)

    @asynccontextmanager
    async def batch(self, events: Sequence[EventT]) -> AsyncIterator[None]:
        """Hold the gate while one batch is processed; its offsets count once it is done."""
        await self._admitting.wait()
        holder = asyncio.current_task()
        self._holders.append(holder)
        self._idle.clear()
        try:
            yield
            finished = self._finished
            for event in events:
                message = event.message
                # aiokafka's commit refuses faust's TP (a tuple of the same fields, so an
                # equal dict key): records the offset guard read carry one, and a batch of
                # them first to finish a partition crashed the next transaction commit.
                tp = TopicPartition(message.tp.topic, message.tp.partition)
                if message.offset + 1 > finished.get(tp, -1):
                    finished.pop(tp, None)
                    finished[tp] = message.offset + 1
            now = self._clock()
            for tp in {TopicPartition(e.message.tp.topic, e.message.tp.partition)
                       for e in events}:
                self._pending.setdefault(tp, deque()).append((finished[tp], now))
        finally:
            # An agent that stops mid-batch never resumes its generator: no finally here.
            self._holders.remove(holder)
            if not self._holders:
                self._idle.set()

    @asynccontextmanager
    async def closed(
        self, assigned: Iterable[TP]
    ) -> AsyncIterator[dict[TopicPartition, int] | None]:
        """Wait until no batch is open, keep new ones out, and give the offsets to commit:
        those that moved since the last commit, on partitions this worker still owns.
        None: a batch was abandoned halfway, and nothing may commit."""
        self._admitting.clear()
        try:
            if not await self._wait_idle():
                yield None
                return
            owned = set(assigned)
            yield {
                tp: offset
                for tp, offset in self._finished.items()
                if tp in owned and offset > self._committed.get(tp, -1)
            }
        finally:
            self._admitting.set()

    async def _wait_idle(self) -> bool:
        while self._holders:
            if any(task is None or task.done() for task in self._holders):
                return False
            try:
                await asyncio.wait_for(self._idle.wait(), ABANDONED_CHECK_SECONDS)
            except TimeoutError:
                pass
        return True

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def forget(self, revoked: Iterable[TP]) -> None:
        """A revoked partition's progress belongs to its next owner."""
        for tp in revoked:
            self._finished.pop(tp, None)
            self._committed.pop(tp, None)
            self._pending.pop(tp, None)

    def stalled_for(
        self, committed: Mapping[Any, int | None], assigned: Iterable[Any] | None = None
    ) -> float:
        """Seconds since the oldest finished batch that no commit covers yet (0 if none).

        `committed` is the consumer's last committed offset per partition, whichever
        guarantee committed it. A worker whose commits stopped (a transaction that never
        commits) holds processed input back from read_committed consumers: this grows.
        Batches of partitions no longer `assigned` are another worker's to commit: a
        worker paused past its session kept them, and stayed "stalled" for good."""
        if assigned is not None:
            owned = set(assigned)
            for tp in [tp for tp in self._pending if tp not in owned]:
                del self._pending[tp]
        oldest: float | None = None
        for tp, queue in list(self._pending.items()):
            upto = committed.get(tp)
            while queue and upto is not None and queue[0][0] <= upto:
                queue.popleft()
            if not queue:
                del self._pending[tp]
            elif oldest is None or queue[0][1] < oldest:
                oldest = queue[0][1]
        return 0.0 if oldest is None else max(0.0, self._clock() - oldest)



@dataclass(frozen=True, slots=True)
class _ReadMessage:
    """What the agents use of a faust Message, for a record read by the guard itself."""

    topic: str
    partition: int
    offset: int
    timestamp: float
    tp: TP
    generation_id: int | None = None  # the group generation it was read in


@dataclass(frozen=True, slots=True)
class _ReadEvent:
    message: _ReadMessage
    value: bytes


class OffsetGuard:
    """Hands an agent every input offset once and in order; none is skipped.

    faust 0.15.3 can lose records between its fetcher and `take_events`: a worker that
    started on a backlog was handed offsets 0-23, then 48 onwards, in about one run of
    three (records 24-47 had been queued for the stream and never reached the buffer),
    and the commit moved past them. So the guard tracks the next offset per partition;
    on a jump it reads the missing range straight from Kafka with a consumer of its own
    and hands those records over first. A range that reads empty is a real hole
    (transaction markers, compaction, retention). Records faust delivers twice are
    dropped. (Seeking faust's consumer back does not work: its fetch loop drops what it
    reads again.)
    """

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._generation: int | None = None
        self._started = time.monotonic()
        self._next: dict[TP, int] = {}
        self._moved: dict[TP, float] = {}  # when each partition last handed a record out
        self._kafka_start: dict[TP, int] = {}  # from Kafka (`_first_offset`), once a generation
        self._reader: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    def _check_generation(self) -> None:
        generation = self.app.consumer_generation_id
        if generation != self._generation:  # a rebalance: faust seeks to the commits
            self._generation = generation
            self._started = time.monotonic()
            self._next.clear()
            self._moved.clear()
            self._kafka_start.clear()

    async def admit(self, events: Sequence[EventT]) -> list[EventT]:
        self._check_generation()
        admitted: list[EventT] = []
        for event in events:
            tp, offset = event.message.tp, event.message.offset
            expected = self._next.get(tp)
            if expected is None:  # the first record of this generation: from the commit
                expected = await self._start(tp)
            if expected is not None and offset < expected:
                continue  # handed out already
            if expected is not None and offset > expected:
                missing = await self._read(tp, expected, offset)
                if missing:
                    logger.warning("%s: faust skipped %d records from offset %d; read them "
                                   "again", tp, len(missing), expected)
                    metrics.INPUTS_REREAD.labels(tp.topic).inc(len(missing))
                admitted.extend(cast(list[EventT], missing))
            admitted.append(event)
            self._next[tp] = offset + 1
            self._moved[tp] = time.monotonic()
        return admitted

    async def _start(self, tp: TP) -> int | None:
        """Where faust starts `tp` in this generation: its commit, or for a partition never
        committed its first offset (the app reads from the earliest); None for a partition
        not assigned to a Kafka consumer (faust's test context has none).

        faust can skip records at the start of a partition as well as in the middle: a
        worker restarted after a SIGKILL was first handed records past its commit, and
        committed past the ones in between, which no output ever held (issue 22's soak:
        2 of 1,500 inputs lost in one run of five kills). A partition never committed is
        no different: a worker restarted on a backlog it had never committed was handed
        none of its 300 records (CI, test_faults.py, tagged-restart)."""
        consumer = getattr(self.app, "consumer", None)
        try:
            if consumer is None or tp not in consumer.assignment():
                return None
        except ConsumerNotStarted:  # faust's test context
            return None
        committed = faust_compat.committed_offsets(consumer).get(tp)
        if committed is not None:
            return committed
        if tp not in self._kafka_start:
            self._kafka_start[tp] = await self._first_offset(tp)
        return self._kafka_start[tp]

    async def _first_offset(self, tp: TP) -> int:
        """Where Kafka says faust started a partition missing from faust's own view of
        the commits: the group's commit (faust's view lacks one it has not loaded yet,
        and stores a commit at 0 as none), else the partition's log start offset. (The
        log start alone made a worker that took over a committed partition read it again
        from the start: 256 repeats in a SIGSTOP soak run.)"""
        partition = TopicPartition(tp.topic, tp.partition)
        committed = await group_committed(self.settings, partition)
        if committed is not None:
            return committed
        async with self._lock:
            reader = await self._ensure_reader()
            offsets = await reader.beginning_offsets([partition])
            return int(offsets[partition])

    def acknowledge(self, events: Sequence[Any]) -> None:
        """Tell faust's offset bookkeeping that the records this guard read are done.

        faust commits a partition only up to the first offset it has not seen acked
        (`Consumer._new_offset`), and it never handed these out, so it never acked them:
        its commit stopped before the first of them for good. Under exactly_once that
        is a wedge (the transaction never commits, read_committed sees nothing more);
        under at_least_once a restart repeats everything since. Call once the batch
        holding them is done (faust_compat.acknowledge)."""
        read = [(e.message.tp, e.message.offset) for e in events if isinstance(e, _ReadEvent)]
        if read:
            with ack_lock:
                faust_compat.acknowledge(self.app.consumer, read)

    async def tail(self, topics: Iterable[str]) -> list[EventT]:
        """What faust skipped at the end of a partition, where no later record shows the
        jump: for each partition of `topics` that handed nothing out for
        TAIL_IDLE_SECONDS while the consumer's highwater is past the next offset, the
        records in between, read from Kafka (at most MAX_TAIL_RECORDS per partition).
        A partition with neither a handed-out record nor a commit starts at its first
        offset."""
        self._check_generation()
        app = self.app
        recovery = getattr(app.tables, "recovery", None)
        if app.rebalancing or app.in_recovery or recovery is None or (
            not recovery.completed.is_set()
        ):
            return []  # Tables first: nothing may be processed before they are restored
        consumer = app.consumer
        names, now = set(topics), time.monotonic()
        found: list[EventT] = []
        for tp in consumer.assignment():
            if tp.topic not in names:
                continue
            if now - self._moved.get(tp, self._started) < TAIL_IDLE_SECONDS:
                continue
            # Where this generation is: its last handed-out offset, or where faust
            # started it (its commit, or the first offset of one never committed).
            start = self._next.get(tp)
            if start is None:
                start = await self._start(tp)
            highwater = consumer.highwater(tp)
            if start is None or highwater is None or highwater <= start:
                continue
            records = await self._read(tp, start, min(highwater, start + MAX_TAIL_RECORDS))
            self._moved[tp] = now
            if not records:
                continue
            logger.warning("%s: faust left %d records from offset %d unhanded; read them "
                           "again", tp, len(records), start)
            metrics.INPUTS_REREAD.labels(tp.topic).inc(len(records))
            self._next[tp] = records[-1].message.offset + 1
            found.extend(cast(list[EventT], records))
        return found

    async def _read(self, tp: TP, start: int, end: int) -> list[_ReadEvent]:
        """The committed records of `tp` in [start, end), straight from Kafka."""
        async with self._lock:
            reader = await self._ensure_reader()
            partition = TopicPartition(tp.topic, tp.partition)
            reader.assign([partition])
            reader.seek(partition, start)
            found: list[_ReadEvent] = []
            idle_since = time.monotonic()
            while (position := await reader.position(partition)) < end:
                # Short polls: a transaction marker yields no record, only a new position.
                batch = await reader.getmany(partition, timeout_ms=50)
                records = batch.get(partition, [])
                if not records:
                    if await reader.position(partition) > position:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > REREAD_TIMEOUT_SECONDS:
                        raise TimeoutError(f"cannot read {tp} offsets {position}-{end - 1}")
                    continue
                idle_since = time.monotonic()
                for record in records:
                    if record.offset >= end:
                        return found
                    message = _ReadMessage(tp.topic, tp.partition, record.offset,
                                           record.timestamp / 1000.0, tp,
                                           self.app.consumer_generation_id)
                    found.append(_ReadEvent(message, record.value or b""))
            return found

    async def _ensure_reader(self) -> AIOKafkaConsumer:
        if self._reader is None:
            reader = committed_reader(self.settings)
            await reader.start()
            self._reader = reader
        return self._reader

    async def stop(self) -> None:
        if self._reader is not None:
            await self._reader.stop()
            self._reader = None
