"""The compact store: rows round-trip, the key index finds every row under its keys
through flushes, merges and renumbering, and answers survive an eviction."""

from __future__ import annotations

import random

import numpy as np

from service.settings import DedupConfig
from service.stages.dedup import BandStore, Candidate, Verdict
from service.stages.dedup.signature import b64
from service.stages.dedup.store import KeyIndex, Rows, Segment, Table


def candidate(i: int, rng: random.Random, url: bool = True) -> Candidate:
    return Candidate(1_700_000_000 + i, f"id-{i}", b64(rng.randbytes(8)), rng.randbytes(192),
                     b64(rng.randbytes(8)) if url else None, 50 + i)


def test_a_row_gives_back_the_candidate_it_was_given() -> None:
    rng, table = random.Random(1), Table()
    plain = [candidate(i, rng, url=i % 2 == 0) for i in range(3000)]  # past one growth
    odd = Candidate(5, "odd", "not-a-hash", b"short", "also not", 1)  # kept whole
    rows = [table.add(c) for c in [*plain, odd]]
    assert [table.candidate(r) for r in rows] == [*plain, odd]
    assert table.add(plain[0]) == rows[0] and len(table) == 3001


def test_verdicts_are_stored_with_the_row() -> None:
    rng, table = random.Random(2), Table()
    row = table.add(candidate(0, rng))
    assert table.verdict(row) is None
    table.set_verdict(row, Verdict("near_duplicate", "x", 0.8123, 17), reopened=True)
    assert table.verdict(row) == Verdict("near_duplicate", "x", 0.8123, 17)
    assert table.reopened(row)


def test_index_finds_every_row_through_flushes_merges_and_renumbering() -> None:
    rng, table, index = random.Random(3), Table(), KeyIndex()
    keys: dict[int, list[str]] = {}
    for i in range(6000):  # 6,000 x 12 keys: several flushes and merges
        row = table.add(candidate(i, rng))
        keys[row] = [f"k{rng.randrange(20_000)}" for _ in range(11)] + ["hot"]
        index.add(index.hashes(keys[row]), row)
    assert len(index.segments) >= 1 and index.words() == 6000 * 12

    def held(key: str) -> set[int]:
        rows, _ = index.lookup(index.hashes([key]))
        return set(table.alive(rows).tolist())

    expected = {k: {r for r, ks in keys.items() if k in ks} for k in ("k7", "k123", "hot")}
    assert {k: held(k) for k in expected} == expected
    gone = table.drop(table.oldest(4000))
    assert len(gone) == 4000 and min(t for _, t in gone) == 1_700_000_000
    remap = table.compact()
    assert remap is not None and table.rows == 2000
    index.remap(remap)
    after = {k: {int(remap[r]) for r in rows if remap[r] >= 0} for k, rows in expected.items()}
    assert {k: held(k) for k in expected} == after
    assert index.words() == 2000 * 12


def test_a_segment_scans_small_slots_and_searches_a_hot_one() -> None:
    rng = np.random.default_rng(4)
    row_bits = 24
    cold = rng.integers(0, 2**40, 5000, dtype=np.uint64)
    hot = np.uint64(12345)
    words = np.concatenate([(cold << np.uint64(row_bits)) | np.arange(5000, dtype=np.uint64),
                            (np.full(600, hot) << np.uint64(row_bits))
                            | np.arange(5000, 5600, dtype=np.uint64)])
    segment = Segment(words, row_bits)
    rows, which = segment.find(np.array([cold[10], hot, 7], np.uint64))
    assert sorted(rows[which == 0].tolist()) == [10]
    assert sorted(rows[which == 1].tolist()) == list(range(5000, 5600))
    assert not np.any(which == 2)


def test_answers_read_after_an_eviction_are_the_ones_given() -> None:
    rng = random.Random(5)
    cfg = DedupConfig(max_entries=3)
    store = BandStore(cfg)
    shared = ["shared-key"]
    for i in range(3):
        store.offer(candidate(i, rng), shared)
    offer = store.offer(candidate(10, rng), shared)  # evicts id-0, which it answers with
    assert isinstance(offer.earlier, Rows)
    assert [c.id for c in offer.earlier] == ["id-0", "id-1", "id-2"]
    assert "id-0" not in store and offer.evicted.total == 1


def test_a_lookup_finds_what_a_scan_of_every_word_finds() -> None:
    """Every segment's scan goes into one matrix, read past slot ends into the next
    slots and the padding: keys at both ends of the hash range and a hot key included."""
    rng = np.random.default_rng(6)
    row_bits = 24
    top = np.uint64(2**40 - 1)
    index = KeyIndex(row_bits)
    held: list[tuple[int, int]] = []
    for size in (40_000, 9_000, 300, 7):  # one segment each, newest last
        keys = rng.integers(0, 2**40, size, dtype=np.uint64)
        keys[:3] = np.array([0, 1, top], np.uint64)  # slot 0 and the last slot
        keys[3 : 3 + size // 10] = 4242  # a hot key, in its segment's scan or search
        rows = np.arange(len(held), len(held) + size, dtype=np.uint64)
        held += list(zip(keys.tolist(), rows.tolist(), strict=True))
        index.segments.append(Segment((keys << np.uint64(row_bits)) | rows, row_bits))
    assert any(s.width > 256 for s in index.segments)  # the hot key: a searched segment
    assert any(s.width <= 256 for s in index.segments)
    needles = [0, 1, int(top), 4242, int(top) - 1, *rng.integers(0, 2**40, 60).tolist(),
               held[5][0], held[-1][0]]
    rows, which = index.lookup(needles)
    got = sorted(zip(which.tolist(), rows.tolist(), strict=True))
    expected = sorted((i, r) for i, n in enumerate(needles) for k, r in held if k == n)
    assert got == expected
    assert {i for i, _ in got} >= {0, 1, 2, 3}


def test_recent_words_of_a_shared_key_are_all_found_before_and_after_a_flush() -> None:
    """Rows that share a key (copies), and a hash given twice in one add (two keys with
    one hash), are all held in the recent words, in the flushed segment and after a
    renumbering."""
    index = KeyIndex()
    index.add([5, 6, 7], 0)
    index.add([5, 8, 8], 1)  # 5 again; 8 twice in one add
    index.add([5, 9], 2)

    def found() -> list[tuple[int, int]]:
        rows, which = index.lookup([5, 8, 9, 10])
        return sorted(zip(which.tolist(), rows.tolist(), strict=True))

    expected = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 1), (2, 2)]
    assert found() == expected and index.words() == 8
    remap = np.array([-1, 0, 1], np.int64)  # row 0 dropped, 1 and 2 renumbered
    index.remap(remap)
    renumbered = [(0, 0), (0, 1), (1, 0), (1, 0), (2, 1)]
    assert found() == renumbered and index.words() == 5
    index.flush()
    assert not index.recent and not index.more and len(index.segments) == 1
    assert found() == renumbered and index.words() == 5
