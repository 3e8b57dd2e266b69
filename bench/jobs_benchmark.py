"""`newsflow process --jobs 1` against `--jobs N` on the same input, same run (issue 17).

    python -m bench.jobs_benchmark                      # --jobs 1 vs 2, 2 rounds each
    python -m bench.jobs_benchmark --jobs 2 --rounds 3 --write   # and bench/results/jobs.md
    python -m bench.jobs_benchmark --profile            # cProfile one job, top costs
    python -m bench.jobs_benchmark --startup            # how long N jobs take to start
    py-spy record -f raw -o spy.txt -- python -m bench.jobs_benchmark --once   # sampled

The input is real text with the mix a backfill has: AG News headlines and leads
(../shared/datasets/ag_news, read at run time, never copied; no source, so any job may
take them), flattened pages of the 7 synthetic sites (bench/synthetic_sites.py; their
chrome is learned per source, so each site stays on one job), the 181 real pages of the
Zyte benchmark (HTML, `quality` mode) and every hostile kind of support/hostile.py. Each
run is `service.batch.process_file`, the code behind `newsflow process`, on one file;
rounds alternate 1, N, 1, N so drift of the shared machine hits both. Reported per run:
wall seconds, the parent's CPU, each job's CPU (as its process measured it), and the load
average before and after. The outputs of the two are compared (minus the clocks).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import io
import pstats
import tempfile
import time
from pathlib import Path

import orjson

from bench.common import ROOT, load_average, machine_line, median, synthetic_payloads, zyte_payloads
from service.batch import JobStats, process_file
from service.settings import Settings
from support.outputs import without_clocks

AG_NEWS = ROOT.parent / "shared" / "datasets" / "ag_news" / "train-12k.csv.gz"
RESULTS = ROOT / "bench" / "results" / "jobs.md"


def ag_payloads(limit: int) -> list[bytes]:
    if not AG_NEWS.exists():
        return []
    with gzip.open(AG_NEWS, "rt", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1 : limit + 1]
    return [
        orjson.dumps({"title": t.replace("\\", " "), "text": d.replace("\\", " ")})
        for _, t, d in rows
    ]


def mixed_input(ag: int, synthetic: int, zyte: bool) -> list[bytes]:
    from support.hostile import interleaved

    parts = [ag_payloads(ag), synthetic_payloads("text", synthetic)]
    parts.append(zyte_payloads() if zyte else [])
    parts.append([payload for _, payload in interleaved()])
    # Interleave the parts round robin, so every stretch of the file is a mix.
    out: list[bytes] = []
    longest = max(len(p) for p in parts)
    for i in range(longest):
        out.extend(part[i] for part in parts if i < len(part))
    return out


def one_run(source: Path, target: Path, jobs: int) -> dict[str, object]:
    stats = JobStats()
    load_before = load_average()
    wall, cpu = time.perf_counter(), time.process_time()
    counts = process_file(source, target, Settings(), jobs=jobs, job_stats=stats)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "jobs": jobs, "wall": wall, "parent_cpu": cpu, "job_cpu": stats.cpu_seconds,
        "job_records": stats.records, "counts": counts, "restarts": stats.restarts,
        "load": f"{load_before} → {load_average()}",
    }


def measure(jobs: int, rounds: int, lines: list[bytes]) -> tuple[list[dict[str, object]], bool]:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        runs = []
        for _ in range(rounds):
            for n in (1, jobs):
                runs.append(one_run(source, Path(tmp) / f"out-{n}.jsonl", n))
                print(runs[-1], flush=True)
        same = without_clocks(Path(tmp) / "out-1.jsonl") == without_clocks(
            Path(tmp) / f"out-{jobs}.jsonl"
        )
    return runs, same


def report(runs: list[dict[str, object]], jobs: int, same: bool, n: int, command: str) -> str:
    one = [r for r in runs if r["jobs"] == 1]
    many = [r for r in runs if r["jobs"] == jobs]
    wall1 = median([float(r["wall"]) for r in one])  # type: ignore[arg-type]
    wall_n = median([float(r["wall"]) for r in many])  # type: ignore[arg-type]
    lines = [
        f"`{command}`: {machine_line()}.",
        f"{n:,} input lines; outputs of `--jobs 1` and `--jobs {jobs}` identical minus "
        f"clocks: **{same}**.",
        "",
        "| run | jobs | wall s | lines/s | parent CPU s | each job's CPU s (records) | "
        "load average before → after |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        cpu = ", ".join(
            f"{c:.1f} ({k})" for c, k in zip(r["job_cpu"], r["job_records"], strict=True)  # type: ignore[call-overload]
        ) or "-"
        wall = float(r["wall"])  # type: ignore[arg-type]
        lines.append(
            f"| {i} | {r['jobs']} | {wall:.1f} | {n / wall:.0f} | "
            f"{float(r['parent_cpu']):.1f} | {cpu} | {r['load']} |"  # type: ignore[arg-type]
        )
    lines += [
        "",
        f"Median wall: {wall1:.1f} s with one job, {wall_n:.1f} s with {jobs}: "
        f"**{wall1 / wall_n:.2f}×** (target ≥ {0.9 * jobs:.1f}×).",
    ]
    return "\n".join(lines) + "\n"


def profile(lines: list[bytes], top: int, enabled: bool = True) -> None:
    """cProfile `--jobs 1` (everything in this process), by cumulative and own time; with
    `enabled` False just the run, for an outside sampler."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        profiler = cProfile.Profile()
        if enabled:
            profiler.enable()
        process_file(source, Path(tmp) / "out.jsonl", Settings(), jobs=1)
        profiler.disable()
        if not enabled:
            return
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(top)
        print(out.getvalue())


