"""Dedup stage: the first copy seen wins; later exact and near copies point at it.

Rules, in order (the first that applies decides):

1. Replay: an id already decided gets its first verdict again, so reprocessing after a
   crash never turns an original into a duplicate of itself.
2. Exact: same normalised body (lowercased, punctuation and whitespace removed) as an
   indexed article within the window -> `duplicate`, similarity 1.0.
3. Near: MinHash over word shingles, LSH bands to find candidates, each verified by
   its estimated Jaccard. Candidates at or above `cfg.threshold` count; so does the
   first article at the same canonical URL when similarity reaches URL_FLOOR (a
   re-scrape with different chrome, or a lightly updated story, but not a site whose
   canonical tag points every page at its home page). Among the matches the earliest
   `(fetched_at, id)` wins -> `near_duplicate`.
4. Otherwise `unique`, and only unique articles are indexed, so `duplicate_of` always
   names an original and two copies can never both be duplicates.

The window is event time: `fetched_at`, capped at the processing time so a scraper's
clock cannot expire the index. Matches further apart than the window are ignored even
before eviction runs, which keeps verdicts independent of when eviction happened.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import xxhash
from rensa import RMinHash

from service.models import Dedup, TaggedArticle
from service.settings import DedupConfig
from service.stages.index import DedupIndex, DocRecord, InMemoryDedupIndex, band_keys

__all__ = [
    "URL_FLOOR",
    "DedupIndex",
    "Deduplicator",
    "InMemoryDedupIndex",
    "body_fingerprint",
    "deduplicate",
    "evict",
    "rebuild",
    "similarity",
]

# A stored signature is only comparable with one made by the same seed and algorithm.
SEED = 0x6E657773
# Same canonical URL: a much lower bar than the threshold, but not none (see above).
URL_FLOOR = 0.5
# Bucket chunks evicted per article on the hot path; a chunk holds up to 32 articles.
EVICT_PER_CALL = 1

# Typographic punctuation becomes a space; ASCII non-alphanumerics go in `_ASCII_GAPS`.
_UNICODE_GAPS = re.compile("[\u00a0\u00ab\u00bb\u2010-\u2015\u2018-\u201f\u2026\u2032\u2033]")
_ASCII_GAPS = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 or b >= 128 else 32 for b in range(256))
_MIX = np.uint64(0x9E3779B97F4A7C15)
_FINAL = np.uint64(0xC2B2AE3D27D4EB4F)
_BYTE_COLLISION = 1 / 256  # two unrelated one-byte minima agree this often


def _tokens(text: str) -> list[bytes]:
    """Lowercased words; bytes because splitting bytes is several times faster than re."""
    return _UNICODE_GAPS.sub(" ", text.lower()).encode("utf-8").translate(_ASCII_GAPS).split()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _fingerprint(tokens: list[bytes]) -> str:
    return _b64(xxhash.xxh3_64_digest(b"".join(tokens)))


def body_fingerprint(text: str) -> str:
    """xxh3-64 of the body with case, punctuation and whitespace removed, 11 characters.

    64 bits keep the key short; a collision inside a 1-million-article window has odds
    of about 3 in 100 million.
    """
    return _fingerprint(_tokens(text))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard from two one-byte-per-permutation (b-bit) MinHash signatures."""
    agree = np.count_nonzero(np.frombuffer(a, np.uint8) == np.frombuffer(b, np.uint8))
    estimate = (agree / len(a) - _BYTE_COLLISION) / (1 - _BYTE_COLLISION)
    return float(min(1.0, max(0.0, estimate)))


def _event_time(article: TaggedArticle, now: datetime | None) -> int:
    processed = now or datetime.now(UTC)
    fetched = article.fetched_at
    return int((min(fetched, processed) if fetched is not None else processed).timestamp())


def _url_hash(article: TaggedArticle) -> str | None:
    url = article.canonical_url or article.url
    return _b64(xxhash.xxh3_64_digest(url.encode("utf-8"))) if url else None


def _replayed(prior: str | list[object]) -> Dedup:
    if isinstance(prior, str):
        return Dedup(status="unique")
    status, duplicate_of, score = prior[0], prior[1], prior[2]
    return Dedup.model_validate(
        {"status": status, "duplicate_of": duplicate_of, "similarity": score}
    )


