"""Dedup: precision and recall on real text with edited copies and hard negatives, order
independence, an out-of-order archive, and verdicts/s and memory against a big index.

    python -m bench.dedup_benchmark --eval                 # quality, ~1 min
    python -m bench.dedup_benchmark --archive              # a year, in no order
    python -m bench.dedup_benchmark --index-size 200000    # verdicts/s + memory
    python -m bench.dedup_benchmark --eval --archive --index-size 200000 --write

The corpus (bench/dedup_corpus.py, `edited=True`) is built at run time from the 181
hand-made article bodies of the Zyte article-extraction benchmark in ../shared, the
same pages as 8 published extractors output them (re-scrapes), and copies and hard
negatives we derive from them; see that module for each kind. Peers in the same run:
the engine with Jaccard alone on 3-word shingles (the rule before containment), and
the naive assembly of the usual library, datasketch MinHashLSH at Jaccard 0.7, first
seen wins.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dedup_corpus import build  # noqa: E402
from service.memory import return_freed_arrays  # noqa: E402
from service.models import Language, TaggedArticle  # noqa: E402
from service.settings import DedupConfig  # noqa: E402
from service.stages.dedup import (  # noqa: E402
    Candidate,
    LocalDedup,
    Probe,
    make_probe,
    probe_keys,
    signer,
)
from service.stages.dedup.rule import UNIQUE  # noqa: E402
from service.stages.dedup.signature import b64, tokens  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=UTC)
NOW = T0 + timedelta(days=400)
LANG = Language(code="en", confidence=1.0)
RESULTS = Path(__file__).resolve().parent / "results" / "dedup.md"
APART = ("rescrape_poor", "update")  # reported on their own, outside P/R
Verdicts = list[tuple[str, str | None]]


def articles(records: list[dict[str, Any]], suffix: str = "") -> list[TaggedArticle]:
    return [
        TaggedArticle(
            id=r["id"] + suffix,
            text=r["text"],
            canonical_url=r["url"],
            fetched_at=T0 + timedelta(seconds=r["fetched_at"]),
            language=LANG,
        )
        for r in records
    ]


def score(records: list[dict[str, Any]], verdicts: Verdicts) -> dict[str, Any]:
    """Precision/recall of "is a copy", recall per kind, and `duplicate_of` right."""
    ordered = sorted(records, key=lambda r: (r["fetched_at"], r["id"]))
    first: dict[str, str] = {}
    for r in ordered:
        first.setdefault(r["group"], r["id"])
    tp = fp = fn = right_of = 0
    kinds: dict[str, list[int]] = {}
    for r, (status, of) in zip(records, verdicts, strict=True):
        original = first[r["group"]]
        truth, said = original != r["id"], status != "unique"
        if truth:
            hits = kinds.setdefault(r["kind"], [0, 0])
            hits[0] += said
            hits[1] += 1
        if r["kind"] in APART:
            continue
        if said and truth:
            tp += 1
            right_of += of == original
        fp += said and not truth
        fn += truth and not said
    return {
        "precision": tp / max(1, tp + fp),
        "recall": tp / max(1, tp + fn),
        "of_right": right_of / max(1, tp),
        "fp": fp,
        "fn": fn,
        "kinds": {k: v[0] / v[1] for k, v in sorted(kinds.items())},
    }


def run_engine(records: list[dict[str, Any]], cfg: DedupConfig) -> Verdicts:
    """Final verdicts (corrections applied) in the order of `records`."""
    local = LocalDedup(cfg)
    out: dict[str, tuple[str, str | None]] = {}
    for a in articles(records):
        v = local.deduplicate(a, NOW)
        out.setdefault(a.id, (v.status, v.duplicate_of))
    for c in local.corrections:
        out[c.article_id] = (c.verdict.status, c.verdict.duplicate_of)
    return [out[r["id"]] for r in records]


def run_datasketch(records: list[dict[str, Any]], threshold: float = 0.7) -> Verdicts:
    """The naive assembly: datasketch MinHashLSH (its own bands), first seen wins."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    kept: dict[str, MinHash] = {}
    out: Verdicts = []
    for r in records:
        toks = [t.decode() for t in tokens(r["text"])]
        m = MinHash(num_perm=128, seed=7)
        m.update_batch([" ".join(toks[i : i + 3]).encode() for i in range(len(toks) - 2)])
        hits = sorted(k for k in lsh.query(m) if kept[k].jaccard(m) >= threshold)
        if hits:
            out.append(("near_duplicate", hits[0]))
        else:
            lsh.insert(r["id"], m)
            kept[r["id"]] = m
            out.append(("unique", None))
    return out


