"""Dedup stage: accuracy on the labelled corpus, signature speed, and throughput and
memory against a large index.

    python bench/dedup_benchmark.py --eval            # precision/recall, threshold curve
    python bench/dedup_benchmark.py --index-size 1000000   # throughput + memory

The big index is pre-filled through `DedupIndex.add_doc` with random signatures (real
ids would need a million real articles); the timed articles are the real corpus.
Random signatures never share a band with real text, so candidate checks against old
articles are under-counted; the corpus articles do check each other.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dedup_corpus import build  # noqa: E402
from service.models import Language, TaggedArticle  # noqa: E402
from service.settings import DedupConfig  # noqa: E402
from service.stages.dedup import Deduplicator, _tokens  # noqa: E402
from service.stages.index import DocRecord, InMemoryDedupIndex, band_keys  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=UTC)
LANG = Language(code="en", confidence=1.0)


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


def score(records: list[dict[str, Any]], verdicts: list[tuple[str, str | None]]) -> dict:
    """Precision/recall of "is a duplicate"; rescrape_poor is reported on its own."""
    first: dict[str, str] = {}
    tp = fp = fn = right_of = poor = poor_hit = 0
    for r, (status, of) in zip(records, verdicts, strict=True):
        original = first.setdefault(r["group"], r["id"])
        truth = original != r["id"]
        said = status != "unique"
        if r["kind"] == "rescrape_poor":
            poor += 1
            poor_hit += said
            continue
        if said and truth:
            tp += 1
            right_of += of == original
        fp += said and not truth
        fn += truth and not said
    return {
        "precision": tp / max(1, tp + fp),
        "recall": tp / max(1, tp + fn),
        "duplicate_of_right": right_of / max(1, tp),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "poor_recall": poor_hit / max(1, poor),
    }


def run_ours(records: list[dict[str, Any]], cfg: DedupConfig) -> tuple[list, InMemoryDedupIndex]:
    index = InMemoryDedupIndex()
    dedup = Deduplicator(cfg)
    now = T0 + timedelta(days=30)
    out = []
    for a in articles(records):
        v = dedup.deduplicate(a, index, now)
        out.append((v.status, v.duplicate_of, v.similarity))
    return out, index


def run_datasketch(records: list[dict[str, Any]], threshold: float) -> list[tuple]:
    """The reference: datasketch MinHashLSH (its own band choice), first seen wins."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    kept: dict[str, tuple[float, str, MinHash]] = {}
    out = []
    for r in records:
        toks = [t.decode() for t in _tokens(r["text"])]
        m = MinHash(num_perm=128, seed=7)
        m.update_batch([" ".join(toks[i : i + 3]).encode() for i in range(len(toks) - 2)])
        hits = [(kept[k][0], k) for k in lsh.query(m) if kept[k][2].jaccard(m) >= threshold]
        if hits:
            out.append(("near_duplicate", min(hits)[1], 0.0))
        else:
            lsh.insert(r["id"], m)
            kept[r["id"]] = (r["fetched_at"], r["id"], m)
            out.append(("unique", None, 0.0))
    return out


def serialized_bytes(index: InMemoryDedupIndex) -> tuple[float, dict[str, float]]:
    """Bytes per indexed article as a Table stores them: key + compact JSON value."""
    n = max(1, len(index.docs))
    per = {}
    for name in ("docs", "ids", "urls", "bands", "buckets"):
        store = getattr(index, name)
        total = sum(len(k) + len(json.dumps(v, separators=(",", ":"))) for k, v in store.items())
        per[name] = total / n
    return sum(per.values()), per


