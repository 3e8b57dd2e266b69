"""`newsflow process`: the worker's pipeline, in-process, one output line per input line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from service.models import Origin
from service.pipeline import Pipeline, Routed
from service.settings import Settings
from service.stages.index import InMemoryDedupIndex


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Raw bytes per line, so invalid UTF-8 reaches the decoder and is rejected there."""
    for line in stream:
        yield line.rstrip(b"\r\n")


def run(lines: Iterator[bytes], settings: Settings, source_name: str) -> Iterator[Routed]:
    pipeline = Pipeline(settings, InMemoryDedupIndex())
    for number, payload in enumerate(lines, start=1):
        yield pipeline.process(payload, Origin(topic=source_name, line=number))


def format_line(routed: Routed) -> bytes:
    return orjson.dumps({"topic": routed.topic, "value": routed.value.model_dump()}) + b"\n"


def process_file(source: Path | None, target: Path | None, settings: Settings) -> dict[str, int]:
    """Process a JSONL file (or stdin) and return how many records went to each topic."""
    counts: dict[str, int] = {}
    in_stream = source.open("rb") if source else sys.stdin.buffer
    out_stream = target.open("wb") if target else sys.stdout.buffer
    try:
        name = str(source) if source else "-"
        for routed in run(read_lines(in_stream), settings, name):
            out_stream.write(format_line(routed))
            counts[routed.topic] = counts.get(routed.topic, 0) + 1
    finally:
        if source:
            in_stream.close()
        if target:
            out_stream.close()
        else:
            out_stream.flush()
    return counts
