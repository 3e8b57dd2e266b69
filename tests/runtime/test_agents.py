"""The agents with faust's test_context(): a memory channel in, the sends recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from service import metrics
from service.runtime.worker import Service
from service.settings import Settings


@pytest.fixture
def service() -> Iterator[Service]:
    svc = Service(Settings(store="memory://", app_id="newsflow-unit", batch_within_seconds=0.01))
    yield svc


@pytest.fixture
def sent(service: Service, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Record what each output topic would publish instead of needing a broker."""
    records: list[tuple[str, Any]] = []
    for name, topic in service.topics.by_name.items():

        async def send(
            *, key: Any = None, value: bytes, timestamp: Any = None, _name: str = name, **_: Any
        ) -> None:
            records.append((_name, orjson.loads(value)))

        monkeypatch.setattr(topic, "send", send)
    return records


def counter(stage: str, outcome: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "newsflow_messages_total", {"stage": stage, "outcome": outcome}
        )
        or 0.0
    )


async def test_prepare_agent_tags_good_input_and_dead_letters_bad(
    service: Service, sent: list[tuple[str, Any]]
) -> None:
    agent = service.app.agents["newsflow.prepare"]
    good = {
        "id": "a1",
        "text": "The council approved the budget on Tuesday after a long debate "
        "about school repairs and library opening hours in the northern districts.",
    }
    tagged_before, rejected_before = counter("prepare", "tagged"), counter("prepare", "rejected")
    async with agent.test_context() as test_agent:
        await test_agent.put(orjson.dumps(good))
        await test_agent.put(b"{broken")
        for _ in range(200):
            if len(sent) >= 2:
                break
            await test_agent.sleep(0.01)
    topics = service.settings.topics
    assert [name for name, _ in sent] == [topics.tagged, topics.rejected]
    assert sent[0][1]["id"] == "a1" and sent[0][1]["language"]["code"] == "en"
    assert sent[1][1]["error"]["code"] == "invalid_json"
    assert counter("prepare", "tagged") == tagged_before + 1
    assert counter("prepare", "rejected") == rejected_before + 1


async def test_dedup_agents_only_move_the_engines_messages(
    service: Service, sent: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tagged -> scatter -> bands -> band store -> answers -> decide -> clean/duplicates,
    each agent in its own test_context, the hops recorded and fed on by hand."""
    changelog: list[Any] = []
    for table in service.dedup.tables.values():
        monkeypatch.setattr(table, "send_changelog", _recording_changelog(changelog))
    hops: dict[str, list[tuple[int, bytes]]] = {"bands": [], "answers": []}
    for name, topic in (("bands", service.dedup.bands_topic),
                        ("answers", service.dedup.answers_topic)):

        async def send(*, value: bytes, partition: int, _name: str = name, **_: Any) -> Any:
            hops[_name].append((partition, value))
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_result(None)
            return future

        monkeypatch.setattr(topic, "send", send)
    pipeline = service.pipeline
    body = ("The city library will open on Sundays from March, the council said, after "
            "a petition signed by more than four thousand residents.")
    first = pipeline.prepare(orjson.dumps({"id": "L1", "text": body,
                                           "fetched_at": "2026-11-01T10:00:00Z"}), _origin())
    copy = pipeline.prepare(orjson.dumps({"id": "L2", "text": body,
                                          "fetched_at": "2026-11-01T11:00:00Z"}), _origin())

    async def run(agent_name: str, values: list[tuple[int, bytes]], until: Any) -> None:
        agent = service.app.agents[agent_name]
        async with agent.test_context() as test_agent:
            for partition, value in values:
                await test_agent.put(value, partition=partition)
            for _ in range(300):
                if until():
                    break
                await test_agent.sleep(0.01)

    for article in (first, copy):  # one at a time, as two batches would go
        start = len(sent)
        probes = len(hops["bands"])
        await run("newsflow.dedup.scatter", [(0, article.model_dump_json().encode())],
                  lambda n=probes: len(hops["bands"]) > n)
        new_probes = hops["bands"][probes:]  # one batch per band partition it probes
        answers = len(hops["answers"])
        await run("newsflow.dedup.bands", new_probes,
                  lambda n=answers: len(hops["answers"]) > n)
        await run("newsflow.dedup.decide", hops["answers"][answers:],
                  lambda s=start: len(sent) > s)
    topics = service.settings.topics
    assert [name for name, _ in sent] == [topics.clean, topics.duplicates]
    assert sent[1][1]["dedup"] == {"status": "duplicate", "duplicate_of": "L1", "similarity": 1.0}
    assert changelog, "payloads, verdicts and probes go to the Tables' changelogs"


def _recording_changelog(into: list[Any]) -> Any:
    def send_changelog(partition: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        into.append((key, value))

        class _Sent:
            class message:  # noqa: N801 - mimics faust's FutureMessage.message
                partition = 0

        return _Sent()

    return send_changelog


def _origin() -> Any:
    from service.models import Origin

    return Origin(topic="t", partition=0, offset=0)


def test_readyz_names_why_it_is_not_ready(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/readyz's body says which state holds it back: the fault harness kills a worker
    in the middle of a rebalance or a recovery by it, and an operator reads it."""
    assert service.state() == "starting"  # not started: no consumer, no assignment
    monkeypatch.setattr(service, "stalled_for", lambda: service.settings.stall_seconds + 1)
    assert service.state() == "stalled"
    monkeypatch.setattr(service.app, "rebalancing", True, raising=False)
    assert service.state() == "rebalancing"
    monkeypatch.setattr(service.app, "in_recovery", True, raising=False)
    assert service.state() == "recovering"  # faust keeps `rebalancing` set meanwhile
    assert not service.is_ready()


async def test_a_state_write_that_fails_is_retried_not_dead_lettered(
    service: Service, sent: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boilerplate Table's disk is full for a while (RocksDB raises on put): the
    article waits and is tagged once the write goes through; nothing goes to rejected."""
    from service.runtime import agents
    from service.runtime.tables import Guarded

    class FullDisk(dict[str, Any]):
        failures = 1

        def __setitem__(self, key: str, value: Any) -> None:
            if FullDisk.failures:
                FullDisk.failures -= 1
                raise Exception("IO error: No space left on device")  # what rocksdict raises
            super().__setitem__(key, value)

    store = service.pipeline.memory.store
    assert isinstance(store, Guarded)
    monkeypatch.setattr(store, "table", FullDisk())
    monkeypatch.setattr(agents, "STORAGE_RETRY_SECONDS", 0.001)
    errors = metrics.REGISTRY.get_sample_value(
        "newsflow_storage_errors_total", {"stage": "prepare"}) or 0.0
    article = {"id": "d1", "url": "https://news.example.org/local/harbour-reopens",
               "text": "The harbour reopened on Monday after storm repairs "
               "that took the port authority three months and most of its budget."}
    async with service.app.agents["newsflow.prepare"].test_context() as test_agent:
        await test_agent.put(orjson.dumps(article))
        for _ in range(300):
            if sent:
                break
            await test_agent.sleep(0.01)
    assert [name for name, _ in sent] == [service.settings.topics.tagged]
    assert FullDisk.failures == 0
    assert metrics.REGISTRY.get_sample_value(
        "newsflow_storage_errors_total", {"stage": "prepare"}) == errors + 1
