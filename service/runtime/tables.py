"""The dedup index backed by faust Tables, so it survives restarts and rebalances."""

from __future__ import annotations

import faust

from service.settings import Settings


def make_dedup_table(app: faust.App, settings: Settings) -> faust.Table:
    # Dedup reads one ordered stream (tagged_partitions, 1 by default) so the table is
    # co-partitioned with it; use_partitioner lets batch code write without an event.
    return app.Table(
        "newsflow-dedup-index",
        partitions=settings.topics.tagged_partitions,
        key_type=str,
        use_partitioner=True,
        help="Body fingerprints and LSH bands of articles inside the dedup window.",
    )
