"""Streaming through a real broker, one worker process (issue 8, part 2).

    python -m bench.stream_benchmark                      # own broker, print the table
    python -m bench.stream_benchmark --bootstrap HOST:PORT --write
    python -m bench.stream_benchmark --variants noop,newsflow,newsflow+NEWSFLOW_BATCH_SIZE=64

For each worker variant, in one run and on one broker: start the worker as a real
subprocess (`python -m service worker`, env as support/kafka.py isolated_env, log level
WARNING), wait for /readyz, then
  * throughput: produce a backlog of N synthetic text articles as fast as the client
    goes and count outputs; rate = outputs / (last arrival - first arrival). Repeated
    on fresh articles (a new seed each time, so dedup sees new text), median quoted.
  * latency: produce at 50% of that variant's measured rate for a few seconds;
    latency = arrival time at our consumer - the raw message's produce timestamp (both
    the worker and the no-op copy the raw timestamp onto the output).
The references are bench/noop_app.py, faust's idiomatic passthrough agent on the same
`make_app` settings, and `batch`: `newsflow process` (one job) on the same backlogs, in
one process, timed inside it after the same warm-up round (so neither side pays the
interpreter start or the model loads). `+ENV=VALUE` after a variant sets worker env, to
A/B a setting. `--cap C` holds each worker process, and the batch process, to C cores
(a cgroup of its own; root): the broker, the producer and the reader, outside it, are
then not what the ratio measures (issue 17: streaming at >= 0.85x of batch on one core).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    ROOT,
    CpuCap,
    OutputReader,
    machine_line,
    median,
    percentile,
    produce_backlog,
    produce_paced,
    synthetic_payloads,
    table,
    write_section,
)
from service.runtime.admin import ensure_topics
from service.settings import Settings
from support.kafka import Broker, WorkerProcess, free_port, isolated_env, settings_from

VARIANT_ARGS: dict[str, list[str]] = {
    "newsflow": ["service", "worker"],
    "noop": ["bench.noop_app"],
}


@dataclass
class CaseResult:
    variant: str
    workers: int
    rates: list[float] = field(default_factory=list)
    produce_rates: list[float] = field(default_factory=list)
    paced_rate: float = 0.0
    latencies: list[float] = field(default_factory=list)
    hop_latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    expected: int = 0

    @property
    def rate(self) -> float:
        return median(self.rates)


PayloadFn = Callable[[int, int], tuple[list[bytes], list[bytes] | None]]


def text_payloads(count: int, seed: int) -> tuple[list[bytes], list[bytes] | None]:
    return synthetic_payloads("text", count, seed=seed), None


def split_variant(variant: str) -> tuple[str, dict[str, str]]:
    """"newsflow+NEWSFLOW_BATCH_SIZE=64" -> ("newsflow", {"NEWSFLOW_BATCH_SIZE": "64"})."""
    name, *assignments = variant.split("+")
    return name, dict(a.split("=", 1) for a in assignments)


def worker_args(variant: str) -> list[str]:
    name = split_variant(variant)[0]
    if name not in VARIANT_ARGS:
        raise SystemExit(f"unknown variant {name!r}; known: {sorted(VARIANT_ARGS)}")
    return VARIANT_ARGS[name]


def output_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.clean, t.duplicates, t.rejected]


async def measure_backlog(
    bootstrap: str, settings: Settings, payloads: Sequence[bytes], timeout: float,
    topic: str | None = None, keys: Sequence[bytes | None] | None = None,
) -> tuple[float, float, int]:
    """(outputs/s, produce msgs/s, delivered) for one backlog."""
    reader = OutputReader(bootstrap, output_topics(settings))
    await reader.start()
    try:
        await reader.read(10**9, 0.3)  # skip whatever an earlier round left
        reader.reset()
        producing = asyncio.create_task(
            produce_backlog(bootstrap, topic or settings.topics.raw, payloads, keys)
        )
        await reader.read(len(payloads), timeout)
        produce_seconds = await producing
    finally:
        await reader.stop()
    got = reader.arrivals
    rate = (len(got) - 1) / (got[-1] - got[0]) if len(got) > 1 and got[-1] > got[0] else 0.0
    return rate, len(payloads) / produce_seconds, len(got)


async def measure_latency(
    bootstrap: str, settings: Settings, payloads: Sequence[bytes], rate: float
) -> tuple[OutputReader, int]:
    reader = OutputReader(bootstrap, output_topics(settings), hop_topic=settings.topics.tagged)
    await reader.start()
    try:
        await reader.read(10**9, 0.3)
        reader.reset()
        producing = asyncio.create_task(
            produce_paced(bootstrap, settings.topics.raw, payloads, rate)
        )
        await reader.read(len(payloads), len(payloads) / rate + 30)
        await producing
    finally:
        await reader.stop()
    return reader, len(reader.arrivals)


def start_workers(
    env: dict[str, str], variant: str, workers: int, log_dir: Path, cap: float | None
) -> tuple[list[WorkerProcess], list[CpuCap]]:
    procs: list[WorkerProcess] = []
    caps: list[CpuCap] = []
    for i in range(workers):
        port = str(free_port())
        log_path = log_dir / f"{env['NEWSFLOW_APP_ID']}-{port}.log"
        procs.append(WorkerProcess({**env, "NEWSFLOW_WEB_PORT": port}, log_path,
                                   args=worker_args(variant), cwd=ROOT).start())
        if cap is not None:
            caps.append(CpuCap(f"newsflow-stream-{env['NEWSFLOW_APP_ID']}-{i}", cap))
            caps[-1].add(procs[-1].pid)
    return procs, caps


def run_case(
    bootstrap: str, variant: str, log_dir: Path, *, workers: int = 1, partitions: int = 4,
    backlog: int = 2000, repeats: int = 3, latency_seconds: float = 8.0,
    env_extra: dict[str, str] | None = None, on_running: Callable[[list[int]], None] | None = None,
    input_topic: str = "raw", payload_fn: PayloadFn | None = None, cap: float | None = None,
    paced_rate: float | None = None,
) -> CaseResult:
    """Start `workers` processes of `variant` on fresh topics, measure, stop them; each
    process in a cgroup of `cap` cores when given. Latency is taken at `paced_rate`
    articles/s, or at half the measured rate."""
    if split_variant(variant)[0] == "batch":
        return batch_case(variant, backlog=backlog, repeats=repeats, cap=cap)
    env = isolated_env(
        bootstrap, NEWSFLOW_TOPICS__PARTITIONS=str(partitions), NEWSFLOW_LOG_LEVEL="WARNING",
        **{**(env_extra or {}), **split_variant(variant)[1]},
    )
    settings = settings_from(env)
    asyncio.run(ensure_topics(settings))
    procs, caps = start_workers(env, variant, workers, log_dir, cap)
    result = CaseResult(variant, workers)
    try:
        for p in procs:
            p.wait_ready()
        if workers > 1:
            time.sleep(3)  # let the group settle after the last join
            for p in procs:
                p.wait_ready()
        make = payload_fn or text_payloads
        topic = getattr(settings.topics, input_topic)
        # A short unmeasured round first: metadata, first fetches, lazy model loads.
        warm, warm_keys = make(200, 999)
        asyncio.run(measure_backlog(bootstrap, settings, warm, 60, topic, warm_keys))
        for rep in range(repeats):
            payloads, keys = make(backlog, 1000 + rep)
            if on_running is not None and rep == repeats - 1:
                on_running([p.pid for p in procs])
            rate, produced, got = asyncio.run(
                measure_backlog(bootstrap, settings, payloads, backlog / 50 + 30, topic, keys)
            )
            result.rates.append(rate)
            result.produce_rates.append(produced)
            result.delivered += got
            result.expected += len(payloads)
            print(f"  {variant} x{workers} round {rep + 1}: {rate:,.0f}/s "
                  f"(produced at {produced:,.0f}/s, {got}/{len(payloads)})", flush=True)
        if latency_seconds > 0 and result.rate > 0:
            result.paced_rate = paced_rate or result.rate / 2
            n = max(50, int(result.paced_rate * latency_seconds))
            payloads = synthetic_payloads("text", n, seed=5000)
            reader, got = asyncio.run(
                measure_latency(bootstrap, settings, payloads, result.paced_rate)
            )
            result.latencies, result.hop_latencies = reader.latencies, reader.hop_latencies
            result.delivered += got
            result.expected += n
    finally:
        for p in procs:
            p.kill(signal.SIGTERM)
        for c in caps:
            c.remove()
    return result


def batch_case(variant: str, *, backlog: int, repeats: int, cap: float | None) -> CaseResult:
    """`newsflow process` on the backlogs `run_case` produces (same seeds), all rounds in
    one child process (`--time-batch`), under the same cap."""
    result = CaseResult(variant, 1)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for rep in range(-1, repeats):  # -1: the warm-up round, as run_case's
            payloads, _ = text_payloads(200, 999) if rep < 0 else text_payloads(backlog, 1000 + rep)
            files.append(Path(tmp) / f"in{rep + 1}.jsonl")
            files[-1].write_bytes(b"\n".join(payloads) + b"\n")
        env = {**os.environ, **split_variant(variant)[1]}
        child = subprocess.Popen(  # noqa: S603 - this module, on our own files
            [sys.executable, "-m", "bench.stream_benchmark", "--time-batch", *map(str, files)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        group = CpuCap(f"newsflow-stream-batch-{os.getpid()}", cap) if cap is not None else None
        if group is not None:
            group.add(child.pid)
        out, _ = child.communicate(timeout=backlog * repeats / 5 + 120)
        if group is not None:
            group.remove()
    if child.returncode != 0:
        raise SystemExit(f"batch reference failed ({child.returncode})")
    for rep, line in enumerate(out.strip().splitlines()[1:]):
        records, seconds = (float(x) for x in line.split())
        result.rates.append(records / seconds)
        result.delivered += int(records)
        result.expected += backlog
        print(f"  {variant} round {rep + 1}: {records / seconds:,.0f}/s", flush=True)
    return result


def time_batch(files: Sequence[str]) -> None:
    """The child of `batch_case`: each file through `process_file` (one job), timed here;
    prints "records seconds" per file, the first being the warm-up round."""
    from service.batch import process_file

    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            started = time.perf_counter()
            counts = process_file(Path(name), Path(tmp) / "out.jsonl", settings)
            print(sum(counts.values()), time.perf_counter() - started, flush=True)


def row(r: CaseResult, ref: CaseResult | None) -> list[object]:
    lat = r.latencies
    return [
        r.variant, r.workers, r.rate, f"{min(r.rates):,.0f}–{max(r.rates):,.0f}",
        f"{r.rate / ref.rate:.2f}×" if ref and ref.rate else "-",
        median(r.produce_rates) if r.produce_rates else "-",
        r.paced_rate, percentile(lat, 50) * 1e3 if lat else "-",
        percentile(lat, 99) * 1e3 if lat else "-",
        percentile(r.hop_latencies, 50) * 1e3 if r.hop_latencies else "-",
        f"{r.delivered}/{r.expected}",
    ]


HEADERS = ["worker", "procs", "articles/s (median)", "range", "vs ref", "backlog produced/s",
           "paced at/s", "p50 ms", "p99 ms", "tagged-hop p50 ms", "delivered"]


def py_spy(directory: Path, variant: str, seconds: float = 12.0) -> Callable[[list[int]], None]:
    """Start `py-spy record` (collapsed stacks, all threads) on each worker pid."""
    import shutil
    import subprocess

    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    directory.mkdir(parents=True, exist_ok=True)

    def start(pids: list[int]) -> None:
        for pid in pids:
            out = directory / f"{variant}-{pid}.txt"
            subprocess.Popen(  # noqa: S603 - our own tool on our own child
                [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate",
                 "200", "--format", "raw", "--threads", "--nonblocking", "-o", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        time.sleep(1.0)

    return start


class OwnBroker:
    """One broker for the whole benchmark, unless --bootstrap points at one."""

    def __init__(self, bootstrap: str | None) -> None:
        self.bootstrap = bootstrap
        self.broker: Broker | None = None

    def __enter__(self) -> str:
        if self.bootstrap:
            return self.bootstrap
        directory = Path(tempfile.mkdtemp(prefix="perf-kafka-"))
        self.broker = Broker.start(directory)
        return self.broker.bootstrap

    def __exit__(self, *exc: object) -> None:
        if self.broker is not None:
            self.broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", default=os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP"))
    ap.add_argument("--variants", default="noop,newsflow",
                    help="comma list: noop, newsflow;"
                    " append +ENV=VALUE to set worker env, e.g. newsflow+NEWSFLOW_BATCH_SIZE=64")
    ap.add_argument("--backlog", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-seconds", type=float, default=8.0)
    ap.add_argument("--paced-rate", type=float, default=None,
                    help="take every variant's latency at this rate (default: half its own)")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--profile", metavar="DIR",
                    help="py-spy record each worker during the last round into DIR")
    ap.add_argument("--profile-seconds", type=float, default=12.0,
                    help="how long --profile records (the whole round: its length)")
    ap.add_argument("--cap", type=float, default=None,
                    help="cores per worker (and batch) process, a cgroup each (root)")
    ap.add_argument("--ref", default=None, help="the variant the ratio column divides by "
                    "(default: batch if run, else noop)")
    ap.add_argument("--time-batch", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.time_batch:
        time_batch(args.time_batch)
        return
    machine = machine_line()
    log_dir = Path(tempfile.mkdtemp(prefix="perf-stream-"))
    results: list[CaseResult] = []
    with OwnBroker(args.bootstrap) as bootstrap:
        for variant in args.variants.split(","):
            results.append(run_case(
                bootstrap, variant, log_dir, backlog=args.backlog, repeats=args.repeats,
                latency_seconds=args.latency_seconds, cap=args.cap, paced_rate=args.paced_rate,
                on_running=(py_spy(Path(args.profile), variant, args.profile_seconds)
                            if args.profile else None),
            ))
    names = [r.variant for r in results]
    ref_name = args.ref or ("batch" if "batch" in names else "noop")
    ref = next((r for r in results if r.variant == ref_name), None)
    out = table(HEADERS, [row(r, ref) for r in results])
    print(machine)
    print(out)
    print("worker logs:", log_dir)
    if args.write:
        capped = f" --cap {args.cap:g}" if args.cap is not None else ""
        command = (f"python -m bench.stream_benchmark --variants {args.variants}{capped} "
                   f"--backlog {args.backlog} --repeats {args.repeats} --write")
        where = (f"each worker and the batch process capped at {args.cap:g} core (a cgroup "
                 "each); the broker, producer and reader outside the caps"
                 if args.cap is not None else "broker, worker, producer and reader all on the "
                 "same 2 cores")
        body = (
            "## 2. Streaming, one worker, real broker\n\n"
            f"`{command}` (latency at 50% for ~{args.latency_seconds:.0f} s; ratio column "
            f"against `{ref_name}`): {machine}. Text input, 4 partitions, {where}.\n\n"
            + out + "\n"
        )
        print("wrote", write_section("stream", body))


if __name__ == "__main__":
    main()
