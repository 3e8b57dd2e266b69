"""Delivery: sends retried until buffered, each batch's Outbox, the topics' health."""

from __future__ import annotations

import asyncio
from typing import Any

from service.runtime.delivery import Delivery, Outbox, _Sent


class RefusingTopic:
    """A topic whose broker refuses the first `refusals` deliveries (say, a denied ACL)."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.attempts: list[bytes] = []
        self.landed: list[bytes] = []

    def get_topic_name(self) -> str:
        return "unit.refusing"

    async def send(self, *, key: Any, value: bytes, partition: Any, timestamp: Any) -> Any:
        from aiokafka.errors import TopicAuthorizationFailedError

        self.attempts.append(value)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if len(self.attempts) <= self.refusals:
            future.set_exception(TopicAuthorizationFailedError())
        else:
            self.landed.append(value)
            future.set_result(None)
        return future


async def test_a_refused_delivery_is_sent_again_before_its_batch_counts_as_done() -> None:
    topic = RefusingTopic(refusals=2)
    delivery = Delivery()
    with delivery.batch() as outbox:
        await delivery.deliver(topic, b"k", b"one", None)  # type: ignore[arg-type]
        await delivery.deliver(topic, b"k", b"two", None)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert "unit.refusing" in delivery.stalled_topics(), "refused deliveries make it not ready"
    assert "unit.refusing" not in Delivery().stalled_topics(), "one worker's state, not global"
    await outbox.settle()
    assert sorted(topic.landed) == [b"one", b"two"], "nothing refused is dropped"
    assert len(topic.attempts) == 4
    assert "unit.refusing" not in delivery.stalled_topics()


async def test_an_agent_can_settle_its_batch_before_recording_state() -> None:
    """What dedup's decide agent does before it writes verdicts: the batch's sends so far
    are acknowledged (refused ones sent again) when `settle` returns."""
    topic = RefusingTopic(refusals=1)
    delivery = Delivery()
    await delivery.settle()  # outside a batch: nothing to wait for
    with delivery.batch() as outbox:
        await delivery.deliver(topic, b"k", b"verdict", None)  # type: ignore[arg-type]
        assert topic.landed == []
        await delivery.settle()
        assert topic.landed == [b"verdict"] and not outbox._sent


async def test_sends_outside_a_batch_join_no_outbox() -> None:
    topic = RefusingTopic(refusals=0)
    delivery = Delivery()
    with delivery.batch() as outbox:
        delivery.outside_batch()  # what a task spawned inside the batch says first
        await delivery.deliver(topic, b"k", b"one", None)  # type: ignore[arg-type]
    await outbox.settle()
    assert topic.landed == [b"one"] and not outbox._sent


async def test_settle_waits_for_deliveries_tracked_while_it_waits() -> None:
    """A delivery tracked into the Outbox while settle() waits (a task spawned inside
    the batch) is waited for too; reading it unfinished crashed the scatter agent."""
    loop = asyncio.get_running_loop()
    first: asyncio.Future[Any] = loop.create_future()
    late: asyncio.Future[Any] = loop.create_future()
    outbox = Outbox(Delivery())
    topic: Any = RefusingTopic(refusals=0)
    outbox.track(_Sent(topic, b"k", b"one", None, first))

    def land_first_then_track_late() -> None:
        outbox.track(_Sent(topic, b"k", b"two", None, late))
        first.set_result(None)
        loop.call_later(0.01, late.set_result, None)

    loop.call_soon(land_first_then_track_late)
    await outbox.settle()
    assert late.done(), "settle returned before the late delivery landed"


class BetweenTransactions:
    """Under exactly_once, a send made between a commit and the next transaction."""

    def __init__(self) -> None:
        self.calls = 0

    def get_topic_name(self) -> str:
        return "unit.between"

    async def send(self, *, key: Any, value: bytes, partition: Any, timestamp: Any) -> Any:
        from aiokafka.errors import IllegalOperation

        self.calls += 1
        if self.calls == 1:
            raise IllegalOperation("Can't send messages while not in transaction")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


async def test_a_send_refused_between_transactions_is_sent_again(
    monkeypatch: Any,
) -> None:
    """dedup's re-probes run outside any batch; one refused this way crashed its task
    and the articles it re-probed were never decided (test_faults: 98 inputs lost)."""
    import service.runtime.delivery as delivery_module

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr(delivery_module.asyncio, "sleep", no_wait)
    topic = BetweenTransactions()
    future = await Delivery().deliver(topic, b"k", b"v", None)  # type: ignore[arg-type]
    assert topic.calls == 2 and future is not None and future.done()
