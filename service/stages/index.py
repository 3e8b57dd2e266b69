"""The dedup index: a few named key-value stores that hold everything dedup decides by.

Each store is a `MutableMapping[str, JSON value]`: a dict in batch mode and tests, a
changelog-backed faust Table in the worker. The code here is the same in both, and it
never iterates a store, because iterating a large Table is slow. Expiry works through
event-time hour buckets, so evicting an hour touches only that hour's articles.

`docs`, `ids` and `buckets` are the durable stores. `urls` and `bands` are derived from
`docs` (a signature gives its band keys); the worker keeps them in memory and calls
`rebuild()` after its Tables are restored, so a unique article costs three or four
changelog records instead of thirty-seven. Batch mode passes all five as dicts.

Stores, keys and values (`fp` is `body_fingerprint`, 11 characters):

- `docs`    fp -> [id, t, sig, url]    an indexed (unique) article: its id, event time in
                                       epoch seconds, b-bit MinHash signature (base64,
                                       one byte per permutation) and URL hash or null.
- `ids`     id -> fp                   the id was unique and is indexed under fp;
            id -> [status, of, sim, t] or the verdict it got as a duplicate. Replays of
                                       an id return this, so the verdict never changes.
- `urls`    url hash -> fp             the first indexed article at a canonical URL.
- `bands`   band key -> fp | [fp, ..]  LSH buckets; a list only when several share one.
- `buckets` "lo" -> hour               the oldest hour not yet evicted (epoch hours);
            "<hour>" -> n              number of chunks filed under that hour;
            "<hour>:<i>" -> [entry..]  up to CHUNK entries: "d<fp>" or "i<id>".
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, NamedTuple

STORES = ("docs", "ids", "urls", "bands", "buckets")
DURABLE_STORES = ("docs", "ids", "buckets")
DERIVED_STORES = ("urls", "bands")
# Entries per bucket chunk: a Table rewrites the whole value on each insert, so small.
CHUNK = 32
_HOUR = 3600


class DocRecord(NamedTuple):
    """An indexed article, as kept in the `docs` store."""

    id: str
    t: int
    sig: bytes
    url: str | None

    def dump(self) -> list[Any]:
        return [self.id, self.t, base64.b64encode(self.sig).decode("ascii"), self.url]

    @classmethod
    def load(cls, value: list[Any]) -> DocRecord:
        return cls(value[0], value[1], base64.b64decode(value[2]), value[3])


def band_keys(sig: bytes, bands: int, rows: int) -> list[str]:
    """One short key per band: the band number and its `rows` signature bytes, base64.

    Derived from the stored signature alone, so eviction can find them again without
    keeping them twice.
    """
    keys = []
    for band in range(bands):
        chunk = bytes((band,)) + sig[band * rows : (band + 1) * rows]
        keys.append(base64.b64encode(chunk).decode("ascii").rstrip("="))
    return keys


class DedupIndex:
    """Typed access to the named stores; holds no state of its own that verdicts need."""

    def __init__(self, stores: Mapping[str, MutableMapping[str, Any]]) -> None:
        missing = [name for name in DURABLE_STORES if name not in stores]
        if missing:
            raise ValueError(f"dedup index needs stores {missing}")
        self.docs = stores["docs"]
        self.ids = stores["ids"]
        self.buckets = stores["buckets"]
        # Derived stores not given are kept in memory and rebuilt from `docs`.
        self.derived_in_memory = not all(name in stores for name in DERIVED_STORES)
        self.urls = stores.get("urls", {})
        self.bands = stores.get("bands", {})

    def rebuild(self, bands: int, rows: int, max_bucket: int) -> int:
        """Re-derive `urls` and `bands` from `docs`, oldest first as they were inserted.

        Call after the durable stores were restored (a worker start or a rebalance);
        returns the number of indexed articles.
        """
        self.urls.clear()
        self.bands.clear()
        records = sorted(
            ((DocRecord.load(value), fp) for fp, value in self.docs.items()),
            key=lambda pair: (pair[0].t, pair[0].id),
        )
        for record, fp in records:
            self._index_derived(fp, record, band_keys(record.sig, bands, rows), max_bucket)
        return len(records)

    # -- reads ---------------------------------------------------------------------

    def verdict(self, article_id: str) -> str | list[Any] | None:
        """What this id got the first time: its fp if unique, else the stored verdict."""
        value: str | list[Any] | None = self.ids.get(article_id)
        return value

    def doc(self, fp: str) -> DocRecord | None:
        value = self.docs.get(fp)
        return None if value is None else DocRecord.load(value)

    def url_doc(self, url_hash: str) -> str | None:
        value: str | None = self.urls.get(url_hash)
        return value

    def candidates(self, keys: Iterable[str], limit: int) -> list[str]:
        """Fingerprints sharing a band with `keys`, most shared bands first, at most `limit`."""
        hits: dict[str, int] = {}
        for key in keys:
            value = self.bands.get(key)
            if value is None:
                continue
            for fp in (value,) if isinstance(value, str) else value:
                hits[fp] = hits.get(fp, 0) + 1
        if len(hits) <= limit:
            return list(hits)
        return sorted(hits, key=lambda fp: (-hits[fp], fp))[:limit]

    # -- writes --------------------------------------------------------------------

    def add_doc(self, fp: str, record: DocRecord, keys: Iterable[str], max_bucket: int) -> None:
        """Index a unique article under its fingerprint, id, URL and bands."""
        self.docs[fp] = record.dump()
        self.ids[record.id] = fp
        self._index_derived(fp, record, keys, max_bucket)
        self._file(record.t, "d" + fp)

    def _index_derived(
        self, fp: str, record: DocRecord, keys: Iterable[str], max_bucket: int
    ) -> None:
        if record.url is not None and record.url not in self.urls:
            self.urls[record.url] = fp
        for key in keys:
            value = self.bands.get(key)
            if value is None:
                self.bands[key] = fp
            elif isinstance(value, str):
                if value != fp:
                    self.bands[key] = [value, fp]
            elif len(value) < max_bucket and fp not in value:
                # A full bucket is a hot, low-information key; the other bands still match.
                self.bands[key] = [*value, fp]

    def add_verdict(self, article_id: str, verdict: list[Any], t: int) -> None:
        """Remember a duplicate's verdict so a replay of its id gets the same answer."""
        self.ids[article_id] = [*verdict, t]
        self._file(t, "i" + article_id)

    def remove_doc(self, fp: str, bands: int, rows: int) -> bool:
        """Drop an indexed article and every key that points at it."""
        record = self.doc(fp)
        if record is None:
            return False
        for key in band_keys(record.sig, bands, rows):
            value = self.bands.get(key)
            if value == fp:
                del self.bands[key]
            elif isinstance(value, list) and fp in value:
                rest = [other for other in value if other != fp]
                self.bands[key] = rest[0] if len(rest) == 1 else rest
        if self.ids.get(record.id) == fp:
            del self.ids[record.id]
        if record.url is not None and self.urls.get(record.url) == fp:
            del self.urls[record.url]
        del self.docs[fp]
        return True

    def _file(self, t: int, entry: str) -> None:
        """Append an entry to its event-time hour, never below the eviction watermark."""
        lo = self.buckets.get("lo")
        hour = t // _HOUR
        if lo is None:
            self.buckets["lo"] = hour
        elif hour < lo:
            hour = lo  # a late article: expire it with the oldest live hour
        chunks = self.buckets.get(str(hour), 0)
        last = self.buckets.get(f"{hour}:{chunks - 1}") if chunks else None
        if last is not None and len(last) < CHUNK:
            self.buckets[f"{hour}:{chunks - 1}"] = [*last, entry]
        else:
            self.buckets[f"{hour}:{chunks}"] = [entry]
            self.buckets[str(hour)] = chunks + 1

    # -- expiry --------------------------------------------------------------------

    def evict(self, cutoff: int, bands: int, rows: int, limit: int | None = None) -> int:
        """Drop what was filed before `cutoff` (epoch seconds), whole hours at a time.

        Resumable: each chunk key is deleted once handled, and `lo` advances only past
        finished hours, so a crash midway repeats nothing harmful. `limit` bounds the
        chunks handled per call, so eviction inside the hot path stays cheap.
        """
        lo = self.buckets.get("lo")
        if lo is None:
            return 0
        evicted = 0
        budget = limit
        end = cutoff // _HOUR  # hours strictly below `end` hold only t < cutoff
        start = lo
        try:
            while lo < end:
                chunks = self.buckets.get(str(lo), 0)
                for i in range(chunks):
                    if budget is not None and budget <= 0:
                        return evicted
                    entries = self.buckets.get(f"{lo}:{i}")
                    if entries is None:
                        continue
                    for entry in entries:
                        evicted += self._expire(entry, cutoff, bands, rows)
                    del self.buckets[f"{lo}:{i}"]
                    if budget is not None:
                        budget -= 1
                if chunks:
                    del self.buckets[str(lo)]
                lo += 1
        finally:
            if lo != start:
                self.buckets["lo"] = lo
        return evicted

    def _expire(self, entry: str, cutoff: int, bands: int, rows: int) -> int:
        kind, key = entry[0], entry[1:]
        if kind == "d":
            record = self.doc(key)
            # A newer article may have been indexed under the same fp since; keep it.
            if record is not None and record.t < cutoff:
                return int(self.remove_doc(key, bands, rows))
            return 0
        value = self.ids.get(key)
        if isinstance(value, list) and value[-1] < cutoff:
            del self.ids[key]
            return 1
        return 0


class InMemoryDedupIndex(DedupIndex):
    """The index over plain dicts: batch mode and tests."""

    def __init__(self) -> None:
        super().__init__({name: {} for name in STORES})
