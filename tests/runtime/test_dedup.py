"""The worker's dedup edge: metrics and log lines for what the engine reports."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from service import metrics
from service.runtime.dedup import partition_of, record_evictions, salt
from service.stages.dedup import Candidate, Evicted, packed
from service.stages.dedup.signature import b64


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_storage_evictions_are_counted_and_early_ones_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    early = value("newsflow_dedup_evictions_total", reason="early")
    aged = value("newsflow_dedup_evictions_total", reason="aged")
    with caplog.at_level(logging.WARNING, logger="service.runtime.dedup"):
        record_evictions(Evicted(total=2, early=0))
    assert not caplog.records
    assert value("newsflow_dedup_evictions_total", reason="aged") == aged + 2
    with caplog.at_level(logging.WARNING, logger="service.runtime.dedup"):
        record_evictions(Evicted(total=5, early=3))
    assert value("newsflow_dedup_evictions_total", reason="early") == early + 3
    assert value("newsflow_dedup_evictions_total", reason="aged") == aged + 4
    assert "MAX_ENTRIES" in caplog.records[0].getMessage()


def test_salted_keys_hash_to_the_partition_they_name() -> None:
    for partition in range(8):
        assert partition_of(salt("p3:120", partition, 8), 8) == partition


def test_a_worker_that_rejoined_as_a_new_member_keeps_no_partition_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kept partitions keep their state across a rebalance, lost ones drop it; but a
    worker that joined again under a new member id was out of the group (a zombie,
    paused past its session) while another owned its partitions, so it rebuilds all of
    them. A rebalance that restarted (a generation skipped) is not that."""
    import asyncio

    from service.runtime import faust_compat
    from service.runtime.worker import Service
    from service.settings import Settings
    from service.stages.dedup import BandStore, Gatherer

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-members")).dedup
    monkeypatch.setattr(dedup, "_assigned", lambda: ({0, 1}, {0, 1}))
    member = ["m-1"]
    monkeypatch.setattr(faust_compat, "group_member_id", lambda consumer: member[0])

    def rebalance(generation: int, as_member: str) -> tuple[set[int], set[int]]:
        member[0] = as_member
        dedup.app.consumer_generation_id = generation
        asyncio.run(dedup._on_rebalance_complete(None, signal=None))
        return set(dedup._bands), set(dedup._gathers)

    def hold(partitions: set[int]) -> None:
        for p in partitions:
            dedup._bands[p] = BandStore(dedup.cfg)
            dedup._gathers[p] = Gatherer(dedup.cfg)

    hold({0, 1, 2})
    assert rebalance(4, "m-1") == ({0, 1}, {0, 1})  # 2 was lost
    assert rebalance(6, "m-1") == ({0, 1}, {0, 1})  # a restarted rebalance: kept
    assert rebalance(8, "m-2") == (set(), set())  # out of the group meanwhile
    assert dedup._restore_due


def _held_partitions(dedup: Any) -> tuple[dict[str, dict[int, dict[bytes, Any]]], list[str]]:
    """Durable records as a worker leaves them: two articles on one id partition, one
    decided (its verdict recorded) and one not, and their probes on each band partition."""
    from service.models import TaggedArticle
    from service.runtime.dedup import partition_of
    from service.stages.dedup import make_probe
    from service.stages.dedup.rule import UNIQUE

    n = dedup.n
    held: dict[str, dict[int, dict[bytes, Any]]] = {
        name: {p: {} for p in range(n)} for name in ("probes", "payloads", "verdicts")}
    ids = [f"r{i}" for i in range(200) if partition_of(f"r{i}", n) == 0][:2]
    text = " ".join(f"word{i} story{i % 7}" for i in range(60))
    for number, article_id in enumerate(ids):
        article = TaggedArticle.model_validate(
            {"id": article_id, "text": text, "fetched_at": f"2026-12-0{number + 1}T10:00:00Z",
             "language": {"code": "en", "confidence": 1.0}})
        probe = make_probe(article, dedup.cfg)
        me = probe.me.dump()
        held["payloads"][0][article_id.encode()] = [article.model_dump_json(), 0.0, 0.0, me]
        for q, keys in dedup._split(probe.keys).items():
            held["probes"][q][f"p{q}:{number}".encode()] = [[me, keys]]
    held["verdicts"][0][ids[0].encode()] = UNIQUE.dump()
    return held, ids


