"""One memo for the line judgements that are pure functions of a short line.

A site's chrome recurs on every one of its pages, while a body line is new each time: a
judgement of a line of at most `max_chars` is remembered (an LRU of `size` lines, about
10 MB of strings at 32,768 lines of 300 characters), a longer one is computed each time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

T = TypeVar("T")

SHORT_LINE_CHARS = 300
SHORT_LINES_HELD = 32_768

_CLEARS: list[Callable[[], None]] = []


def short_line_memo(fn: Callable[[str], T]) -> Callable[[str], T]:
    """`fn(line)`, remembered for short lines."""
    remembered = lru_cache(maxsize=SHORT_LINES_HELD)(fn)
    _CLEARS.append(remembered.cache_clear)

    @wraps(fn)
    def judged(line: str) -> T:
        return remembered(line) if len(line) <= SHORT_LINE_CHARS else fn(line)

    return judged


def forget_lines() -> None:
    """Empty every short-line memo (benchmarks start each timed pass cold with it)."""
    for clear in _CLEARS:
        clear()