def _row(name: str, s: dict[str, Any], rate: float) -> str:
    kinds = " ".join(f"{k} {v:.2f}" for k, v in s["kinds"].items())
    return (f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {s['of_right']:.4f} | "
            f"{s['fp']} | {s['fn']} | {rate:.0f} | {kinds} |")


def evaluate() -> list[str]:
    records = build(edited=True)
    lines = [
        f"Corpus: {len(records)} records, "
        + ", ".join(f"{k} {n}" for k, n in sorted(Counter(r['kind'] for r in records).items())),
        "",
        "| rule | precision | recall | duplicate_of right | FP | FN | articles/s | "
        "recall per kind |",
        "|---|---|---|---|---|---|---|---|",
    ]
    peers: list[tuple[str, Any]] = [
        ("engine, default (Jaccard 0.7, or cautious containment 0.65, 6-word shingles)",
         lambda: run_engine(records, DedupConfig())),
        ("engine, Jaccard 0.7 alone on 3-word shingles (the rule before containment)",
         lambda: run_engine(records, DedupConfig(min_shingles=10**9, shingle_size=3))),
        ("datasketch MinHashLSH 0.7, first seen wins", lambda: run_datasketch(records)),
    ]
    for containment in (0.7, 0.8, 0.85, 0.9):
        peers.append((f"engine, containment {containment}", lambda c=containment: run_engine(
            records, DedupConfig(containment=c))))
    for name, fn in peers:
        started = time.perf_counter()
        verdicts = fn()
        rate = len(records) / (time.perf_counter() - started)
        lines.append(_row(name, score(records, verdicts), rate))
    # One rule, any order: the same records shuffled give the same final verdicts.
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    a = dict(zip((r["id"] for r in records), run_engine(records, DedupConfig()), strict=True))
    b = dict(zip((r["id"] for r in shuffled), run_engine(shuffled, DedupConfig()), strict=True))
    lines += ["", f"Arrival order: the same {len(records)} records shuffled give "
              f"{sum(a[k] != b[k] for k in a)} different final verdicts."]
    return lines


def archive() -> list[str]:
    """A year of the corpus in no order through `newsflow process`'s code, vs sorted."""
    import orjson

    from service.batch import run
    from service.settings import CleanConfig, Settings

    rng = random.Random(8)
    records = build()
    start: dict[str, float] = {}
    for r in records:  # each story starts on a random day of the year; copies within 2 days
        start.setdefault(r["group"], rng.uniform(0, 365 * 86_400))
    lines_in = []
    for r in records:
        t = T0 + timedelta(seconds=start[r["group"]] + r["fetched_at"] % 172_800)
        lines_in.append(orjson.dumps({"id": r["id"], "text": r["text"], "url": r["url"],
                                      "fetched_at": t.isoformat()}))
    settings = Settings(clean=CleanConfig(learn_boilerplate=False))
    whole = settings.model_copy(update={"dedup": settings.dedup.model_copy(
        update={"window_seconds": None})})

    def copies(lines: list[bytes], s: Settings) -> tuple[dict[str, str], float]:
        started = time.perf_counter()
        final: dict[str, str] = {}
        for output in run(iter(lines), s, "archive"):
            value = output.value()
            if "dedup" in value:
                final[value["id"]] = value["dedup"]["status"]
        return final, time.perf_counter() - started

    shuffled = lines_in[:]
    rng.shuffle(shuffled)
    ordered = sorted(lines_in, key=lambda line: orjson.loads(line)["fetched_at"])
    out = ["| input | window | copies found | differing from sorted | s |", "|---|---|---|---|---|"]
    reference, took = copies(ordered, whole)
    found = sum(v != "unique" for v in reference.values())
    out.append(f"| {len(records)} records, sorted by time | whole input | {found} | - | "
               f"{took:.0f} |")
    for name, s in (("whole input", whole), ("7 days", settings)):
        got, took = copies(shuffled, s)
        differ = sum(got[k] != reference[k] for k in reference)
        out.append(f"| the same, shuffled | {name} | {sum(v != 'unique' for v in got.values())}"
                   f" | {differ} | {took:.0f} |")
    return out