def test_a_rebuild_hands_the_loop_back_and_agents_wait_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gained partition's band store and gathers are built aside, yielding to the event
    loop between records, and installed whole: an agent asking for one meanwhile waits
    for that rebuild (it starts none of its own), and the worker is `restoring` until
    every partition it is assigned has its state. The undecided article is probed again."""
    import asyncio

    from service.runtime import dedup as module
    from service.runtime.worker import Service
    from service.settings import Settings

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-rebuild")).dedup
    held, ids = _held_partitions(dedup)
    names = {id(table): name for name, table in dedup.tables.items()}
    monkeypatch.setattr(module, "partition_items",
                        lambda table, p: iter(held[names[id(table)]][p].items()))
    monkeypatch.setattr(module, "SLICE_SECONDS", 0.0)  # yield after every record
    monkeypatch.setattr(dedup, "_assigned", lambda: (set(range(dedup.n)), {0}))
    resent: list[dict[int, list[Any]]] = []
    monkeypatch.setattr(dedup, "_resend", resent.append)

    async def scenario() -> tuple[int, int]:
        turns = 0
        building = dedup._build(set(range(dedup.n)), {0})
        assert building is not None and dedup.restoring()
        waiting = asyncio.ensure_future(dedup.gatherer(0))
        while not building.done():
            assert not dedup._gathers and not dedup._bands  # nothing half-built is seen
            turns += 1
            await asyncio.sleep(0)
        gather = await waiting
        assert gather is dedup._gathers[0]
        return turns, len(gather)

    turns, articles = asyncio.run(scenario())
    assert turns > 1 and articles == 2
    assert not dedup.restoring()
    assert all(len(dedup._bands[q]) for q in range(dedup.n))
    assert dedup._gathers[0].decided(ids[0]) is not None
    assert dedup._gathers[0].decided(ids[1]) is None
    assert [sorted({op[0][1] for ops in envelopes.values() for op in ops})
            for envelopes in resent] == [[ids[1]]]


def test_a_rebuild_overtaken_by_a_rebalance_installs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Tables a rebuild reads may change under a rebalance: what it read before one
    is dropped, and the agent waiting for the partition gets a rebuild begun after it."""
    import asyncio

    from service.runtime import dedup as module
    from service.runtime import faust_compat
    from service.runtime.worker import Service
    from service.settings import Settings

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-overtaken")).dedup
    held, _ = _held_partitions(dedup)
    names = {id(table): name for name, table in dedup.tables.items()}
    monkeypatch.setattr(module, "partition_items",
                        lambda table, p: iter(held[names[id(table)]][p].items()))
    monkeypatch.setattr(module, "SLICE_SECONDS", 0.0)
    monkeypatch.setattr(dedup, "_assigned", lambda: (set(range(dedup.n)), {0}))
    monkeypatch.setattr(dedup, "_resend", lambda envelopes: None)
    monkeypatch.setattr(faust_compat, "group_member_id", lambda consumer: "m-1")

    async def scenario() -> None:
        first = dedup._build(set(range(dedup.n)), {0})
        assert first is not None
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not first.done()
        await dedup._on_rebalance_complete(None, signal=None)
        await first
        assert not dedup._bands and not dedup._gathers  # read before it: dropped
        gather = await dedup.gatherer(0)
        assert len(gather) == 2 and 0 not in dedup._bands  # only what was asked for
        assert dedup.restoring()

    asyncio.run(scenario())


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_only_the_very_record_already_published_counts_as_a_replay(guarantee: str) -> None:
    """Same cleaned JSON and raw timestamp as the held payload: a replay of `prepare`,
    not published again under at_least_once. Another timestamp is a re-send of the id.
    Under exactly_once nothing is held back (an aborted transaction may hold the first)."""
    from service.runtime.worker import Service
    from service.settings import Settings

    settings = Settings(store="memory://", app_id=f"newsflow-unit-replay-{guarantee}",
                        processing_guarantee=guarantee)  # type: ignore[arg-type]
    dedup = Service(settings).dedup
    dedup.payloads["a1"] = ['{"id":"a1"}', 1764583200.123, 0.0, []]
    at_least_once = guarantee == "at_least_once"
    assert dedup._replayed("a1", b'{"id":"a1"}', 1764583200.123) is at_least_once
    assert dedup._replayed("a1", b'{"id":"a1"}', 1764583201.0) is False
    assert dedup._replayed("a1", b'{"id":"a1","text":"x"}', 1764583200.123) is False
    assert dedup._replayed("a2", b'{"id":"a2"}', 1764583200.123) is False


