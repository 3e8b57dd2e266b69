"""Partitioned dedup (issue 9): accuracy on the dedup corpus, CPU per step, and worker
throughput with 1 and 2 processes.

    python -m bench.partitioned_benchmark --eval          # vs single mode, same corpus
    python -m bench.partitioned_benchmark --steps         # CPU per article per step
    python -m bench.partitioned_benchmark --workers --bootstrap HOST:PORT [--count 3000]

`--workers` publishes already-tagged articles straight onto the tagged topic (8
partitions) of a fresh group and times, from the first to the last output record, how
long 1 and then 2 worker processes take to dedup them (prepare is idle).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dedup_benchmark import articles, run_ours, score  # noqa: E402
from bench.dedup_corpus import build  # noqa: E402
from service.models import Language, TaggedArticle  # noqa: E402
from service.pipeline import dump  # noqa: E402
from service.settings import DedupConfig  # noqa: E402
from service.stages.dedup import Deduplicator  # noqa: E402
from service.stages.partitioned import (  # noqa: E402
    LocalPartitionedDedup,
    make_probe,
    reference_verdicts,
)


def evaluate() -> None:
    records = build()
    cfg = DedupConfig(mode="partitioned")
    batch = articles(records)
    now = max(a.fetched_at for a in batch if a.fetched_at is not None)
    for threshold in (0.6, 0.7, 0.8):
        c = cfg.model_copy(update={"threshold": threshold})
        single, _ = run_ours(records, c)
        ref = reference_verdicts(batch, c, now)
        ours: list[tuple[str, str | None]] = [
            (ref[a.id].status, ref[a.id].duplicate_of) for a in batch
        ]
        s1 = score(records, [v[:2] for v in single])
        s2 = score(records, ours)
        changed = sum(1 for a, b in zip(single, ours, strict=True) if tuple(a[:2]) != b)
        print(f"threshold {threshold}: single {fmt(s1)}")
        print(f"threshold {threshold}: partitioned {fmt(s2)}  verdicts differing: {changed}")


def fmt(s: dict[str, Any]) -> str:
    return (f"P={s['precision']:.4f} R={s['recall']:.4f} of-right={s['duplicate_of_right']:.4f}"
            f" FP={s['fp']} FN={s['fn']} poor={s['poor_recall']:.2f}")


def steps() -> None:
    """Where the CPU goes: the scatter step (probe) vs bands (offer) vs gather (answer)."""
    records = build()
    batch = articles(records)
    cfg = DedupConfig(mode="partitioned")
    dedup = Deduplicator(cfg)
    local = LocalPartitionedDedup(cfg)
    t = time.perf_counter()
    probes = [make_probe(a, dedup) for a in batch]
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


def tagged_values(count: int) -> list[bytes]:
    """Distinct stories plus 30% copies, as the tag stage would publish them."""
    from tests.stages.test_partitioned import near_copy, story

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
        article = TaggedArticle(id=f"b{i:06d}", text=text, language=lang,
                                fetched_at=None, url=f"https://bench.example/{i}")
        out.append(dump(article))
    return out


def workers_run(bootstrap: str, count: int, workers: int, log_dir: Path) -> dict[str, Any]:
    from service.runtime.tail import read_topics
    from tests.kafka import WorkerProcess, free_port, isolated_env, produce, settings_from

    env = isolated_env(bootstrap, NEWSFLOW_DEDUP__MODE="partitioned",
                       NEWSFLOW_TOPICS__PARTITIONS="8", NEWSFLOW_TOPICS__TAGGED_PARTITIONS="8")
    run = env["NEWSFLOW_TOPICS__TAGGED"].removesuffix(".tagged")
    env.update(NEWSFLOW_TOPICS__BANDS=f"{run}.bands", NEWSFLOW_TOPICS__ANSWERS=f"{run}.answers")
    settings = settings_from(env)
    procs = []
    try:
        for i in range(workers):
            e = dict(env, NEWSFLOW_WEB_PORT=str(free_port()))
            procs.append(WorkerProcess(e, log_dir / f"w{workers}-{i}.log").start())
        for p in procs:
            p.wait_ready(120)
        time.sleep(4)
        for p in procs:
            p.wait_ready(60)
        values = tagged_values(count)
        keys = [v.split(b'"id":"', 1)[1].split(b'"', 1)[0] for v in values]
        asyncio.run(produce(bootstrap, settings.topics.tagged, values, keys=keys, partitions=8))
        names = [settings.topics.clean, settings.topics.duplicates]

        async def drain() -> tuple[float, float, Counter[str]]:
            first = last = 0.0
            seen: Counter[str] = Counter()
            async for r in read_topics(settings, names, min_records=count, idle_seconds=5,
                                       timeout_seconds=600):
                now = time.monotonic()
                first = first or now
                last = now
                seen[r.value["dedup"]["status"]] += 1
            return first, last, seen

        started = time.monotonic()
        first, last, seen = asyncio.run(drain())
        del started
        return {"workers": workers, "rate": count / max(last - first, 1e-9),
                "seconds": last - first, "statuses": dict(seen)}
    finally:
        for p in procs:
            p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--steps", action="store_true")
    ap.add_argument("--workers", action="store_true")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--count", type=int, default=3000)
    args = ap.parse_args()
    if args.eval:
        evaluate()
    if args.steps:
        steps()
    if args.workers:
        log_dir = Path(tempfile.mkdtemp(prefix="pdedup-bench-"))
        results = [workers_run(args.bootstrap, args.count, n, log_dir) for n in (1, 2)]
        for r in results:
            print(r)
        print(f"speedup 2 vs 1: {results[1]['rate'] / results[0]['rate']:.2f}x  logs {log_dir}")


if __name__ == "__main__":
    main()
