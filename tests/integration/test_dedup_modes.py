"""One rule in every mode: dedup gives the same verdicts on one worker, on two and four
workers over 8 partitions, and in batch mode (after corrections), on a real broker.

The input (tests/stages/dedup/test_engine.py:corpus) holds exact, near and syndicated
copies, fetched_at ties, and originals that arrive after some of their copies, so the
band partitions see races and must publish corrections.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from service.models import Origin
from service.pipeline import Pipeline
from service.runtime.tail import Received
from service.settings import CleanConfig, DedupConfig, Settings
from service.stages.dedup import reference_verdicts
from support.kafka import (
    WorkerProcess,
    collect,
    free_port,
    http_get,
    isolated_env,
    metric_value,
    produce,
    settings_from,
    wait_outputs,
)
from tests.stages.dedup.test_engine import corpus

pytestmark = pytest.mark.integration

PARTITIONED = {
    "NEWSFLOW_TOPICS__PARTITIONS": "8",
    "NEWSFLOW_TOPICS__TAGGED_PARTITIONS": "8",
    "NEWSFLOW_CLEAN__MIN_TEXT_CHARS": "20",
    "NEWSFLOW_CLEAN__LEARN_BOILERPLATE": "false",
    "NEWSFLOW_BATCH_WITHIN_SECONDS": "0.02",
}
Verdicts = dict[str, tuple[str, str | None]]


def inputs() -> tuple[list[bytes], int]:
    """The corpus with its late originals last, and how many come first: the test sends
    those only once the rest is out, so their copies were surely answered without them."""
    records = corpus()
    ordered = [r for r in records if not r.get("late")] + [r for r in records if r.get("late")]
    hidden = ("group", "kind", "late")
    lines = [orjson.dumps({k: v for k, v in r.items() if k not in hidden}) for r in ordered]
    return lines, sum(1 for r in records if not r.get("late"))


def final_verdicts(records: list[Received], crashed: bool = False) -> tuple[Verdicts, int]:
    """Per id: the last correction if any (corrections of one id share a partition, in
    order), else its verdict; replays of an id must agree. If a worker `crashed`, the
    dead worker may have published a verdict it never recorded and its successor's may
    differ; then a correction must follow, to say which one stands.
    Returns (verdicts, corrections)."""
    first: Verdicts = {}
    changed: set[str] = set()
    corrected: dict[str, tuple[int, tuple[str, str | None]]] = {}
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        value = record.value
        assert "error" not in value, value["error"]
        verdict = (value["dedup"]["status"], value["dedup"]["duplicate_of"])
        if value.get("correction"):
            assert record.topic.endswith(".duplicates") and verdict[0] != "unique"
            corrected[value["id"]] = (record.offset, verdict)
            continue
        prior = first.setdefault(value["id"], verdict)
        if prior != verdict:
            assert crashed, f"replayed {value['id']} changed verdict"
            changed.add(value["id"])
        assert record.topic.endswith(".clean") == (verdict[0] == "unique")
    assert not changed - set(corrected), f"changed without a correction: {changed}"
    return {**first, **{k: v for k, (_, v) in corrected.items()}}, len(corrected)


def stream(
    bootstrap: str, tmp_path: Path, lines: list[bytes], first: int, workers: int,
    kill_one: bool = False,
) -> tuple[Verdicts, int]:
    """Stream `lines[:first]`, wait for their verdicts, then the late rest. With
    `kill_one`, the second worker is SIGKILLed in between: the survivor must rebuild
    the buckets and verdicts of its partitions from the changelogs to get the late
    originals' corrections right."""
    env = isolated_env(bootstrap, **PARTITIONED)
    settings = settings_from(env)
    procs = []
    try:
        for i in range(workers):
            worker_env = dict(env)
            if i:
                worker_env["NEWSFLOW_WEB_PORT"] = str(free_port())
            procs.append(WorkerProcess(worker_env, tmp_path / f"worker{workers}-{i}.log").start())
        for proc in procs:  # every member assigned and recovered: the group is settled
            proc.wait_ready(timeout=120)
        if workers > 1:
            _wait_settled(procs)
        asyncio.run(produce(bootstrap, settings.topics.raw, lines[:first], partitions=8))
        wait_outputs(settings, first)
        if kill_one:
            procs.pop().kill()
        asyncio.run(produce(bootstrap, settings.topics.raw, lines[first:], partitions=8))
        records = _collect_every_id(settings, lines)
        for proc in procs:  # every worker answered band probes: the work was spread
            _, text = http_get(f"http://127.0.0.1:{proc.web_port}/metrics")
            name = "newsflow_stage_duration_seconds_count"
            assert (metric_value(text, name, stage="dedup_bands") or 0) > 0, proc.log()
    finally:
        for proc in procs:
            proc.kill()
    return final_verdicts(records, crashed=kill_one)


