"""The dedup engine over Kafka: CPU per protocol step, and worker throughput with 1 and 2
processes (accuracy is bench/dedup_benchmark.py's).

    python -m bench.scatter_benchmark --steps         # CPU per article per step
    python -m bench.scatter_benchmark --workers --bootstrap HOST:PORT \
        [--count 4000] [--procs 1,2] [--cap 0.35,none] [--repeat 2]

`--workers` publishes already-tagged articles straight onto the tagged topic (8
partitions) of a fresh group per run and times, from the first send to the first
verdict of the last article, how long 1 and then 2 worker processes take to dedup them
(prepare is idle). It also reports the worker CPU per article, the changelog records
per article (end offsets of the run's changelog topics), the mean scatter-to-verdict
latency under that load, and the median tagged-to-verdict latency of single articles
sent one at a time afterwards (idle).

`--cap C` runs each worker process in its own cgroup limited to C cores (root needed):
on a 2-core machine shared with the broker and the load generator, two uncapped
workers measure contention, not scale-out; capped workers emulate worker nodes smaller
than the machine. Every (cap, processes) pair runs `--repeat` times, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CpuCap  # noqa: E402
from bench.dedup_benchmark import articles  # noqa: E402
from bench.dedup_corpus import build  # noqa: E402
from service.models import Language, TaggedArticle  # noqa: E402
from service.pipeline import dump  # noqa: E402
from service.settings import DedupConfig  # noqa: E402
from service.stages.dedup import LocalDedup, make_probe  # noqa: E402


def steps() -> None:
    """Where the CPU goes: the scatter step (probe) vs bands (offer) vs gather (answer)."""
    records = build()
    batch = articles(records)
    cfg = DedupConfig()
    local = LocalDedup(cfg)
    t = time.perf_counter()
    probes = [make_probe(a, cfg) for a in batch]
    probe_s = time.perf_counter() - t
    t = time.perf_counter()
    offers = [local.bands.offer(p.me, p.keys) for p in probes]
    offer_s = time.perf_counter() - t
    t = time.perf_counter()
    for p, o in zip(probes, offers, strict=True):
        local.gather.expect(p, [0])
        local.gather.answer(p.me.id, 0, o.earlier)
    gather_s = time.perf_counter() - t
    n = len(batch)
    print(f"{n} articles: probe {probe_s / n * 1e6:.0f} us, bands {offer_s / n * 1e6:.0f} us, "
          f"gather {gather_s / n * 1e6:.0f} us per article (pure core, no Kafka)")


def tagged_values(count: int, prefix: str = "b") -> list[bytes]:
    """Distinct stories plus 30% copies, as the tag stage would publish them."""
    from support.stories import near_copy, story

    rng = random.Random(3)
    lang = Language(code="en", confidence=1.0)
    out: list[bytes] = []
    texts: list[str] = []
    for i in range(count):
        if texts and rng.random() < 0.3:
            text = near_copy(rng.choice(texts), rng)
        else:
            text = story(rng)
            texts.append(text)
        article = TaggedArticle(id=f"{prefix}{i:06d}", text=text, language=lang,
                                fetched_at=None, url=f"https://bench.example/{i}")
        out.append(dump(article))
    return out


async def changelog_records(bootstrap: str, app_id: str) -> dict[str, int]:
    """Records written per changelog topic of the app: the sum of its end offsets."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        topics = [t for t in cluster.topics()
                  if t.startswith(app_id) and t.endswith("-changelog")]
        out: dict[str, int] = {}
        for topic in sorted(topics):
            parts = cluster.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in parts]
            ends = await consumer.end_offsets(tps)
            out[topic.removeprefix(app_id + "-").removesuffix("-changelog")] = sum(ends.values())
        return out
    finally:
        await consumer.stop()


