"""Patches to faust-streaming 0.15.x, each with what it fixes. Applied once, on import.

Other uses of faust's private state stay where they are used, each with a comment that
names it (commits.OffsetGuard.acknowledge, app.WorkerTransaction, tables.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

_APPLIED = False


async def _highwaters_from_the_broker(self: Any, partitions: Iterable[Any]) -> Mapping[Any, int]:
    """Table recovery's highwaters, asked of the broker.

    Under exactly_once faust takes them from `AIOKafkaConsumer.last_stable_offset(tp)`,
    which is the LSO seen in the last *fetch* of that partition: None for a changelog
    partition a fresh worker has not fetched yet, which faust turns into -1 ("nothing to
    recover"). A restarted worker then started with empty Tables, its dedup state gone
    (issue 22: "restored 0 after each of its 5 restarts"; with the dedup engine, every
    article its predecessor left undecided was lost). `end_offsets` sends ListOffsets
    with the consumer's isolation level, so under read_committed it is the LSO too.
    Upstream: faust-streaming transport/drivers/aiokafka.py `_highwaters`."""
    consumer = self._ensure_consumer()
    offsets: Mapping[Any, int] = await consumer.end_offsets(list(partitions))
    return offsets


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    faust_aiokafka.AIOKafkaConsumerThread._highwaters = _highwaters_from_the_broker  # type: ignore[method-assign]
    _APPLIED = True


apply()
