"""The commit gate: a commit never lands between a batch's outputs and its offsets."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from service.runtime.commits import CommitGate, OffsetGuard
from service.settings import Settings

RAW0, RAW1, TAGGED0 = TP("raw", 0), TP("raw", 1), TP("tagged", 0)
ALL = (RAW0, RAW1, TAGGED0)


def events(tp: TP, *offsets: int) -> list[Any]:
    return [SimpleNamespace(message=SimpleNamespace(tp=tp, offset=o)) for o in offsets]


async def settle(turns: int = 20) -> None:
    """Let every ready task run as far as it can: event-loop turns, not wall time."""
    for _ in range(turns):
        await asyncio.sleep(0)

async def test_commit_waits_for_the_open_batch_and_gives_only_finished_offsets() -> None:
    gate = CommitGate()
    async with gate.batch(events(RAW0, 0, 1, 2)):
        pass
    release = asyncio.Event()
    log: list[str] = []

    async def slow_batch() -> None:
        async with gate.batch(events(RAW1, 7, 8)):
            log.append("batch started")
            await release.wait()
            log.append("batch done")

    async def commit() -> dict[TP, int] | None:
        async with gate.closed(ALL) as offsets:
            log.append("commit")
            return offsets

    batch = asyncio.create_task(slow_batch())
    await asyncio.sleep(0)
    committing = asyncio.create_task(commit())
    await settle()
    assert log == ["batch started"], "the commit must wait while a batch is open"

    async def late_batch() -> None:
        async with gate.batch(events(RAW0, 3)):
            log.append("late batch")

    late = asyncio.create_task(late_batch())
    await settle()
    release.set()
    offsets = await committing
    await asyncio.gather(batch, late)
    assert log == ["batch started", "batch done", "commit", "late batch"], (
        "a batch that arrives while the commit waits runs after it, not inside it"
    )
    assert offsets == {RAW0: 3, RAW1: 9}


async def test_committed_offsets_are_not_given_again_and_revoked_ones_are_dropped() -> None:
    gate = CommitGate()
    async with gate.batch(events(RAW0, 0, 1) + events(TAGGED0, 4)):
        pass
    async with gate.closed(ALL) as offsets:
        assert offsets == {RAW0: 2, TAGGED0: 5}
        gate.committed(offsets)
    async with gate.batch(events(TAGGED0, 5)):
        pass
    async with gate.closed(ALL) as offsets:
        assert offsets == {TAGGED0: 6}
    gate.forget([TAGGED0])
    async with gate.closed(ALL) as offsets:
        assert offsets == {}
    async with gate.batch(events(RAW1, 0)):
        pass
    async with gate.closed([RAW0]) as offsets:
        assert offsets == {}, "offsets of partitions this worker no longer owns never commit"


async def test_a_batch_that_fails_commits_none_of_its_offsets() -> None:
    gate = CommitGate()
    with pytest.raises(RuntimeError):
        async with gate.batch(events(RAW0, 0, 1)):
            raise RuntimeError("agent bug")
    async with gate.closed(ALL) as offsets:
        assert offsets == {}


async def test_an_agent_cancelled_mid_batch_blocks_every_later_commit() -> None:
    """Its generator is never resumed, so the batch stays open with part of its outputs
    sent: committing would publish them without their offsets."""
    gate = CommitGate()
    entered = asyncio.Event()

    async def batches() -> Any:
        async with gate.batch(events(RAW0, 0)):
            yield

    async def agent() -> None:
        async for _ in batches():
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(agent())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.open_batches == 1
    async with gate.closed(ALL) as offsets:
        assert offsets is None


class LogGuard(OffsetGuard):
    """The guard over an in-memory partition log (its Kafka read is tested on a broker in
    tests/integration/test_offset_guard.py)."""

    def __init__(self, log: dict[int, bytes]) -> None:
        super().__init__(SimpleNamespace(consumer_generation_id=1), Settings())
        self.log = log
        self.reads: list[tuple[int, int]] = []

    async def _first_offset(self, tp: TP) -> int:
        return min(self.log)

    async def _read(self, tp: TP, start: int, end: int) -> list[Any]:
        self.reads.append((start, end))
        return [SimpleNamespace(message=SimpleNamespace(tp=tp, offset=o), value=self.log[o])
                for o in range(start, end) if o in self.log]


async def test_guard_reads_what_faust_skipped_and_drops_what_it_repeats() -> None:
    log = {o: f"r{o}".encode() for o in range(10) if o != 6}  # 6: a transaction marker
    guard = LogGuard(log)
    assert [e.message.offset for e in await guard.admit(events(RAW0, 0, 1, 2))] == [0, 1, 2]
    # faust lost 3 and 4: they are read again and come first, in order.
    admitted = await guard.admit(events(RAW0, 5, 7))
    assert [e.message.offset for e in admitted] == [3, 4, 5, 7]
    assert [e.value for e in admitted[:2]] == [b"r3", b"r4"]
    assert guard.reads == [(3, 5), (6, 7)]  # the hole at 6 reads empty and is accepted
    # Offsets handed out already are not handed out twice; other partitions are apart.
    admitted = await guard.admit(events(RAW0, 4, 5, 8) + events(RAW1, 0))
    assert [(e.message.tp, e.message.offset) for e in admitted] == [(RAW0, 8), (RAW1, 0)]


async def test_guard_starts_over_after_a_rebalance() -> None:
    guard = LogGuard({o: b"x" for o in range(10)})
    await guard.admit(events(RAW0, 0, 1, 2, 3))
    guard.app.consumer_generation_id = 2  # faust seeks back to the committed offsets
    assert [e.message.offset for e in await guard.admit(events(RAW0, 1, 2))] == [1, 2]
    assert guard.reads == []


async def test_guard_reads_what_faust_skipped_before_the_first_record_it_handed_out() -> None:
    """Committed at 3, faust hands out 6 first: 3-5 are read and come first. Below the
    commit nothing is handed out again. A partition never committed starts at its first
    offset (the app reads from the earliest); one not assigned is not the guard's."""
    guard = LogGuard({o: b"x" for o in range(1, 10)})  # offset 0 deleted by retention
    guard.app = tail_app({RAW0: 10, RAW1: 10}, {RAW0: 3, RAW1: None},  # type: ignore[dict-item]
                         restored=True)
    admitted = await guard.admit(events(RAW0, 6, 7))
    assert [e.message.offset for e in admitted] == [3, 4, 5, 6, 7]
    assert guard.reads == [(3, 6)]
    guard.app.consumer_generation_id = 2  # a rebalance; faust seeks to the commit again
    assert [e.message.offset for e in await guard.admit(events(RAW0, 1, 3))] == [3]
    assert [e.message.offset for e in await guard.admit(events(RAW1, 3))] == [1, 2, 3]
    assert [e.message.offset for e in await guard.admit(events(TAGGED0, 5))] == [5]


