"""JSON log lines, and a repeated error does not flood the log."""

from __future__ import annotations

import logging

import orjson

from service.logging import JsonFormatter, RepeatFilter


def record(msg: str, name: str = "aiokafka.cluster") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_message_passes_once_per_window_and_says_how_many_were_dropped() -> None:
    clock = FakeClock()
    gate = RepeatFilter(window_seconds=30.0, clock=clock)
    passed = [gate.filter(record("Topic t.clean not found in cluster metadata"))
              for _ in range(500)]
    assert passed.count(True) == 1
    assert gate.filter(record("another message")), "other messages are not held back"
    assert gate.filter(record("Topic t.clean not found", name="other.logger"))

    clock.now += 29.9
    assert not gate.filter(record("Topic t.clean not found in cluster metadata"))
    clock.now += 0.1
    again = record("Topic t.clean not found in cluster metadata")
    assert gate.filter(again)
    line = orjson.loads(JsonFormatter().format(again))
    assert line["repeated"] == 500 and line["logger"] == "aiokafka.cluster"


def test_a_message_seen_once_carries_no_repeat_count() -> None:
    clock = FakeClock()
    gate = RepeatFilter(window_seconds=30.0, clock=clock)
    assert gate.filter(record("broker down"))
    clock.now += 31
    again = record("broker down")
    assert gate.filter(again)
    assert "repeated" not in orjson.loads(JsonFormatter().format(again))
