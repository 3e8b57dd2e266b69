"""Partitioned dedup (NEWSFLOW_DEDUP__MODE=partitioned): the decision rule, pure.

The single-mode stage (`dedup.py`) needs every article on one ordered stream. This
module splits the same work so it can be spread by key over many partitions:

- **probe**: body fingerprint, MinHash signature and LSH band keys, computed with
  `dedup.py`'s own functions, plus the keys `f:<fp>` (exact) and `u:<url hash>`.
- **bands** (`BandStore`, one bucket per key; in the worker each key lives on the
  partition its key hashes to): offering a probe inserts it into each of its buckets
  and answers with the *earlier* entries held there, and with the *later* entries that
  were already answered (a race: the probe arrived late).
- **gather** (`Gatherer`, keyed by article id): folds the answers, verifying each
  candidate with `similarity`, and decides once every probed partition has answered;
  a late candidate for an article already decided yields a `Correction`.

The rule (the same in the worker and in `newsflow process`):

    Among the articles that share a band, the fingerprint or the canonical URL with A,
    are ordered before A by (event time, id), lie within the window, and match it
    (same fingerprint; or similarity >= threshold; or same URL and similarity >=
    min(threshold, URL_FLOOR)), the earliest by (event time, id) is A's original.
    None -> `unique`. Same fingerprint -> `duplicate` (1.0), else `near_duplicate`.

Unlike single mode, every article is indexed, duplicates too: A's verdict depends
only on which articles exist before it, never on their verdicts, so a late arrival
changes the verdicts of the articles it precedes and nothing else (no cascade), and
the outcome does not depend on which partition saw what first. The price: a copy of
a copy can name a copy as `duplicate_of` (follow the chain to reach the unique one),
and a copy matching only another copy (A ~ B ~ C, A !~ C) is `near_duplicate` of B
where single mode would call it `unique`. The earliest article of any set of similar
copies is always `unique`, so two copies are never both duplicates.

Buckets keep the `max_candidates` earliest entries by (event time, id); the order is
what keeps answers independent of arrival order. Overflow is counted, not stored.
"""

from __future__ import annotations

import base64
from bisect import insort
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from service.models import Dedup, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup import (
    URL_FLOOR,
    Deduplicator,
    _event_time,
    _fingerprint,
    _tokens,
    _url_hash,
    similarity,
)
from service.stages.index import band_keys

__all__ = [
    "BandStore",
    "Candidate",
    "Correction",
    "Gatherer",
    "Journal",
    "LocalPartitionedDedup",
    "Offer",
    "Probe",
    "Verdict",
    "decide",
    "improve",
    "make_probe",
    "match",
    "probe_keys",
    "reference_verdicts",
]

# Journal chunk size: a Table rewrites the whole value on each insert, so small.
CHUNK = 32
_HOUR = 3600
# Bucket chunks expired per offer on the hot path (see index.EVICT_PER_CALL).
EVICT_PER_CALL = 1


class Candidate(NamedTuple):
    """One article as a bucket holds it and as answers carry it."""

    t: int
    id: str
    fp: str
    sig: bytes
    url: str | None

    @property
    def order(self) -> tuple[int, str]:
        return (self.t, self.id)

    def dump(self) -> list[Any]:
        return [self.t, self.id, self.fp, base64.b64encode(self.sig).decode("ascii"), self.url]

    @classmethod
    def load(cls, value: list[Any]) -> Candidate:
        return cls(value[0], value[1], value[2], base64.b64decode(value[3]), value[4])


@dataclass(frozen=True, slots=True)
class Probe:
    """What the scatter step computes once per article; `keys` are its bucket keys."""

    me: Candidate
    keys: tuple[str, ...]


