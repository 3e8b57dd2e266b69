"""Scale-out: 1 vs 2 worker processes in one consumer group (issue 8, part 3).

    python -m bench.scaleout_benchmark                     # own broker, print the table
    python -m bench.scaleout_benchmark --bootstrap HOST:PORT --write

The raw topic has 8 partitions (NEWSFLOW_TOPICS__PARTITIONS=8), so the prepare agent
(clean + tag) spreads over both processes. Dedup reads `newsflow.tagged`, which has one
partition by design (one ordered dedup stream), so exactly one process runs dedup for
everybody: that is the ceiling. It is measured directly in the same run ("dedup only":
tagged records produced straight onto the tagged topic of a one-worker group). The
no-op passthrough 1 vs 2 shows what faust itself scales to on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import machine_line, median, synthetic_payloads, table, write_section
from bench.stream_benchmark import CaseResult, OwnBroker, run_case
from service.models import Origin, TaggedArticle
from service.pipeline import Pipeline, dump
from service.settings import Settings


def tagged_payloads(count: int, seed: int) -> tuple[list[bytes], list[bytes] | None]:
    """What the prepare agent publishes on the tagged topic, made in-process."""
    pipeline = Pipeline(Settings())
    values, keys = [], []
    for payload in synthetic_payloads("text", count, seed=seed):
        result = pipeline.prepare(payload, Origin(topic="bench"))
        if isinstance(result, TaggedArticle):
            values.append(dump(result))
            keys.append(result.id.encode("utf-8"))
    return values, keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap")
    ap.add_argument("--backlog", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-noop", action="store_true")
    ap.add_argument("--dedup-variants", default="newsflow",
                    help="dedup-only workers, e.g. newsflow,newsflow+NEWSFLOW_BATCH_SIZE=64")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    machine = machine_line()
    log_dir = Path(tempfile.mkdtemp(prefix="perf-scaleout-"))
    common = {"partitions": 8, "backlog": args.backlog, "repeats": args.repeats,
              "latency_seconds": 0.0}
    results: dict[str, CaseResult] = {}
    with OwnBroker(args.bootstrap) as bootstrap:
        if not args.skip_noop:
            for n in (1, 2):
                results[f"noop x{n}"] = run_case(bootstrap, "noop", log_dir, workers=n, **common)
        for n in (1, 2):
            results[f"newsflow x{n}"] = run_case(
                bootstrap, "newsflow", log_dir, workers=n, **common
            )
        for variant in args.dedup_variants.split(","):
            results[f"{variant} dedup only x1"] = run_case(
                bootstrap, variant, log_dir, workers=1, input_topic="tagged",
                payload_fn=tagged_payloads, **common,
            )
    rows = []
    for name, r in results.items():
        one = results.get(name.replace("x2", "x1")) if name.endswith("x2") else None
        speedup = f"{r.rate / one.rate:.2f}×" if one and one.rate else "-"
        rows.append([name, r.workers, r.rate, f"{min(r.rates):,.0f}–{max(r.rates):,.0f}",
                     speedup, median(r.produce_rates), f"{r.delivered}/{r.expected}"])
    out = table(["case", "procs", "articles/s (median)", "range", "speedup vs x1",
                 "backlog produced/s", "delivered"], rows)
    print(machine)
    print(out)
    print("worker logs:", log_dir)
    if args.write:
        body = (
            "## 3. Scale-out, one consumer group, raw topic with 8 partitions\n\n"
            f"`python -m bench.scaleout_benchmark --write --dedup-variants "
            f"{args.dedup_variants}` (backlog {args.backlog}, "
            f"{args.repeats} rounds after a warm-up round): {machine}. Speedup target "
            "≥ 1.7×. `dedup only` = tagged records produced straight onto the one-partition "
            "tagged topic: the most any number of workers can deliver.\n\n" + out + "\n"
        )
        print("wrote", write_section("scaleout", body))


if __name__ == "__main__":
    main()
