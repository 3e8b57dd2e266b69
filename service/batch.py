"""`newsflow process`: the worker's pipeline, in-process, one output line per input record."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from service.models import Origin, utcnow
from service.pipeline import Pipeline, Routed
from service.settings import Settings
from service.sources import SourceRecord, SourceStats, open_source
from service.stages.dedup import Verdict


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


def run(lines: Iterator[bytes], settings: Settings, source_name: str) -> Iterator[Output]:
    """`run_records` over raw lines, each with its line number as origin."""
    records = (
        SourceRecord(payload=payload, origin=Origin(topic=source_name, line=number))
        for number, payload in enumerate(lines, start=1)
    )
    return run_records(records, settings)


def run_records(records: Iterable[SourceRecord], settings: Settings) -> Iterator[Output]:
    """One output per input record, in order, each with its final verdict.

    Dedup judges by event time over the whole input, so a line can be decided again by a
    copy with an earlier `fetched_at` further down the file. Lines are therefore spooled
    to a temporary file (memory stays bounded by the dedup index, not the input) and come
    out once the input is read, with the corrections applied: the same verdicts a
    consumer that upserts the worker's output by id ends up with. A record the source
    could not read (`rejected`) is its dead letter, in its place."""
    pipeline = Pipeline(settings, now=utcnow())
    with tempfile.TemporaryFile() as spool:
        for record in records:
            if record.rejected is not None:
                routed = pipeline.route_rejected(record.rejected)
            else:
                routed = pipeline.process(record.payload, record.origin)
            spool.write(format_line(routed))
        final = {c.article_id: c.verdict for c in pipeline.dedup.corrections}  # last wins
        spool.seek(0)
        for line in spool:
            yield _corrected(line, final, settings) if final else _output(line)


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


def process_file(
    source: Path | None,
    target: Path | None,
    settings: Settings,
    progress: Callable[[int], object] | None = None,
    stats: SourceStats | None = None,
) -> dict[str, int]:
    """Process an input file (or stdin) and return how many records went to each topic.

    The input is JSON lines (plain, gzip or zstd) or a WARC archive: service/sources.py
    tells them apart by their bytes. `progress` is called with the bytes read from the
    file (the CLI's progress bar); `stats` is filled with what the source read and skipped.
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
        for output in run_records(records, settings):
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