def gather_latency(text: str) -> float | None:
    """Mean scatter-to-verdict latency (seconds) from one worker's /metrics."""
    from support.kafka import metric_value

    name = "newsflow_stage_duration_seconds"
    total = metric_value(text, f"{name}_sum", stage="dedup_gather")
    count = metric_value(text, f"{name}_count", stage="dedup_gather")
    return total / count if total is not None and count else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle_latency(bootstrap: str, tagged: str, outputs: list[str], n: int = 20
                       ) -> list[float]:
    """Seconds from sending one tagged article to reading its verdict, one at a time on
    an idle group: the dedup stage's latency with its scatter-gather hops."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(*outputs, bootstrap_servers=bootstrap,
                                auto_offset_reset="latest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        await consumer.seek_to_end()
        out = []
        for i, value in enumerate(tagged_values(n, prefix="idle")):
            key = f"idle{i:06d}".encode()
            sent = time.monotonic()
            await producer.send_and_wait(tagged, value, key=key)
            found = False
            while not found:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    found = found or any(r.key == key for r in records)
                if time.monotonic() - sent > 30:
                    raise AssertionError(f"no verdict for {key!r} in 30 s")
            out.append(time.monotonic() - sent)
        return out
    finally:
        await producer.stop()
        await consumer.stop()


async def _timed(settings: Any, bootstrap: str, values: list[bytes]) -> tuple[
    float, float, Counter[str]
]:
    """From the first send to the first verdict of the last article (corrections, which
    may follow, are counted but not waited for)."""
    from service.runtime.tail import read_topics
    from support.kafka import produce

    keys = [v.split(b'"id":"', 1)[1].split(b'"', 1)[0] for v in values]
    names = [settings.topics.clean, settings.topics.duplicates]
    seen: Counter[str] = Counter()
    ids: set[str] = set()
    started = time.monotonic()
    await produce(bootstrap, settings.topics.tagged, values, keys=keys, partitions=8)
    last = started
    async for r in read_topics(settings, names, min_records=len(values), idle_seconds=5,
                               timeout_seconds=900):
        if r.value.get("correction"):
            seen["corrections"] += 1
            continue
        seen[r.value["dedup"]["status"]] += 1
        if r.value["id"] not in ids:
            ids.add(r.value["id"])
            last = time.monotonic()
    seen["distinct ids"] = len(ids)
    return started, last, seen


def _start_workers(env: dict[str, str], workers: int, label: str, run: str,
                   log_dir: Path, cap: float | None) -> tuple[list[Any], list[CpuCap]]:
    """Start the workers, each under its CPU cap, and wait until the group has settled
    (all ready a few times running)."""
    from support.kafka import WorkerProcess, free_port

    procs, caps = [], []
    for i in range(workers):
        proc = WorkerProcess(dict(env, NEWSFLOW_WEB_PORT=str(free_port())),
                             log_dir / f"{label}-{i}.log").start()
        procs.append(proc)
        if cap:
            caps.append(CpuCap(f"newsflow-bench-{run}-{i}", cap))
            assert proc.process is not None
            caps[-1].add(proc.process.pid)
    for p in procs:
        p.wait_ready(180)
    for _ in range(3):
        time.sleep(2)
        for p in procs:
            p.wait_ready(120)
    return procs, caps


def workers_run(
    bootstrap: str, values: list[bytes], workers: int, log_dir: Path, cap: float | None
) -> dict[str, Any]:
    from support.kafka import http_get, isolated_env, settings_from

    env = isolated_env(bootstrap,
                       NEWSFLOW_TOPICS__PARTITIONS="8", NEWSFLOW_TOPICS__TAGGED_PARTITIONS="8")
    run = env["NEWSFLOW_TOPICS__TAGGED"].removesuffix(".tagged")
    env.update(NEWSFLOW_TOPICS__BANDS=f"{run}.bands", NEWSFLOW_TOPICS__ANSWERS=f"{run}.answers")
    settings = settings_from(env)
    count = len(values)
    label = f"w{workers}-{'cap' + str(cap) if cap else 'uncapped'}-{run}"
    procs: list[Any] = []
    caps: list[CpuCap] = []
    try:
        procs, caps = _start_workers(env, workers, label, run, log_dir, cap)
        names = [settings.topics.clean, settings.topics.duplicates]
        pids = [p.process.pid for p in procs if p.process is not None]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        started, last, seen = asyncio.run(_timed(settings, bootstrap, values))
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        latencies = [gather_latency(http_get(f"http://127.0.0.1:{p.web_port}/metrics")[1])
                     for p in procs]
        records = asyncio.run(changelog_records(bootstrap, settings.app_id))
        idle = sorted(asyncio.run(idle_latency(bootstrap, settings.topics.tagged, names)))
        known = [x for x in latencies if x is not None]
        return {"workers": workers, "cap": cap, "rate": count / max(last - started, 1e-9),
                "seconds": last - started, "outputs": dict(seen), "changelog": records,
                "per_article": sum(records.values()) / count,
                "cpu_ms": 1000 * cpu / count,
                "idle_ms": 1000 * idle[len(idle) // 2],
                "gather_ms": 1000 * sum(known) / len(known) if known else None}
    finally:
        for p in procs:
            p.kill()
        for c in caps:
            c.remove()


def workers_bench(bootstrap: str, count: int, procs: list[int], caps: list[float | None],
                  repeat: int) -> None:
    """Every (cap, processes) combination `repeat` times, interleaved, in this one run."""
    log_dir = Path(tempfile.mkdtemp(prefix="pdedup-bench-"))
    values = tagged_values(count)
    print(f"load before: {os.getloadavg()[0]:.2f}  logs {log_dir}", flush=True)
    results: list[dict[str, Any]] = []
    for _ in range(repeat):
        for cap in caps:
            for n in procs:
                r = workers_run(bootstrap, values, n, log_dir, cap)
                r["load"] = os.getloadavg()[0]
                results.append(r)
                print(r, flush=True)
    print("\n| cap per worker | processes | run | articles/s | seconds | worker CPU ms per "
          "article | changelog records per article | scatter-to-verdict ms, mean under load "
          "| tagged-to-verdict ms, idle median | 1-min load after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    runs: Counter[tuple[float | None, int]] = Counter()
    for r in results:
        key = (r["cap"], r["workers"])
        runs[key] += 1
        cap_text = f"{r['cap']:.2f} core" if r["cap"] else "uncapped"
        gather = f"{r['gather_ms']:.0f}" if r["gather_ms"] is not None else "-"
        print(f"| {cap_text} | {r['workers']} | {runs[key]} | {r['rate']:.0f} | {r['seconds']:.1f} "
              f"| {r['cpu_ms']:.2f} | {r['per_article']:.2f} | {gather} | {r['idle_ms']:.0f} "
              f"| {r['load']:.2f} |")
    for cap in caps:
        rates = {n: [r["rate"] for r in results if r["cap"] == cap and r["workers"] == n]
                 for n in procs}
        if 1 in rates and 2 in rates and rates[1] and rates[2]:
            one = sum(rates[1]) / len(rates[1])
            two = sum(rates[2]) / len(rates[2])
            label = f"{cap:.2f} core" if cap else "uncapped"
            print(f"speedup 2 vs 1 ({label}): {two / one:.2f}x (mean of {len(rates[2])} runs; "
                  f"min/max ratio {min(rates[2]) / max(rates[1]):.2f}-"
                  f"{max(rates[2]) / min(rates[1]):.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", action="store_true")
    ap.add_argument("--workers", action="store_true")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--procs", default="1,2", help="worker process counts, e.g. 1,2")
    ap.add_argument("--cap", default="",
                    help="CPU per worker process in cores, comma-separated; 'none' = "
                         "uncapped (e.g. 0.35,none). Needs root (cgroups).")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    if args.steps:
        steps()
    if args.workers:
        caps = [None if c.strip() == "none" else float(c) for c in args.cap.split(",") if c]
        procs = [int(n) for n in args.procs.split(",")]
        workers_bench(args.bootstrap, args.count, procs, caps or [None], args.repeat)


if __name__ == "__main__":
    main()