def evaluate() -> None:
    records = build()
    print("corpus:", len(records), dict(Counter(r["kind"] for r in records)))
    cfg = DedupConfig()
    t = time.perf_counter()
    verdicts, index = run_ours(records, cfg)
    took = time.perf_counter() - t
    result = score(records, [v[:2] for v in verdicts])
    print(f"ours  threshold={cfg.threshold} {result}  {len(records) / took:.0f} articles/s")
    sims: dict[str, list[float]] = {}
    for r, v in zip(records, verdicts, strict=True):
        if v[0] == "near_duplicate":
            sims.setdefault(r["kind"], []).append(v[2])
    for kind, values in sorted(sims.items()):
        print(
            f"  similarity {kind:14s} n={len(values):4d} median={np.median(values):.3f} "
            f"min={min(values):.3f}"
        )
    total, per = serialized_bytes(index)
    print(
        f"serialized bytes per indexed article: {total:.0f}", {k: round(v) for k, v in per.items()}
    )
    print("threshold curve (ours, bands=32 x rows=4):")
    print(
        "| threshold | precision | recall | duplicate_of right | FP | FN | poor-rescrape recall |"
    )
    print("|---|---|---|---|---|---|---|")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        v, _ = run_ours(records, DedupConfig(threshold=threshold))
        s = score(records, [x[:2] for x in v])
        print(
            f"| {threshold} | {s['precision']:.4f} | {s['recall']:.4f} | "
            f"{s['duplicate_of_right']:.4f} | {s['fp']} | {s['fn']} | {s['poor_recall']:.2f} |"
        )
    for threshold in (0.7, 0.8):
        t = time.perf_counter()
        ref = score(records, [x[:2] for x in run_datasketch(records, threshold)])
        took = time.perf_counter() - t
        print(
            f"datasketch MinHashLSH threshold={threshold}: {ref}  "
            f"{len(records) / took:.0f} articles/s"
        )


def signature_speed(records: list[dict[str, Any]]) -> None:
    import datasketch
    import rensa

    texts = [r["text"] for r in records]
    dedup = Deduplicator(DedupConfig())

    def timed(name: str, fn: Any) -> None:
        t = time.perf_counter()
        for text in texts:
            fn(text)
        print(f"  {name:44s} {(time.perf_counter() - t) / len(texts) * 1e6:7.1f} us/article")

    def shingles(text: str) -> list[str]:
        toks = [t.decode() for t in _tokens(text)]
        return [" ".join(toks[i : i + 3]) for i in range(len(toks) - 2)]

    def with_cls(cls: Any) -> Any:
        def fn(text: str) -> None:
            m = cls(num_perm=128, seed=7)
            m.update(shingles(text))
            m.digest()

        return fn

    def ds(text: str) -> None:
        m = datasketch.MinHash(num_perm=128, seed=7)
        m.update_batch([s.encode() for s in shingles(text)])
        m.digest()

    print("signature speed (tokenise + shingle + 128 minima):")
    timed("ours: rensa RMinHash, numpy shingle hashes", lambda x: dedup.signature(_tokens(x)))
    timed("rensa RMinHash, string shingles", with_cls(rensa.RMinHash))
    timed("rensa CMinHash, string shingles", with_cls(rensa.CMinHash))
    timed("datasketch MinHash, string shingles", ds)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def throughput(size: int) -> None:
    records = build()
    signature_speed(records)
    cfg = DedupConfig()
    dedup = Deduplicator(cfg)
    index = InMemoryDedupIndex()
    rng = np.random.default_rng(1)
    before = rss_mb()
    t = time.perf_counter()
    stamp = int(T0.timestamp())
    for i in range(size):
        sig = rng.bytes(cfg.num_perm)
        record = DocRecord(f"prefill-{i:08d}", stamp, sig, None)
        index.add_doc(f"P{i:010d}", record, band_keys(sig, dedup.bands, dedup.rows), 64)
    built = time.perf_counter() - t
    after = rss_mb()
    print(
        f"prefill: {size} articles in {built:.0f}s; python heap "
        f"{(after - before) * 2**20 / size:.0f} bytes/article ({after - before:.0f} MB)"
    )
    now = T0 + timedelta(days=3)
    for label, suffix in (
        ("pass 1 (mostly new)", ""),
        ("pass 2 (same texts, new ids: all copies)", "/2"),
    ):
        batch = articles(records, suffix)
        t = time.perf_counter()
        statuses = Counter(dedup.deduplicate(a, index, now).status for a in batch)
        took = time.perf_counter() - t
        print(
            f"{label}: {len(batch) / took:.0f} articles/s on one core, index {len(index.docs)}"
            f" docs, {dict(statuses)}"
        )
    print("max RSS MB:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval", action="store_true")
    parser.add_argument("--index-size", type=int, default=0)
    args = parser.parse_args()
    if args.eval:
        evaluate()
    if args.index_size:
        throughput(args.index_size)


if __name__ == "__main__":
    main()