def _rss() -> int:
    """Resident set size now, in bytes (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def index_at_scale(size: int, dump: Path | None = None) -> list[str]:
    """Verdicts/s and memory per article with `size` articles already held.

    Memory is the growth of the process's resident set over the prefill, after a
    collection: what a worker's RSS gains per article, allocator slack included.
    """
    return_freed_arrays()  # as `newsflow` does
    cfg = DedupConfig(max_entries=max(size * 2, 1))
    local = LocalDedup(cfg)
    sign = signer(cfg)
    rng = np.random.default_rng(1)
    stamp = int(T0.timestamp())
    gc.collect()
    before = _rss()
    started = time.perf_counter()
    for i in range(size):
        sig = rng.bytes(cfg.num_perm)
        me = Candidate(stamp + i % 86_400, f"prefill-{i:08d}", b64(rng.bytes(8)), sig, None, 200)
        keys = probe_keys(me, sign)
        local.bands.restore(me, keys)
        local.gather.restore(Probe(me, keys), [0], UNIQUE)
    built = time.perf_counter() - started
    gc.collect()
    heap = _rss() - before
    batch = articles(build(edited=True))
    out = [f"Prefill: {size} articles held in {built:.0f} s ({size / built:.0f}/s); resident "
           f"set grew {heap / size:.0f} bytes per held article ({heap / 2**20:.0f} MiB).", ""]
    dumped: list[str] = []
    # Wall time, and this thread's CPU time (what the verdicts cost when other work
    # shares the core: the machine's 2 cores are shared).
    out += ["| pass | verdicts/s (one core) | probe µs | bands+decide µs | verdicts per CPU s "
            "| probe CPU µs | bands+decide CPU µs | statuses |",
            "|---|---|---|---|---|---|---|---|"]
    for label, suffix in (("1: the corpus", ""), ("2: the same texts, new ids", "/2")):
        items = articles(build(edited=True), suffix) if suffix else batch
        c0, t0 = time.thread_time(), time.perf_counter()
        probes = [make_probe(a, cfg, NOW) for a in items]
        c1, t1 = time.thread_time(), time.perf_counter()
        verdicts = [local.offer(p) for p in probes]
        c2, t2 = time.thread_time(), time.perf_counter()
        statuses = Counter(v.status for v in verdicts)
        dumped += [repr((p.me.id, *v)) for p, v in zip(probes, verdicts, strict=True)]
        n = len(items)
        out.append(f"| {label} | {n / (t2 - t0):.0f} | {(t1 - t0) / n * 1e6:.0f} | "
                   f"{(t2 - t1) / n * 1e6:.0f} | {n / (c2 - c0):.0f} | "
                   f"{(c1 - c0) / n * 1e6:.0f} | {(c2 - c1) / n * 1e6:.0f} | {dict(statuses)} |")
    if dump is not None:  # every verdict and correction, to compare two versions' output
        dumped += [repr(c) for c in local.corrections]
        dump.write_text("\n".join(dumped) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval", action="store_true")
    parser.add_argument("--archive", action="store_true")
    parser.add_argument("--index-size", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    parser.add_argument("--dump", type=Path, help="write the index pass's verdicts here")
    args = parser.parse_args()
    sections: list[str] = []
    if args.eval:
        sections += ["## Edited copies and hard negatives", "", *evaluate(), ""]
    if args.archive:
        sections += ["## An archive spanning a year, in no order", "", *archive(), ""]
    if args.index_size:
        sections += [f"## Index at scale ({args.index_size} articles held)", "",
                     *index_at_scale(args.index_size, args.dump), ""]
    text = "\n".join(sections)
    print(text)
    if args.write:
        command = " ".join(["python -m bench.dedup_benchmark", *sys.argv[1:]])
        RESULTS.write_text(f"# Dedup benchmark\n\n`{command}` on {datetime.now(UTC):%Y-%m-%d}, "
                           f"2 cores shared with the machine's other work.\n\n{text}",
                           encoding="utf-8")


if __name__ == "__main__":
    main()
