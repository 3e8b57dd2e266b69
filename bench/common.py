"""Shared helpers for the performance benchmarks (issue 8): inputs, timing, machine, results.

Every benchmark prints its own table and can replace its own section of
bench/results/perf.md (between `<!-- perf:NAME -->` markers), so the three can be rerun
independently without clobbering each other.
"""

from __future__ import annotations

import gzip
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import orjson

from bench.synthetic_sites import Page, generate

ROOT = Path(__file__).resolve().parents[1]
PERF_MD = ROOT / "bench" / "results" / "perf.md"
ZYTE_HTML = ROOT.parent / "shared" / "benchmarks" / "article-extraction" / "data" / "html"
PACKAGES = ("faust-streaming", "aiokafka", "trafilatura", "resiliparse", "pydantic", "orjson")


def synthetic_payloads(kind: str, count: int, seed: int = 20240501) -> list[bytes]:
    """`count` RawArticle JSON payloads of one kind ("text" or "html") from the generator."""
    out: list[bytes] = []
    pages: Iterator[Page] = generate(count * 4, seed)
    for page in pages:
        if page.kind != kind:
            continue
        body = {"text": page.text} if kind == "text" else {"html": page.html}
        out.append(orjson.dumps({"url": page.url, "source": page.site, **body}))
        if len(out) == count:
            break
    return out


def forget_memos() -> None:
    """Empty every per-process memo (judged lines, line keys, headlines, stems, language
    walks), so a repeat over the same pages starts as cold as a new process and is not
    charged less for having seen its own lines before."""
    from service.stages.clean import memo, text
    from service.stages.tag import stage

    memo.forget_lines()
    text.is_headline.cache_clear()
    stage._STEMS.clear()
    stage._load_identifier()._walks.clear()


def zyte_payloads() -> list[bytes]:
    """The 181 real pages, read at run time from ../shared (never copied into the repo)."""
    files = sorted(ZYTE_HTML.glob("*.html.gz"))
    if not files:
        sys.exit(f"missing benchmark data: no *.html.gz under {ZYTE_HTML}")
    out = []
    for path in files:
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        out.append(orjson.dumps({"id": path.name.split(".")[0], "html": html}))
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_line() -> str:
    """One line that says where and with what a figure was measured."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, {cpu_model()}, "
        f"load avg {load_average()} at start, Python {platform.python_version()}, "
        + ", ".join(versions)
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; floats get a sensible number of digits."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


SECTION_ORDER = ("pipeline", "stream", "scaleout", "dedup", "analysis")


def write_section(name: str, body: str) -> Path:
    """Replace (or add) the `name` section of perf.md, leaving the others alone.

    Sections live between `<!-- perf:NAME -->` markers and are kept in SECTION_ORDER.
    """
    marker = re.compile(r"<!-- perf:(\S+) -->\n(.*?)\n<!-- /perf:\1 -->", re.S)
    text = PERF_MD.read_text(encoding="utf-8") if PERF_MD.exists() else ""
    sections = {m.group(1): m.group(2) for m in marker.finditer(text)}
    head = marker.sub("", text).strip() or "# Performance (issue 8)"
    sections[name] = body.rstrip()
    rank = {n: i for i, n in enumerate(SECTION_ORDER)}
    ordered = sorted(sections, key=lambda n: (rank.get(n, len(rank)), n))
    blocks = [f"<!-- perf:{n} -->\n{sections[n]}\n<!-- /perf:{n} -->" for n in ordered]
    PERF_MD.parent.mkdir(parents=True, exist_ok=True)
    PERF_MD.write_text(head + "\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return PERF_MD


class Stopwatch:
    """Accumulates seconds per label; cheap enough to wrap every stage call.

    The default clock is this thread's CPU time: on a shared machine it is far less
    disturbed by other people's jobs than wall time (it still pays for cache misses).
    """

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = {}

    def add(self, label: str, started: float) -> float:
        now = self.clock()
        self.seconds[label] = self.seconds.get(label, 0.0) + now - started
        return now


# --- streaming helpers: a broker, worker subprocesses, produce and measure -------------


async def produce_backlog(
    bootstrap: str,
    topic: str,
    payloads: Sequence[bytes],
    keys: Sequence[bytes | None] | None = None,
) -> float:
    """Send everything as fast as the client goes; returns seconds until all acked."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024,
        max_request_size=16 * 1024 * 1024,
    )
    await producer.start()
    try:
        t = time.perf_counter()
        futures = [
            await producer.send(topic, p, key=keys[i] if keys else None)
            for i, p in enumerate(payloads)
        ]
        for f in futures:
            await f
        return time.perf_counter() - t
    finally:
        await producer.stop()