def startup(jobs: int) -> None:
    """Seconds from creating the jobs to all of them ready (the forkserver's start, its
    preloads, each job's Pipeline), and the parent's own Pipeline CPU: the fixed cost a
    `newsflow process --jobs N` pays before its first result. Once per process: the
    forkserver outlives the pool, so a second pool starts in a few ms."""
    from service import batch
    from service.pipeline import Pipeline

    cpu = time.process_time()
    Pipeline(Settings(), prepares=False)
    cpu = time.process_time() - cpu
    started = time.perf_counter()
    pool = batch._Jobs(Settings(), jobs, JobStats(), None)
    try:
        for executor in pool.executors:
            executor.submit(batch._worker_ready).result()
    finally:
        pool.close()
    print(f"{jobs} jobs ready after {time.perf_counter() - started:.2f} s; "
          f"the parent's Pipeline {cpu:.2f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ag", type=int, default=6000, help="AG News items")
    ap.add_argument("--synthetic", type=int, default=600, help="synthetic text pages")
    ap.add_argument("--no-zyte", action="store_true", help="leave out the 181 HTML pages")
    ap.add_argument("--profile", action="store_true", help="cProfile one job instead")
    ap.add_argument("--once", action="store_true", help="one job, once, untimed (for py-spy)")
    ap.add_argument("--startup", action="store_true", help="time the jobs' start only")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = ap.parse_args()
    if args.startup:
        startup(args.jobs)
        return
    lines = mixed_input(args.ag, args.synthetic, not args.no_zyte)
    if args.profile or args.once:
        profile(lines, args.top, enabled=args.profile)
        return
    runs, same = measure(args.jobs, args.rounds, lines)
    command = "python -m bench.jobs_benchmark " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in
        (("jobs", args.jobs), ("rounds", args.rounds), ("ag", args.ag),
         ("synthetic", args.synthetic))
    ) + (" --no-zyte" if args.no_zyte else "")
    body = report(runs, args.jobs, same, len(lines), command)
    print(body)
    if args.write:
        RESULTS.write_text("# `newsflow process --jobs N` (issue 17)\n\n" + body, encoding="utf-8")
        print("wrote", RESULTS)


if __name__ == "__main__":
    main()
