"""Patches to faust-streaming 0.15.x, each with what it fixes. Applied once, on import.

Other uses of faust's private state stay where they are used, each with a comment that
names it (commits.OffsetGuard.acknowledge, app.WorkerTransaction, tables.py).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, TypeVar

from faust.tables import recovery as faust_recovery
from faust.transport.drivers import aiokafka as faust_aiokafka

T = TypeVar("T")

# How long table recovery waits with no changelog record before it looks for an
# aborted or committed transaction's marker at the end (faust: 5 s, twice).
RECOVERY_IDLE_SECONDS = 1.0
# The literal timeout of faust's changelog read in `Recovery._slurp_changelogs`.
_FAUST_RECOVERY_IDLE_SECONDS = 5.0

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


async def _wait_for_changelog(awaitable: Awaitable[T], timeout: float | None) -> T:
    if timeout == _FAUST_RECOVERY_IDLE_SECONDS:
        timeout = RECOVERY_IDLE_SECONDS
    return await asyncio.wait_for(awaitable, timeout)


def _recovery_asyncio() -> types.ModuleType:
    """faust's `tables.recovery` module sees this instead of `asyncio`: the same module,
    but a shorter wait for the next changelog record.

    Under exactly_once every changelog partition ends with a transaction marker, which a
    consumer never receives, so the last offset recovery waits for never comes. faust
    notices only after two consecutive 5 s waits with no record (`detect_aborted_tx`:
    the consumer's position has passed the highwater), and a worker restarted after a
    kill sat in recovery for 10 s with nothing left to read (issue 22: ready 16 s after
    the kill). Two empty waits of `RECOVERY_IDLE_SECONDS` keep faust's guard against a
    record still on its way from the fetcher. Upstream: faust-streaming
    tables/recovery.py `_slurp_changelogs`, `asyncio.wait_for(..., timeout=5.0)`."""
    proxy = types.ModuleType("asyncio")
    proxy.__dict__.update(asyncio.__dict__)
    proxy.__dict__["wait_for"] = _wait_for_changelog
    return proxy


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    faust_aiokafka.AIOKafkaConsumerThread._highwaters = _highwaters_from_the_broker  # type: ignore[method-assign]
    faust_recovery.asyncio = _recovery_asyncio()
    _APPLIED = True


apply()