def tail_app(highwater: dict[TP, int], committed: dict[TP, int], restored: bool) -> Any:
    completed = asyncio.Event()
    if restored:
        completed.set()
    consumer = SimpleNamespace(assignment=lambda: set(highwater), highwater=highwater.get,
                               _committed_offset=committed)
    return SimpleNamespace(consumer_generation_id=1, consumer=consumer, rebalancing=False,
                           in_recovery=False,
                           tables=SimpleNamespace(recovery=SimpleNamespace(completed=completed)))


async def test_guard_reads_a_partition_tail_faust_never_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No later record shows a jump when faust skips a partition's last records: an idle
    partition behind its highwater is read directly, from where it was or was committed,
    or from its first offset if it never was (the worker restarted on a backlog it had
    never committed, in test_faults.py)."""
    monkeypatch.setattr("service.runtime.commits.TAIL_IDLE_SECONDS", 0.0)
    guard = LogGuard({o: b"x" for o in range(10)})
    raw2 = TP("raw", 2)  # never committed, nothing handed out: from its first offset
    guard.app = tail_app({RAW0: 6, RAW1: 4, raw2: 3, TAGGED0: 9}, {RAW1: 2}, restored=False)
    assert await guard.tail(["raw"]) == []  # Tables not restored yet: nothing moves
    guard.app.tables.recovery.completed.set()
    await guard.admit(events(RAW0, 0, 1, 2))
    found = await guard.tail(["raw"])
    assert sorted((e.message.tp, e.message.offset) for e in found) == [
        (RAW0, 3), (RAW0, 4), (RAW0, 5), (RAW1, 2), (RAW1, 3),
        (raw2, 0), (raw2, 1), (raw2, 2)]  # not tagged: not ours
    assert await guard.tail(["raw"]) == []  # read once
    late = await guard.admit(events(RAW0, 3, 4, 5, 6))  # faust's copies come after all
    assert [e.message.offset for e in late] == [6]


async def test_offsets_to_commit_are_keyed_by_aiokafka_topic_partitions() -> None:
    """aiokafka's send_offsets_to_transaction refuses faust's TP; the offset guard's own
    reads carry one. A worker crashed on it after restarts (the outside fault soak)."""
    from aiokafka import TopicPartition
    from aiokafka.util import commit_structure_validate

    gate = CommitGate()
    async with gate.batch(events(RAW0, 4)):  # faust's TP, as the guard hands out
        pass
    async with gate.batch(events(RAW0, 5)):
        pass
    async with gate.closed(ALL) as offsets:
        assert offsets == {RAW0: 6}
        assert offsets is not None
        assert all(type(tp) is TopicPartition for tp in offsets)
        commit_structure_validate(offsets)  # what the transaction commit checks


async def test_stalled_for_measures_the_oldest_batch_no_commit_covers() -> None:
    now = [100.0]
    gate = CommitGate(clock=lambda: now[0])
    assert gate.stalled_for({}) == 0.0
    async with gate.batch(events(RAW0, 0, 1)):
        pass
    now[0] = 130.0
    async with gate.batch(events(RAW0, 2)):
        pass
    async with gate.batch(events(RAW1, 5)):
        pass
    now[0] = 160.0
    assert gate.stalled_for({}) == 60.0, "nothing committed: the first batch is 60 s old"
    assert gate.stalled_for({RAW0: 2}) == 30.0, "the first batch is committed"
    assert gate.stalled_for({RAW0: 3, RAW1: 6}) == 0.0
    async with gate.batch(events(TAGGED0, 9)):
        pass
    gate.forget([TAGGED0])
    assert gate.stalled_for({RAW0: 3, RAW1: 6}) == 0.0, "a revoked partition is not ours"


async def test_batches_of_partitions_no_longer_assigned_are_not_a_stall() -> None:
    """Under at_least_once nothing calls `forget`: a worker paused past its session
    (SIGSTOP) kept its finished batches of partitions it lost, and read as stalled."""
    now = [100.0]
    gate = CommitGate(clock=lambda: now[0])
    async with gate.batch(events(RAW0, 0)):
        pass
    async with gate.batch(events(RAW1, 5)):
        pass
    now[0] = 200.0
    assert gate.stalled_for({}, assigned={RAW0, RAW1}) == 100.0
    assert gate.stalled_for({RAW0: 1}, assigned={RAW0}) == 0.0, "RAW1 went to another worker"
    assert gate.stalled_for({}, assigned={RAW0, RAW1}) == 0.0, "and is forgotten"
