"""Seconds from a worker's restart to /readyz ready, memory:// against rocksdb:// (issue 16).

    python -m bench.restart_benchmark                       # N = 20,000, both stores
    python -m bench.restart_benchmark --n 50000 --stores rocksdb
    python -m bench.restart_benchmark --n 200000 --stores rocksdb --tagged
    python -m bench.restart_benchmark --bootstrap 127.0.0.1:9092   # an existing broker

The dedup state is filled through a real `newsflow worker` (at_least_once, 4 partitions,
`fast` cleaning) on a real broker. N synthetic articles (support/kafka.py word banks, 3
paragraphs, 10% exact and 10% near copies, fetched within the last day) are produced at
once and the worker takes them as fast as it can; once it gave N outcomes (its /metrics:
first verdicts and dead letters) it is SIGKILLed and a second one started on the same
data dir.

`--tagged` skips cleaning and tagging in the fill, to reach 1M held in reasonable time:
the articles go straight to the internal tagged topic, as the records the tag stage
makes of this plain text (the first 50 are checked against the real `Pipeline.prepare`:
same text, canonical URL and event time), so only the dedup stage (scatter, bands,
decide, its Tables) runs in the worker. The restart is the same either way.

Reported: seconds from the second start to /readyz 200, which waits for the in-memory
band and gather stores rebuilt from the Tables (the "dedup restored" log line; `rebuild_s`
is the seconds it gives), the articles and index entries held after it, the longest a
/readyz request took meanwhile (a rebuild that blocks the event loop shows here), the worker's
data dir size on disk (RocksDB), and the machine's load before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.common import load_average, machine_line
from service.settings import Settings
from support.kafka import (
    WorkerProcess,
    isolated_env,
    lightly_edited,
    metric_value,
    settings_from,
    start_broker,
    synthetic_article,
    synthetic_body,
)


def articles(n: int, seed: int = 16) -> Iterator[dict[str, str]]:
    """The N raw articles, made as they are sent (1M would not fit in memory at once)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    originals: list[str] = []
    for i in range(n):
        fetched = (now - timedelta(seconds=rng.randint(0, 86_400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        kind = rng.random()
        if originals and kind < 0.1:
            text = rng.choice(originals)
        elif originals and kind < 0.2:
            text = lightly_edited(rng.choice(originals), rng)
        else:
            text = synthetic_body(rng)
            originals.append(text)
        yield synthetic_article(f"a{i:07d}", text, source=f"site{i % 50}.test",
                                fetched_at=fetched)


def tagged(doc: dict[str, str]) -> dict[str, object]:
    """What the tag stage makes of one of these plain-text articles (`--tagged`)."""
    return {**doc, "canonical_url": doc["url"], "fetched_at": doc["fetched_at"],
            "cleaning": {"input_kind": "text", "lines_kept": 3, "lines_removed": 0,
                         "removed": {}},
            "language": {"code": "en", "confidence": 0.99, "hint": None}, "section": None}


def check_tagged(settings: Settings, docs: list[dict[str, str]]) -> None:
    """`tagged` gives what dedup reads as the real prepare step does."""
    from service.models import Origin, TaggedArticle
    from service.pipeline import Pipeline

    pipeline = Pipeline(settings, {})
    for i, doc in enumerate(docs):
        real = pipeline.prepare(orjson.dumps(doc), Origin(topic="raw", partition=0, offset=i))
        assert isinstance(real, TaggedArticle), real
        mine = TaggedArticle.model_validate(tagged(doc))
        for name in ("id", "text", "canonical_url", "fetched_at", "url", "source"):
            assert getattr(real, name) == getattr(mine, name), (name, doc["id"])


async def produce_all(bootstrap: str, topic: str, n: int, as_tagged: bool) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=1 << 20, max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        pending = []
        for doc in articles(n):
            value = orjson.dumps(tagged(doc) if as_tagged else doc)
            pending.append(await producer.send(topic, value, key=doc["id"].encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


OUTCOMES = [("dedup", outcome) for outcome in ("clean", "duplicate", "near_duplicate",
                                             "rejected")] + [("prepare", "rejected")]


def outcomes(port: int) -> float:
    """Inputs the worker gave an outcome (its first verdict or dead letter; corrections
    are not counted), from its /metrics."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(metric_value(text, "newsflow_messages_total", stage=stage, outcome=outcome)
               or 0.0 for stage, outcome in OUTCOMES)


def wait_outputs(port: int, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while outcomes(port) < n:
        assert time.monotonic() < deadline, f"fewer than {n} outcomes in {timeout} s"
        time.sleep(5)


def ready(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz",
                                    timeout=timeout) as response:
            return int(response.status) == 200
    except OSError:
        return False


def scrape(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return metric_value(response.read().decode(), name)
    except OSError:
        return None


def restored(log: Path) -> tuple[float, int]:
    """Seconds and articles of the "dedup restored" lines so far (one per rebuild)."""
    seconds, held = 0.0, 0
    for line in log.read_text(errors="replace").splitlines():
        if "dedup restored" in line:
            record = orjson.loads(line)
            seconds += float(record.get("seconds", 0.0))
            held += int(record.get("articles", 0))
    return round(seconds, 1), held


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(store: str, n: int, bootstrap: str, workdir: Path,
        as_tagged: bool) -> dict[str, float | int | None]:
    data = workdir / f"data-{store}"
    env = isolated_env(bootstrap, NEWSFLOW_STORE=f"{store}://", NEWSFLOW_DATA_DIR=str(data),
                       NEWSFLOW_CLEAN__MODE="fast", NEWSFLOW_LOG_LEVEL="INFO",
                       NEWSFLOW_DEDUP__WINDOW_SECONDS=str(7 * 86_400))
    settings = settings_from(env)
    if as_tagged:
        check_tagged(settings, list(articles(50)))
    first = WorkerProcess(env, workdir / f"{store}-fill.log").start()
    second = WorkerProcess(env, workdir / f"{store}-restart.log")
    try:
        first.wait_ready(180)
        started = time.monotonic()
        topic = settings.topics.tagged if as_tagged else settings.topics.raw
        asyncio.run(produce_all(bootstrap, topic, n, as_tagged))
        wait_outputs(first.web_port, n, timeout=max(600.0, n / 10))
        fill = time.monotonic() - started
        held_before = scrape(first.web_port, "newsflow_dedup_index_entries")
        time.sleep(settings.commit_interval_seconds * 2)  # let the last commits land
        first.kill(signal.SIGKILL)
        size = du(data)
        restart = time.monotonic()
        second.start()
        slowest = 0.0  # the longest /readyz answer: the web server shares the event loop
        while True:
            asked = time.monotonic()
            if ready(second.web_port, timeout=60):
                break
            slowest = max(slowest, time.monotonic() - asked)
            assert second.process is not None and second.process.poll() is None, second.log()
            time.sleep(0.1)
        to_ready = time.monotonic() - restart
        rebuild, held = restored(second.log_path)
        entries = scrape(second.web_port, "newsflow_dedup_index_entries")
    finally:
        first.kill()
        second.kill()
    return {"fill_s": round(fill, 1), "ready_s": round(to_ready, 1), "rebuild_s": rebuild,
            "held": held, "index_entries": entries, "index_entries_before": held_before,
            "slowest_readyz_s": round(slowest, 2), "data_mb": round(size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--stores", nargs="+", default=["memory", "rocksdb"],
                        choices=["memory", "rocksdb"])
    parser.add_argument("--tagged", action="store_true",
                        help="fill through the dedup stage only (see above)")
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP"))
    parser.add_argument("--keep", type=Path, help="keep the logs and data dirs here")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="restart-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        broker = None if args.bootstrap else start_broker(workdir / "kafka")
        bootstrap = args.bootstrap or (broker.bootstrap if broker else "")
        try:
            for store in args.stores:
                before = load_average()
                result = run(store, args.n, bootstrap, workdir, args.tagged)
                mode = " tagged" if args.tagged else ""
                print(f"{store}:// N={args.n}{mode}: {result} load {before} -> {load_average()}",
                      flush=True)
        finally:
            if broker is not None:
                broker.stop()


if __name__ == "__main__":
    main()
