"""`newsflow process`: the worker's pipeline, in-process, one output line per input record.

With `jobs` > 1 the prepare stage (decode, clean, tag: `Pipeline.prepare`) and each
article's dedup probe (its signature and keys, a pure function of the article and the
run's clock) run in that many worker processes; the dedup index stays in this one, so
the output is the same as one job's (`processed_at` and a dead letter's `received_at`
are clocks). Cleaning learns chrome per
source from the pages before (`BoilerplateMemory`), so each source is routed to one fixed
job and reaches it in input order; a page with no source and no host teaches nothing and
goes to the least loaded job. Blocks of records are in flight a few at a time (memory is
bounded by `WINDOW` blocks, not the input), and each job's learned state is mirrored here
after every chunk, so a job whose process dies is restarted from the state it had and the
chunk is replayed one record at a time: the record that kills it again is a dead letter
(`processing_failed`) and every other line still comes out, in its place.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from service.errors import ProcessingFailed
from service.models import Origin, Rejected, TaggedArticle, utcnow
from service.pipeline import Pipeline, Routed, make_rejected
from service.settings import Settings
from service.sources import SourceRecord, SourceStats, open_source
from service.stages.clean import source_key
from service.stages.dedup import Probe, Verdict

# A block is what the reader hands to the jobs at once; WINDOW blocks are in flight.
CHUNK_RECORDS = 32  # per job and block
BLOCK_BYTES = 16 << 20
WINDOW = 4
RECORD_COST_BYTES = 4096  # a record's fixed prepare cost, as payload bytes, for balancing

Prepared = TaggedArticle | Rejected
# A job's answer for one record: what prepare made, and the article's probe if any.
Made = tuple[Prepared, Probe | None]


def default_jobs() -> int:
    """Every core this process may run on (its CPU affinity), else `os.cpu_count()`."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Raw bytes per line, so invalid UTF-8 reaches the decoder and is rejected there."""
    for line in stream:
        yield line.rstrip(b"\r\n")


@dataclass(frozen=True, slots=True)
class Output:
    """One output line, `{"topic": ..., "value": ...}` and a newline, and its topic."""

    topic: str
    line: bytes

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.line)["value"]
        return value


@dataclass(slots=True)
class JobStats:
    """What the prepare jobs did: CPU seconds each, restarts and records that killed one."""

    jobs: int = 1
    cpu_seconds: list[float] = field(default_factory=list)
    records: list[int] = field(default_factory=list)
    restarts: int = 0
    killed_by: list[Origin] = field(default_factory=list)


def run(lines: Iterator[bytes], settings: Settings, source_name: str) -> Iterator[Output]:
    """`run_records` over raw lines, each with its line number as origin."""
    records = (
        SourceRecord(payload=payload, origin=Origin(topic=source_name, line=number))
        for number, payload in enumerate(lines, start=1)
    )
    return run_records(records, settings)


def run_records(
    records: Iterable[SourceRecord],
    settings: Settings,
    jobs: int = 1,
    job_stats: JobStats | None = None,
) -> Iterator[Output]:
    """One output per input record, in order, each with its final verdict.

    Dedup judges by event time over the whole input, so a line can be decided again by a
    copy with an earlier `fetched_at` further down the file. Lines are therefore spooled
    to a temporary file (memory stays bounded by the dedup index, not the input) and come
    out once the input is read, with the corrections applied: the same verdicts a
    consumer that upserts the worker's output by id ends up with. A record the source
    could not read (`rejected`) is its dead letter, in its place. `jobs` > 1 runs the
    prepare stage in that many processes (module docstring); dedup stays here."""
    pipeline = Pipeline(settings, now=utcnow(), prepares=jobs <= 1)
    with tempfile.TemporaryFile() as spool:
        if jobs <= 1:
            for record in records:
                if record.rejected is not None:
                    routed = pipeline.route_rejected(record.rejected)
                else:
                    routed = pipeline.process(record.payload, record.origin)
                spool.write(format_line(routed))
        else:
            made = _prepare_in_jobs(records, settings, jobs, job_stats, pipeline.now)
            for record, prepared in made:
                spool.write(format_line(_finish(pipeline, record, prepared)))
        final = {c.article_id: c.verdict for c in pipeline.dedup.corrections}  # last wins
        spool.seek(0)
        for line in spool:
            yield _corrected(line, final, settings) if final else _output(line)


