"""The dedup engine's protocol, pure: order independence, corrections, restores, bounds.

`corpus()` is also the input of tests/integration/test_dedup_modes.py and
bench/partitioned_benchmark.py: stories from word banks written here, with exact,
near and syndicated copies, ties, and copies that arrive before their original.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.models import Dedup, Language, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup import (
    BandStore,
    Candidate,
    Gatherer,
    Journal,
    LocalDedup,
    Probe,
    Verdict,
    make_probe,
    packed,
    probe_keys,
    reference_verdicts,
    signer,
)
from support.stories import near_copy, story, syndicated

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
LANG = Language(code="en", confidence=1.0)

def corpus(stories: int = 120, seed: int = 9) -> list[dict[str, Any]]:
    """Raw articles in arrival order; `group` names the story, `kind` the copy type.

    Mostly in fetched_at order, but about 1 in 12 copies of a story arrives *before*
    the story's earliest article (a late original), and some share a fetched_at second.
    """
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for s in range(stories):
        text = story(rng)
        base = rng.uniform(0, 6 * 3600)
        kinds = ["original"] + rng.sample(
            ["exact", "near", "syndicated", "near", "exact"], rng.randint(0, 3)
        )
        for c, kind in enumerate(kinds):
            body = {
                "original": text,
                "exact": text.upper() if rng.random() < 0.3 else text,
                "near": near_copy(text, rng),
                "syndicated": syndicated(text, rng),
            }[kind]
            offset = 0 if c == 0 else rng.choice([0, rng.uniform(1, 3600)])
            site = f"site{(s + 5 * c) % 13}.example"
            records.append({
                "id": f"s{s:03d}-{c}",
                "url": f"https://{site}/story/{s}-{c}",
                "source": site,
                "title": f"Story {s}",
                "text": body,
                "fetched_at": (T0 + timedelta(seconds=int(base + offset))).isoformat(),
                "group": f"s{s:03d}",
                "kind": kind,
            })
    records.sort(key=lambda r: (r["fetched_at"], r["id"]))
    late = [i for i, r in enumerate(records) if r["kind"] == "original" and rng.random() < 0.08]
    for i in reversed(late):  # originals that arrive after (some of) their copies
        record = {**records.pop(i), "late": True}
        records.insert(min(len(records), i + rng.randint(3, 40)), record)
    return records


def tagged(record: dict[str, Any]) -> TaggedArticle:
    return TaggedArticle(
        id=record["id"],
        url=record["url"],
        canonical_url=record["url"],
        source=record["source"],
        text=record["text"],
        fetched_at=datetime.fromisoformat(record["fetched_at"]),
        language=LANG,
    )


def final(local: LocalDedup, first: dict[str, Dedup]) -> dict[str, Dedup]:
    out = dict(first)
    for correction in local.corrections:
        out[correction.article_id] = correction.verdict.dedup()
    return out


CFG = DedupConfig()


def test_sorted_input_needs_no_correction_and_matches_the_reference() -> None:
    articles = sorted((tagged(r) for r in corpus()), key=lambda a: (a.fetched_at, a.id))
    local = LocalDedup(CFG)
    got = {a.id: local.deduplicate(a) for a in articles}
    assert local.corrections == []
    assert got == reference_verdicts(articles, CFG)


def test_late_arrivals_are_corrected_to_the_reference() -> None:
    records = corpus()
    local = LocalDedup(CFG)
    first = {r["id"]: local.deduplicate(tagged(r)) for r in records}
    reference = reference_verdicts([tagged(r) for r in records], CFG)
    assert first != reference, "the corpus must contain races"
    assert local.corrections, "late originals must correct their copies"
    for correction in local.corrections:  # corrections only ever add a duplicate mark
        assert correction.previous is not None, "no restore here, so no 'redecided'"
        assert correction.verdict.status != "unique"
        assert correction.previous.status == "unique" or (
            correction.verdict.of_t, correction.verdict.duplicate_of
        ) < (correction.previous.of_t, correction.previous.duplicate_of)
    assert final(local, first) == reference


def test_verdicts_are_right_and_no_story_is_lost() -> None:
    records = corpus()
    verdicts = reference_verdicts([tagged(r) for r in records], CFG)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["group"]].append(r)
    for members in groups.values():
        members.sort(key=lambda r: (r["fetched_at"], r["id"]))
        head, *copies = members
        assert verdicts[head["id"]].status == "unique"
        for copy in copies:
            verdict = verdicts[copy["id"]]
            assert verdict.status in ("duplicate", "near_duplicate"), (copy, verdict)
            assert verdict.duplicate_of == head["id"]
            if copy["kind"] == "exact" and head["text"].lower() == copy["text"].lower():
                assert verdict.status == "duplicate" and verdict.similarity == 1.0
    assert sum(v.status == "unique" for v in verdicts.values()) == len(groups)


class Simulation:
    """The worker's protocol over in-memory queues, delivered in a random interleaving:
    probes to band partitions by key, answers and late notices to the id's partition.

    `crash` loses the in-memory state (buckets, gather states) and rebuilds it from what
    the worker keeps durable: the probes each band partition took, the probes of the
    scattered articles and the recorded verdicts; undecided articles are probed again.
    Messages not yet delivered stay queued."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.taken: dict[int, list[tuple[Candidate, list[str]]]] = defaultdict(list)
        self.scattered: dict[str, Probe] = {}
        self.recorded: dict[str, Any] = {}
        self.queues: dict[tuple[str, int], list[Any]] = defaultdict(list)
        self.verdicts: dict[str, Dedup] = {}
        self.bands, self.gathers = self.fresh()

    def home(self, article_id: str) -> int:
        from service.runtime.dedup import partition_of

        return partition_of(article_id, self.partitions)

    def split(self, probe: Probe) -> dict[int, list[str]]:
        from service.runtime.dedup import partition_of

        parts: dict[int, list[str]] = defaultdict(list)
        for key in probe.keys:
            parts[partition_of(key, self.partitions)].append(key)
        return parts

    def fresh(self) -> tuple[list[BandStore], list[Gatherer]]:
        return (
            [BandStore(CFG) for _ in range(self.partitions)],
            [Gatherer(CFG, verdicts=self.recorded) for _ in range(self.partitions)],
        )

    def scatter(self, record: dict[str, Any]) -> None:
        probe = make_probe(tagged(record), CFG)
        self.scattered[probe.me.id] = probe
        parts = self.split(probe)
        self.gathers[self.home(probe.me.id)].expect(probe, parts)
        for q, keys in parts.items():
            self.queues[("band", q)].append((probe.me, keys))

    def crash(self) -> None:
        self.bands, self.gathers = self.fresh()
        for q, probes in self.taken.items():
            for me, keys in sorted(probes, key=lambda p: p[0].order):
                self.bands[q].restore(me, keys)
        for article_id, probe in self.scattered.items():
            v = self.recorded.get(article_id)
            parts = self.split(probe)
            self.gathers[self.home(article_id)].restore(
                probe, parts, None if v is None else Verdict.load(v))
            if v is None:
                for q, keys in parts.items():
                    self.queues[("band", q)].append((probe.me, keys))

    def deliver(self, kind: str, q: int) -> None:
        item = self.queues[(kind, q)].pop(0)
        if kind == "band":
            me, keys = item
            offer = self.bands[q].offer(me, keys)
            if offer.inserted:
                self.taken[q].append((me, keys))
            self.queues[("gather", self.home(me.id))].append(("a", me.id, q, offer))
            for later in offer.later:
                self.queues[("gather", self.home(later.id))].append(("l", later.id, me))
        elif item[0] == "a":
            verdict = self.gathers[q].answer(item[1], item[2], item[3].earlier)
            if verdict is not None:
                self.verdicts[item[1]] = verdict.dedup()
        else:
            correction = self.gathers[q].late(item[1], item[2])
            if correction is not None:
                assert item[1] in self.verdicts
                self.verdicts[item[1]] = correction.verdict.dedup()


