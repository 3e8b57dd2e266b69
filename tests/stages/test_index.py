"""The index's bookkeeping: what goes in comes out, and expiry leaves nothing behind."""

from __future__ import annotations

import pytest

from service.stages.index import (
    CHUNK,
    DedupIndex,
    DocRecord,
    InMemoryDedupIndex,
    band_keys,
)

BANDS, ROWS = 32, 4


def sig(seed: int) -> bytes:
    return bytes((seed * 31 + i * 7) % 256 for i in range(BANDS * ROWS))


def add(index: DedupIndex, fp: str, seed: int, t: int, url: str | None = None) -> None:
    record = DocRecord(f"id-{fp}", t, sig(seed), url)
    index.add_doc(fp, record, band_keys(record.sig, BANDS, ROWS), max_bucket=4)


def test_needs_every_named_store() -> None:
    with pytest.raises(ValueError, match="buckets"):
        DedupIndex({"docs": {}, "ids": {}, "urls": {}, "bands": {}})


def test_band_keys_are_short_distinct_and_derived_from_the_signature() -> None:
    keys = band_keys(sig(1), BANDS, ROWS)
    assert len(set(keys)) == BANDS and all(len(k) == 7 for k in keys)
    assert keys == band_keys(sig(1), BANDS, ROWS)
    assert keys[0] != band_keys(sig(2), BANDS, ROWS)[0]


def test_shared_band_buckets_grow_to_lists_and_shrink_back() -> None:
    index = InMemoryDedupIndex()
    add(index, "f1", 1, 0, url="u1")
    add(index, "f2", 1, 10)  # same signature: every band shared
    key = band_keys(sig(1), BANDS, ROWS)[0]
    assert index.bands[key] == ["f1", "f2"]
    assert index.candidates([key], limit=8) == ["f1", "f2"]
    assert index.remove_doc("f1", BANDS, ROWS)
    assert index.bands[key] == "f2"
    assert "u1" not in index.urls and "id-f1" not in index.ids
    assert index.remove_doc("f2", BANDS, ROWS)
    assert not index.bands and not index.docs
    assert not index.remove_doc("f2", BANDS, ROWS)


def test_full_band_buckets_stop_growing() -> None:
    index = InMemoryDedupIndex()
    for i in range(6):
        add(index, f"f{i}", 1, i)
    assert index.bands[band_keys(sig(1), BANDS, ROWS)[0]] == ["f0", "f1", "f2", "f3"]


def test_candidates_rank_by_shared_bands_and_respect_the_limit() -> None:
    index = InMemoryDedupIndex()
    add(index, "many", 1, 0)
    index.bands["solo"] = "few"
    keys = [*band_keys(sig(1), BANDS, ROWS)[:3], "solo"]
    assert index.candidates(keys, limit=1) == ["many"]


def test_eviction_is_chunked_resumable_and_hour_aligned() -> None:
    index = InMemoryDedupIndex()
    count = CHUNK * 2 + 5
    for i in range(count):
        add(index, f"f{i}", i, t=3600 * 10 + i)  # all in hour 10
    add(index, "later", 999, t=3600 * 11)
    assert index.buckets["10"] == 3
    assert index.evict(cutoff=3600 * 11 - 1, bands=BANDS, rows=ROWS) == 0  # hour 10 not over
    assert index.evict(cutoff=3600 * 11, bands=BANDS, rows=ROWS, limit=1) == CHUNK
    assert index.evict(cutoff=3600 * 11, bands=BANDS, rows=ROWS) == count - CHUNK
    assert list(index.docs) == ["later"]
    assert index.buckets["lo"] == 11


def test_eviction_keeps_a_newer_record_under_the_same_fingerprint() -> None:
    index = InMemoryDedupIndex()
    add(index, "f", 1, t=0)
    index.remove_doc("f", BANDS, ROWS)
    add(index, "f", 1, t=3600 * 5)
    assert index.evict(cutoff=3600 * 2, bands=BANDS, rows=ROWS) == 0
    assert "f" in index.docs


def test_duplicate_verdicts_expire_with_their_hour() -> None:
    index = InMemoryDedupIndex()
    index.add_verdict("d", ["duplicate", "a", 1.0], t=100)
    assert index.verdict("d") == ["duplicate", "a", 1.0, 100]
    assert index.evict(cutoff=3600, bands=BANDS, rows=ROWS) == 1
    assert index.verdict("d") is None
