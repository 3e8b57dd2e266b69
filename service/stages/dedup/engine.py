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

import math
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from service.models import Dedup, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup.packed import PackedProbes, from_dumps
from service.stages.dedup.rule import UNIQUE, Candidate, Verdict, improve
from service.stages.dedup.signature import (
    Signer,
    event_time,
    fingerprint,
    signer,
    tokens,
    url_hash,
)
from service.stages.dedup.store import ALIVE, KeyIndex, Rows, Table

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
    # Distinct by construction: band keys are hex with a distinct band prefix (or length),
    # and the other two have their own prefixes.
    return tuple(keys)


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


# -- the band side -----------------------------------------------------------------


@dataclass(slots=True)
class Offer:
    """What one partition answers to a probe: earlier entries, late-answered later ones.

    `inserted` is False for a replayed probe already held: nothing new to make durable.
    """

    earlier: Rows = field(default_factory=Rows)
    later: Rows = field(default_factory=Rows)
    overflow: int = 0
    inserted: bool = False
    evicted: Evicted = field(default_factory=Evicted)


class BandStore:
    """LSH, exact and URL buckets over a compact `Table` (see `store`).

    A key's bucket answers with at most `max_candidates` entries each way: the earliest
    earlier ones within the window (the ones a verdict can name), and the earliest
    later ones already answered. The worker derives the store from a compact durable
    record of the probes a partition took (`restore`), so an offer costs no per-bucket
    serialisation and no changelog write per bucket.
    """

    def __init__(self, cfg: DedupConfig, capacity: int | None = None,
                 table: Table | None = None) -> None:
        self.cfg = cfg
        self.window = cfg.window_seconds
        self.capacity = cfg.max_entries if capacity is None else capacity
        self.table = Table() if table is None else table
        self.index = KeyIndex(max(24, (2 * self.capacity + 4096).bit_length()))
        # Past capacity, drop this many more at once: one sort per batch of evictions.
        self.slack = self.capacity // 64

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.table

    def ids(self) -> list[str]:
        return list(self.table.row_of)

    def bucket(self, key: str) -> list[Candidate]:
        """Every live entry under `key`, in (t, id) order (tests, debugging)."""
        table = self.table
        rows = table.alive(np.unique(self.index.lookup(self.index.hashes([key]))[0]))
        return sorted((table.candidate(r) for r in rows.tolist()), key=_order)

    def offer(self, me: Candidate, keys: Iterable[str]) -> Offer:
        """Insert `me` under `keys`; answer with what was there before it in order."""
        offer = Offer()
        hashes = self.index.hashes(keys)
        rows, which = self.index.lookup(hashes)
        if len(rows):
            earlier, later, offer.overflow = self._answer(me, rows, which)
            offer.earlier = self._rows(earlier)
            offer.later = self._rows(later)
        self._insert(me, hashes, offer)
        return offer

    def _answer(self, me: Candidate, rows: np.ndarray,
                which: np.ndarray) -> tuple[set[int], set[int], int]:
        """The earlier and later rows to answer with, and how many a key's cap left out.

        Each key answers with at most `max_candidates` rows each way, the earliest: a
        hot key (a recurring body, a template's band) must not make every probe
        compare thousands of entries. The other keys still match."""
        table, cap, window = self.table, self.cfg.max_candidates, self.window
        if len(rows) <= cap:  # no key can be over its cap: a plain loop is cheaper
            return (*self._split(me, rows), 0)
        counts = np.bincount(which)
        if counts.max() <= cap:  # none over its cap: copies share most keys, so the
            return (*self._split(me, np.unique(rows)), 0)  # distinct rows are few
        live = (table.flags[rows] & ALIVE) != 0
        times = table.t[rows]
        near = live if window is None else live & (np.abs(times - me.t) <= window)
        mine = table.row_of.get(me.id)
        if mine is not None:
            near &= rows != mine
        rows, which, times = rows[near], which[near], times[near]
        earlier: set[int] = set()
        later: set[int] = set()
        capped = 0
        counts = np.bincount(which)  # again: only the live rows within the window count
        hot = np.flatnonzero(counts > cap)
        if len(hot):
            busy = np.isin(which, hot)
            for key in hot.tolist():
                here = which == key
                for side, wanted in ((earlier, True), (later, False)):
                    picked = self._side(me, rows[here], wanted)
                    capped += max(0, len(picked) - cap)
                    side.update(picked[:cap])
            rows, times = rows[~busy], times[~busy]
        earlier.update(rows[times < me.t].tolist())
        later.update(rows[times > me.t].tolist())
        for r in rows[times == me.t].tolist():
            (earlier if (table.ids[r] or "") < me.id else later).add(r)
        return earlier, later, capped

    def _split(self, me: Candidate, rows: np.ndarray) -> tuple[set[int], set[int]]:
        """`_answer` for at most `max_candidates` rows: the live ones within the window,
        `me` left out, split into those before and after it in (t, id) order."""
        table, window = self.table, self.window
        ids = table.ids
        mine = table.row_of.get(me.id)
        earlier: set[int] = set()
        later: set[int] = set()
        for r, t, flags in zip(rows.tolist(), table.t[rows].tolist(),
                               table.flags[rows].tolist(), strict=True):
            if not flags & ALIVE or r == mine or (window is not None and abs(t - me.t) > window):
                continue
            if t < me.t or (t == me.t and (ids[r] or "") < me.id):
                earlier.add(r)
            else:
                later.add(r)
        return earlier, later

    def _rows(self, rows: set[int]) -> Rows:
        table = self.table
        ids = table.ids
        picked = list(rows)
        times = table.t[picked].tolist() if picked else []
        order = sorted(zip(times, [ids[r] or "" for r in picked], picked, strict=True))
        return Rows(table, [r for _, _, r in order])

    def _side(self, me: Candidate, rows: np.ndarray, wanted_earlier: bool) -> list[int]:
        """One hot key's rows on one side of `me`, in (t, id) order, the earliest first;
        beyond a few times the cap, only the earliest event times are sorted."""
        table, cap = self.table, self.cfg.max_candidates
        times = table.t[rows]
        rows = rows[times <= me.t] if wanted_earlier else rows[times >= me.t]
        if len(rows) > 4 * cap:
            times = table.t[rows]
            rows = rows[times <= np.partition(times, cap)[cap]]
        ordered = sorted(rows.tolist(), key=lambda r: (int(table.t[r]), table.ids[r] or ""))
        return [r for r in ordered
                if ((int(table.t[r]), table.ids[r] or "") < me.order) == wanted_earlier]

    def restore(self, me: Candidate, keys: Iterable[str]) -> None:
        """Re-insert a probe this partition took before (a restore): no answer."""
        self._insert(me, self.index.hashes(keys), Offer())

    def restore_many(self, probes: Iterable[tuple[Candidate, Iterable[str]]] = (),
                     packed: Iterable[PackedProbes] = ()) -> Evicted:
        """`restore` for a whole partition at once, from (candidate, keys) pairs and
        packed records: the keys go straight into one sorted segment, and storage is
        trimmed once at the end (the oldest go, as one by one)."""
        table, index = self.table, self.index
        shift = index.row_bits
        words: list[int] = []
        for me, keys in probes:
            if me.id in table:
                continue
            row = table.add(me)
            words += [(h << shift) | row for h in index.hashes(keys)]
        arrays = [np.asarray(words, np.uint64)]
        bits = np.uint64(shift)
        for block in packed:
            rows = np.repeat(table.add_columns(block.ids, block.t, block.fp, block.url,
                                               block.n, block.has_url, block.sig),
                             block.key_count)
            fresh = rows >= 0
            arrays.append(((block.key_hash[fresh] >> bits) << bits) | rows[fresh].astype(np.uint64))
        index.add_words(np.concatenate(arrays) if len(arrays) > 1 else arrays[0])
        evicted = Evicted()
        if len(table) > self.capacity:
            self._drop_oldest(len(table) - self.capacity, evicted)
        return evicted

    def _insert(self, me: Candidate, hashes: list[int], offer: Offer) -> None:
        table = self.table
        if me.id in table:
            return
        row = table.add(me)
        self.index.add(hashes, row)
        offer.inserted = True
        if len(table) > self.capacity:
            offer.earlier.freeze()  # their rows may be renumbered below
            offer.later.freeze()
            self._drop_oldest(len(table) - self.capacity + self.slack, offer.evicted)

    def _drop_oldest(self, count: int, evicted: Evicted) -> None:
        table = self.table
        for _, t in table.drop(table.oldest(count)):
            evicted.add(t, table.newest, self.window)
        remap = table.compact()
        if remap is not None:
            self.index.remap(remap)

