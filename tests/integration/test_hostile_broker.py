"""The hostile catalogue through a real broker and a worker subprocess.

Everything goes to a 1-partition raw topic, good articles interleaved with hostile ones,
so order is checkable: every input comes out on exactly one topic with its documented
outcome, the good ones in order, and the worker never crashes or restarts."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from service.runtime.tail import Received
from support.hostile import BY_NAME, interleaved, outcome_of
from support.kafka import WorkerProcess, collect, isolated_env, produce, settings_from

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def streamed(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], list[bytes], list[Received], dict[str, str], str]:
    names, payloads = (list(x) for x in zip(*interleaved(), strict=True))
    env = isolated_env(kafka_bootstrap, NEWSFLOW_TOPICS__PARTITIONS="1")
    settings = settings_from(env)
    worker = WorkerProcess(env, tmp_path_factory.mktemp("hostile") / "worker.log").start()
    try:
        worker.wait_ready()
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, payloads, partitions=1))
        records = asyncio.run(collect(settings, expected=len(payloads), timeout=180))
        assert worker.process is not None
        assert worker.process.poll() is None, f"the worker died\n{worker.log()}"
        log = worker.log()
    finally:
        worker.kill()
    topics = {
        settings.topics.clean: "clean",
        settings.topics.duplicates: "duplicates",
        settings.topics.rejected: "rejected",
    }
    return names, payloads, records, topics, log


def _by_input(
    names: list[str], records: list[Received], topics: dict[str, str]
) -> dict[int, list[Received]]:
    """Input position (= raw offset) to the records that came out for it."""
    position = {name if name.startswith("good-") else f"hostile-{name}": i
                for i, name in enumerate(names)}
    out: dict[int, list[Received]] = {}
    for record in records:
        value: dict[str, Any] = record.value
        if topics[record.topic] == "rejected":
            where = value["origin"]["offset"]
        else:
            where = position[value["id"]]
        out.setdefault(where, []).append(record)
    return out


def test_every_input_comes_out_once_with_its_documented_outcome(
    streamed: tuple[list[str], list[bytes], list[Received], dict[str, str], str],
) -> None:
    names, _payloads, records, topics, _log = streamed
    assert len(records) == len(names), "exactly one output record per input"
    by_input = _by_input(names, records, topics)
    assert sorted(by_input) == list(range(len(names)))
    rejected = next(t for t, short in topics.items() if short == "rejected")
    wrong = {}
    for i, name in enumerate(names):
        [record] = by_input[i]
        got = outcome_of(record.topic, record.value, rejected)
        want = "processed" if name.startswith("good-") else BY_NAME[name].expected
        if got != want:
            wrong[name] = (want, got, record.value.get("error"))
    assert not wrong, wrong


def test_good_articles_arrive_in_order_and_the_worker_never_restarted(
    streamed: tuple[list[str], list[bytes], list[Received], dict[str, str], str],
) -> None:
    names, _payloads, records, topics, log = streamed
    clean = [r for r in records if topics[r.topic] == "clean"]
    clean.sort(key=lambda r: r.offset)
    goods = [r.value["id"] for r in clean if r.value["id"].startswith("good-")]
    assert goods == [n for n in names if n.startswith("good-")]
    dead = sorted((r for r in records if topics[r.topic] == "rejected"), key=lambda r: r.offset)
    offsets = [r.value["origin"]["offset"] for r in dead]
    assert offsets == sorted(offsets), "dead letters keep the raw topic's order"
    assert "Traceback" not in log and "crashed" not in log.lower(), log


def test_an_8mb_payload_is_dead_lettered_as_a_prefix_with_its_sha256(
    streamed: tuple[list[str], list[bytes], list[Received], dict[str, str], str],
) -> None:
    names, payloads, records, topics, _log = streamed
    index = names.index("body_8mb")
    [record] = [r for r in records
                if topics[r.topic] == "rejected" and r.value["origin"]["offset"] == index]
    value, payload = record.value, payloads[index]
    assert len(payload) > 8_000_000
    assert value["error"]["code"] == "payload_too_large"
    assert value["payload_truncated"] is True
    assert value["payload_size"] == len(payload)
    assert value["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert value["payload_encoding"] == "utf-8"
    assert payload.startswith(value["payload"].encode("utf-8"))
    assert 65_536 - 4 <= len(value["payload"].encode("utf-8")) <= 65_536
    assert value["origin"]["partition"] == 0 and value["origin"]["topic"].endswith(".raw")


def test_invalid_bytes_are_dead_lettered_whole(
    streamed: tuple[list[str], list[bytes], list[Received], dict[str, str], str],
) -> None:
    import base64

    names, payloads, records, topics, _log = streamed
    for name in ("binary_garbage", "latin1_bytes", "raw_surrogate_bytes", "empty_payload"):
        index = names.index(name)
        [record] = [r for r in records
                    if topics[r.topic] == "rejected" and r.value["origin"]["offset"] == index]
        value = record.value
        kept = (base64.b64decode(value["payload"]) if value["payload_encoding"] == "base64"
                else value["payload"].encode("utf-8"))
        assert kept == payloads[index] and value["payload_truncated"] is False, name


def test_the_8mb_kind_really_is_bigger_than_the_cap() -> None:
    assert len(BY_NAME["body_8mb"].payload()) > 4_000_000
