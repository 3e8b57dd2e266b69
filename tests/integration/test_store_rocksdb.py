"""NEWSFLOW_STORE=rocksdb:// on the real broker (issue 16, item 6).

One worker with rocksdb:// takes AG News items with exact and near copies; it is
stopped with SIGTERM, restarted on the same data dir, SIGKILLed while a second part is
being produced, and restarted once more. Then (a) every input id's final verdict, read
from outside with librdkafka (read_committed), equals `newsflow process` on the same
input, and (b) each restart reads only the changelog tail: read with the worker down,
the changelog offset each RocksDB database holds (where faust's recovery starts) against
the changelogs' end offsets. (The worker's log keeps faust's own recovery tables, at
INFO, out: service/logging.py.) Every RocksDB database also holds only keys of its own
changelog partition (service/runtime/faust_compat.py, `_rocksdb_set`)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from service.runtime.dedup import partition_of
from support.kafka import isolated_env, produce
from support.outside import (
    GroupWorker,
    PacedProducer,
    ag_news_inputs,
    ag_news_rows,
    batch_outputs,
    input_lines,
    newsflow,
    read_outputs,
    tally,
)

pytestmark = [pytest.mark.integration, pytest.mark.subprocess]

ITEMS = 400
FIRST = 250
PARTITIONS = 4  # isolated_env's
OFFSET_KEY = b"__faust\0offset__"  # faust's RocksDB Store.offset_key
TABLES = ("probes", "payloads", "verdicts", "journal")


def databases(data_dir: Path) -> dict[tuple[str, int], Path]:
    """(dedup table, partition) -> its RocksDB database under the worker's data dir."""
    found = {}
    for path in data_dir.rglob("newsflow-pdedup-*.db"):
        name, partition = path.name.removesuffix(".db").rsplit("-", 1)
        found[(name.removeprefix("newsflow-pdedup-"), int(partition))] = path
    return found


def read_databases(data_dir: Path, partitions: int) -> tuple[dict[tuple[str, int], int], int]:
    """With the worker stopped: each dedup database's persisted changelog offset (where
    faust's recovery starts reading: `Recovery._add`, `Store.persisted_offset`), and how
    many keys they hold, checking that each holds only keys of its own partition."""
    from rocksdict import AccessType, Options, Rdict

    persisted: dict[tuple[str, int], int] = {}
    keys = 0
    for (table, partition), path in sorted(databases(data_dir).items()):
        db = Rdict(str(path), options=Options(raw_mode=True),
                   access_type=AccessType.read_only())
        try:
            for key in db.keys():
                assert isinstance(key, bytes)  # raw mode
                if key == OFFSET_KEY:
                    value = db[key]
                    assert isinstance(value, bytes)
                    persisted[(table, partition)] = int(value)
                    continue
                keys += 1
                assert partition_of(key.decode("utf-8"), partitions) == partition, (path, key)
        finally:
            db.close()
    return persisted, keys