def _finish(pipeline: Pipeline, record: SourceRecord, made: Made | None) -> Routed:
    """`Pipeline.process` for a record whose prepare ran in a job."""
    if record.rejected is not None:
        return pipeline.route_rejected(record.rejected)
    assert made is not None
    prepared, probe = made
    if isinstance(prepared, Rejected):
        return pipeline.route_rejected(prepared)
    return pipeline.finish(prepared, probe)


def _output(line: bytes) -> Output:
    # The topic is the first field format_line writes: no need to parse the record.
    topic = line[len(b'{"topic":"') : line.index(b'"', len(b'{"topic":"'))].decode()
    return Output(topic, line)


def _corrected(line: bytes, final: dict[str, Verdict], settings: Settings) -> Output:
    record = orjson.loads(line)
    verdict = final.get(record["value"].get("id")) if "dedup" in record["value"] else None
    if verdict is None:
        return _output(line)
    topics = settings.topics
    record["topic"] = topics.clean if verdict.status == "unique" else topics.duplicates
    record["value"]["dedup"] = verdict.dedup().model_dump()
    return Output(record["topic"], orjson.dumps(record) + b"\n")


def format_line(routed: Routed) -> bytes:
    return orjson.dumps({"topic": routed.topic, "value": routed.value.model_dump()}) + b"\n"


# --- the prepare jobs: this side -------------------------------------------------------


@dataclass(slots=True)
class _Chunk:
    """One job's share of a block: the block positions, their inputs, the pending result."""

    job: int
    positions: list[int]
    items: list[tuple[bytes, Origin]]
    future: Future[tuple[list[Made], dict[str, Any], float]] | None = None


@dataclass(slots=True)
class _Block:
    records: list[SourceRecord]
    chunks: list[_Chunk]


class _Router:
    """Each source to one fixed job (its learned chrome depends on its earlier pages, in
    order); a page with no source key to the least loaded job. Load is counted in payload
    bytes plus a fixed cost per record, a rough proxy for the prepare CPU it takes."""

    def __init__(self, jobs: int, settings: Settings) -> None:
        self.load = [0] * jobs
        self.assigned: dict[str, int] = {}
        self.learn = settings.clean.learn_boilerplate
        self.max_bytes = settings.decode.max_bytes

    def job(self, payload: bytes) -> int:
        key = _source_of(payload, self.max_bytes) if self.learn else None
        job = self.assigned.get(key) if key is not None else None
        if job is None:
            job = self.load.index(min(self.load))
            if key is not None:
                self.assigned[key] = job
        self.load[job] += len(payload) + RECORD_COST_BYTES
        return job


