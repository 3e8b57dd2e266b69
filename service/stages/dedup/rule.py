"""The dedup rule, as pure functions over candidates. Every mode decides with these.

    Among the articles that share a band, the fingerprint or the canonical URL with A,
    are ordered before A by (event time, id), lie within the window (|Δt| ≤ window),
    and match it, the earliest by (event time, id) is A's original. None: `unique`.
    Same fingerprint: `duplicate` (1.0). Otherwise `near_duplicate`.

A pair matches when (checked in this order):

- the normalised bodies are equal (same fingerprint);
- the estimated Jaccard of word shingles reaches `threshold`;
- their Jaccard is at least `containment_min_jaccard` (templated prose, a fixed phrase
  in every sentence, shares a third of its shingles with any text of its template),
  both have at least `min_shingles` shingles, the smaller has between
  `containment_min_ratio` and `containment_max_ratio` of the larger's (texts of
  similar size are judged by Jaccard alone), and the share of the smaller text found in
  the other (containment) reaches `containment`: a syndicated copy with paragraphs
  dropped, a rewritten lead, or an agency footer added;
- they share a canonical URL and the Jaccard reaches min(threshold, URL_FLOOR): a
  re-scrape with different chrome, but not a site whose canonical tag points every
  page at its home page.

A's verdict depends only on which articles exist before it, never on their verdicts or
on arrival order, so a late arrival changes the verdicts of the articles it precedes
and nothing else: no cascade, and the same answer in batch, one worker and N workers.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any, NamedTuple

from service.models import Dedup
from service.settings import DedupConfig
from service.stages.dedup.signature import containment, similarity

# Same canonical URL: a much lower bar than the threshold, but not none (see above).
URL_FLOOR = 0.5


class Candidate(NamedTuple):
    """One article as the index holds it and as answers carry it; `n` is its number of
    distinct shingles."""

    t: int
    id: str
    fp: str
    sig: bytes
    url: str | None
    n: int = 0

    @property
    def order(self) -> tuple[int, str]:
        return (self.t, self.id)

    def dump(self) -> list[Any]:
        return [self.t, self.id, self.fp, base64.b64encode(self.sig).decode("ascii"),
                self.url, self.n]

    @classmethod
    def load(cls, value: list[Any]) -> Candidate:
        n = value[5] if len(value) > 5 else 0
        return cls(value[0], value[1], value[2], base64.b64decode(value[3]), value[4], n)


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


def score(me: Candidate, other: Candidate, cfg: DedupConfig) -> float | None:
    """The estimated Jaccard if the two bodies are copies of each other, else None."""
    if other.fp == me.fp:
        return 1.0
    jaccard = similarity(me.sig, other.sig)
    if jaccard >= cfg.threshold:
        return jaccard
    smaller, larger = min(me.n, other.n), max(me.n, other.n)
    if (
        smaller >= cfg.min_shingles
        and jaccard >= cfg.containment_min_jaccard
        and cfg.containment_min_ratio * larger <= smaller <= cfg.containment_max_ratio * larger
        and containment(jaccard, me.n, other.n) >= cfg.containment
    ):
        return jaccard
    same_url = me.url is not None and other.url == me.url
    if same_url and jaccard >= min(cfg.threshold, URL_FLOOR):
        return jaccard
    return None


def match(me: Candidate, other: Candidate, cfg: DedupConfig) -> float | None:
    """The similarity if `other` counts as an earlier copy of `me`, else None."""
    if other.id == me.id or other.order >= me.order:
        return None
    if cfg.window_seconds is not None and me.t - other.t > cfg.window_seconds:
        return None
    return score(me, other, cfg)


def improve(me: Candidate, current: Verdict, other: Candidate, cfg: DedupConfig) -> Verdict | None:
    """The better verdict if `other` is an earlier match than `current`'s original."""
    if current.duplicate_of is not None and (current.of_t, current.duplicate_of) <= other.order:
        return None  # not earlier: no need to compare signatures
    found = match(me, other, cfg)
    if found is None:
        return None
    status = "duplicate" if other.fp == me.fp else "near_duplicate"
    return Verdict(status, other.id, round(found, 4), other.t)


def decide(me: Candidate, candidates: Iterable[Candidate], cfg: DedupConfig) -> Verdict:
    """The rule as one function: the earliest matching candidate, or unique."""
    verdict = UNIQUE
    for other in candidates:
        verdict = improve(me, verdict, other, cfg) or verdict
    return verdict