class Deduplicator:
    """The stage with its configuration bound; it keeps no state outside the index."""

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.bands = min(cfg.bands, cfg.num_perm)
        self.rows = cfg.num_perm // self.bands
        self.window = int(cfg.window_seconds)

    def signature(self, tokens: list[bytes]) -> bytes:
        """MinHash of the word shingles, keeping the low byte of each of num_perm minima.

        Shingles are hashed in numpy from rensa's token hashes instead of being joined
        as strings, which was the slowest step. One byte per minimum costs ~0.4% false
        agreements, which `similarity` corrects, and makes the signature 128 bytes.
        """
        k = self.cfg.shingle_size
        hashes = np.asarray(RMinHash.hash_token_sets([tokens])[0], dtype=np.uint64)
        width = max(1, len(hashes) - k + 1)
        shingles = hashes[:width].copy()
        for j in range(1, min(k, len(hashes))):
            shingles = (shingles * _MIX) ^ hashes[j : j + width]
        shingles ^= shingles >> np.uint64(31)
        shingles *= _FINAL
        shingles ^= shingles >> np.uint64(29)
        offsets = np.array([0, len(shingles)], dtype=np.uint64)
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(
            shingles, offsets, self.cfg.num_perm, SEED
        )
        return np.asarray(matrix.to_rows()[0], dtype=np.uint32).astype(np.uint8).tobytes()

    def deduplicate(
        self, article: TaggedArticle, index: DedupIndex, now: datetime | None = None
    ) -> Dedup:
        """Decide, and index the article if it is unique. `now` is the processing time."""
        prior = index.verdict(article.id)
        if prior is not None:
            return _replayed(prior)
        t = _event_time(article, now)
        tokens = _tokens(article.text)
        fp = _fingerprint(tokens)
        exact = index.doc(fp)
        if exact is not None and exact.id == article.id:
            # A replay after a crash between the `docs` and `ids` writes: it is the original.
            index.ids[article.id] = fp
            return Dedup(status="unique")
        if exact is not None:
            if abs(t - exact.t) <= self.window:
                return self._duplicate(index, article.id, t, "duplicate", exact.id, 1.0)
            index.remove_doc(fp, self.bands, self.rows)  # expired, not yet evicted
        sig = self.signature(tokens)
        keys = band_keys(sig, self.bands, self.rows)
        url = _url_hash(article)
        found = self._match(index, sig, keys, url, t)
        if found is not None:
            first, score = found
            return self._duplicate(index, article.id, t, "near_duplicate", first.id, score)
        record = DocRecord(article.id, t, sig, url)
        index.add_doc(fp, record, keys, self.cfg.max_candidates)
        index.evict(t - self.window, self.bands, self.rows, limit=EVICT_PER_CALL)
        return Dedup(status="unique")

    def _match(
        self, index: DedupIndex, sig: bytes, keys: list[str], url: str | None, t: int
    ) -> tuple[DocRecord, float] | None:
        """The earliest (t, id) indexed article close enough to `sig`, with its similarity."""
        candidates = index.candidates(keys, self.cfg.max_candidates)
        same_url = index.url_doc(url) if url is not None else None
        if same_url is not None and same_url not in candidates:
            candidates.append(same_url)
        best: tuple[DocRecord, float] | None = None
        for fp in candidates:
            record = index.doc(fp)
            if record is None or abs(t - record.t) > self.window:
                continue
            score = similarity(sig, record.sig)
            bar = min(self.cfg.threshold, URL_FLOOR) if fp == same_url else self.cfg.threshold
            if score >= bar and (best is None or (record.t, record.id) < (best[0].t, best[0].id)):
                best = (record, score)
        return best

    def _duplicate(
        self, index: DedupIndex, article_id: str, t: int, status: str, first: str, score: float
    ) -> Dedup:
        score = round(score, 4)
        index.add_verdict(article_id, [status, first, score], t)
        index.evict(t - self.window, self.bands, self.rows, limit=EVICT_PER_CALL)
        return Dedup.model_validate({"status": status, "duplicate_of": first, "similarity": score})


@lru_cache(maxsize=8)
def _deduplicator(cfg: DedupConfig) -> Deduplicator:
    return Deduplicator(cfg)


def deduplicate(
    article: TaggedArticle, index: DedupIndex, cfg: DedupConfig, now: datetime | None = None
) -> Dedup:
    """The stage function: first seen wins. See the module docstring for the rules."""
    return _deduplicator(cfg).deduplicate(article, index, now)


def rebuild(index: DedupIndex, cfg: DedupConfig) -> int:
    """Re-derive the in-memory band and URL lookups from the restored durable stores."""
    d = _deduplicator(cfg)
    return index.rebuild(d.bands, d.rows, cfg.max_candidates)


def evict(index: DedupIndex, cfg: DedupConfig, now: datetime) -> int:
    """Drop everything whose event time is older than `now - window`; returns articles dropped.

    `deduplicate` already evicts a little on every call, so this is only needed to catch
    up at once (e.g. after a quiet period); pass the event-time watermark as `now`.
    """
    d = _deduplicator(cfg)
    return index.evict(int(now.timestamp()) - d.window, d.bands, d.rows)