class Verdict(NamedTuple):
    """A decision plus the original's event time, so a later one can be compared."""

    status: str
    duplicate_of: str | None = None
    similarity: float = 0.0
    of_t: int = 0

    def dedup(self) -> Dedup:
        return Dedup.model_validate(
            {"status": self.status, "duplicate_of": self.duplicate_of,
             "similarity": self.similarity}
        )

    def dump(self) -> list[Any]:
        return list(self)

    @classmethod
    def load(cls, value: list[Any]) -> Verdict:
        return cls(*value)


UNIQUE = Verdict("unique")


def make_probe(article: TaggedArticle, dedup: Deduplicator, now: datetime | None = None) -> Probe:
    """Fingerprint, signature and keys, by dedup.py's own functions (never reimplemented)."""
    tokens = _tokens(article.text)
    fp = _fingerprint(tokens)
    me = Candidate(_event_time(article, now), article.id, fp, dedup.signature(tokens),
                   _url_hash(article))
    return Probe(me, probe_keys(me, dedup))


def probe_keys(me: Candidate, dedup: Deduplicator) -> tuple[str, ...]:
    """The bucket keys of a candidate: derived from it alone, so a restore needs no more."""
    keys = band_keys(me.sig, dedup.bands, dedup.rows) + [f"f:{me.fp}"]
    if me.url is not None:
        keys.append(f"u:{me.url}")
    return tuple(dict.fromkeys(keys))


def match(me: Candidate, other: Candidate, cfg: DedupConfig) -> float | None:
    """The similarity if `other` counts as an earlier copy of `me`, else None."""
    if other.id == me.id or other.order >= me.order or me.t - other.t > cfg.window_seconds:
        return None
    if other.fp == me.fp:
        return 1.0
    score = similarity(me.sig, other.sig)
    same_url = me.url is not None and other.url == me.url
    bar = min(cfg.threshold, URL_FLOOR) if same_url else cfg.threshold
    return score if score >= bar else None


def improve(me: Candidate, current: Verdict, other: Candidate, cfg: DedupConfig) -> Verdict | None:
    """The better verdict if `other` is an earlier match than `current`'s original."""
    if current.duplicate_of is not None and (current.of_t, current.duplicate_of) <= other.order:
        return None  # not earlier: no need to compare signatures
    score = match(me, other, cfg)
    if score is None:
        return None
    status = "duplicate" if other.fp == me.fp else "near_duplicate"
    return Verdict(status, other.id, round(score, 4), other.t)


def decide(me: Candidate, candidates: Iterable[Candidate], cfg: DedupConfig) -> Verdict:
    """The rule as one function: the earliest matching candidate, or unique."""
    verdict = UNIQUE
    for other in candidates:
        verdict = improve(me, verdict, other, cfg) or verdict
    return verdict


# -- expiry ------------------------------------------------------------------------