def _order(c: Candidate) -> tuple[int, str]:
    return c.order


# -- the decide side ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """A verdict changed after it was published: the article is now a copy of `verdict`."""

    article_id: str
    previous: Verdict | None  # None: re-decided after a restore, the first is unknown
    verdict: Verdict
    reason: Literal["late_copy", "redecided"] = "late_copy"


class Gatherer:
    """Per-article state keyed by id. Open gathers (waiting for partitions) are dicts
    {"me": Candidate, "wait": partitions yet to answer, "v": Verdict so far, "r":
    reopened by a restore}; decided ones are rows of a compact `Table` with a verdict.

    A decided article is kept (within storage), so a late candidate can still correct
    its verdict and a replayed id gets the same one. Only `payloads` (written by the
    caller) and `verdicts` (written here, once per decision or correction) need to be
    durable; `restore` rebuilds the states from them, reopening the undecided ones.
    `table` may be a band store's (one process): each article is then held once.
    """

    def __init__(
        self,
        cfg: DedupConfig,
        payloads: MutableMapping[str, Any] | None = None,
        verdicts: MutableMapping[str, Any] | None = None,
        capacity: int | None = None,
        *,
        atomic: bool = False,
        table: Table | None = None,
    ) -> None:
        self.open: dict[str, dict[str, Any]] = {}
        self.table = Table() if table is None else table
        self.shared = table is not None
        # Held beside the state (the worker's article bodies and verdicts), dropped with it.
        self.payloads = payloads
        self.verdicts = verdicts
        # True when a verdict's record in `verdicts` and its publication commit together
        # (exactly_once): an unrecorded verdict was then never published either.
        self.atomic = atomic
        self.cfg = cfg
        self.capacity = cfg.max_entries if capacity is None else capacity
        self.slack = self.capacity // 64
        self.evicted = Evicted()

    def __len__(self) -> int:
        table = self.table
        return table.decided_rows() + sum(
            1 for i in self.open if i not in table or table.verdict(table.row_of[i]) is None
        )

    def _decided_row(self, article_id: str) -> int | None:
        if article_id in self.open:
            return None
        row = self.table.row_of.get(article_id)
        if row is None or self.table.status.item(row) < 0:
            return None
        return row

    def decided(self, article_id: str) -> Verdict | None:
        row = self._decided_row(article_id)
        return None if row is None else self.table.verdict(row)

    def redecision(self, article_id: str, verdict: Verdict) -> Correction | None:
        """A verdict reached by a gather that a restore reopened, when it must go out as a
        correction: its predecessor may have published a verdict for the id without
        recording it, and copies that arrived since can make this one differ. Verdicts
        only become more duplicate, so a `unique` one needs no correction, and none is
        needed when records and publications commit together (`atomic`)."""
        row = self._decided_row(article_id)
        if self.atomic or row is None or not self.table.reopened(row):
            return None
        if verdict.status == "unique":
            return None
        return Correction(article_id, None, verdict, reason="redecided")

    def expect(self, probe: Probe, partitions: Iterable[int]) -> None:
        """Open (or reopen, on a replay of an undecided id) the gather for `probe`."""
        prior = self.open.get(probe.me.id)
        row = self._decided_row(probe.me.id)
        verdict = (prior["v"] if prior is not None
                   else self.table.verdict(row) if row is not None else None) or UNIQUE
        self.open[probe.me.id] = {
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
            self.open[probe.me.id]["r"] = True  # a verdict may have gone out unrecorded
        else:
            self.open.pop(probe.me.id, None)
            self._held(probe.me, verdict, reopened=False)

    def answer(
        self, article_id: str, partition: int, candidates: Iterable[Candidate],
        ordered: bool = False,
    ) -> Verdict | None:
        """Fold one partition's answer; the verdict once the last partition answered.

        `ordered`: the candidates come in (t, id) order, so none after the first match
        can be earlier than it, and the fold stops there."""
        state = self.open.get(article_id)
        if state is None or partition not in state["wait"]:
            return None  # a duplicate answer (replayed probe) or a dropped article
        me: Candidate = state["me"]
        best: Verdict = state["v"]
        for other in candidates:
            if ordered and best.duplicate_of is not None and (
                other.order >= (best.of_t, best.duplicate_of)
            ):
                break
            best = improve(me, best, other, self.cfg) or best
        wait = [p for p in state["wait"] if p != partition]
        if wait:
            self.open[article_id] = {**state, "wait": wait, "v": best}
            return None
        del self.open[article_id]
        if self.verdicts is not None:
            self.verdicts[article_id] = best.dump()
        self._held(me, best, reopened=bool(state.get("r")))
        return best

    def late(self, article_id: str, other: Candidate) -> Correction | None:
        """A candidate that reached a bucket after this article was answered there."""
        state = self.open.get(article_id)
        if state is not None:
            better = improve(state["me"], state["v"], other, self.cfg)
            if better is not None:
                state["v"] = better  # not yet published: the decision will carry it
            return None
        row = self._decided_row(article_id)
        if row is None:
            return None
        if self._settled(row, other):
            return None
        table = self.table
        current = table.verdict(row)
        assert current is not None
        better = improve(table.candidate(row), current, other, self.cfg)
        if better is None:
            return None
        table.set_verdict(row, better, table.reopened(row))
        if self.verdicts is not None:
            self.verdicts[article_id] = better.dump()
        return Correction(article_id, current, better)

    def _settled(self, row: int, other: Candidate) -> bool:
        """A copy whose original comes before `other` cannot be corrected by it:
        `improve`'s first test, on the table's columns (no verdict or candidate built)."""
        original = self.table.dup_of[row]
        return original is not None and (self.table.of_t.item(row), original) <= other.order

    def may_correct(self, later: Rows, other: Candidate) -> list[str]:
        """The ids of `later` that `late(id, other)` could correct, in order, without a
        call per settled copy (one process: the band store shares this table)."""
        rows = later.rows_of(self.table)
        if rows is None:
            return later.ids()
        ids, opened = self.table.ids, self.open
        return [ids[r] or "" for r in rows if ids[r] in opened or not self._settled(r, other)]

    def restore_decided(self, dumps: Sequence[Sequence[Any]],
                        verdicts: Sequence[Sequence[Any]]) -> None:
        """`restore` of many decided articles (their candidate dumps and recorded
        verdicts, as the worker's tables hold them) in whole columns; storage is trimmed
        once at the end. Dumps that do not fit the columns go one by one."""
        block = from_dumps(dumps)
        if block is None:
            for dump, verdict in zip(dumps, verdicts, strict=True):
                self.restore(Probe(Candidate.load(list(dump)), ()), (), Verdict(*verdict))
            return
        table, opened = self.table, self.open
        for article_id in block.ids:
            opened.pop(article_id, None)
        rows = table.add_columns(block.ids, block.t, block.fp, block.url, block.n,
                                 block.has_url, block.sig)
        table.set_verdicts(rows, verdicts)
        for i in np.flatnonzero(rows < 0).tolist():  # held already, or twice in `dumps`
            table.set_verdict(table.row_of[block.ids[i]], Verdict(*verdicts[i]))
        self._trim()

    def _held(self, me: Candidate, verdict: Verdict, reopened: bool) -> None:
        """A decided article counts against storage; past it, drop the oldest decided."""
        table = self.table
        table.set_verdict(table.add(me), verdict, reopened)
        self._trim()

    def _trim(self) -> None:
        table = self.table
        if self.shared or len(table) <= self.capacity:
            return  # a shared table is bounded by its band store
        for article_id, t in table.drop(table.oldest(len(table) - self.capacity + self.slack,
                                                     keep=self.open)):
            for held in (self.payloads, self.verdicts):
                if held is not None:
                    held.pop(article_id, None)
            self.evicted.add(t, table.newest, self.cfg.window_seconds)
        table.compact()

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
        self.gather = Gatherer(cfg, table=self.bands.table)
        self.corrections: list[Correction] = []
        self.overflow = 0
        self.evicted = Evicted()

    def deduplicate(self, article: TaggedArticle, now: datetime | None = None,
                    probe: Probe | None = None) -> Dedup:
        """`probe`, when given, is `make_probe(article, cfg, now)` computed elsewhere (a
        `newsflow process --jobs N` job): the verdict is the same."""
        prior = self.gather.decided(article.id)
        if prior is not None:
            return prior.dedup()
        if probe is None:
            probe = make_probe(article, self.cfg, now)
        return self.offer(probe).dedup()

    def offer(self, probe: Probe) -> Verdict:
        self.gather.expect(probe, [0])
        offer = self.bands.offer(probe.me, probe.keys)
        self.overflow += offer.overflow
        self.evicted.total += offer.evicted.total
        self.evicted.early += offer.evicted.early
        verdict = self.gather.answer(probe.me.id, 0, offer.earlier, ordered=True)
        for later_id in self.gather.may_correct(offer.later, probe.me):
            correction = self.gather.late(later_id, probe.me)
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