def simulate(
    records: list[dict[str, Any]], partitions: int, seed: int, crashes: int = 0
) -> dict[str, Dedup]:
    """Run a `Simulation` of `records` to the end, crashing `crashes` times at random."""
    rng = random.Random(seed)
    sim = Simulation(partitions)
    for record in records:
        sim.scatter(record)
    total = sum(len(v) for v in sim.queues.values())
    crash_at = sorted(rng.sample(range(total // 4, total), crashes))
    delivered = 0
    while any(sim.queues.values()):
        if crash_at and delivered == crash_at[0]:
            crash_at.pop(0)
            sim.crash()
        delivered += 1
        sim.deliver(*rng.choice([k for k, v in sim.queues.items() if v]))
    assert {k: Verdict.load(v).dedup() for k, v in sim.recorded.items()} == sim.verdicts
    return sim.verdicts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_interleaving_over_partitions_converges_to_the_reference(seed: int) -> None:
    records = corpus(stories=60, seed=seed)
    reference = reference_verdicts([tagged(r) for r in records], CFG)
    assert simulate(records, partitions=8, seed=seed) == reference


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_state_rebuilt_from_durable_records_after_crashes_converges(seed: int) -> None:
    records = corpus(stories=60, seed=seed)
    reference = reference_verdicts([tagged(r) for r in records], CFG)
    assert simulate(records, partitions=8, seed=seed, crashes=3) == reference


def test_replayed_probe_gets_the_same_answer_and_is_not_inserted_twice() -> None:
    rng = random.Random(7)
    text = story(rng)
    probes = [
        make_probe(TaggedArticle(id=f"a{i}", text=body, fetched_at=T0 + timedelta(seconds=i),
                                 language=LANG), CFG)
        for i, body in enumerate([text, near_copy(text, rng), text])
    ]
    store = BandStore(CFG)
    first = [store.offer(p.me, p.keys) for p in probes]
    assert all(o.inserted for o in first)
    words = store.index.words()
    again = store.offer(probes[1].me, probes[1].keys)
    assert not again.inserted and again.overflow == 0
    assert again.earlier == first[1].earlier and [c.id for c in again.earlier] == ["a0"]
    assert store.index.words() == words and len(store) == 3


def test_restored_band_store_answers_like_the_original() -> None:
    records = corpus(stories=30, seed=11)
    probes = [make_probe(tagged(r), CFG) for r in records]
    live, taken = BandStore(CFG), []
    for p in probes[:-10]:
        if live.offer(p.me, p.keys).inserted:
            taken.append(p)
    restored, at_once = BandStore(CFG), BandStore(CFG)
    for p in reversed(taken):  # restore order must not matter
        restored.restore(p.me, p.keys)
    assert at_once.restore_many((p.me, p.keys) for p in taken).total == 0
    # As a worker reads its records: packed ones in batches, one batch held twice (a
    # zombie's delayed writes), and a few as JSON pairs (an older worker's records).
    pairs = [(p.me, list(p.keys)) for p in taken]
    blocks = [packed.unpack(packed.pack(pairs[i : i + 7])) for i in range(5, len(pairs), 7)]
    from_records = BandStore(CFG)
    assert from_records.restore_many(pairs[:5], [*blocks, blocks[0]]).total == 0
    assert len(from_records) == len(taken)
    keys = {k for p in taken for k in p.keys}
    for store in (restored, at_once, from_records):
        assert all(store.bucket(k) == live.bucket(k) for k in keys)
        assert sorted(store.ids()) == sorted(live.ids())
    for p in probes[-10:]:
        a, b, c, d = (s.offer(p.me, p.keys) for s in (live, restored, at_once, from_records))
        assert (a.earlier, a.later) == (b.earlier, b.later) == (c.earlier, c.later)
        assert (a.earlier, a.later) == (d.earlier, d.later)


def test_a_bulk_restore_past_storage_keeps_the_newest() -> None:
    cfg = DedupConfig(max_entries=20)
    probes = [make_probe(tagged(r), cfg) for r in corpus(stories=30, seed=12)]
    store = BandStore(cfg)
    evicted = store.restore_many((p.me, p.keys) for p in probes)
    times = {p.me.id: p.me.t for p in probes}
    kept = set(store.ids())
    assert len(store) == 20 and evicted.total == len(times) - 20
    assert min(times[i] for i in kept) >= max(t for i, t in times.items() if i not in kept)


def test_write_behind_collapses_rewrites_into_one_record_per_key() -> None:
    from service.runtime.dedup import WriteBehind

    class Counting(dict[str, Any]):
        writes = 0

        def __setitem__(self, key: str, value: Any) -> None:
            Counting.writes += 1
            super().__setitem__(key, value)

    table = Counting(old=1, gone=2)
    store = WriteBehind(table)
    for i in range(5):
        store["chunk"] = [*store.get("chunk", []), i]
    del store["gone"]
    assert store.get("chunk") == [0, 1, 2, 3, 4] and store.get("gone") is None
    assert store["old"] == 1 and "chunk" not in table and "gone" in table
    assert store.flush() == 2
    assert table == {"old": 1, "chunk": [0, 1, 2, 3, 4]} and Counting.writes == 1
    with pytest.raises(KeyError):
        del store["gone"]


def test_hot_bucket_is_capped_and_overflow_counted() -> None:
    cfg = DedupConfig(max_candidates=4)
    local = LocalDedup(cfg)
    text = story(random.Random(1))
    for i in range(10):
        article = TaggedArticle(
            id=f"a{i}", text=text, fetched_at=T0 + timedelta(seconds=i), language=LANG
        )
        verdict = local.deduplicate(article)
        assert verdict.status == ("unique" if i == 0 else "duplicate")
        assert verdict.duplicate_of in (None, "a0")
    late = make_probe(TaggedArticle(id="b", text=text, fetched_at=T0 + timedelta(minutes=1),
                                    language=LANG), cfg)
    answer = local.bands.offer(late.me, late.keys)
    assert [c.id for c in answer.earlier] == ["a0", "a1", "a2", "a3"]  # the earliest four
    assert answer.overflow >= 6 and local.overflow >= 6


@pytest.mark.parametrize("cap", [2, 64, 10_000])
def test_an_answer_is_its_buckets_earliest_whichever_path_builds_it(cap: int) -> None:
    """Under `cap` rows in all (a plain loop), over it with no key over it (the distinct
    rows), a key over it (per-key picks): the same rule, checked against the buckets."""
    cfg = DedupConfig(max_candidates=cap)
    bands = BandStore(cfg)
    rng = random.Random(5)
    text = story(rng)
    texts = [text, near_copy(text, rng), text, near_copy(text, rng), text, story(rng)]
    for i, body in enumerate(texts):  # six copies around the probe's time, one other story
        probe = make_probe(TaggedArticle(id=f"c{i}", text=body, language=LANG,
                                         fetched_at=T0 + timedelta(minutes=10 * i)), cfg)
        bands.offer(probe.me, probe.keys)
    me = make_probe(TaggedArticle(id="me", text=text, language=LANG,
                                  fetched_at=T0 + timedelta(minutes=25)), cfg)
    want_earlier: set[str] = set()
    want_later: set[str] = set()
    for key in me.keys:
        held = bands.bucket(key)
        want_earlier.update(c.id for c in [c for c in held if c.order < me.me.order][:cap])
        want_later.update(c.id for c in [c for c in held if c.order > me.me.order][:cap])
    offer = bands.offer(me.me, me.keys)
    assert "c0" in want_earlier and want_earlier <= {"c0", "c1", "c2"}
    assert [c.id for c in offer.earlier] == sorted(want_earlier, key=lambda i: int(i[1:]))
    assert set(offer.later.ids()) == want_later and want_later >= {"c3", "c4"}
    assert (offer.overflow > 0) == (cap == 2)


def test_a_full_bucket_drops_entries_the_window_no_longer_reaches_first() -> None:
    cfg = DedupConfig(max_candidates=3, window_seconds=3600)
    local = LocalDedup(cfg)
    text = story(random.Random(1))
    hours = [0, 0, 0, 5, 5, 5]  # a recurring body: three copies now, three 5 hours later
    for i, h in enumerate(hours):
        article = TaggedArticle(id=f"a{i}", text=text,
                                fetched_at=T0 + timedelta(hours=h, seconds=i), language=LANG)
        verdict = local.deduplicate(article)
        assert verdict.duplicate_of == {0: None, 1: "a0", 2: "a0", 3: None}.get(i, "a3")
    late = make_probe(TaggedArticle(id="b", text=text, fetched_at=T0 + timedelta(hours=5.5),
                                    language=LANG), cfg)
    answer = local.bands.offer(late.me, late.keys)
    assert [c.id for c in answer.earlier] == ["a3", "a4", "a5"]  # a0-a2 are out of reach


def test_replayed_id_gets_its_first_verdict() -> None:
    local = LocalDedup(CFG)
    text = story(random.Random(2))
    a = TaggedArticle(id="a", text=text, fetched_at=T0, language=LANG)
    b = TaggedArticle(id="b", text=text, fetched_at=T0 + timedelta(seconds=5), language=LANG)
    assert local.deduplicate(a).status == "unique"
    assert local.deduplicate(b).duplicate_of == "a"
    assert local.deduplicate(a).status == "unique"
    assert local.deduplicate(b).duplicate_of == "a"


def test_storage_drops_the_oldest_past_max_entries_and_counts_early_evictions() -> None:
    cfg = DedupConfig(max_entries=5, window_seconds=3600)
    local = LocalDedup(cfg)
    for i in range(8):  # eight different stories, one minute apart: all in the window
        local.deduplicate(TaggedArticle(id=f"x{i}", text=story(random.Random(100 + i)),
                                        fetched_at=T0 + timedelta(minutes=i), language=LANG))
    assert len(local.bands) == 5 and len(local.gather) == 5
    assert set(local.bands.ids()) == {"x3", "x4", "x5", "x6", "x7"}
    assert (local.evicted.total, local.evicted.early) == (3, 3)
    gone = make_probe(TaggedArticle(id="x0", text=story(random.Random(100)), fetched_at=T0,
                                    language=LANG), cfg)
    assert not any(local.bands.bucket(k) for k in gone.keys)
    # Far newer articles push out ones the window no longer reaches: not early.
    for i in range(5):
        local.deduplicate(TaggedArticle(id=f"y{i}", text=story(random.Random(200 + i)),
                                        fetched_at=T0 + timedelta(days=3, minutes=i),
                                        language=LANG))
    assert (local.evicted.total, local.evicted.early) == (8, 3)


def test_an_out_of_order_backfill_is_judged_by_event_time() -> None:
    """A year of articles in no order: storage holds them all, so every copy is found,
    as it is when the same input is sorted by time."""
    rng = random.Random(12)
    items: list[TaggedArticle] = []
    for s in range(40):
        text = story(rng)
        day = rng.uniform(0, 365)
        for c in range(2):
            items.append(TaggedArticle(
                id=f"s{s}-{c}", text=text if c == 0 else near_copy(text, rng),
                fetched_at=T0 + timedelta(days=day, hours=c * rng.uniform(0, 48)),
                language=LANG))
    rng.shuffle(items)
    cfg = DedupConfig()  # a 7-day window, as the worker has
    local = LocalDedup(cfg)
    now = T0 + timedelta(days=400)  # processed after the year it covers
    first = {a.id: local.deduplicate(a, now) for a in items}
    got = final(local, first)
    assert got == reference_verdicts(items, cfg, now)
    assert sum(v.status != "unique" for v in got.values()) == 40


def test_journal_drops_the_oldest_weight_first_and_resumes() -> None:
    store: dict[str, Any] = {}
    journal = Journal(store, "b0")
    for i, hour in enumerate([5, 1, 3, 1, 9]):
        journal.file(hour * 3600, f"r{i}", weight=10)
    assert journal.size() == 50
    dropped: list[str] = []
    assert journal.shrink(40, dropped.append, limit=1) == 20  # hour 1's chunk, whole
    assert dropped == ["r1", "r3"] and journal.size() == 30
    assert journal.shrink(0, dropped.append, limit=1) == 10  # one chunk per call
    journal.shrink(0, dropped.append, limit=None)
    assert dropped[2:] == ["r2", "r0", "r4"] and journal.size() == 0
    journal.file(7 * 3600, "again")
    assert journal.size() == 1


def test_candidate_round_trip_and_verdict_dump() -> None:
    c = Candidate(5, "id", "fp", bytes(range(128)), None, 77)
    assert Candidate.load(c.dump()) == c
    v = Verdict("near_duplicate", "x", 0.9, 3)
    assert Verdict.load(v.dump()) == v


def test_a_gather_reopened_by_a_restore_goes_out_as_a_correction_unless_unique() -> None:
    """A worker may die after publishing a verdict and before recording it: its successor
    decides again, and a copy that arrived in between can change the answer. Such a
    re-decision must supersede whatever went out, so it is a `redecided` correction."""
    original = Candidate(1, "a", "fp-a", bytes(128), None)
    copy = Candidate(5, "b", "fp-a", bytes(128), None)  # same fingerprint: a duplicate
    probe = Probe(copy, ("k1",))
    restored = Gatherer(CFG, verdicts={})
    restored.restore(probe, [0], verdict=None)
    verdict = restored.answer("b", 0, [original])
    assert verdict is not None and verdict.status == "duplicate"
    correction = restored.redecision("b", verdict)
    assert correction is not None
    assert (correction.reason, correction.previous, correction.verdict) == (
        "redecided", None, verdict
    )

    alone = Gatherer(CFG, verdicts={})
    alone.restore(probe, [0], verdict=None)
    unique = alone.answer("b", 0, [])
    assert unique is not None and unique.status == "unique"
    assert alone.redecision("b", unique) is None  # verdicts only get more duplicate

    fresh = Gatherer(CFG, verdicts={})
    fresh.expect(probe, [0])  # never restored: an ordinary first decision
    first = fresh.answer("b", 0, [original])
    assert first is not None and fresh.redecision("b", first) is None

    # exactly_once: the verdict's record and its publication commit together, so an
    # unrecorded verdict never went out, and the re-decision is an ordinary first one.
    atomic = Gatherer(CFG, verdicts={}, atomic=True)
    atomic.restore(probe, [0], verdict=None)
    again = atomic.answer("b", 0, [original])
    assert again is not None and again.status == "duplicate"
    assert atomic.redecision("b", again) is None


@pytest.mark.parametrize(("num_perm", "bands"), [(192, 64), (192, 192), (600, 300), (16, 1)])
def test_probe_keys_are_distinct_without_deduplication(num_perm: int, bands: int) -> None:
    """`probe_keys` no longer drops repeats: band keys carry a distinct band prefix (or a
    longer one past 256 bands), and the fingerprint and URL keys have their own."""
    cfg = DedupConfig(num_perm=num_perm, bands=bands)
    rng = random.Random(num_perm + bands)
    for _ in range(20):
        sig = bytes([rng.choice([0, 1, 255])] * num_perm)  # every band alike
        me = Candidate(0, "a", "f" * 11, sig, "u" * 11, 50)
        keys = probe_keys(me, signer(cfg))
        assert len(set(keys)) == len(keys) == min(bands, num_perm) + 2


def test_decided_gathers_restored_in_columns_hold_what_one_by_one_holds() -> None:
    """A restart rebuilds every decided gather from its recorded candidate and verdict:
    in whole columns (`restore_decided`), the state must be the one `restore` builds
    one article at a time, odd dumps and an id recorded twice included."""
    probes = [make_probe(tagged(r), CFG) for r in corpus(stories=40, seed=13)]
    probes.sort(key=lambda p: p.me.order)
    local = LocalDedup(CFG)
    verdicts: list[list[Any]] = [list(local.offer(p)) for p in probes]
    dumps = [p.me.dump() for p in probes]
    odd = Candidate(7, "odd", "not-a-hash", bytes(128), None, 3)
    dumps.append(odd.dump())
    verdicts.append(["near_duplicate", dumps[0][1], 0.75, dumps[0][0]])
    dumps.append(dumps[1])  # recorded twice: the later verdict stands
    verdicts.append(["duplicate", dumps[0][1], 1.0, dumps[0][0]])
    one_by_one, at_once = Gatherer(CFG), Gatherer(CFG)
    for dump, verdict in zip(dumps, verdicts, strict=True):
        one_by_one.restore(Probe(Candidate.load(dump), ()), (), Verdict(*verdict))
    for start in range(0, len(dumps), 17):
        at_once.restore_decided(dumps[start : start + 17], verdicts[start : start + 17])
    ids = {d[1] for d in dumps}
    assert len(at_once) == len(one_by_one) == len(ids)
    for article_id in ids:
        assert at_once.decided(article_id) == one_by_one.decided(article_id) is not None
        a, b = (g.table.candidate(g.table.row_of[article_id]) for g in (at_once, one_by_one))
        assert a == b
    assert at_once.decided(dumps[1][1]) == Verdict("duplicate", dumps[0][1], 1.0, dumps[0][0])
    assert at_once.decided("odd") == Verdict("near_duplicate", dumps[0][1], 0.75, dumps[0][0])


def test_decided_gathers_restored_past_storage_keep_the_newest() -> None:
    probes = [make_probe(tagged(r), CFG) for r in corpus(stories=30, seed=14)]
    dumps = [p.me.dump() for p in probes]
    payloads = {p.me.id: ["body"] for p in probes}
    recorded: dict[str, Any] = {p.me.id: ["unique", None, 0.0, 0] for p in probes}
    gather = Gatherer(CFG, payloads, recorded, capacity=25)
    gather.restore_decided(dumps, [["unique", None, 0.0, 0]] * len(dumps))
    times = {p.me.id: p.me.t for p in probes}
    kept = {i for i in times if gather.decided(i) is not None}
    assert 0 < len(kept) <= 25 and len(gather) == len(kept)
    assert min(times[i] for i in kept) >= max(t for i, t in times.items() if i not in kept)
    assert set(payloads) == set(recorded) == kept  # the dropped ones' records go with them
