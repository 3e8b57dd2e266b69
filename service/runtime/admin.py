"""Topic administration on the configured cluster, with aiokafka's admin client."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from service.settings import Settings


def declared_topics(settings: Settings) -> dict[str, int]:
    """Every topic Newsflow reads or writes, with its partition count."""
    names = settings.topics
    return {
        names.raw: names.partitions,
        names.tagged: names.tagged_partitions,
        names.clean: names.partitions,
        names.duplicates: names.partitions,
        names.rejected: names.partitions,
    }


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics; return the names created. Existing ones are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
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
    finally:
        await admin.close()