def test_no_message_or_probes_record_holds_more_than_its_share_of_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bands batch can take `batch_size` envelopes of `batch_size` probes: its answers
    and its durable probes go out in several bounded records, in order (a worker filling
    a large index on a backlog once wrote an 18 MB record and crashed on Kafka's limit)."""
    import asyncio

    from service.runtime import dedup as module
    from service.runtime.worker import Service
    from service.settings import Settings

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-chunks")).dedup
    monkeypatch.setattr(module, "MAX_ITEMS_PER_RECORD", 2)
    sent: list[tuple[int, Any]] = []

    async def deliver(topic: Any, key: bytes, value: bytes, timestamp: Any,
                      partition: int) -> None:
        sent.append((partition, module.orjson.loads(value)["o"]))

    monkeypatch.setattr(dedup.delivery, "deliver", deliver)
    asyncio.run(dedup._send_all(dedup.answers_topic, "o", {1: list("abcde"), 0: ["z"]}))
    assert sent == [(0, ["z"]), (1, ["a", "b"]), (1, ["c", "d"]), (1, ["e"])]

    probes = [(Candidate(1_700_000_000 + i, f"id{i}", b64(bytes(8)), bytes(4), None, 9),
               [f"k{i}"]) for i in range(5)]
    dedup._record_probes({3: probes}, {3: (120, 7)})
    records = [dedup.probes.get(salt(f"p3:120:7:{part}", 3, dedup.n)) for part in range(4)]
    loaded = [packed.unpack(r) for r in records if r]
    assert all(packed.is_packed(r) for r in records if r)
    assert [len(r) for r in loaded] == [2, 2, 1]
    assert [i for r in loaded for i in r.ids] == [f"id{i}" for i in range(5)]


def test_table_writes_refused_by_a_full_disk_are_retried_until_they_land(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's Table writes wait while RocksDB refuses them (the data dir's disk full):
    the write that failed, and every one after it, land once the store takes them again."""
    import asyncio

    from service.runtime import agents
    from service.runtime.dedup import WriteBehind
    from service.runtime.worker import Service
    from service.settings import Settings

    class FullDisk(dict[str, Any]):
        refusals = 2

        def __setitem__(self, key: str, value: Any) -> None:
            if FullDisk.refusals:
                FullDisk.refusals -= 1
                raise Exception("IO error: No space left on device")
            super().__setitem__(key, value)

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-disk")).dedup
    disk = FullDisk()
    monkeypatch.setattr(dedup, "stores", {"payloads": WriteBehind(disk)})
    monkeypatch.setattr(agents, "STORAGE_RETRY_SECONDS", 0.001)
    errors = value("newsflow_storage_errors_total", stage="dedup")
    store = dedup.stores["payloads"]
    for key in ("a", "b", "c"):
        store[key] = key.upper()
    asyncio.run(dedup._flush("scatter"))
    assert disk == {"a": "A", "b": "B", "c": "C"}
    assert value("newsflow_storage_errors_total", stage="dedup") == errors + 2
    assert store.flush() == 0  # nothing left pending


def test_a_batch_makes_only_its_own_agents_writes_durable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The agents share the stores' pending writes. A verdict is recorded by decide's own
    flush, after its output was acknowledged; a scatter or bands batch ending meanwhile
    must not record it, or a kill before that acknowledgement loses the output for good
    (at_least_once: the restarted worker finds the article decided)."""
    import asyncio

    from service.runtime.dedup import TABLES, WriteBehind
    from service.runtime.worker import Service
    from service.settings import Settings

    dedup = Service(Settings(store="memory://", app_id="newsflow-unit-own-writes")).dedup
    tables: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
    monkeypatch.setattr(dedup, "stores", {name: WriteBehind(tables[name]) for name in TABLES})
    dedup.stores["verdicts"]["a1"] = ["unique"]  # decide: its output not yet acknowledged
    dedup.stores["payloads"]["b2"] = ['{"id":"b2"}', 1.0, 0.0, []]  # a scatter batch
    dedup.stores["probes"]["p0:1:0:0"] = [[[1.0, "b2"], ["k"]]]  # a bands batch
    dedup.stores["journal"]["b0:0"] = {"p0:1:0:0": 1}

    asyncio.run(dedup._flush("scatter"))
    assert tables["payloads"] == {"b2": ['{"id":"b2"}', 1.0, 0.0, []]}
    assert tables["verdicts"] == tables["probes"] == tables["journal"] == {}
    asyncio.run(dedup._flush("bands"))
    assert "p0:1:0:0" in tables["probes"] and "b0:0" in tables["journal"]
    assert tables["verdicts"] == {}
    asyncio.run(dedup._flush("decide"))
    assert tables["verdicts"] == {"a1": ["unique"]}
