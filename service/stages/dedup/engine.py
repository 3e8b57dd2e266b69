"""The dedup engine: probe -> band answers -> decide -> correct, pure and typed.

The work is split so it can be spread by key over many partitions, and the same code
runs in one process (`LocalDedup`: `newsflow process`, tests) and in the worker
(`service/runtime/dedup.py`, which only moves these messages over Kafka):

- **probe** (`make_probe`): fingerprint, MinHash signature and band keys, plus the keys
  `f:<fp>` (exact) and `u:<url hash>`.
- **bands** (`BandStore`, one bucket per key; in the worker each key lives on the
  partition its key hashes to): offering a probe inserts it into each of its buckets
  and answers with the *earlier* entries held there, and with the *later* entries that
  were already answered (a race: this probe arrived late).
- **decide** (`Gatherer`, keyed by article id): folds the answers with `rule.improve`
  and decides once every probed partition has answered; a late candidate for an
  article already decided yields a `Correction`.

Window and storage are two things. The window (`rule.match`) bounds which pairs may
match, by event time. Storage is bounded by `max_entries` articles: past it, the
articles with the oldest event time are dropped first, and the caller is told how many
of those were still inside the window of the newest article seen ("early" evictions),
which is when verdicts can start to differ from an unbounded run.
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from service.models import Dedup, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup.rule import UNIQUE, Candidate, Verdict, improve
from service.stages.dedup.signature import (
    Signer,
    event_time,
    fingerprint,
    signer,
    tokens,
    url_hash,
)

# Journal chunk size: a Table rewrites the whole value on each insert, so small.
CHUNK = 32
_HOUR = 3600
# Journal chunks expired per call on the hot path.
EVICT_PER_CALL = 4


@dataclass(frozen=True, slots=True)
class Probe:
    """What the scatter step computes once per article; `keys` are its bucket keys."""

    me: Candidate
    keys: tuple[str, ...]


def make_probe(article: TaggedArticle, cfg: DedupConfig, now: datetime | None = None) -> Probe:
    words = tokens(article.text)
    sign = signer(cfg)
    sig, count = sign.signature(words)
    me = Candidate(event_time(article, now), article.id, fingerprint(words), sig,
                   url_hash(article), count)
    return Probe(me, probe_keys(me, sign))


def probe_keys(me: Candidate, sign: Signer) -> tuple[str, ...]:
    """The bucket keys of a candidate: derived from it alone, so a restore needs no more."""
    keys = sign.band_keys(me.sig) + [f"f:{me.fp}"]
    if me.url is not None:
        keys.append(f"u:{me.url}")
    return tuple(dict.fromkeys(keys))


def per_partition(max_entries: int, partitions: int) -> int:
    """Each of `partitions` stores holds its share of the `max_entries` articles."""
    return max(1, math.ceil(max_entries / partitions))


@dataclass(slots=True)
class Evicted:
    """Articles dropped to stay within storage; `early` were still inside the window."""

    total: int = 0
    early: int = 0

    def add(self, t: int, newest: int, window: float | None) -> None:
        self.total += 1
        if window is None or t > newest - window:
            self.early += 1


class _Oldest:
    """Event-time order over held ids, for storage eviction (lazy deletion)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self.newest = -(2**62)

    def push(self, t: int, article_id: str) -> None:
        heapq.heappush(self._heap, (t, article_id))
        self.newest = max(self.newest, t)

    def pop(self, alive: Callable[[int, str], bool]) -> tuple[int, str] | None:
        while self._heap:
            t, article_id = heapq.heappop(self._heap)
            if alive(t, article_id):
                return t, article_id
        return None


# -- the band side -----------------------------------------------------------------


@dataclass(slots=True)
class Offer:
    """What one partition answers to a probe: earlier entries, late-answered later ones.

    `inserted` is False for a replayed probe already held: nothing new to make durable.
    """

    earlier: list[Candidate] = field(default_factory=list)
    later: list[Candidate] = field(default_factory=list)
    overflow: int = 0
    inserted: bool = False
    evicted: Evicted = field(default_factory=Evicted)