def _source_of(payload: bytes, max_bytes: int) -> str | None:
    """The key `clean` learns under (`source_key(raw.source, raw.url)`), read the way
    `decode` reads it; None when the record cannot reach `clean` or has no key."""
    if len(payload) > max_bytes:
        return None
    try:
        document = orjson.loads(payload.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    source, url = document.get("source"), document.get("url")
    return source_key(
        source if isinstance(source, str) else None, url if isinstance(url, str) else None
    )


class _Jobs:
    """N single-process executors, one per job, each with a mirror of its learned state."""

    def __init__(
        self, settings: Settings, jobs: int, stats: JobStats, now: datetime | None
    ) -> None:
        self.settings = settings
        self.now = now  # the parent's run clock: probes made in a job use it too
        self.stats = stats
        stats.jobs = jobs
        stats.cpu_seconds = [0.0] * jobs
        stats.records = [0] * jobs
        self.stores: list[dict[str, Any]] = [{} for _ in range(jobs)]
        self.context = multiprocessing.get_context("forkserver")
        # Imported once in the forkserver, before it forks each job: the jobs share its
        # copy of the modules and of the language model instead of loading their own.
        self.context.set_forkserver_preload([__name__, "service.jobs_preload"])
        self.executors = [self._start(job) for job in range(jobs)]

    def _start(self, job: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            1, self.context, initializer=_worker_init,
            initargs=(self.settings, self.stores[job], self.now),
        )

    def restart(self, job: int) -> str:
        """A new process for `job` from the state mirrored here; how the old one ended."""
        ended = _how_it_ended(self.executors[job])
        self.executors[job].shutdown(wait=False, cancel_futures=True)
        self.executors[job] = self._start(job)
        self.stats.restarts += 1
        try:  # a job that cannot even start would turn every record into a dead letter
            self.executors[job].submit(_worker_ready).result()
        except Exception as exc:
            raise RuntimeError(f"prepare job {job} does not start: {exc!r}") from exc
        return ended

    def submit(self, chunk: _Chunk) -> None:
        chunk.future = self.executors[chunk.job].submit(_worker_prepare, chunk.items)

    def close(self) -> None:
        for executor in self.executors:
            executor.shutdown(wait=True, cancel_futures=True)

    def results(self, chunk: _Chunk, later: Iterable[_Block]) -> list[Made]:
        """The chunk's prepared records, replaying it record by record if its job died."""
        assert chunk.future is not None
        try:
            prepared, delta, cpu = chunk.future.result()
        except Exception:  # noqa: BLE001 - a dead or broken job: replay, never lose a line
            prepared = self._replay(chunk)
            for block in later:  # this job's chunks queued behind it went down with it
                for queued in block.chunks:
                    if queued.job == chunk.job:
                        self.submit(queued)
            return prepared
        self._account(chunk.job, delta, cpu, len(prepared))
        return prepared

    def _account(self, job: int, delta: dict[str, Any], cpu: float, records: int) -> None:
        self.stores[job].update(delta)
        self.stats.cpu_seconds[job] += cpu
        self.stats.records[job] += records

    def _replay(self, chunk: _Chunk) -> list[Made]:
        self.restart(chunk.job)
        out: list[Made] = []
        for payload, origin in chunk.items:
            future = self.executors[chunk.job].submit(_worker_prepare, [(payload, origin)])
            try:
                [prepared], delta, cpu = future.result()
            except Exception as exc:  # noqa: BLE001 - this record kills its job: a dead letter
                self.stats.killed_by.append(origin)
                ended = self.restart(chunk.job)
                out.append((self._killed(payload, origin, f"{ended}; {type(exc).__name__}"), None))
                continue
            self._account(chunk.job, delta, cpu, 1)
            out.append(prepared)
        return out

    def _killed(self, payload: bytes, origin: Origin, how: str) -> Rejected:
        failure = ProcessingFailed(f"the prepare job's worker process died on this record ({how})")
        limit = self.settings.decode.rejected_payload_max_bytes
        return make_rejected(payload, origin, failure, limit)


# multiprocessing's forkserver Popen reports 255 when it cannot read a child's status
# from the forkserver (CPython 3.11 popen_forkserver.poll): a SIGKILLed job sometimes
# reads so under load, and "exit code 255" would say something it does not know.
_STATUS_LOST = 255


def _how_it_ended(executor: ProcessPoolExecutor) -> str:
    """The dead worker's exit status, as far as the executor still knows it."""
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        process.join(5)
        code = process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            return f"killed by signal {name}"
        if code == _STATUS_LOST:
            return "its exit status was lost"
        if code is not None:
            return f"exit code {code}"
    return "the process pool broke"


def _prepare_in_jobs(
    records: Iterable[SourceRecord], settings: Settings, jobs: int, stats: JobStats | None,
    now: datetime | None,
) -> Iterator[tuple[SourceRecord, Made | None]]:
    """Each record with its prepared article (and probe) or dead letter, in input order."""
    pool = _Jobs(settings, jobs, stats if stats is not None else JobStats(), now)
    router = _Router(jobs, settings)
    window: deque[_Block] = deque()
    try:
        for block in _blocks(records, router, jobs):
            for chunk in block.chunks:
                pool.submit(chunk)
            window.append(block)
            if len(window) >= WINDOW:
                yield from _collect(pool, window.popleft(), window)
        while window:
            yield from _collect(pool, window.popleft(), window)
    finally:
        pool.close()


def _blocks(records: Iterable[SourceRecord], router: _Router, jobs: int) -> Iterator[_Block]:
    block = _Block([], [_Chunk(job, [], []) for job in range(jobs)])
    size = 0
    for record in records:
        if record.rejected is None:
            chunk = block.chunks[router.job(record.payload)]
            chunk.positions.append(len(block.records))
            chunk.items.append((record.payload, record.origin))
            size += len(record.payload)
        block.records.append(record)
        if len(block.records) >= CHUNK_RECORDS * jobs or size >= BLOCK_BYTES:
            yield _trimmed(block)
            block, size = _Block([], [_Chunk(job, [], []) for job in range(jobs)]), 0
    if block.records:
        yield _trimmed(block)


def _trimmed(block: _Block) -> _Block:
    block.chunks = [chunk for chunk in block.chunks if chunk.items]
    return block


def _collect(
    pool: _Jobs, block: _Block, later: Iterable[_Block]
) -> Iterator[tuple[SourceRecord, Made | None]]:
    prepared: list[Made | None] = [None] * len(block.records)
    for chunk in block.chunks:
        for position, result in zip(chunk.positions, pool.results(chunk, later), strict=True):
            prepared[position] = result
    yield from zip(block.records, prepared, strict=True)


# --- the prepare jobs: the worker process side ----------------------------------------


class _RecordingStore(MutableMapping[str, Any]):
    """The boilerplate store of a job, remembering what changed since the last chunk."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = dict(data)
        self.changed: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = self.changed[key] = value

    def __delitem__(self, key: str) -> None:  # BoilerplateMemory never deletes
        raise NotImplementedError("the batch boilerplate store does not delete")

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def drain(self) -> dict[str, Any]:
        changed, self.changed = self.changed, {}
        return changed


_WORKER: dict[str, Any] = {}


def _worker_init(settings: Settings, store: dict[str, Any], now: datetime | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    recording = _RecordingStore(store)
    pipeline = Pipeline(settings, boilerplate=recording, now=now)
    _WORKER.update(pipeline=pipeline, store=recording)
    _WORKER["cpu"] = time.process_time()


def _worker_ready() -> bool:
    return "pipeline" in _WORKER


def _worker_prepare(
    items: list[tuple[bytes, Origin]],
) -> tuple[list[Made], dict[str, Any], float]:
    pipeline: Pipeline = _WORKER["pipeline"]
    out: list[Made] = []
    for payload, origin in items:
        prepared = pipeline.prepare(payload, origin)
        probe = pipeline.probe(prepared) if isinstance(prepared, TaggedArticle) else None
        out.append((prepared, probe))
    cpu, _WORKER["cpu"] = time.process_time() - _WORKER["cpu"], time.process_time()
    return out, _WORKER["store"].drain(), cpu


def process_file(
    source: Path | None,
    target: Path | None,
    settings: Settings,
    progress: Callable[[int], object] | None = None,
    stats: SourceStats | None = None,
    jobs: int = 1,
    job_stats: JobStats | None = None,
) -> dict[str, int]:
    """Process an input file (or stdin) and return how many records went to each topic.

    The input is JSON lines (plain, gzip or zstd) or a WARC archive: service/sources.py
    tells them apart by their bytes. `progress` is called with the bytes read from the
    file (the CLI's progress bar); `stats` is filled with what the source read and skipped.
    `jobs` > 1 prepares in that many processes (`job_stats` says what each did).
    """
    counts: dict[str, int] = {}
    in_stream = source.open("rb") if source else sys.stdin.buffer
    out_stream = target.open("wb") if target else sys.stdout.buffer
    try:
        name = str(source) if source else "-"
        records = open_source(
            in_stream,
            name,
            max_bytes=settings.decode.max_bytes,
            rejected_max_bytes=settings.decode.rejected_payload_max_bytes,
            stats=stats,
            progress=progress,
        )
        for output in run_records(records, settings, jobs, job_stats):
            out_stream.write(output.line)
            counts[output.topic] = counts.get(output.topic, 0) + 1
    finally:
        if source:
            in_stream.close()
        if target:
            out_stream.close()
        else:
            out_stream.flush()
    return counts
