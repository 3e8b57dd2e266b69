"""`newsflow process`: the worker's pipeline, in-process, one output line per input line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from service.models import Article, Origin
from service.pipeline import Pipeline, Routed, corrected
from service.settings import Settings
from service.stages.index import InMemoryDedupIndex


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Raw bytes per line, so invalid UTF-8 reaches the decoder and is rejected there."""
    for line in stream:
        yield line.rstrip(b"\r\n")


def run(lines: Iterator[bytes], settings: Settings, source_name: str) -> Iterator[Routed]:
    """One result per line, in order; in partitioned dedup mode, then the corrections a
    late input caused, as the worker would publish them."""
    pipeline = Pipeline(settings, InMemoryDedupIndex())
    published: dict[str, Routed] = {}
    for number, payload in enumerate(lines, start=1):
        routed = pipeline.process(payload, Origin(topic=source_name, line=number))
        if pipeline.partitioned is not None and isinstance(routed.value, Article):
            published[routed.value.id] = routed
        yield routed
    if pipeline.partitioned is not None:
        for correction in pipeline.partitioned.corrections:
            original = published[correction.article_id]
            yield corrected(original, correction, settings.topics.duplicates)


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
        for routed in run(lines(), settings, name):
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