class BandStore:
    """LSH, exact and URL buckets: key -> up to `max_candidates` entries in (t, id) order.

    Plain in-memory lists of `Candidate`: the worker derives them from a compact durable
    record of the probes a partition took (`restore`), so an offer costs no per-bucket
    serialisation and no changelog write per bucket.
    """

    def __init__(self, cfg: DedupConfig, capacity: int | None = None) -> None:
        self.buckets: dict[str, list[Candidate]] = {}
        self.held: dict[str, tuple[Candidate, tuple[str, ...]]] = {}
        self.cfg = cfg
        self.window = cfg.window_seconds
        self.capacity = cfg.max_entries if capacity is None else capacity
        self._oldest = _Oldest()

    def __len__(self) -> int:
        return len(self.held)

    def offer(self, me: Candidate, keys: Iterable[str]) -> Offer:
        """Insert `me` under `keys`; answer with what was there before it in order."""
        offer = Offer()
        keys = tuple(keys)
        seen: set[str] = {me.id}
        late: set[str] = {me.id}
        window = self.window
        for key in keys:
            for e in self.buckets.get(key, ()):
                if e.order < me.order:
                    if e.id not in seen:
                        seen.add(e.id)
                        offer.earlier.append(e)
                elif e.id not in late and (window is None or e.t - me.t <= window):
                    late.add(e.id)  # later in order, so it was answered already: a race
                    offer.later.append(e)
        self._insert(me, keys, offer)
        return offer

    def restore(self, me: Candidate, keys: Iterable[str]) -> None:
        """Re-insert a probe this partition took before (a restore): no answer."""
        self._insert(me, tuple(keys), Offer())

    def _insert(self, me: Candidate, keys: tuple[str, ...], offer: Offer) -> None:
        if me.id in self.held:
            return
        cap = self.cfg.max_candidates
        for key in keys:
            bucket = self.buckets.get(key)
            if bucket is None:
                self.buckets[key] = [me]
                continue
            insort(bucket, me, key=_order)
            if len(bucket) > cap:
                offer.overflow += self._trim(bucket, cap)
        self.held[me.id] = (me, keys)
        self._oldest.push(me.t, me.id)
        offer.inserted = True
        while len(self.held) > self.capacity:
            self._drop_oldest(offer.evicted)

    def _trim(self, bucket: list[Candidate], cap: int) -> int:
        """A hot key (a recurring body, a template's band): first drop entries the window
        no longer reaches from the newest, then the latest, so that the first copies of
        a story, the ones every later copy must name, stay. The other bands still match."""
        before = len(bucket)
        over = before - cap
        if self.window is not None:
            cutoff = bucket[-1].t - self.window
            stale = 0
            while stale < over and bucket[stale].t < cutoff:
                stale += 1
            del bucket[:stale]
            over -= stale
        if over > 0:
            del bucket[cap:]
        return before - len(bucket)

    def _drop_oldest(self, evicted: Evicted) -> None:
        found = self._oldest.pop(lambda t, i: i in self.held and self.held[i][0].t == t)
        if found is None:  # pragma: no cover - held and heap agree
            return
        me, keys = self.held.pop(found[1])
        for key in keys:
            bucket = self.buckets.get(key)
            if bucket is None:
                continue
            rest = [e for e in bucket if e.id != me.id]
            if rest:
                self.buckets[key] = rest
            else:
                del self.buckets[key]
        evicted.add(me.t, self._oldest.newest, self.window)


def _order(c: Candidate) -> tuple[int, str]:
    return (c.t, c.id)


# -- the decide side ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """A verdict changed after it was published: the article is now a copy of `verdict`."""

    article_id: str
    previous: Verdict | None  # None: re-decided after a restore, the first is unknown
    verdict: Verdict
    reason: Literal["late_copy", "redecided"] = "late_copy"


