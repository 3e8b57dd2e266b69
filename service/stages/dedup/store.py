"""Compact storage behind the band store and the gatherer: under 1 KB per held article.

A Python object costs 50-100 bytes, and a held article used to be 66 bucket entries,
66 key strings, a `Candidate`, its signature and a gather state: about 12 KB. Here:

- `Table`: one row per article in numpy columns (event time, shingle count, the 8
  bytes behind the fingerprint and URL hashes, the signature, the verdict), and its id
  once, as the only Python object. Rows are never reused until `compact` renumbers
  them, so a stale index entry can only point at a dead row.
- `KeyIndex`: each bucket key of a row is one 64-bit word, the key's hash in the high
  bits and the row in the low ones. Recent words sit in a dict; past `FLUSH_WORDS`
  they become a sorted numpy segment with a directory by the hashes' top bits, and a
  segment merges into the one below while it is over a quarter of its size (an LSM
  tree), so a lookup is a few array reads per segment, for all keys at once.

A 40-bit key hash can make two different keys share a bucket, about once in 20,000
lookups with a million articles held. That only adds a candidate, which the rule then
judges by its text like any other; it never hides one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import xxhash
from numpy.lib.stride_tricks import sliding_window_view

from service.stages.dedup.rule import Candidate, Verdict
from service.stages.dedup.signature import b64

ALIVE, HAS_URL, ODD, REOPENED = 1, 2, 4, 8
STATUSES = ("unique", "duplicate", "near_duplicate")
NO_VERDICT = -1
FLUSH_WORDS = 1 << 15
MERGE_RATIO = 4  # merge the newest segment down while it is over a quarter of the next
WORDS_PER_SLOT = 8
MAX_SCAN = 256
_INITIAL_ROWS = 1024


def hash_bytes(text: str | None) -> int | None:
    """The 8 bytes behind an 11-character hash from `signature.b64`, or None."""
    if text is None or len(text) != 11:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=")
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 8 or b64(raw) != text:
        return None
    return int.from_bytes(raw, "big")


def key_hashes(keys: Iterable[str]) -> list[int]:
    """xxh3-64 of each bucket key: what the index and the packed probe records hold."""
    return list(map(xxhash.xxh3_64_intdigest, map(str.encode, keys)))


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def hash_text(value: int) -> str:
    """`signature.b64` of the 8 bytes, without its generic steps (a hot path)."""
    raw = binascii.b2a_base64(int(value).to_bytes(8, "big"), newline=False)
    return raw[:11].translate(_URLSAFE).decode("ascii")


class Rows(Sequence[Candidate]):
    """Candidates by table row in (t, id) order, each built when first read: a fold that
    stops at the first match builds only the rows before it. Valid until the table
    drops rows; `BandStore` freezes them first."""

    __slots__ = ("_built", "_rows", "_table")

    def __init__(self, table: Table | None = None, rows: list[int] | None = None) -> None:
        self._table = table
        self._rows = rows or []
        self._built: list[Candidate | None] = [None] * len(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Candidate]:
        """Sequence's iterator, without its `__getitem__` call and IndexError per item."""
        built, rows, table = self._built, self._rows, self._table
        for i, candidate in enumerate(built):
            if candidate is None:
                assert table is not None
                candidate = built[i] = table.candidate(rows[i])
            yield candidate

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...

    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        built = self._built[index]
        if built is None:
            assert self._table is not None
            built = self._built[index] = self._table.candidate(self._rows[index])
        return built

    def ids(self) -> list[str]:
        """The ids, without building the candidates."""
        if self._table is None:
            return [c.id for c in self]
        ids = self._table.ids
        return [ids[r] or "" for r in self._rows]

    def rows_of(self, table: Table) -> list[int] | None:
        """The table rows behind these candidates, if they are still rows of `table`
        (not frozen by a drop that may have renumbered them)."""
        return self._rows if self._table is table else None

    def freeze(self) -> None:
        for i in range(len(self)):
            self[i]
        self._table = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