class Journal:
    """Event-time hour chunks of entries to expire, like `index.DedupIndex._file`.

    `key_for` maps a logical key to the stored one: identity in batch mode; in the
    worker, a salted key that hashes to the partition that owns the entries, so each
    partition expires its own entries from its own changelog.
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

    def file(self, t: int, entry: str) -> None:
        lo_key = self._key("lo")
        lo = self.store.get(lo_key)
        hour = t // _HOUR
        if lo is None:
            self.store[lo_key] = hour
        elif hour < lo:
            hour = lo  # a late entry: expire it with the oldest live hour
        count_key = self._key(str(hour))
        chunks = self.store.get(count_key, 0)
        last_key = self._key(f"{hour}:{chunks - 1}") if chunks else None
        last = self.store.get(last_key) if last_key is not None else None
        if last_key is not None and last is not None and len(last) < CHUNK:
            if entry not in last:
                self.store[last_key] = [*last, entry]
        else:
            self.store[self._key(f"{hour}:{chunks}")] = [entry]
            self.store[count_key] = chunks + 1

    def evict(self, cutoff: int, expire: Callable[[str], int], limit: int | None = None) -> int:
        """Hand every entry filed in hours wholly before `cutoff` to `expire`; resumable."""
        lo_key = self._key("lo")
        lo = self.store.get(lo_key)
        if lo is None:
            return 0
        done, budget, start, end = 0, limit, lo, cutoff // _HOUR
        try:
            while lo < end:
                count_key = self._key(str(lo))
                chunks = self.store.get(count_key, 0)
                for i in range(chunks):
                    if budget is not None and budget <= 0:
                        return done
                    chunk_key = self._key(f"{lo}:{i}")
                    entries = self.store.get(chunk_key)
                    if entries is None:
                        continue
                    for entry in entries:
                        done += expire(entry)
                    del self.store[chunk_key]
                    if budget is not None:
                        budget -= 1
                if chunks:
                    del self.store[count_key]
                lo += 1
        finally:
            if lo != start:
                self.store[lo_key] = lo
        return done


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


class BandStore:
    """LSH, exact and URL buckets: key -> up to `max_candidates` entries, earliest first.

    The buckets are plain in-memory lists of `Candidate`: the worker derives them from a
    compact durable record of the probes a partition took (`restore`), so an offer
    costs no per-bucket serialisation and no changelog write per bucket.
    """

    def __init__(self, cfg: DedupConfig) -> None:
        self.buckets: dict[str, list[Candidate]] = {}
        self.journal = Journal({}, "b")
        self.cfg = cfg
        self.window = int(cfg.window_seconds)

    def offer(self, me: Candidate, keys: Iterable[str]) -> Offer:
        """Insert `me` under `keys`; answer with what was there before it in order."""
        offer = Offer()
        seen: set[str] = {me.id}
        late: set[str] = {me.id}
        cutoff = me.t - self.window
        for key in keys:
            live = self._live(key, cutoff)
            for e in live:
                if e.order < me.order:
                    if e.id not in seen:
                        seen.add(e.id)
                        offer.earlier.append(e)
                elif e.id not in late and e.t - me.t <= self.window:
                    late.add(e.id)  # later in order, so it was answered already: a race
                    offer.later.append(e)
            self._add(me, key, live, offer)
        self.journal.evict(cutoff, self._expire(cutoff), limit=EVICT_PER_CALL)
        return offer

    def restore(self, me: Candidate, keys: Iterable[str]) -> None:
        """Re-insert a probe this partition took before (a restore): no answer."""
        cutoff = me.t - self.window
        offer = Offer()
        for key in keys:
            self._add(me, key, self._live(key, cutoff), offer)

    def _live(self, key: str, cutoff: int) -> list[Candidate]:
        """The bucket, without entries older than `cutoff` (sorted: the oldest is first)."""
        entries = self.buckets.get(key)
        if not entries:
            return []
        if entries[0].t < cutoff:
            entries = [e for e in entries if e.t >= cutoff]
            if entries:
                self.buckets[key] = entries
            else:
                del self.buckets[key]
        return entries

    def _add(self, me: Candidate, key: str, live: list[Candidate], offer: Offer) -> None:
        """Put `me` into the bucket `live` in order, unless present; keep the earliest."""
        if not live:
            self.buckets[key] = [me]
        elif any(e.id == me.id for e in live):
            return
        else:
            insort(live, me, key=_order)
            if len(live) > self.cfg.max_candidates:
                offer.overflow += len(live) - self.cfg.max_candidates
                del live[self.cfg.max_candidates :]
        offer.inserted = True
        self.journal.file(me.t, key)

    def _expire(self, cutoff: int) -> Callable[[str], int]:
        def expire(key: str) -> int:
            stored = self.buckets.get(key)
            if not stored:
                return 0
            kept = [e for e in stored if e.t >= cutoff]
            if kept:
                self.buckets[key] = kept
            else:
                del self.buckets[key]
            return len(stored) - len(kept)

        return expire


def _order(c: Candidate) -> tuple[int, str]:
    return (c.t, c.id)


# -- the gather side ---------------------------------------------------------------


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

    `wait == []` means decided and published; the state is kept for the window, so a
    late candidate can still correct the verdict and a replayed id gets the same one.
    `states` can be a plain dict: only `payloads` (written by the caller) and `verdicts`
    (written here, once per decision or correction) need to be durable; `restore`
    rebuilds the states from them, reopening the undecided ones.
    """

    def __init__(
        self,
        states: MutableMapping[str, Any],
        journal: Journal,
        cfg: DedupConfig,
        payloads: MutableMapping[str, Any] | None = None,
        verdicts: MutableMapping[str, Any] | None = None,
    ) -> None:
        self.states = states
        self.journal = journal
        # Held beside the state (the worker's article bodies and verdicts), expired with it.
        self.payloads = payloads
        self.verdicts = verdicts
        self.cfg = cfg
        self.window = int(cfg.window_seconds)

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
        only become more duplicate, so a `unique` one needs no correction."""
        state = self.states.get(article_id)
        if state is None or not state.get("r") or verdict.status == "unique":
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

    def answer(
        self, article_id: str, partition: int, candidates: Iterable[Candidate]
    ) -> Verdict | None:
        """Fold one partition's answer; the verdict once the last partition answered."""
        state = self.states.get(article_id)
        if state is None or partition not in state["wait"]:
            return None  # a duplicate answer (replayed probe) or an expired article
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
        self.journal.file(me.t, article_id)
        self.journal.evict(me.t - self.window, self._expire(me.t - self.window), EVICT_PER_CALL)
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

    def _expire(self, cutoff: int) -> Callable[[str], int]:
        def expire(article_id: str) -> int:
            state = self.states.get(article_id)
            if state is None or state["wait"] or state["me"].t >= cutoff:
                return 0
            del self.states[article_id]
            for held in (self.payloads, self.verdicts):
                if held is not None:
                    held.pop(article_id, None)
            return 1

        return expire