def _collect_every_id(settings: Settings, lines: list[bytes]) -> list[Received]:
    """All output records once every input id has a verdict (after a killed worker, the
    late inputs of its partitions wait for the group to notice and reassign them)."""
    ids = {orjson.loads(line)["id"] for line in lines}
    deadline = time.monotonic() + 150
    while True:
        records = asyncio.run(collect(settings, expected=len(lines), timeout=60))
        missing = ids - {r.value.get("id") for r in records}
        if not missing:
            return records
        assert time.monotonic() < deadline, f"no verdict for {sorted(missing)[:10]}"


def _wait_settled(procs: list[WorkerProcess]) -> None:
    """Both ready at the same moment: the second join's rebalance is over."""
    for _ in range(3):
        time.sleep(2)
        for proc in procs:
            proc.wait_ready(timeout=60)


def batch_settings() -> Settings:
    return Settings(
        dedup=DedupConfig(),  # the worker's 7-day window
        clean=CleanConfig(min_text_chars=20, learn_boilerplate=False),
    )


def batch(lines: list[bytes]) -> tuple[Verdicts, int]:
    """`newsflow process`'s pipeline, plus the corrections it collects for inputs that
    arrived after a later-ordered copy."""
    settings = batch_settings()
    pipeline = Pipeline(settings)
    out: Verdicts = {}
    for n, line in enumerate(lines, start=1):
        value = pipeline.process(line, Origin(line=n)).value
        dedup = value.dedup  # type: ignore[union-attr]
        out[value.id] = (dedup.status, dedup.duplicate_of)  # type: ignore[union-attr]
    for c in pipeline.dedup.corrections:
        out[c.article_id] = (c.verdict.status, c.verdict.duplicate_of)
    return out, len(pipeline.dedup.corrections)


def test_one_two_and_four_workers_and_batch_agree(kafka_bootstrap: str, tmp_path: Path) -> None:
    lines, first = inputs()
    assert 0 < first < len(lines)
    expected, batch_corrections = batch(lines)
    settings = batch_settings()
    prepare = Pipeline(settings).prepare
    prepared = [prepare(line, Origin()) for line in lines]
    reference = reference_verdicts(prepared, settings.dedup)  # type: ignore[arg-type]
    assert expected == {k: (v.status, v.duplicate_of) for k, v in reference.items()}
    assert batch_corrections > 0, "the input must contain late originals"
    statuses = {s for s, _ in expected.values()}
    assert statuses == {"unique", "duplicate", "near_duplicate"}

    one, corrections_one = stream(kafka_bootstrap, tmp_path, lines, first, workers=1)
    assert one == expected
    two, corrections_two = stream(kafka_bootstrap, tmp_path, lines, first, workers=2)
    assert two == expected
    four, corrections_four = stream(kafka_bootstrap, tmp_path, lines, first, workers=4)
    assert four == expected
    assert corrections_one > 0 and corrections_two > 0 and corrections_four > 0


def test_a_killed_worker_changes_no_verdict(kafka_bootstrap: str, tmp_path: Path) -> None:
    lines, first = inputs()
    expected, _ = batch(lines)
    verdicts, corrections = stream(kafka_bootstrap, tmp_path, lines, first, workers=2,
                                   kill_one=True)
    assert verdicts == expected
    assert corrections > 0
