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

State lives only in `store[source]`, a JSON-serialisable dict {"p": [[hash, ...], ...]},
read once and written once per page, so a faust Table (changelog-backed) can be the store.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import xxhash

from service.settings import CleanConfig

MAX_LINES_PER_PAGE = 160
MIN_KEY_CHARS = 3

_DIGITS_RE = re.compile(r"\d+")
_NON_WORD_RE = re.compile(r"[\W_]+")


def line_key(line: str) -> int | None:
    """The 32-bit hash of a line's normalised form, or None for lines too short to judge."""
    norm = _NON_WORD_RE.sub(" ", _DIGITS_RE.sub("0", line.casefold())).strip()
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


class BoilerplateMemory:
    """Learns recurring lines per source; `observe()` marks which lines of a page recur."""

    def __init__(self, store: MutableMapping[str, Any], cfg: CleanConfig) -> None:
        self.store = store
        self.min_pages = cfg.boilerplate_min_pages
        self.window = cfg.boilerplate_window_pages

    def observe(self, source: str | None, lines: Sequence[str]) -> list[bool]:
        """Record this page's lines for `source`; True for each line that is boilerplate."""
        keys = [line_key(line) for line in lines]
        if not source:
            return [False] * len(lines)
        state = self.store.get(source)
        pages: list[list[int]] = list(state.get("p", [])) if isinstance(state, dict) else []
        page = sorted({k for k in keys if k is not None})[:MAX_LINES_PER_PAGE]
        counts: Counter[int] = Counter()
        duplicate = False
        for past in pages:
            counts.update(past)
            duplicate = duplicate or past == page
        threshold = self.min_pages - (0 if duplicate else 1)
        marks = [k is not None and counts[k] >= threshold for k in keys]
        if page and not duplicate:
            pages.append(page)
            self.store[source] = {"p": pages[-self.window:]}
        return marks
