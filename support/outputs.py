"""Output lines of `newsflow process` compared across runs: without the fields that
record when they were made."""

from __future__ import annotations

from pathlib import Path

import orjson

CLOCKS = ("processed_at", "received_at")


def without_clocks(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_bytes().splitlines():
        record = orjson.loads(line)
        for key in CLOCKS:
            record["value"].pop(key, None)
        out.append(record)
    return out