# -- in one process ----------------------------------------------------------------


class LocalPartitionedDedup:
    """Bands and gather in one process over dicts: `newsflow process` and tests.

    The same code as the worker with one partition; `corrections` collects what a late
    input changed (only when the input is not in (fetched_at, id) order).
    """

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.dedup = Deduplicator(cfg)
        self.bands = BandStore(cfg)
        self.gather = Gatherer({}, Journal({}, "d"), cfg)
        self.corrections: list[Correction] = []
        self.overflow = 0

    def deduplicate(self, article: TaggedArticle, now: datetime | None = None) -> Dedup:
        prior = self.gather.decided(article.id)
        if prior is not None:
            return prior.dedup()
        probe = make_probe(article, self.dedup, now)
        self.gather.expect(probe, [0])
        offer = self.bands.offer(probe.me, probe.keys)
        self.overflow += offer.overflow
        verdict = self.gather.answer(probe.me.id, 0, offer.earlier)
        for later in offer.later:
            correction = self.gather.late(later.id, probe.me)
            if correction is not None:
                self.corrections.append(correction)
        assert verdict is not None  # one partition: the first answer completes it
        return verdict.dedup()


def reference_verdicts(
    articles: Iterable[TaggedArticle], cfg: DedupConfig, now: datetime | None = None
) -> dict[str, Dedup]:
    """The verdicts by definition: every article against all before it in (t, id) order.

    This is what the worker converges to after corrections, whatever the arrival order.
    """
    dedup = Deduplicator(cfg)
    probes = sorted((make_probe(a, dedup, now) for a in articles), key=lambda p: p.me.order)
    local = LocalPartitionedDedup(cfg)
    out: dict[str, Dedup] = {}
    for probe in probes:
        if probe.me.id in out:
            continue
        local.gather.expect(probe, [0])
        offer = local.bands.offer(probe.me, probe.keys)
        verdict = local.gather.answer(probe.me.id, 0, offer.earlier)
        assert verdict is not None
        out[probe.me.id] = verdict.dedup()
    return out
