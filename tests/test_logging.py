"""JSON log lines, and a repeated error does not flood the log."""

from __future__ import annotations

import logging
import time

import orjson

from service.logging import JsonFormatter, RepeatFilter


def record(msg: str, name: str = "aiokafka.cluster") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)


def test_a_repeated_message_passes_once_per_window_and_says_how_many_were_dropped() -> None:
    gate = RepeatFilter(window_seconds=0.05)
    passed = [gate.filter(record("Topic t.clean not found in cluster metadata"))
              for _ in range(500)]
    assert passed.count(True) == 1
    assert gate.filter(record("another message")), "other messages are not held back"
    assert gate.filter(record("Topic t.clean not found", name="other.logger"))


    time.sleep(0.06)
    again = record("Topic t.clean not found in cluster metadata")
    assert gate.filter(again)
    line = orjson.loads(JsonFormatter().format(again))
    assert line["repeated"] == 499 and line["logger"] == "aiokafka.cluster"