async def changelog_ends(bootstrap: str, app_id: str, partitions: int
                         ) -> dict[tuple[str, int], int]:
    """The dedup changelogs' end offsets (read_committed: at_least_once writes none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap,
                                isolation_level="read_committed")
    await consumer.start()
    try:
        tps = {TopicPartition(f"{app_id}-newsflow-pdedup-{t}-changelog", p): (t, p)
               for t in TABLES for p in range(partitions)}
        ends = await consumer.end_offsets(list(tps))
        return {tps[tp]: int(end) for tp, end in ends.items()}
    finally:
        await consumer.stop()


def tail_to_read(data_dir: Path, bootstrap: str, app_id: str) -> tuple[int, int, int]:
    """(changelog records a restart reads, records in the dedup changelogs, keys held)."""
    persisted, keys = read_databases(data_dir, PARTITIONS)
    ends = asyncio.run(changelog_ends(bootstrap, app_id, PARTITIONS))
    tail = sum(end - (persisted[tp] + 1 if tp in persisted else 0) for tp, end in ends.items())
    return tail, sum(ends.values()), keys


def wait_outcomes(bootstrap: str, topics: dict[str, str], ids: set[str],
                  timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {r.input_id for r in read_outputs(bootstrap, topics)}
        if ids <= seen:
            return
        time.sleep(2)
    raise AssertionError(f"{len(ids - seen)} inputs without an outcome")


def test_rocksdb_store_restarts_read_only_the_changelog_tail(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ag_news_rows()  # skips when ../shared/datasets/ag_news is absent
    data_dir = tmp_path / "data"
    env = isolated_env(kafka_bootstrap, NEWSFLOW_STORE="rocksdb://",
                       NEWSFLOW_DATA_DIR=str(data_dir), NEWSFLOW_LOG_LEVEL="INFO",
                       NEWSFLOW_PROCESSING_GUARANTEE="at_least_once")
    topics = {env["NEWSFLOW_TOPICS__CLEAN"]: "clean",
              env["NEWSFLOW_TOPICS__DUPLICATES"]: "duplicates",
              env["NEWSFLOW_TOPICS__REJECTED"]: "rejected"}
    lines = input_lines(ag_news_inputs(ITEMS, seed=16, exact_copies=0.15, near_copies=0.1))
    input_path = tmp_path / "input.jsonl"
    input_path.write_bytes(b"".join(value + b"\n" for _, value in lines))
    reference = tally(batch_outputs(input_path, env, tmp_path, topics))
    assert len(reference.final) == ITEMS
    newsflow(["topics"], env, timeout=120)
    raw, app_id = env["NEWSFLOW_TOPICS__RAW"], env["NEWSFLOW_APP_ID"]
    ids = {key for key, _ in lines}

    workers: list[GroupWorker] = []
    try:
        first = GroupWorker(env, tmp_path / "worker1.log").start()
        workers.append(first)
        first.wait_ready(120)
        asyncio.run(produce(kafka_bootstrap, raw, [v for _, v in lines[:FIRST]],
                            keys=[k.encode() for k, _ in lines[:FIRST]]))
        wait_outcomes(kafka_bootstrap, topics, {k for k, _ in lines[:FIRST]})
        first.signal_group(signal.SIGTERM)
        assert first.process is not None
        first.process.wait(timeout=60)
        tail, total, held = tail_to_read(data_dir, kafka_bootstrap, app_id)
        print(f"\n[rocksdb] after SIGTERM: {held} keys held; a restart reads {tail} of "
              f"{total} changelog records")
        assert held > FIRST, f"only {held} keys in RocksDB after {FIRST} articles"
        assert total > FIRST and tail == 0, (tail, total)

        second = GroupWorker(env, tmp_path / "worker2.log").start()
        workers.append(second)
        second.wait_ready(120)
        # Ready means its dedup index is rebuilt (/readyz says "restoring" until then).
        assert "dedup restored" in second.log_path.read_text(), second.log_path

        producer = PacedProducer(kafka_bootstrap, raw, lines[FIRST:], rate=60.0)
        producer.start()
        time.sleep(1.5)  # mid-production, batches in flight
        second.kill_group()
        tail, total, held = tail_to_read(data_dir, kafka_bootstrap, app_id)
        print(f"[rocksdb] after SIGKILL: {held} keys held; a restart reads {tail} of "
              f"{total} changelog records")
        # at_least_once stores a changelog offset as soon as Kafka acknowledges the write
        assert tail <= total // 10, (tail, total)
        third = GroupWorker(env, tmp_path / "worker3.log").start()
        workers.append(third)
        producer.done.wait(timeout=120)
        third.wait_ready(120)
        assert producer.acked_ids() == {k for k, _ in lines[FIRST:]}
        wait_outcomes(kafka_bootstrap, topics, ids)
        time.sleep(5)  # late corrections
        outputs = read_outputs(kafka_bootstrap, topics)
    finally:
        for worker in workers:
            worker.kill_group()

    stream = tally(outputs)
    assert set(stream.final) == ids
    differ = {k: (stream.final[k], reference.final[k]) for k in ids
              if stream.final[k] != reference.final[k]}
    assert not differ, f"{len(differ)} verdicts differ from batch, e.g. {list(differ.items())[:3]}"
    assert stream.misrouted == 0
    assert read_databases(data_dir, PARTITIONS)[1] > ITEMS
    restored = [line for w in workers[1:] for line in w.log_path.read_text().splitlines()
                if "dedup restored" in line]
    assert len(restored) >= 2, "each restart rebuilt dedup from RocksDB"
