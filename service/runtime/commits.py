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
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from faust.types import TP, EventT

# How often a waiting commit checks whether an open batch's agent is still alive.
ABANDONED_CHECK_SECONDS = 0.5

_GATES: WeakKeyDictionary[Any, CommitGate] = WeakKeyDictionary()


class CommitGate:
    def __init__(self) -> None:
        self._holders: list[asyncio.Task[Any] | None] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._admitting = asyncio.Event()
        self._admitting.set()
        # Per input partition: the offset after the last event of a finished batch.
        self._finished: dict[TP, int] = {}
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
                if message.offset + 1 > finished.get(message.tp, -1):
                    finished[message.tp] = message.offset + 1
        finally:
            # An agent that stops mid-batch never resumes its generator: no finally here.
            self._holders.remove(holder)
            if not self._holders:
                self._idle.set()

    @asynccontextmanager
    async def closed(self, assigned: Iterable[TP]) -> AsyncIterator[dict[TP, int] | None]:
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

    def committed(self, offsets: dict[TP, int]) -> None:
        self._committed.update(offsets)

    def forget(self, revoked: Iterable[TP]) -> None:
        """A revoked partition's progress belongs to its next owner."""
        for tp in revoked:
            self._finished.pop(tp, None)
            self._committed.pop(tp, None)