class Table:
    """Candidates and their verdicts by row; `row_of` maps a held id to its row."""

    def __init__(self) -> None:
        self.row_of: dict[str, int] = {}
        self.ids: list[str | None] = []
        self.dup_of: list[str | None] = []
        self.odd: dict[int, Candidate] = {}  # rows whose values do not fit the columns
        self.sig_len: int | None = None
        self.newest = -(2**62)
        self._alloc(_INITIAL_ROWS, 0)

    def _alloc(self, size: int, sig_len: int) -> None:
        self.t = np.zeros(size, np.int64)
        self.n = np.zeros(size, np.int32)
        self.fp = np.zeros(size, np.uint64)
        self.url = np.zeros(size, np.uint64)
        self.flags = np.zeros(size, np.uint8)
        self.status = np.full(size, NO_VERDICT, np.int8)
        self.sim = np.zeros(size, np.float32)
        self.of_t = np.zeros(size, np.int64)
        self.sig = np.zeros((size, sig_len), np.uint8)

    def __len__(self) -> int:
        return len(self.row_of)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.row_of

    @property
    def rows(self) -> int:
        """Rows used so far, dead ones included (until `compact`)."""
        return len(self.ids)

    def add(self, me: Candidate) -> int:
        """The row of `me`, added if its id is not held."""
        row = self.row_of.get(me.id)
        if row is not None:
            return row
        if self.sig_len is None:
            self.sig_len = len(me.sig)
            self._alloc(len(self.t), self.sig_len)
        row = len(self.ids)
        if row == len(self.t):
            self._grow(row + max(_INITIAL_ROWS, row // 4))
        fp, url = hash_bytes(me.fp), hash_bytes(me.url)
        odd = fp is None or (me.url is not None and url is None) or len(me.sig) != self.sig_len
        self.ids.append(me.id)
        self.dup_of.append(None)
        self.row_of[me.id] = row
        self.t[row], self.n[row] = me.t, me.n
        self.flags[row] = ALIVE | (HAS_URL if me.url is not None else 0) | (ODD if odd else 0)
        if odd:
            self.odd[row] = me
        else:
            self.fp[row] = fp or 0
            self.url[row] = url or 0
            self.sig[row] = np.frombuffer(me.sig, np.uint8)
        self.newest = max(self.newest, me.t)
        return row

    def add_columns(self, ids: list[str], t: np.ndarray, fp: np.ndarray, url: np.ndarray,
                    n: np.ndarray, has_url: np.ndarray, sig: np.ndarray) -> np.ndarray:
        """`add` for many articles given as columns (a packed probes record): the row of
        each, -1 where the id was held already (or came earlier in `ids`). Signatures
        of another length than the table's go through `add`, as odd rows would."""
        rows = np.full(len(ids), -1, np.int64)
        if self.sig_len is None and len(ids):
            self.sig_len = sig.shape[1]
            self._alloc(len(self.t), self.sig_len)
        if sig.shape[1] != self.sig_len:
            for i in range(len(ids)):
                if ids[i] not in self.row_of:
                    rows[i] = self.add(Candidate(
                        int(t[i]), ids[i], hash_text(int(fp[i])), sig[i].tobytes(),
                        hash_text(int(url[i])) if has_url[i] else None, int(n[i])))
            return rows
        row_of, first = self.row_of, len(self.ids)
        fresh: list[int] = []
        for i, article_id in enumerate(ids):
            if article_id not in row_of:
                row_of[article_id] = first + len(fresh)
                fresh.append(i)
        if not fresh:
            return rows
        new = np.asarray(fresh, np.int64)
        end = first + len(fresh)
        if end > len(self.t):
            self._grow(end + max(_INITIAL_ROWS, end // 4))
        self.ids += [ids[i] for i in fresh]
        self.dup_of += [None] * len(fresh)
        self.t[first:end], self.n[first:end] = t[new], n[new]
        self.fp[first:end], self.url[first:end] = fp[new], url[new]
        self.flags[first:end] = ALIVE | np.where(has_url[new] != 0, HAS_URL, 0)
        self.sig[first:end] = sig[new]
        self.newest = max(self.newest, int(t[new].max()))
        rows[new] = np.arange(first, end)
        return rows

    def _grow(self, size: int) -> None:
        for name in ("t", "n", "fp", "url", "flags", "sim", "of_t"):
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        status = np.full(size, NO_VERDICT, np.int8)
        status[: len(self.status)] = self.status
        self.status = status
        sig = np.zeros((size, self.sig.shape[1]), np.uint8)
        sig[: len(self.sig)] = self.sig
        self.sig = sig

    def candidate(self, row: int) -> Candidate:
        odd = self.odd.get(row)
        if odd is not None:
            return odd
        article_id = self.ids[row]
        assert article_id is not None
        # `.item` reads a Python value in one call (no numpy scalar in between).
        url = hash_text(self.url.item(row)) if self.flags.item(row) & HAS_URL else None
        return Candidate(self.t.item(row), article_id, hash_text(self.fp.item(row)),
                         self.sig[row].tobytes(), url, self.n.item(row))

    def alive(self, rows: np.ndarray) -> np.ndarray:
        return rows[(self.flags[rows] & ALIVE) != 0]

    # -- verdicts ------------------------------------------------------------------

    def verdict(self, row: int) -> Verdict | None:
        code = self.status.item(row)
        if code == NO_VERDICT:
            return None
        return Verdict(STATUSES[code], self.dup_of[row], round(self.sim.item(row), 4),
                       self.of_t.item(row))

    def set_verdict(self, row: int, verdict: Verdict, reopened: bool = False) -> None:
        self.status[row] = STATUSES.index(verdict.status)
        self.dup_of[row] = verdict.duplicate_of
        self.sim[row], self.of_t[row] = verdict.similarity, verdict.of_t
        if reopened:
            self.flags[row] |= REOPENED
        else:
            self.flags[row] &= ~np.uint8(REOPENED)

    def set_verdicts(self, rows: np.ndarray, verdicts: Sequence[Sequence[Any]]) -> None:
        """`set_verdict` (not reopened) in whole columns, for the rows of `add_columns`;
        `verdicts` are `Verdict`s or their JSON lists. Rows of -1 are skipped."""
        if len(rows) != len(verdicts):
            raise ValueError("one verdict per row")
        fresh = rows >= 0
        at = rows[fresh]
        picked = [v for v, ok in zip(verdicts, fresh.tolist(), strict=True) if ok]
        self.status[at] = np.fromiter((STATUSES.index(v[0]) for v in picked), np.int8, len(at))
        self.sim[at] = np.fromiter((v[2] for v in picked), np.float32, len(at))
        self.of_t[at] = np.fromiter((v[3] for v in picked), np.int64, len(at))
        self.flags[at] &= ~np.uint8(REOPENED)
        dup_of = self.dup_of
        for row, verdict in zip(at.tolist(), picked, strict=True):
            dup_of[row] = verdict[1]

    def reopened(self, row: int) -> bool:
        return bool(self.flags[row] & REOPENED)

    def decided_rows(self) -> int:
        used = self.rows
        return int(np.count_nonzero((self.status[:used] != NO_VERDICT)
                                    & ((self.flags[:used] & ALIVE) != 0)))

    # -- storage -------------------------------------------------------------------

    def oldest(self, count: int, keep: Iterable[str] = ()) -> list[int]:
        """The `count` rows with the oldest event time (ties: first added), not in `keep`."""
        used = self.rows
        live = np.flatnonzero(self.flags[:used] & ALIVE)
        skip = {self.row_of[i] for i in keep if i in self.row_of}
        order = live[np.argsort(self.t[live], kind="stable")]
        picked: list[int] = []
        for row in order.tolist():
            if len(picked) >= count:
                break
            if row not in skip:
                picked.append(row)
        return picked

    def drop(self, rows: Sequence[int]) -> list[tuple[str, int]]:
        """Mark `rows` dead; returns their (id, event time)."""
        dropped = []
        for row in rows:
            article_id = self.ids[row]
            if article_id is None:
                continue
            dropped.append((article_id, int(self.t[row])))
            del self.row_of[article_id]
            self.ids[row] = self.dup_of[row] = None
            self.flags[row] = 0
            self.odd.pop(row, None)
        return dropped

    def compact(self) -> np.ndarray | None:
        """Renumber the live rows when most are dead; the old->new map (-1 dead), or None."""
        used = self.rows
        dead = used - len(self.row_of)
        if dead < max(len(self.row_of), _INITIAL_ROWS):
            return None
        live = np.flatnonzero(self.flags[:used] & ALIVE)
        remap = np.full(used, -1, np.int64)
        remap[live] = np.arange(len(live))
        for name in ("t", "n", "fp", "url", "flags", "sim", "of_t", "status", "sig"):
            old = getattr(self, name)
            new = np.zeros((max(_INITIAL_ROWS, 2 * len(live)), *old.shape[1:]), old.dtype)
            if name == "status":
                new[:] = NO_VERDICT
            new[: len(live)] = old[live]
            setattr(self, name, new)
        keep = live.tolist()
        self.ids = [self.ids[r] for r in keep]
        self.dup_of = [self.dup_of[r] for r in keep]
        self.odd = {int(remap[r]): c for r, c in self.odd.items()}
        self.row_of = {i: r for r, i in enumerate(self.ids) if i is not None}
        return remap


class Segment:
    """Sorted words plus a directory by their top bits, so finding a key is a couple of
    array reads, not a binary search over hundreds of megabytes.

    The words are followed by `MAX_SCAN` zero words, so a scan of `width` words from
    any slot's start stays inside the array: a word past a slot's end belongs to a
    later slot (other top bits) or is padding (top bits 0, read only past the end of a
    slot other than slot 0), so it never equals a needle and needs no bounds check."""

    def __init__(self, words: np.ndarray, row_bits: int, presorted: bool = False,
                 padded: bool = False) -> None:
        """`words` is sorted in place unless `presorted`, and copied into a padded array
        unless it is already a view of one (`padded`: made by `with_padding`)."""
        if not padded:
            words = with_padding(words)
        if not presorted:
            words.sort(kind="stable")  # timsort: two sorted runs merge in one pass
        self.words = words  # the real words: a view of the padded array
        self._padded: np.ndarray = words.base if words.base is not None else words
        # Every slot start's next MAX_SCAN words as one read-only view (no copy): a scan
        # takes its rows by start, with no index array built per lookup.
        self._windows = sliding_window_view(self._padded, MAX_SCAN)
        self.row_bits = row_bits
        self.mask = np.uint64((1 << row_bits) - 1)
        # About WORDS_PER_SLOT words per directory slot; key hashes are uniform.
        self.dir_bits = max(1, (len(words) // WORDS_PER_SLOT).bit_length())
        self.shift = np.uint64(64 - self.dir_bits)
        self.slot_shift = np.uint64(64 - row_bits - self.dir_bits)  # needle -> slot
        counts = np.bincount((words >> self.shift).astype(np.int64),
                             minlength=1 << self.dir_bits)
        starts = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        self.starts = starts.astype(np.uint32 if len(words) < 2**32 else np.int64)
        # The widest slot: a lookup scans this many words from each needle's slot start
        # (past MAX_SCAN, as many as the needles' widest slot).
        self.width = int(counts.max())

    def __len__(self) -> int:
        return len(self.words)

    def scan(self, needles: np.ndarray) -> np.ndarray | None:
        """For each needle, the `width` words from the start of its slot (a 2-D array),
        or None when the widest slot is too wide to scan (`find` searches instead)."""
        slot = needles >> self.slot_shift
        lo = self.starts[slot]
        # The widest of these needles' slots: about half the segment's widest.
        width = int((self.starts[slot + 1] - lo).max())
        if width > MAX_SCAN:  # a hot slot
            return None
        return self._windows[lo.astype(np.intp), :width]

    def find(self, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows under each needle (a key hash), and the needle's position for each."""
        scanned = self.scan(needles)
        if scanned is not None:
            scanned ^= (needles << np.uint64(self.row_bits))[:, None]
            same = scanned <= self.mask
            which, _ = np.nonzero(same)
            return scanned[same].view(np.int64), which
        keys = needles << np.uint64(self.row_bits)  # a hot slot: search the exact ranges
        lo = np.searchsorted(self.words, keys, "left")
        hi = np.searchsorted(self.words, keys | self.mask, "right")
        hit = np.flatnonzero(hi > lo)
        if not len(hit):
            return _EMPTY, _EMPTY
        found = np.concatenate([self.words[lo[i] : hi[i]] for i in hit.tolist()])
        return (found & self.mask).astype(np.int64), np.repeat(hit, (hi - lo)[hit])


def with_padding(words: np.ndarray, size: int | None = None) -> np.ndarray:
    """A view of the first `size` (all) of `words` in a new array that ends in
    `MAX_SCAN` zero words, as `Segment` wants it."""
    size = len(words) if size is None else size
    out = np.empty(size + MAX_SCAN, np.uint64)
    out[len(words) :] = 0
    out[: len(words)] = words
    return out[:size]


class KeyIndex:
    """Bucket key -> rows, as 64-bit words (key hash << row_bits | row); see the module."""

    def __init__(self, row_bits: int = 24) -> None:
        self.row_bits = row_bits
        self.mask = np.uint64((1 << row_bits) - 1)
        # The recent words: a key's first recent row in `recent`, any further ones in
        # `more` (copies share keys) as a tuple. Ints in dicts and tuples of ints are
        # left alone by the garbage collector (it untracks such tuples), where a list per
        # key survived into its oldest generation and made full collections frequent.
        self.recent: dict[int, int] = {}
        self.more: dict[int, tuple[int, ...]] = {}
        self.recent_words = 0
        self.segments: list[Segment] = []

    def words(self) -> int:
        return self.recent_words + sum(len(s) for s in self.segments)

    def hashes(self, keys: Iterable[str]) -> list[int]:
        shift = self.row_bits
        return [h >> shift for h in key_hashes(keys)]

    def add(self, hashes: list[int], row: int) -> None:
        recent, more = self.recent, self.more
        for h in hashes:
            if h not in recent:
                recent[h] = row
            else:  # held before, or twice in `hashes` (two keys that share a hash)
                more[h] = (*more.get(h, ()), row)
        self.recent_words += len(hashes)
        if self.recent_words >= FLUSH_WORDS:
            self.flush()

    def lookup(self, hashes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The rows held under the key hashes, dead ones included, and for each the
        position of its key in `hashes`.

        Every segment's scan of every needle goes into one matrix (a row per needle),
        compared with the needles at once: a few numpy calls per segment, not per key."""
        recent_rows: list[int] = []
        recent_which: list[int] = []
        recent, more = self.recent, self.more
        for i in [i for i, h in enumerate(hashes) if h in recent]:
            h = hashes[i]
            recent_rows.append(recent[h])
            recent_which.append(i)
            extra = more.get(h)
            if extra:
                recent_rows += extra
                recent_which += [i] * len(extra)
        rows = [np.asarray(recent_rows, np.int64)] if recent_rows else []
        which = [np.asarray(recent_which, np.int64)] if recent_rows else []
        if self.segments:
            needles = np.asarray(hashes, np.uint64)
            scans = []
            for segment in self.segments:
                scanned = segment.scan(needles)
                if scanned is None:
                    found, at = segment.find(needles)
                    rows.append(found)
                    which.append(at)
                elif scanned.shape[1]:
                    scans.append(scanned)
            if scans:
                scanned = np.concatenate(scans, axis=1) if len(scans) > 1 else scans[0]
                # A word xor its needle's key is the word's row when the keys are equal.
                scanned ^= (needles << np.uint64(self.row_bits))[:, None]
                hit = scanned <= self.mask
                at, _ = np.nonzero(hit)
                rows.append(scanned[hit].view(np.int64))
                which.append(at)
        if not rows:
            return _EMPTY, _EMPTY
        if len(rows) == 1:
            return rows[0], which[0]
        return np.concatenate(rows), np.concatenate(which)

    def add_words(self, words: np.ndarray) -> None:
        """Add many (hash << row_bits | row) words at once, as a segment of their own."""
        if not len(words):
            return
        self.flush()
        words = with_padding(words)
        words.sort()
        self.segments.append(Segment(words, self.row_bits, presorted=True, padded=True))
        self._merge()

    def flush(self) -> None:
        """Move the recent words into a sorted segment; merge segments of similar size."""
        if not self.recent:
            return
        shift = np.uint64(self.row_bits)
        recent, more = self.recent, self.more
        words = with_padding(np.zeros(0, np.uint64), self.recent_words)
        first = len(recent)
        words[:first] = np.fromiter(recent, np.uint64, first) << shift
        words[:first] |= np.fromiter(recent.values(), np.uint64, first)
        extra = [(h << self.row_bits) | r for h, rows in more.items() for r in rows]
        words[first:] = np.asarray(extra, np.uint64)
        words.sort()
        self.recent, self.more, self.recent_words = {}, {}, 0
        self.segments.append(Segment(words, self.row_bits, presorted=True, padded=True))
        self._merge()

    def _merge(self) -> None:
        """Merge the newest segment down while it is over a quarter of the one below."""
        while (len(self.segments) > 1
               and len(self.segments[-1]) * MERGE_RATIO >= len(self.segments[-2])):
            top, below = self.segments.pop(), self.segments.pop()
            merged = with_padding(below.words, len(below) + len(top))
            merged[len(below) :] = top.words
            self.segments.append(Segment(merged, self.row_bits, padded=True))

    def remap(self, remap: np.ndarray) -> None:
        """Follow `Table.compact`: rows renumbered in order, dead ones (-1) dropped.

        The map keeps row order, so each key's words stay sorted."""
        recent: dict[int, int] = {}
        more: dict[int, tuple[int, ...]] = {}
        for h, first in self.recent.items():
            kept = [int(remap[r]) for r in (first, *self.more.get(h, ())) if remap[r] >= 0]
            if kept:
                recent[h] = kept[0]
                if len(kept) > 1:
                    more[h] = tuple(kept[1:])
        self.recent, self.more = recent, more
        self.recent_words = len(recent) + sum(len(rows) for rows in more.values())
        segments = []
        for segment in self.segments:
            words = segment.words
            new_rows = remap[(words & self.mask).astype(np.int64)]
            keep = new_rows >= 0
            words = (words[keep] & ~self.mask) | new_rows[keep].astype(np.uint64)
            if len(words):
                segments.append(Segment(words, self.row_bits, presorted=True))
        self.segments = segments


_EMPTY = np.zeros(0, np.int64)
