"""Scale-out: 1, 2 and 4 worker processes in one consumer group, each held to the same
CPU share (issue 17, item 4).

    python -m bench.scaleout_benchmark                          # own broker, cap 0.35
    python -m bench.scaleout_benchmark --procs 1,2,4 --cap 0.35 --rounds 2 --write

Every topic has 8 partitions (NEWSFLOW_TOPICS__PARTITIONS=8), so each stage, the dedup
engine's band and gather partitions included, spreads over the processes. Each worker
runs in a cgroup of its own limited to `--cap` cores (root): on this 2-core machine two
uncapped workers, the broker, the producer and the reader compete for the same cores,
which measures contention, not scale-out; capped workers emulate worker nodes smaller
than the machine. The faust no-op passthrough (bench/noop_app.py) under the same caps is
the reference for what the broker and faust themselves scale to here. The broker's own
CPU over each case (from /proc, cores used on average) shows how close it came to
being the limit. The cases run interleaved, `--rounds` times; the speedup of N workers
is the median of its rounds over the median of one worker's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import load_average, machine_line, median, table, write_section
from bench.stream_benchmark import CaseResult, OwnBroker, run_case


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, children excluded (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", help="an existing broker (its CPU is then not read)")
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--cap", type=float, default=0.35, help="cores per worker process")
    ap.add_argument("--variants", default="newsflow,noop")
    ap.add_argument("--backlog", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=2, help="backlogs per case")
    ap.add_argument("--rounds", type=int, default=2, help="passes over all the cases")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    procs = [int(n) for n in args.procs.split(",")]
    variants = args.variants.split(",")
    machine = machine_line()
    log_dir = Path(tempfile.mkdtemp(prefix="perf-scaleout-"))
    common = {"partitions": 8, "backlog": args.backlog, "repeats": args.repeats,
              "latency_seconds": 0.0, "cap": args.cap}
    results: dict[tuple[str, int], list[CaseResult]] = {}
    broker_cores: dict[tuple[str, int], list[float]] = {}
    own = OwnBroker(args.bootstrap)
    with own as bootstrap:
        broker_pid = None
        if own.broker is not None and own.broker.directory is not None:
            broker_pid = int((own.broker.directory / "broker.pid").read_text())
        for rnd in range(args.rounds):
            for variant in variants:
                for n in procs:
                    print(f"round {rnd + 1}: {variant} x{n}, load {load_average()}", flush=True)
                    cpu0, t0 = (process_cpu_seconds(broker_pid) if broker_pid else 0.0,
                                time.monotonic())
                    result = run_case(bootstrap, variant, log_dir, workers=n, **common)
                    results.setdefault((variant, n), []).append(result)
                    if broker_pid:
                        used = (process_cpu_seconds(broker_pid) - cpu0) / (time.monotonic() - t0)
                        broker_cores.setdefault((variant, n), []).append(used)
    rows = []
    for (variant, n), runs in results.items():
        rate = median([r.rate for r in runs])
        one = results.get((variant, procs[0]))
        base = median([r.rate for r in one]) if one else 0.0
        speedup = rate / base if base else 0.0
        rows.append([
            variant, n, f"{args.cap:g}", rate,
            ", ".join(f"{r.rate:,.0f}" for r in runs),
            f"{speedup:.2f}×", f"{speedup / (n / procs[0]):.2f}",
            ", ".join(f"{c:.2f}" for c in broker_cores.get((variant, n), [])) or "-",
            f"{sum(r.delivered for r in runs)}/{sum(r.expected for r in runs)}",
        ])
    out = table(["worker", "procs", "cores each", "articles/s (median of rounds)",
                 "per round", f"vs x{procs[0]}", "per worker (1.0 = linear)",
                 "broker cores used, per round", "delivered"], rows)
    print(machine)
    print(out)
    print("worker logs:", log_dir)
    if args.write:
        body = (
            "## 3. Scale-out, one consumer group, every topic with 8 partitions\n\n"
            f"`python -m bench.scaleout_benchmark --procs {args.procs} --cap {args.cap:g} "
            f"--variants {args.variants} --backlog {args.backlog} --repeats {args.repeats} "
            f"--rounds {args.rounds} --write`: {machine}. Each worker process in its own "
            f"cgroup of {args.cap:g} core; each case's rate is the median of its "
            f"{args.repeats} backlogs of {args.backlog} synthetic text articles after a "
            "warm-up round, and the table gives the median over the rounds (run "
            "interleaved). Target: N workers ≥ 0.9×N of one.\n\n" + out + "\n"
        )
        print("wrote", write_section("scaleout", body))


if __name__ == "__main__":
    main()
