"""`newsflow process`: the worker's pipeline, in-process, one output line per input line."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from service.models import Origin, utcnow
from service.pipeline import Pipeline, Routed
from service.settings import Settings
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
    """One output per input line, in order, each with its final verdict.

    Dedup judges by event time over the whole input, so a line can be decided again by a
    copy with an earlier `fetched_at` further down the file. Lines are therefore spooled
    to a temporary file (memory stays bounded by the dedup index, not the input) and come
    out once the input is read, with the corrections applied: the same verdicts a
    consumer that upserts the worker's output by id ends up with."""
    pipeline = Pipeline(settings, now=utcnow())
    with tempfile.TemporaryFile() as spool:
        for number, payload in enumerate(lines, start=1):
            routed = pipeline.process(payload, Origin(topic=source_name, line=number))
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
) -> dict[str, int]:
    """Process a JSONL file (or stdin) and return how many records went to each topic.

    `progress` is called with the bytes of each line read (the CLI's progress bar).
    """
    counts: dict[str, int] = {}
    in_stream = source.open("rb") if source else sys.stdin.buffer
    out_stream = target.open("wb") if target else sys.stdout.buffer

    def lines() -> Iterator[bytes]:
        for line in read_lines(in_stream):
            if progress is not None:
                progress(len(line) + 1)
            yield line

    try:
        name = str(source) if source else "-"
        for output in run(lines(), settings, name):
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