async def produce_paced(
    bootstrap: str, topic: str, payloads: Sequence[bytes], rate: float
) -> float:
    """Send at `rate` messages/s in 10 ms ticks; message timestamps are the send times."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=0, max_request_size=16 * 1024 * 1024
    )
    await producer.start()
    try:
        t0 = time.perf_counter()
        futures = []
        for i, payload in enumerate(payloads):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0.002:
                await asyncio.sleep(delay)
            futures.append(await producer.send(topic, payload))
        for f in futures:
            await f
        return time.perf_counter() - t0
    finally:
        await producer.stop()


class OutputReader:
    """Counts records on the output topics with their arrival times (nothing parsed)."""

    def __init__(self, bootstrap: str, topics: Sequence[str], hop_topic: str | None = None) -> None:
        from aiokafka import AIOKafkaConsumer

        self.hop_topic = hop_topic
        self.consumer = AIOKafkaConsumer(
            *topics, *([hop_topic] if hop_topic else []),
            bootstrap_servers=bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024, fetch_max_wait_ms=20,
        )
        self.arrivals: list[float] = []
        self.latencies: list[float] = []
        self.hop_latencies: list[float] = []  # raw produce -> seen on the internal topic

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.getmany(timeout_ms=500)  # join, get an assignment

    async def read(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < expected and time.monotonic() < deadline:
            batches = await self.consumer.getmany(timeout_ms=50, max_records=10_000)
            now_mono, now_wall = time.perf_counter(), time.time()
            for tp, messages in batches.items():
                if tp.topic == self.hop_topic:
                    self.hop_latencies += [now_wall - m.timestamp / 1000 for m in messages]
                    continue
                for m in messages:
                    self.arrivals.append(now_mono)
                    self.latencies.append(now_wall - m.timestamp / 1000)

    def reset(self) -> None:
        self.arrivals, self.latencies, self.hop_latencies = [], [], []

    async def stop(self) -> None:
        await self.consumer.stop()


class CpuCap:
    """A cgroup holding one worker process to `cores` of CPU (cgroup v1 `cpu`, or v2).

    Emulates a worker node smaller than this machine, so that the broker and the load
    generator, outside the group, are not what limits the measurement.
    """

    PERIOD_US = 100_000

    def __init__(self, name: str, cores: float) -> None:
        self.quota = int(cores * self.PERIOD_US)
        v1, v2 = Path("/sys/fs/cgroup/cpu"), None
        for root in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
            if (root / "cgroup.controllers").exists() and "cpu" in (
                root / "cgroup.subtree_control"
            ).read_text().split():
                v2 = root
                break
        try:
            if (v1 / "cpu.cfs_quota_us").exists():
                self.path = v1 / name
                self.path.mkdir(exist_ok=True)
                (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(self.quota))
            elif v2 is not None:
                self.path = v2 / name
                self.path.mkdir(exist_ok=True)
                (self.path / "cpu.max").write_text(f"{self.quota} {self.PERIOD_US}")
            else:
                raise SystemExit("--cap: no writable cgroup cpu controller (v1 "
                                 "/sys/fs/cgroup/cpu or v2 cpu.max) on this machine")
        except PermissionError as exc:
            raise SystemExit(f"--cap needs root to create cgroups: {exc}") from exc

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        try:
            self.path.rmdir()  # the worker must have exited (no tasks left)
        except OSError as exc:
            print(f"warning: cannot remove cgroup {self.path}: {exc}", file=sys.stderr)