class Gatherer:
    """Per-article state keyed by id: {"me": Candidate, "wait": partitions yet to answer,
    "v": Verdict so far}.

    `wait == []` means decided and published; the state is kept (within storage), so a
    late candidate can still correct the verdict and a replayed id gets the same one.
    Only `payloads` (written by the caller) and `verdicts` (written here, once per
    decision or correction) need to be durable; `restore` rebuilds the states from
    them, reopening the undecided ones.
    """

    def __init__(
        self,
        cfg: DedupConfig,
        payloads: MutableMapping[str, Any] | None = None,
        verdicts: MutableMapping[str, Any] | None = None,
        capacity: int | None = None,
        *,
        atomic: bool = False,
    ) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        # Held beside the state (the worker's article bodies and verdicts), dropped with it.
        self.payloads = payloads
        self.verdicts = verdicts
        # True when a verdict's record in `verdicts` and its publication commit together
        # (exactly_once): an unrecorded verdict was then never published either.
        self.atomic = atomic
        self.cfg = cfg
        self.capacity = cfg.max_entries if capacity is None else capacity
        self._oldest = _Oldest()
        self.evicted = Evicted()

    def __len__(self) -> int:
        return len(self.states)

    def decided(self, article_id: str) -> Verdict | None:
        state = self.states.get(article_id)
        if state is None or state["wait"]:
            return None
        verdict: Verdict = state["v"]
        return verdict

    def redecision(self, article_id: str, verdict: Verdict) -> Correction | None:
        """A verdict reached by a gather that a restore reopened, when it must go out as a
        correction: its predecessor may have published a verdict for the id without
        recording it, and copies that arrived since can make this one differ. Verdicts
        only become more duplicate, so a `unique` one needs no correction, and none is
        needed when records and publications commit together (`atomic`)."""
        state = self.states.get(article_id)
        if self.atomic or state is None or not state.get("r") or verdict.status == "unique":
            return None
        return Correction(article_id, None, verdict, reason="redecided")

    def expect(self, probe: Probe, partitions: Iterable[int]) -> None:
        """Open (or reopen, on a replay of an undecided id) the gather for `probe`."""
        prior = self.states.get(probe.me.id)
        verdict = prior["v"] if prior is not None else UNIQUE
        self.states[probe.me.id] = {
            **(prior or {}),
            "me": probe.me,
            "wait": sorted(set(partitions)),
            "v": verdict,
        }

    def restore(self, probe: Probe, partitions: Iterable[int], verdict: Verdict | None) -> None:
        """Rebuild one state from the durable records: decided if `verdict` was recorded,
        else open and waiting for every partition again (the caller re-sends the probe;
        band partitions answer a replayed probe with the same earlier set)."""
        if verdict is None:
            self.expect(probe, partitions)
            self.states[probe.me.id]["r"] = True  # a verdict may have gone out unrecorded
        else:
            self.states[probe.me.id] = {"me": probe.me, "wait": [], "v": verdict}
            self._held(probe.me)

    def answer(
        self, article_id: str, partition: int, candidates: Iterable[Candidate]
    ) -> Verdict | None:
        """Fold one partition's answer; the verdict once the last partition answered."""
        state = self.states.get(article_id)
        if state is None or partition not in state["wait"]:
            return None  # a duplicate answer (replayed probe) or a dropped article
        me: Candidate = state["me"]
        best: Verdict = state["v"]
        for other in candidates:
            best = improve(me, best, other, self.cfg) or best
        wait = [p for p in state["wait"] if p != partition]
        self.states[article_id] = {**state, "wait": wait, "v": best}
        if wait:
            return None
        if self.verdicts is not None:
            self.verdicts[article_id] = best.dump()
        self._held(me)
        return best

    def late(self, article_id: str, other: Candidate) -> Correction | None:
        """A candidate that reached a bucket after this article was answered there."""
        state = self.states.get(article_id)
        if state is None:
            return None
        me: Candidate = state["me"]
        current: Verdict = state["v"]
        better = improve(me, current, other, self.cfg)
        if better is None:
            return None
        self.states[article_id] = {**state, "v": better}
        if state["wait"]:
            return None  # not yet published: the decision will carry it
        if self.verdicts is not None:
            self.verdicts[article_id] = better.dump()
        return Correction(article_id, current, better)

    def _held(self, me: Candidate) -> None:
        """A decided article counts against storage; past it, drop the oldest decided."""
        self._oldest.push(me.t, me.id)
        while self._decided_count() > self.capacity:
            found = self._oldest.pop(self._is_decided)
            if found is None:
                return
            del self.states[found[1]]
            for held in (self.payloads, self.verdicts):
                if held is not None:
                    held.pop(found[1], None)
            self.evicted.add(found[0], self._oldest.newest, self.cfg.window_seconds)

    def _is_decided(self, t: int, article_id: str) -> bool:
        state = self.states.get(article_id)
        return state is not None and not state["wait"] and state["me"].t == t

    def _decided_count(self) -> int:
        # Undecided states are few (one batch in flight); counting them is a bound too.
        return len(self.states)


# -- a durable journal, for the worker's batch records -------------------------------


