"""Per-source boilerplate learning: lines that recur across pages of one source are chrome.

Static rules cannot know that "The Harbour Gazette is owned by its readers." is a promo;
the stream can, because it appears on every page of that site. For each source we keep a
sliding window of the last `cfg.boilerplate_window_pages` pages, each page stored as the
sorted, distinct hashes of its normalised lines. A line whose hash appears on at least
`cfg.boilerplate_min_pages` distinct pages of the window (this page included) is
boilerplate. Until a source has that many pages nothing is learned: cold start is static
rules only.

Thresholds and bounds:
- `boilerplate_min_pages` (default 4): two or three repeats may be a syndicated story or a
  correction; four pages with the same line is a template.
- `boilerplate_window_pages` (default 200): old templates age out, and the state stays
  bounded at `window x MAX_LINES_PER_PAGE` ints per source.
- Lines are normalised before hashing (case folded, digits to 0, punctuation dropped) so
  "Battle Against Daesh in Syria (180)" and "(181)" are one line. Hashes are 32-bit ints.
- A page whose set of line hashes equals one already in the window (a re-sent or
  duplicated page) is not added, so duplicates cannot teach the body as chrome; dedup
  downstream handles them.

Durable state is one small JSON record per page in `store` (a dict in batch mode, a
changelog-backed faust Table in the worker); the counts are rebuilt from it on first use
of a source in a process and then kept up to date incrementally (see BoilerplateMemory).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import xxhash

from service.settings import CleanConfig
from service.stages.clean.memo import short_line_memo

MAX_LINES_PER_PAGE = 160
MIN_KEY_CHARS = 3

_DIGITS_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[\W_]+")


# For an ASCII line: a non-word character ([\W_]) to a space, a digit to "0".
_ASCII_KEY_TABLE = str.maketrans(
    {c: " " for c in range(128) if not chr(c).isalnum()} | {ord(d): "0" for d in "0123456789"}
)


def normalise_line(line: str) -> str:
    """Case folded, each run of digits to "0", each run of other non-word characters to
    one space, stripped. For ASCII (most lines) by a translation table and `split`
    instead of two regex passes; the same string either way."""
    if line.isascii():
        norm = line.lower().translate(_ASCII_KEY_TABLE)  # casefold() is lower() on ASCII
        while "00" in norm:  # a run of digits became a run of "0"
            norm = norm.replace("00", "0")
        return " ".join(norm.split())
    return _NON_WORD_RE.sub(" ", _DIGITS_RE.sub("0", line.casefold())).strip()


@short_line_memo
def line_key(line: str) -> int | None:
    """The 32-bit hash of a line's normalised form, or None for lines too short to judge.

    Remembered for short lines: the chrome worth learning recurs on a source's pages."""
    norm = normalise_line(line)
    if len(norm) < MIN_KEY_CHARS:
        return None
    return xxhash.xxh32_intdigest(norm.encode("utf-8"))


def source_key(source: str | None, url: str | None) -> str | None:
    """Learning is per source: the scraper's source name, else the URL's host."""
    if source and source.strip():
        return source.strip().casefold()
    if url:
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            return None
        if host:
            return host.removeprefix("www.")
    return None


class _SourceWindow:
    """One source's last pages and the running line counts over them (derived state)."""

    __slots__ = ("counts", "next_slot", "pages")

    def __init__(self) -> None:
        self.pages: dict[int, tuple[int, ...]] = {}
        self.counts: Counter[int] = Counter()
        self.next_slot = 0


class BoilerplateMemory:
    """Learns recurring lines per source; `observe()` marks which lines of a page recur.

    Durable state is one small record per page, `"<source>\x1f<slot>"` -> the page's line
    hashes, plus `"<source>"` -> the next slot (a ring of `window` slots), so a page costs
    two small writes. The running counts are derived: rebuilt from the store the first
    time this process sees a source, then updated as pages enter and leave the window.
    """

    def __init__(self, store: MutableMapping[str, Any], cfg: CleanConfig) -> None:
        self.store = store
        self.min_pages = cfg.boilerplate_min_pages
        self.window = cfg.boilerplate_window_pages
        self._sources: dict[str, _SourceWindow] = {}

    def observe(self, source: str | None, lines: Sequence[str]) -> list[bool]:
        """Record this page's lines for `source`; True for each line that is boilerplate."""
        keys = [line_key(line) for line in lines]
        if not source:
            return [False] * len(lines)
        state = self._window(source)
        page = tuple(sorted({k for k in keys if k is not None})[:MAX_LINES_PER_PAGE])
        duplicate = bool(page) and page in state.pages.values()
        threshold = self.min_pages - (0 if duplicate else 1)
        counts = state.counts
        marks = [k is not None and counts[k] >= threshold for k in keys]
        if page and not duplicate:
            self._append(source, state, page)
        return marks

    def _append(self, source: str, state: _SourceWindow, page: tuple[int, ...]) -> None:
        slot = state.next_slot % self.window
        old = state.pages.get(slot)
        if old is not None:
            state.counts.subtract(old)
            for key in old:
                if state.counts[key] <= 0:
                    del state.counts[key]
        state.pages[slot] = page
        state.counts.update(page)
        state.next_slot += 1
        self.store[f"{source}\x1f{slot}"] = list(page)
        self.store[source] = state.next_slot

    def _window(self, source: str) -> _SourceWindow:
        state = self._sources.get(source)
        if state is None:
            state = self._sources[source] = self._load(source)
        return state

    def _load(self, source: str) -> _SourceWindow:
        state = _SourceWindow()
        stored = self.store.get(source)
        if not isinstance(stored, int):
            return state
        state.next_slot = stored
        for slot in range(min(stored, self.window)):
            page = self.store.get(f"{source}\x1f{slot}")
            if isinstance(page, list):
                state.pages[slot] = tuple(page)
                state.counts.update(page)
        return state
