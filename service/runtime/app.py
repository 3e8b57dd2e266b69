"""`make_app(settings)`: the faust App, its topics and tables. No module-level state."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.transport.consumer import TransactionManager

from service.runtime import faust_compat  # faust patches, applied on import
from service.runtime.commits import CommitGate
from service.runtime.security import committed_reader, faust_credentials
from service.runtime.tables import table_class
from service.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Topics:
    raw: faust.TopicT
    tagged: faust.TopicT
    clean: faust.TopicT
    duplicates: faust.TopicT
    rejected: faust.TopicT
    by_name: dict[str, faust.TopicT] = field(init=False)

    def __post_init__(self) -> None:
        outputs = (self.raw, self.tagged, self.clean, self.duplicates, self.rejected)
        self.by_name = {t.get_topic_name(): t for t in outputs}


class WorkerTransaction(TransactionManager):
    """exactly_once with one Kafka transaction per worker, committed between batches.

    faust picks a transaction by the *destination* partition of each send, while it
    commits input offsets by *source* partition. Our prepare agent writes to a topic the
    dedup agent reads, so those records sit in a transaction that commits only when dedup
    commits offsets for them, which read_committed never lets it see: nothing flows.
    Sends to outputs the app does not consume go out with no transaction at all. Here
    every send, changelog write and offset commit of the worker shares one transactional
    id, stable across restarts, so a restarted worker fences the killed one and aborts
    its open transaction. The commit waits at the `CommitGate` for the agents' open
    batches and commits exactly the offsets they finished, so a transaction never holds
    outputs whose inputs it does not commit. One worker per app id: without KIP-447
    fencing (aiokafka has none) several workers would need one id each and could
    duplicate on rebalance.
    """

    @property
    def transactional_id(self) -> str:
        return f"{self.app.conf.id}-worker"

    async def on_rebalance(self, assigned: Any, revoked: Any, newly_assigned: Any) -> None:
        if revoked:
            CommitGate.of(self.app).forget(revoked)
            await self.producer.stop_transaction(self.transactional_id)
        if assigned:
            await self.producer.maybe_begin_transaction(self.transactional_id)

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   partition: int | None, timestamp: float | None, headers: Any,
                   *, transactional_id: str | None = None) -> Any:
        return await self.producer.send(topic, key, value, partition, timestamp, headers,
                                        transactional_id=self.transactional_id)

    _commit_lock: asyncio.Lock | None = None

    async def commit(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        # faust's `offsets` are what was acked when its timer fired; the gate gives what
        # the finished batches reached once none is open, which is what the sends match.
        # Called by faust's commit and by our own tick (`commit_tick`), one at a time.
        if self._commit_lock is None:
            self._commit_lock = asyncio.Lock()
        async with self._commit_lock:
            return await self._commit(offsets, start_new_transaction)

    async def _commit(self, offsets: Any, start_new_transaction: bool) -> bool:
        gate = CommitGate.of(self.app)
        async with gate.closed(self.app.consumer.assignment()) as finished:
            if finished is None:
                logger.error("a batch stopped halfway: not committing; the open "
                             "transaction is aborted when the next worker starts")
                return False
            # Table changelog writes wait in faust's send_soon buffer: into this one.
            await self.app.producer.buffer.flush()
            if finished:
                await self.producer.commit_transactions(
                    {self.transactional_id: finished}, self.app.conf.id,
                    start_new_transaction=start_new_transaction,
                )
                gate.committed(finished)
                # faust keeps its own view of what was committed (read by its gap logic
                # and by our stall check); it updates it from this very dict afterwards.
                faust_compat.committed_offsets(self.app.consumer).update(finished)
                if isinstance(offsets, dict):
                    offsets.update(finished)
            else:
                # Sends made outside any batch (dedup's re-probes after a restore) are
                # in the transaction too, with no input offset to commit alongside.
                await self.producer.commit_transaction(self.transactional_id)
                if start_new_transaction:
                    await self.producer.begin_transaction(self.transactional_id)
        return True


async def commit_tick(app: faust.App) -> None:
    """Commit the transaction on our own clock, whatever faust's offset bookkeeping says.

    faust asks for a commit only when its acked offsets moved contiguously past its own
    view of the last commit (`Consumer._new_offset`). That view lagged the commits the
    gate made, records faust never handed out were never acked, and re-probes sent
    after a restore have no input at all: in each case faust stopped asking, the
    transaction stayed open and read_committed consumers saw nothing more (a wedge)."""
    transactions = getattr(app.consumer, "transactions", None)
    if isinstance(transactions, WorkerTransaction) and app.consumer.assignment():
        await transactions.commit({})


def make_app(settings: Settings, **overrides: Any) -> faust.App:
    session = settings.session_timeout_seconds
    app = faust.App(
        settings.app_id,
        broker=settings.broker_url,
        store=settings.store,
        datadir=str(settings.data_dir),
        autodiscover=False,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        processing_guarantee=settings.processing_guarantee,
        broker_session_timeout=session,
        broker_heartbeat_interval=max(session / 10, 0.5),
        broker_rebalance_timeout=session,
        producer_linger=settings.producer_linger_seconds,
        # Match the broker's message.max.bytes (16 MiB): a big article must not crash an agent.
        producer_max_request_size=16 * 1024 * 1024,
        consumer_max_fetch_size=16 * 1024 * 1024,
        # A deleted input topic drops out of the assignment; when it is created again the
        # group rebalances only once the consumer's metadata shows it (faust: 5 minutes).
        consumer_metadata_max_age_ms=30_000,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        table_cleanup_interval=60.0,
        broker_commit_interval=settings.commit_interval_seconds,
        consumer_group_instance_id=settings.consumer_instance_id,
        broker_credentials=faust_credentials(settings),
        **{**table_class(settings), **overrides},
    )
    if settings.processing_guarantee == "exactly_once":
        app.transport.TransactionManager = WorkerTransaction  # type: ignore[misc]
        faust_compat.prove_recovery_ends(app, lambda: committed_reader(settings))

        @app.timer(settings.commit_interval_seconds)
        async def commit_on_our_clock() -> None:
            await commit_tick(app)

    @app.task
    async def warm_changelog_metadata() -> None:
        # Table writes pick their changelog partition synchronously from the producer's
        # metadata. aiokafka refreshes only the topics it tracks (those it sent to), so a
        # refresh (a missing topic forces many) before a table's first write drops its
        # changelog and the write fails with TypeError. Track them all from the start.
        await app.producer.maybe_start()
        producer = faust_compat.kafka_producer(app)
        if producer is None:
            return
        for table in app.tables.values():
            await producer.client.add_topic(table.changelog_topic.get_topic_name())

    return app


def make_topics(app: faust.App, settings: Settings) -> Topics:
    names = settings.topics

    def topic(name: str, partitions: int) -> faust.TopicT:
        return app.topic(
            name,
            partitions=partitions,
            replicas=names.replication_factor,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    return Topics(
        raw=topic(names.raw, names.partitions),
        tagged=topic(names.tagged, names.tagged_partitions),
        clean=topic(names.clean, names.partitions),
        duplicates=topic(names.duplicates, names.partitions),
        rejected=topic(names.rejected, names.partitions),
    )