class Journal:
    """Event-time hour chunks of weighted entries, oldest dropped first past a capacity.

    The worker files its durable probe records here, so it can drop them in the same
    order as `BandStore` drops the probes. `key_for` maps a logical key to the stored
    one: identity in tests; in the worker, a salted key that hashes to the partition
    that owns the entries, so each partition expires its own from its own changelog.
    """

    def __init__(
        self,
        store: MutableMapping[str, Any],
        namespace: str,
        key_for: Callable[[str], str] = str,
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.key_for = key_for

    def _key(self, name: str) -> str:
        return self.key_for(f"{self.namespace}:{name}")

    def size(self) -> int:
        return int(self.store.get(self._key("n"), 0))

    def file(self, t: int, entry: str, weight: int = 1) -> None:
        lo_key = self._key("lo")
        lo = self.store.get(lo_key)
        hour = t // _HOUR
        if lo is None or hour < lo:
            self.store[lo_key] = hour
        count_key = self._key(str(hour))
        chunks = self.store.get(count_key, 0)
        last_key = self._key(f"{hour}:{chunks - 1}") if chunks else None
        last = self.store.get(last_key) if last_key is not None else None
        item = [entry, weight]
        if last_key is not None and last is not None and len(last) < CHUNK:
            if item in last:
                return
            self.store[last_key] = [*last, item]
        else:
            self.store[self._key(f"{hour}:{chunks}")] = [item]
            self.store[count_key] = chunks + 1
        self.store[self._key("n")] = self.size() + weight

    def shrink(self, capacity: int, expire: Callable[[str], object],
               limit: int | None = EVICT_PER_CALL) -> int:
        """Hand the oldest entries to `expire` until the total weight fits `capacity`;
        at most `limit` chunks per call, so the hot path stays cheap. Returns the weight
        dropped. Resumable: a chunk is deleted once handled."""
        dropped, budget = 0, limit
        lo_key = self._key("lo")
        while self.size() > capacity and (budget is None or budget > 0):
            lo = self.store.get(lo_key)
            if lo is None:
                break
            count_key = self._key(str(lo))
            chunks = self.store.get(count_key, 0)
            found = self._first_chunk(lo, chunks)
            if found is None:  # this hour is done: move on to the next one filed
                if chunks:
                    del self.store[count_key]
                following = self._next_hour(lo)
                if following is None:
                    del self.store[lo_key]
                    break
                self.store[lo_key] = following
                continue
            chunk_key, entries = found
            weight = sum(w for _, w in entries)
            for entry, _ in entries:
                expire(entry)
            del self.store[chunk_key]
            self.store[self._key("n")] = max(0, self.size() - weight)
            dropped += weight
            if budget is not None:
                budget -= 1
        return dropped

    def _first_chunk(self, hour: int, chunks: int) -> tuple[str, list[Any]] | None:
        """The first chunk of `hour` not yet dropped, with its key."""
        for i in range(chunks):
            key = self._key(f"{hour}:{i}")
            entries = self.store.get(key)
            if entries is not None:
                return key, entries
        return None

    def _next_hour(self, lo: int) -> int | None:
        """The next hour with chunks; hours are dense in a live stream, so a scan."""
        if self.size() <= 0:
            return None
        hour = lo + 1
        for _ in range(24 * 366 * 100):
            if self.store.get(self._key(str(hour))):
                return hour
            hour += 1
        return None  # pragma: no cover - the count said something is left


# -- in one process ----------------------------------------------------------------


class LocalDedup:
    """Bands and gather in one process: `newsflow process` and tests.

    The same code as the worker with one partition; `corrections` collects what a late
    input changed (only when the input is not in (fetched_at, id) order).
    """

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.bands = BandStore(cfg)
        self.gather = Gatherer(cfg)
        self.corrections: list[Correction] = []
        self.overflow = 0
        self.evicted = Evicted()

    def deduplicate(self, article: TaggedArticle, now: datetime | None = None) -> Dedup:
        prior = self.gather.decided(article.id)
        if prior is not None:
            return prior.dedup()
        probe = make_probe(article, self.cfg, now)
        return self.offer(probe).dedup()

    def offer(self, probe: Probe) -> Verdict:
        self.gather.expect(probe, [0])
        offer = self.bands.offer(probe.me, probe.keys)
        self.overflow += offer.overflow
        self.evicted.total += offer.evicted.total
        self.evicted.early += offer.evicted.early
        verdict = self.gather.answer(probe.me.id, 0, offer.earlier)
        for later in offer.later:
            correction = self.gather.late(later.id, probe.me)
            if correction is not None:
                self.corrections.append(correction)
        assert verdict is not None  # one partition: the first answer completes it
        return verdict


def reference_verdicts(
    articles: Iterable[TaggedArticle], cfg: DedupConfig, now: datetime | None = None
) -> dict[str, Dedup]:
    """The verdicts by definition: every article against all before it in (t, id) order.

    This is what every mode converges to after corrections, whatever the arrival order.
    """
    probes = sorted((make_probe(a, cfg, now) for a in articles), key=lambda p: p.me.order)
    local = LocalDedup(cfg)
    out: dict[str, Dedup] = {}
    for probe in probes:
        if probe.me.id not in out:
            out[probe.me.id] = local.offer(probe).dedup()
    return out
