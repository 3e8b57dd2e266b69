"""`make_app(settings)`: the faust App, its topics and tables. No module-level state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from service.settings import Settings


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
        producer_linger=0.005,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        table_cleanup_interval=60.0,
        **overrides,
    )
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
