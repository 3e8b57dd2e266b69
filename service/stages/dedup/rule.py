"""The dedup rule, as pure functions over candidates. Every mode decides with these.

    Among the articles that share a band, the fingerprint or the canonical URL with A,
    are ordered before A by (event time, id), lie within the window (|Δt| ≤ window),
    and match it, the earliest by (event time, id) is A's original. None: `unique`.
    Same fingerprint: `duplicate` (1.0). Otherwise `near_duplicate`.

A pair matches when (checked in this order):

- the normalised bodies are equal (same fingerprint);
- the estimated Jaccard of word shingles reaches `threshold`;
- most of the smaller text is in the other (containment): an edited syndicated copy,
  with paragraphs dropped, a rewritten lead, or an agency footer and related links
  added. Both have at least `min_shingles` shingles, and the share of the smaller
  text's shingles found in the other, estimated from the Jaccard and the two sizes and
  lowered by `containment_sigmas` standard errors of the estimate, reaches
  `containment`. The sizes bound it by direction, `me` being the later article:
  - a later text that is a cut of the earlier one keeps at least
    `containment_cut_min_ratio` of it (dropping paragraphs adds nothing new);
  - a later text that grew the earlier one is at most 1 / `containment_min_ratio` times
    its size: a follow-up that quotes a short story whole inside more new text than
    the story is a new article, an update that adds a paragraph or two is not;
  `containment_min_jaccard` and `containment_max_ratio` can add a Jaccard floor and
  an upper bound on the size ratio; both are off by default;
- they share a canonical URL and the Jaccard reaches min(threshold, URL_FLOOR): a
  re-scrape with different chrome, but not a site whose canonical tag points every
  page at its home page.

Shingles are `shingle_size` (6) words long: templated prose (a fixed phrase in every
sentence, a few stock clauses) shares many short shingles with any text of its
template, but copies share whole paragraphs, which long shingles keep.

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
from service.stages.dedup.signature import containment, similarity, similarity_error

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
    """The estimated Jaccard if `me` is a copy of the earlier `other`, else None."""
    if other.fp == me.fp:
        return 1.0
    jaccard = similarity(me.sig, other.sig)
    if jaccard >= cfg.threshold or contained(me, other, jaccard, cfg):
        return jaccard
    same_url = me.url is not None and other.url == me.url
    if same_url and jaccard >= min(cfg.threshold, URL_FLOOR):
        return jaccard
    return None


def contained(me: Candidate, other: Candidate, jaccard: float, cfg: DedupConfig) -> bool:
    """Whether most of the smaller text is in the other (see the module docstring).

    The containment is judged on the Jaccard estimate lowered by `containment_sigmas`
    standard errors: from a small text, or one far smaller than the other, the estimate
    is noisy, and containment magnifies that noise by (1 + larger/smaller).
    """
    smaller, larger = min(me.n, other.n), max(me.n, other.n)
    if smaller < cfg.min_shingles or jaccard < cfg.containment_min_jaccard:
        return False
    # `me` is the later one: it grew the earlier text, or it is a cut of it.
    floor = cfg.containment_min_ratio if me.n >= other.n else cfg.containment_cut_min_ratio
    if not floor * larger <= smaller <= cfg.containment_max_ratio * larger:
        return False
    low = max(0.0, jaccard - cfg.containment_sigmas * similarity_error(jaccard, len(me.sig)))
    return containment(low, me.n, other.n) >= cfg.containment


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
