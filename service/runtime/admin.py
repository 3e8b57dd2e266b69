"""Topic administration on the configured cluster, with aiokafka's admin client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from service.runtime.security import aiokafka_kwargs
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What `newsflow topics describe` shows for one topic."""

    name: str
    partitions: int
    replication: int
    # Partition -> end offset (the next offset to be written); empty unless asked for.
    end_offsets: dict[int, int]
    exists: bool = True

    @property
    def messages(self) -> int:
        """Offsets written so far, over all partitions (retention may have removed some)."""
        return sum(self.end_offsets.values())


def declared_topics(settings: Settings) -> dict[str, int]:
    """Every topic Newsflow reads or writes, with its partition count."""
    names = settings.topics
    declared = {
        names.raw: names.partitions,
        names.tagged: names.tagged_partitions,
        names.clean: names.partitions,
        names.duplicates: names.partitions,
        names.rejected: names.partitions,
        # dedup's scatter-gather hops (docs/SCALE_OUT.md)
        names.bands: names.tagged_partitions,
        names.answers: names.tagged_partitions,
    }
    return declared


@asynccontextmanager
async def _admin(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **aiokafka_kwargs(settings)
    )
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def group_committed(settings: Settings, partition: TopicPartition) -> int | None:
    """The worker group's committed offset for `partition` on the broker, or None: what
    faust seeks a partition to when it is assigned (its group id is the app id)."""
    async with _admin(settings) as admin:
        offsets = await admin.list_consumer_group_offsets(settings.app_id,
                                                          partitions=[partition])
    found = offsets.get(partition)
    return None if found is None or found.offset < 0 else int(found.offset)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics; return the names created. Existing ones are left alone."""
    async with _admin(settings) as admin:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name, num_partitions=count, replication_factor=settings.topics.replication_factor
            )
            for name, count in declared_topics(settings).items()
            if name not in existing
        ]
        if not wanted:
            return []
        try:
            await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            pass
        return [t.name for t in wanted]


async def list_topic_names(settings: Settings, include_internal: bool = False) -> list[str]:
    """Topic names on the cluster, sorted; `__consumer_offsets` and friends only if asked."""
    async with _admin(settings) as admin:
        names = await admin.list_topics()
    return sorted(n for n in names if include_internal or not n.startswith("__"))


async def describe_topics(
    settings: Settings, names: Iterable[str], with_offsets: bool = True
) -> list[TopicInfo]:
    """Partitions, replication factor and (optionally) end offsets; missing topics included
    with `exists=False`, so a typo shows instead of vanishing."""
    wanted = list(dict.fromkeys(names))
    async with _admin(settings) as admin:
        existing = set(await admin.list_topics())
        present = [n for n in wanted if n in existing]
        described = await admin.describe_topics(present) if present else []
    layout: dict[str, tuple[int, int]] = {}
    for topic in described:
        partitions = topic.get("partitions", [])
        replication = max((len(p.get("replicas", [])) for p in partitions), default=0)
        layout[topic["topic"]] = (len(partitions), replication)
    offsets: dict[str, dict[int, int]] = {name: {} for name in present}
    if with_offsets and present:
        offsets = await end_offsets(settings, {name: layout[name][0] for name in present})
    return [
        TopicInfo(name, *layout[name], end_offsets=offsets.get(name, {}))
        if name in layout
        else TopicInfo(name, 0, 0, end_offsets={}, exists=False)
        for name in wanted
    ]


async def end_offsets(settings: Settings, partitions: dict[str, int]) -> dict[str, dict[int, int]]:
    """End offset per partition, read with a group-less consumer (nothing is committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        **aiokafka_kwargs(settings),
    )
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for name, count in partitions.items() for p in range(count)]
        found = await consumer.end_offsets(tps) if tps else {}
    finally:
        await consumer.stop()
    result: dict[str, dict[int, int]] = {name: {} for name in partitions}
    for tp, offset in found.items():
        result[tp.topic][tp.partition] = offset
    return result


async def create_topics(
    settings: Settings, names: Iterable[str], partitions: int, replication: int
) -> dict[str, bool]:
    """Create the named topics; name -> True if created, False if it already existed."""
    wanted = list(dict.fromkeys(names))
    async with _admin(settings) as admin:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, replication) for n in wanted if n not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    return {name: name not in existing for name in wanted}
