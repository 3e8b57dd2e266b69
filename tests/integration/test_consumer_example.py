"""examples/consumer.py against a worker's output with corrections: its SQLite table ends
with `newsflow process`'s verdicts, and a second run over the same topics changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from service.batch import process_file
from support.kafka import WorkerProcess, isolated_env, produce, settings_from, wait_outputs
from tests.integration.test_dedup_modes import PARTITIONED, batch_settings, inputs

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "consumer.py"


def run_example(bootstrap: str, topics: list[str], db: Path, group: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--bootstrap", bootstrap, "--db", str(db),
         "--group", group, "--idle-exit", "4", "--topics", *topics],
        capture_output=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return result.stdout.decode()


def table(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as connection:
        return {i: (s, d) for i, s, d in
                connection.execute("SELECT id, status, duplicate_of FROM articles")}


def test_the_example_consumer_ends_with_the_batch_verdicts(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    lines, first = inputs()
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    process_file(source, target, batch_settings())
    expected = {
        v["id"]: (v["dedup"]["status"], v["dedup"]["duplicate_of"])
        for v in (orjson.loads(line)["value"] for line in target.read_bytes().splitlines())
    }

    env = isolated_env(kafka_bootstrap, **PARTITIONED)
    settings = settings_from(env)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(timeout=120)
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, lines[:first], partitions=8))
        wait_outputs(settings, first)
        # The late originals: their copies were published first, so corrections follow.
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, lines[first:], partitions=8))
        wait_outputs(settings, len(lines))
        topics = [settings.topics.clean, settings.topics.duplicates]
        db = tmp_path / "articles.db"
        out = run_example(kafka_bootstrap, topics, db, group=f"{settings.app_id}-example")
        for _ in range(3):  # a correction still on its way: the example resumes where it was
            if table(db) == expected:
                break
            run_example(kafka_bootstrap, topics, db, group=f"{settings.app_id}-example")
    finally:
        worker.kill()
    with sqlite3.connect(db) as connection:
        corrected = connection.execute(
            "SELECT count(*) FROM articles WHERE corrected = 1").fetchone()[0]
    assert corrected > 0, "the stream must hold corrections for this test to mean anything"
    assert table(db) == expected
    assert "from corrections" in out

    # Offsets live in the table: a second run reads nothing new and changes nothing.
    again = run_example(kafka_bootstrap, topics, db, group=f"{settings.app_id}-example")
    assert again.startswith("applied 0 records"), again
    assert table(db) == expected
    # A fresh table from the same topics, in another group: the same verdicts again.
    fresh = tmp_path / "fresh.db"
    run_example(kafka_bootstrap, topics, fresh, group=f"{settings.app_id}-fresh")
    assert table(fresh) == expected
